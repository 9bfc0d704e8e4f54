package engine

import (
	"io"
	"os"
	"sync"
)

// A session's stdout and stderr are files, not pipes: a program the
// transcript starts gets the file's descriptor itself, so a background
// orphan that keeps it open never makes the session wait for end of file.
// But a command made only of shell builtins (echo, printf, cd, test) does
// not need the file: writing it and reading it back cost five system
// calls per command, most of the CPU time of a builtin-heavy transcript
// (and what kept parallel checks from scaling). So an outStream keeps a
// command's output in memory until a program is handed the descriptor
// (handOff) or the output grows past outSpill; from then on it is the
// file, exactly as before.

// outSpill is how much of one command's stream is kept in memory before
// it goes to the file. It is below BigOutput, so big outputs are always
// checked from the file.
const outSpill = 256 << 10

// outputRecycleSize bounds the output files: past it they are emptied
// before the next command.
const outputRecycleSize = 1 << 20

// outStream is one of a session's output streams. Background jobs write
// from other goroutines, hence the lock.
type outStream struct {
	mu  sync.Mutex
	f   *os.File
	buf []byte // this command's output not yet in f (while !direct)
	// direct is set when this command's writes go to f: a program got its
	// descriptor, or the output spilled.
	direct bool
	// shared is set for good once a program got the descriptor: it (or
	// an orphan of it) may write at any time, so only f's offset says
	// where the output ends.
	shared bool
	end    int64 // f's size while !shared: the session is its only writer
	start  int64 // where this command's output starts in f
}

func newOutStream(f *os.File) *outStream { return &outStream{f: f} }

// Write implements io.Writer for the shell's builtins.
func (o *outStream) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.direct {
		n, err := o.f.Write(p)
		o.end += int64(n)
		return n, err
	}
	o.buf = append(o.buf, p...)
	if len(o.buf) > outSpill {
		o.direct = true
		if err := o.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (o *outStream) flushLocked() error {
	if len(o.buf) == 0 {
		return nil
	}
	n, err := o.f.Write(o.buf)
	o.end += int64(n)
	o.buf = o.buf[:0]
	return err
}

// handOff returns the file for a program to write to, after what the
// builtins wrote before it, and keeps the stream in the file from now on.
func (o *outStream) handOff() *os.File {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushLocked()
	o.direct, o.shared = true, true
	return o.f
}

// mark starts a command's output. Whatever a background job wrote
// between commands belongs to no command: dropped from memory, or left
// before the new start offset in the file.
func (o *outStream) mark() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = o.buf[:0]
	if o.shared {
		o.start = markOutput(o.f)
		return
	}
	o.direct = false
	if o.end >= outputRecycleSize {
		o.f.Truncate(0)
		o.f.Seek(0, io.SeekStart)
		o.end = 0
	}
	o.start = o.end
}

// capture returns the command's output since mark: in memory, or as a
// section of the file when it is big and streamBig is set (the session
// checks it from disk).
func (o *outStream) capture(streamBig bool) ([]byte, *outSection) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.direct {
		if len(o.buf) == 0 {
			return nil, nil
		}
		out := append([]byte(nil), o.buf...)
		o.buf = o.buf[:0]
		return out, nil
	}
	o.flushLocked()
	end, err := o.f.Seek(0, io.SeekCurrent)
	if err == nil && streamBig && end-o.start > BigOutput {
		return nil, &outSection{f: o.f, off: o.start, size: end - o.start}
	}
	return readSince(o.f, o.start), nil
}

// markOutput returns the offset where the next command's output starts
// in a file programs write to. The output files are only appended to,
// and emptied once they grow past outputRecycleSize: truncating them
// before every command cost two journaled inode updates per command and
// serialised parallel checks. The offset is read from the file, not
// remembered, so whatever a background job wrote between commands
// belongs to no command.
func markOutput(f *os.File) int64 {
	n, err := f.Seek(0, io.SeekCurrent)
	if err == nil && n < outputRecycleSize {
		return n
	}
	f.Truncate(0)
	n, _ = f.Seek(0, io.SeekStart)
	return n
}

// readSince reads what was written to f since offset start.
func readSince(f *os.File, start int64) []byte {
	end, err := f.Seek(0, io.SeekCurrent)
	if err != nil || end <= start {
		return nil
	}
	buf := make([]byte, end-start)
	m, _ := f.ReadAt(buf, start)
	return buf[:m]
}
