package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size limits for the files the engine reads itself (not those the
// transcript's programs read). A file over its limit is an error naming
// the file and the limit, never a partial read.
const (
	// MaxTranscriptSize bounds a .cmdt file.
	MaxTranscriptSize = 64 << 20
	// MaxDepfileSize bounds a depfile (`% depfile`).
	MaxDepfileSize = 8 << 20
	// MaxExpectFileSize bounds an expected-output file (`1<`, `2<`).
	MaxExpectFileSize = 256 << 20
)

// ErrNotRegular is returned for a path that is not a regular file (a
// FIFO, a device such as /dev/zero, a socket, a directory): the engine
// never reads those, because a read could block forever or never end.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file over the size limit of its kind.
var ErrTooLarge = errors.New("file too large")

// ReadRegular reads the regular file at path (symbolic links followed),
// at most limit bytes. It opens the file non-blocking, so a FIFO or a
// device never stalls the open, then refuses anything that is not a
// regular file (ErrNotRegular) or is larger than limit (ErrTooLarge). A
// file that grows past limit while it is read is refused too.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readBounded(f, limit)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// OpenRegular opens path for reading without blocking and returns it only
// when it is a regular file; otherwise the error wraps ErrNotRegular.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileKind(fi.Mode()))}
	}
	return f, nil
}

// readBounded reads f to its end, refusing more than limit bytes.
func readBounded(f *os.File, limit int64) ([]byte, error) {
	size := int64(512)
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		if fi.Size() > limit {
			return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, fi.Size(), limit)
		}
		size = fi.Size() + 1
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):min(int64(cap(buf)), limit+1)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fileKind names a non-regular file type for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	default:
		return "a special file"
	}
}
