package engine

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"

	"github.com/cmdt-dev/cmdt/parser"
)

// Failure describes why a command did not match its expectations.
type Failure struct {
	Line    int    // the "$" line
	Command string // the command text
	// Diff is a unified diff of expected vs actual output lines, "" when
	// the output matched.
	Diff string
	// StatusMismatch is set when the exit status differs.
	StatusMismatch bool
	WantStatus     int
	GotStatus      int
	// Err is a problem that prevented the check (a missing "1<" file).
	Err error
	// TimedOut is set when the command was killed by its timeout.
	TimedOut bool
}

// Error renders the failure as Report does, with "line N" for the file.
func (f *Failure) Error() string { return f.Report("", nil) }

// Report renders the failure the way compilers report problems,
// "file:line: $ command", so terminals and editors link to it, followed by
// the timeout, the error, the diff and the exit-status mismatch, one line
// each, ending in a newline. An empty file gives "line N: ...". decorate,
// if set, restyles the diff (the CLI colours it on a terminal).
func (f *Failure) Report(file string, decorate func(diff string) string) string {
	var b strings.Builder
	if file == "" {
		fmt.Fprintf(&b, "line %d", f.Line)
	} else {
		fmt.Fprintf(&b, "%s:%d", file, f.Line)
	}
	fmt.Fprintf(&b, ": $ %s\n", strings.ReplaceAll(f.Command, "\n", "\n> "))
	if f.TimedOut {
		b.WriteString("command timed out and was killed\n")
	}
	if f.Err != nil {
		fmt.Fprintf(&b, "%v\n", f.Err)
	}
	if f.Diff != "" {
		diff := f.Diff
		if !strings.HasSuffix(diff, "\n") {
			diff += "\n"
		}
		if decorate != nil {
			diff = decorate(diff)
		}
		b.WriteString(diff)
	}
	if f.StatusMismatch {
		fmt.Fprintf(&b, "exit status: want %d, got %d\n", f.WantStatus, f.GotStatus)
	}
	return b.String()
}

// outputItem is one line of output in the form the transcript spells it:
// an inline line of a stream, or a binary blob.
type outputItem struct {
	stream    int
	text      string
	noNewline bool
	binary    []byte // non-nil for binary output
	ref       string // the "1<" path, for display
}

func (it outputItem) equal(o outputItem) bool {
	if it.stream != o.stream || (it.binary == nil) != (o.binary == nil) {
		return false
	}
	if it.binary != nil {
		return bytes.Equal(it.binary, o.binary)
	}
	return it.text == o.text && it.noNewline == o.noNewline
}

func renderItems(items []outputItem) string {
	var b strings.Builder
	for _, it := range items {
		switch {
		case it.binary != nil:
			name := it.ref
			if name == "" {
				name = "(binary output)"
			}
			fmt.Fprintf(&b, "%d< %s [%d bytes, sha256 %x]\n", it.stream, name, len(it.binary), sha256.Sum256(it.binary))
		case it.text == "":
			fmt.Fprintf(&b, "%d\n", it.stream)
		default:
			// A '\r' would be invisible in a terminal (or move the cursor):
			// shown as ␍, "a" and "a\r" differ in the diff too.
			fmt.Fprintf(&b, "%d %s\n", it.stream, strings.ReplaceAll(it.text, "\r", "␍"))
		}
		if it.noNewline {
			b.WriteString("% no-newline\n")
		}
	}
	return b.String()
}

// IsBinary reports whether output must be kept as bytes rather than lines
// (spec §2): it holds a NUL byte, or more than 10% unprintable runes.
func IsBinary(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	bad, total := 0, 0
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		data = data[size:]
		total++
		if r == utf8.RuneError && size == 1 || r < 0x20 && !strings.ContainsRune("\t\n\r\f\v\b\x1b", r) || r == 0x7f {
			bad++
		}
	}
	return bad*10 > total
}

// streamItems splits one stream's bytes into items.
func streamItems(stream int, data []byte) []outputItem {
	if len(data) == 0 {
		return nil
	}
	if IsBinary(data) {
		return []outputItem{{stream: stream, binary: data}}
	}
	text := string(data)
	noNewline := !strings.HasSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\n")
	lines := strings.Split(text, "\n")
	items := make([]outputItem, len(lines))
	for i, l := range lines {
		items[i] = outputItem{stream: stream, text: l}
	}
	items[len(items)-1].noNewline = noNewline
	return items
}

// actualItems renders a command's output as the spec compares it:
// stderr first, then stdout.
func actualItems(cr *CommandResult) []outputItem {
	return append(streamItems(2, cr.Stderr), streamItems(1, cr.Stdout)...)
}

