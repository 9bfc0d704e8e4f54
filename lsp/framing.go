package lsp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"go.lsp.dev/jsonrpc2"
)

// Framing limits. A frame breaking one of them is skipped and the reader
// resynchronises on the next "Content-Length:" header (see frameReader).
const (
	// maxMessageSize bounds one message body: a 64 MiB transcript (the
	// engine's limit) JSON-escaped fits.
	maxMessageSize = 256 << 20
	// maxHeaderLine bounds one header line after Content-Length.
	maxHeaderLine = 4096
	// maxHeaderLines bounds the header lines of one frame.
	maxHeaderLines = 64
)

// errFrame marks a frame that could not be read; the reader skips it.
var errFrame = errors.New("bad frame")

// frameReader reads Content-Length framed messages, replacing
// jsonrpc2.NewStream's reader, which trusts its input: it allocates the
// announced length at once (lsp-stack-notes trap 13), and after a bad
// header it reads the next message's body as header lines, so a single
// frame with a negative or missing Content-Length, or stray bytes, leaves
// it out of step forever — alive but never answering again.
//
// This reader instead looks for the next "Content-Length:" (any case)
// wherever it is: whatever comes before it (garbage, a frame it could not
// use, a Content-Type header) is skipped without being kept in memory, and
// reading goes on from there. So any bad frame costs that frame only. A
// body is read as it arrives, up to its announced length (≤
// maxMessageSize); only an error of the transport itself ends the stream.
type frameReader struct {
	in  *bufio.Reader
	log *slog.Logger
	// pending holds header bytes of a frame found bad, read again before
	// in: a "Content-Length:" inside them (a frame whose start was glued
	// to garbage) is found on the next search. The search always makes
	// progress, since the bad frame's own "Content-Length:" is not put back.
	pending []byte
	// consumed records the header bytes of the frame being read.
	consumed []byte
}

// ReadByte reads pending bytes first, then the stream.
func (fr *frameReader) ReadByte() (byte, error) {
	if len(fr.pending) > 0 {
		c := fr.pending[0]
		fr.pending = fr.pending[1:]
		return c, nil
	}
	return fr.in.ReadByte()
}

// Read reads pending bytes first, then the stream.
func (fr *frameReader) Read(p []byte) (int, error) {
	if len(fr.pending) > 0 {
		n := copy(p, fr.pending)
		fr.pending = fr.pending[n:]
		return n, nil
	}
	return fr.in.Read(p)
}

func newFrameReader(r io.Reader, log *slog.Logger) *frameReader {
	return &frameReader{in: bufio.NewReaderSize(r, 64<<10), log: log}
}

const lengthHeader = "content-length:"

// next returns the next message body. Transport errors are returned as
// they are; framing problems are logged and skipped.
func (fr *frameReader) next() ([]byte, int64, error) {
	var total int64
	for {
		skipped, err := fr.seekHeader()
		total += skipped
		if err != nil {
			return nil, total, err
		}
		fr.consumed = fr.consumed[:0]
		body, n, err := fr.frame()
		total += n
		if err == nil {
			return body, total, nil
		}
		if !errors.Is(err, errFrame) {
			return nil, total, err
		}
		fr.pending = append(append([]byte(nil), fr.consumed...), fr.pending...)
		fr.log.Warn("skipping unreadable frame; resynchronising on the next Content-Length header", "err", err)
	}
}

// seekHeader consumes input up to and including the next
// "Content-Length:". Bytes before it are dropped; when they are not just
// other header lines of the same frame, that is logged.
func (fr *frameReader) seekHeader() (int64, error) {
	var skipped int64
	sample := make([]byte, 0, 256) // the start of what was skipped, for the log
	matched := 0
	for {
		c, err := fr.ReadByte()
		if err != nil {
			return skipped, err
		}
		skipped++
		lc := c
		if 'A' <= c && c <= 'Z' {
			lc += 'a' - 'A'
		}
		switch {
		case lc == lengthHeader[matched]:
			matched++
		case lc == lengthHeader[0]: // the pattern's first byte occurs nowhere else in it
			matched = 1
		default:
			matched = 0
		}
		if len(sample) < cap(sample) {
			sample = append(sample, c)
		}
		if matched == len(lengthHeader) {
			before := sample
			if len(sample) == int(skipped) {
				before = sample[:len(sample)-len(lengthHeader)]
			}
			if skipped > int64(len(lengthHeader)) && (len(sample) < int(skipped) || !onlyHeaderLines(before)) {
				fr.log.Warn("skipped bytes that are not a frame", "bytes", skipped-int64(len(lengthHeader)), "start", string(before))
			}
			return skipped, nil
		}
	}
}

