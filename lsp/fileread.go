package lsp

import (
	"fmt"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// readDeadline bounds how long a request waits for one file read.
const readDeadline = 2 * time.Second

// readFile reads a file from disk for the server's own use (depfiles,
// transcripts not open in the editor, expected-output previews). It is
// engine.ReadRegular — non-blocking open, regular files only, at most
// limit bytes, so a FIFO, /dev/zero or /dev/stdin is an error at once —
// run off the calling goroutine with a deadline, so that even a file on a
// hung file system costs a request readDeadline, never the request loop:
// hovers, diagnostics and other documents go on being answered. (The read
// itself finishes or fails in the background; nothing waits for it.)
func readFile(path string, limit int64) ([]byte, error) {
	return withReadDeadline(path, func() ([]byte, error) { return engine.ReadRegular(path, limit) })
}

// readHead returns up to n bytes from the start of a regular file, as
// readFile does (non-blocking, with a deadline).
func readHead(path string, n int) ([]byte, error) {
	return withReadDeadline(path, func() ([]byte, error) {
		f, err := engine.OpenRegular(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		buf := make([]byte, n)
		k, err := f.Read(buf)
		if k > 0 {
			err = nil
		}
		return buf[:k], err
	})
}

// withReadDeadline runs read on its own goroutine and waits at most
// readDeadline for it; a read that does not answer in time finishes or
// fails in the background, and nothing waits for it.
func withReadDeadline(path string, read func() ([]byte, error)) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read()
		done <- result{data, err}
	}()
	t := time.NewTimer(readDeadline)
	defer t.Stop()
	select {
	case r := <-done:
		return r.data, r.err
	case <-t.C:
		return nil, fmt.Errorf("read %s: no answer from the file system within %s", path, readDeadline)
	}
}