// expectedItems expands a block's expectations, reading "1<"/"2<" files
// relative to dir. Each file read is reported to seen.
func expectedItems(b *parser.Block, dir string, seen func(Input)) ([]outputItem, error) {
	var items []outputItem
	var errs []error
	for _, e := range b.Expect {
		if !e.File {
			items = append(items, outputItem{stream: e.Stream, text: e.Text, noNewline: e.NoNewline})
			continue
		}
		fileItems, err := expectedFileItems(e, dir, seen)
		if err != nil {
			errs = append(errs, err)
		}
		items = append(items, fileItems...)
	}
	return items, errors.Join(errs...)
}

// expectedFileItems reads the file of a "1<"/"2<" expectation.
func expectedFileItems(e *parser.Expectation, dir string, seen func(Input)) ([]outputItem, error) {
	path := absIn(dir, e.Text)
	data, err := ReadRegular(path, MaxExpectFileSize)
	seen(Input{Kind: InputFile, Origin: OriginExpectFile, Path: path, Raw: e.Text, Line: e.Line.Num, Exists: err == nil})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("line %d: expected-output file %s does not exist (looked in %s)", e.Line.Num, e.Text, dir)
		}
		return nil, fmt.Errorf("line %d: %w", e.Line.Num, err)
	}
	if IsBinary(data) {
		return []outputItem{{stream: e.Stream, binary: data, ref: e.Text}}, nil
	}
	return streamItems(e.Stream, data), nil
}

// check compares a command's result with its block's expectations.
func (s *session) check(cr *CommandResult) *Failure {
	b := cr.Block
	if cr.big[1] == nil && cr.big[2] == nil && !b.HasPatterns() && cr.ExitCode == b.ExitCode && !cr.TimedOut {
		if equal, ok := matchInline(b, cr); ok && equal {
			return nil
		}
	}
	f := &Failure{Line: b.Command.Num, Command: b.Text(), WantStatus: b.ExitCode, GotStatus: cr.ExitCode, TimedOut: cr.TimedOut}
	if cr.big[1] != nil || cr.big[2] != nil {
		return s.checkBig(cr, f)
	}
	if b.HasPatterns() {
		want, got, err := checkPatterns(cr, cr.Substs, s.obs.add)
		f.Err = err
		if want != got {
			f.Diff = boundDiff(udiff.Unified("expected", "actual", want, got))
		}
		return f.orNil(cr, b)
	}
	want, err := expectedItems(b, cr.Dir, s.obs.add)
	f.Err = err
	got := actualItems(cr)
	if !itemsEqual(want, got) {
		// Name binary actual output after the reference it was compared to.
		for i := range got {
			if got[i].binary != nil && i < len(want) && want[i].binary != nil {
				got[i].ref = want[i].ref
			}
		}
		f.Diff = boundDiff(udiff.Unified("expected", "actual", renderItems(want), renderItems(got)))
	}
	return f.orNil(cr, b)
}

// matchInline reports whether a command's output equals its block's
// expectations when they are all inline lines (ok is false otherwise), as
// itemsEqual(expectedItems, actualItems) would, without building either
// list: most commands pass, and their check need not allocate.
func matchInline(b *parser.Block, cr *CommandResult) (equal, ok bool) {
	for _, e := range b.Expect {
		if e.File {
			return false, false
		}
	}
	next := 0
	// Stderr first, then stdout, as actualItems orders them.
	for _, stream := range [...]int{2, 1} {
		data := cr.Stdout
		if stream == 2 {
			data = cr.Stderr
		}
		if len(data) == 0 {
			continue
		}
		if IsBinary(data) {
			return false, true // binary output is never an inline line
		}
		noNewline := data[len(data)-1] != '\n'
		if !noNewline {
			data = data[:len(data)-1]
		}
		for {
			line, rest, more := bytes.Cut(data, []byte{'\n'})
			if next == len(b.Expect) {
				return false, true
			}
			e := b.Expect[next]
			next++
			if e.Stream != stream || e.Text != string(line) || e.NoNewline != (!more && noNewline) {
				return false, true
			}
			if !more {
				break
			}
			data = rest
		}
	}
	return next == len(b.Expect), true
}

// orNil sets the status mismatch and returns f, or nil when nothing failed.
func (f *Failure) orNil(cr *CommandResult, b *parser.Block) *Failure {
	f.StatusMismatch = cr.ExitCode != b.ExitCode
	if f.Diff == "" && !f.StatusMismatch && f.Err == nil && !f.TimedOut {
		return nil
	}
	return f
}

func itemsEqual(a, b []outputItem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// relTo returns path relative to dir when it lies under it.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}