// onlyHeaderLines reports whether b looks like header lines ("Name:
// value\r\n"), which a frame may legitimately carry before its
// Content-Length.
func onlyHeaderLines(b []byte) bool {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\n") || !strings.Contains(line, ":") {
			return false
		}
	}
	return true
}

// frame reads the rest of a frame after "Content-Length:": the value, the
// other header lines, the empty line, and the body.
func (fr *frameReader) frame() ([]byte, int64, error) {
	var total int64
	value, n, err := fr.line(64)
	total += n
	if err != nil {
		return nil, total, err
	}
	length, perr := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	switch {
	case perr != nil:
		return nil, total, fmt.Errorf("%w: Content-Length %q is not a number", errFrame, strings.TrimSpace(value))
	case length <= 0:
		return nil, total, fmt.Errorf("%w: Content-Length %d", errFrame, length)
	case length > maxMessageSize:
		return nil, total, fmt.Errorf("%w: Content-Length %d is over the limit of %d bytes", errFrame, length, maxMessageSize)
	}
	for i := 0; ; i++ {
		if i == maxHeaderLines {
			return nil, total, fmt.Errorf("%w: more than %d header lines", errFrame, maxHeaderLines)
		}
		line, n, err := fr.line(maxHeaderLine)
		total += n
		if err != nil {
			return nil, total, err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if !strings.Contains(line, ":") {
			return nil, total, fmt.Errorf("%w: invalid header line %q", errFrame, truncate(line, 80))
		}
	}
	// Grow the buffer as bytes arrive instead of trusting the length.
	var body bytes.Buffer
	body.Grow(int(min(length, 64<<10)))
	n, err = io.CopyN(&body, fr, length)
	total += n
	if err != nil {
		return nil, total, fmt.Errorf("read body: %w", err)
	}
	return body.Bytes(), total, nil
}

// line reads up to and including '\n', at most limit bytes. A longer
// line is a framing error; the bytes read stay consumed.
func (fr *frameReader) line(limit int) (string, int64, error) {
	var b strings.Builder
	for b.Len() < limit {
		c, err := fr.ReadByte()
		if err != nil {
			return "", int64(b.Len()), err
		}
		fr.consumed = append(fr.consumed, c)
		if c == '\n' {
			return b.String(), int64(b.Len() + 1), nil
		}
		b.WriteByte(c)
	}
	return "", int64(b.Len()), fmt.Errorf("%w: header line longer than %d bytes", errFrame, limit)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// decodeMessage decodes a body like jsonrpc2.DecodeMessage, except that a
// request whose method is the empty string stays a request (jsonrpc2 takes
// any message without a method for a response, drops it as unsolicited,
// and the client waits forever); dispatch then answers MethodNotFound.
func decodeMessage(body []byte) (jsonrpc2.Message, error) {
	var probe struct {
		ID     *jsonrpc2.ID     `json:"id"`
		Method *string          `json:"method"`
		Params *json.RawMessage `json:"params"`
	}
	if json.Unmarshal(body, &probe) == nil && probe.Method != nil && *probe.Method == "" {
		if probe.ID == nil {
			return jsonrpc2.NewNotification("", nil) // ignored, as any unknown notification
		}
		var params interface{}
		if probe.Params != nil {
			params = *probe.Params
		}
		return jsonrpc2.NewCall(*probe.ID, "", params)
	}
	return jsonrpc2.DecodeMessage(body)
}
