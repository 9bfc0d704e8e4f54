package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	"go.lsp.dev/jsonrpc2"
)

// maxBadFrames bounds how many unreadable frames (bad headers, not bad
// JSON) the server skips in one Read before it decides the stream itself
// is broken: a transport that returns the same error forever would
// otherwise spin.
const maxBadFrames = 10000

// resilientStream wraps jsonrpc2's Content-Length stream so that one bad
// message does not end the session. As shipped, jsonrpc2.Conn treats any
// Read error, including a body that is not valid JSON-RPC, as fatal and
// closes the connection: a single malformed message would kill the server.
// Here a message whose frame was read but whose body does not decode gets a
// ParseError response (id null, as JSON-RPC 2.0 requires) and reading goes
// on; a malformed header line is skipped, which resynchronises on the next
// well-formed header. Only end of input and closed transports are fatal.
type resilientStream struct {
	inner jsonrpc2.Stream
	raw   io.Writer
	log   *slog.Logger

	mu sync.Mutex // serialises writes: conn's Write and our ParseError replies
}

func newResilientStream(rwc io.ReadWriteCloser, log *slog.Logger) *resilientStream {
	return &resilientStream{inner: jsonrpc2.NewStream(rwc), raw: rwc, log: log}
}

// Read implements jsonrpc2.Stream.
func (s *resilientStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for bad := 0; ; {
		msg, n, err := s.inner.Read(ctx)
		if err == nil {
			return msg, n, nil
		}
		// Decode errors first: a truncated JSON body wraps
		// io.ErrUnexpectedEOF although the transport is fine.
		if isDecodeError(err) {
			s.log.Warn("skipping undecodable message", "err", err)
			s.writeParseError(err)
			continue
		}
		if bad++; fatalReadError(ctx, err) || bad > maxBadFrames {
			return nil, n, err
		}
		s.log.Warn("skipping unreadable frame", "err", err)
	}
}

// fatalReadError reports whether err means the transport is gone.
func fatalReadError(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrClosed)
}

// isDecodeError reports whether the frame was read whole but its body is
// not a JSON-RPC message, so the sender deserves an answer.
func isDecodeError(err error) bool {
	if errors.Is(err, jsonrpc2.ErrInvalidRequest) {
		return true
	}
	// jsonrpc2.DecodeMessage wraps the JSON error in this text and offers
	// no sentinel for it.
	return strings.Contains(err.Error(), "unmarshaling jsonrpc message")
}

// writeParseError answers an undecodable message. jsonrpc2.ID cannot
// express a null id, so the frame is written by hand.
func (s *resilientStream) writeParseError(cause error) {
	msg, _ := json.Marshal("parse error: " + cause.Error())
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%s}}`, jsonrpc2.ParseError, msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.raw, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		s.log.Warn("cannot answer unreadable message", "err", err)
	}
}

// Write implements jsonrpc2.Stream.
func (s *resilientStream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inner.Write(ctx, msg)
}

// Close implements jsonrpc2.Stream.
func (s *resilientStream) Close() error { return s.inner.Close() }
