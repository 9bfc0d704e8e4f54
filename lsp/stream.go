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
	"sync"

	"go.lsp.dev/jsonrpc2"
)

// resilientStream wraps jsonrpc2's Content-Length stream so that bad
// input does not end the session. As shipped, jsonrpc2.Conn treats any
// Read error, including a body that is not valid JSON-RPC, as fatal and
// closes the connection, and its frame reader loses step after one bad
// header. Here frames are read by frameReader (framing.go), which skips a
// bad frame and resynchronises on the next Content-Length header; a
// message whose frame was read but whose body does not decode gets a
// ParseError response (id null, as JSON-RPC 2.0 requires) and reading
// goes on. Only errors of the transport itself (end of input, a closed
// pipe) end the stream, and Serve logs them.
type resilientStream struct {
	inner  jsonrpc2.Stream // for writing
	frames *frameReader
	raw    io.Writer
	log    *slog.Logger

	mu sync.Mutex // serialises writes: conn's Write and our ParseError replies
}

func newResilientStream(rwc io.ReadWriteCloser, log *slog.Logger) *resilientStream {
	return &resilientStream{inner: jsonrpc2.NewStream(rwc), frames: newFrameReader(rwc, log), raw: rwc, log: log}
}

// Read implements jsonrpc2.Stream.
func (s *resilientStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, total, err
		}
		body, n, err := s.frames.next()
		total += n
		if err != nil {
			return nil, total, err
		}
		msg, err := decodeMessage(body)
		if err == nil {
			return msg, total, nil
		}
		s.log.Warn("skipping undecodable message", "err", err)
		s.writeParseError(err)
	}
}

// fatalReadError reports whether err means the transport is gone.
func fatalReadError(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrClosed)
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
