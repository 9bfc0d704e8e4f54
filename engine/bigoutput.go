package engine

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/cmdt-dev/cmdt/parser"
)

// Very large outputs (a command printing hundreds of megabytes) are never
// read into memory during a check: the stream stays in the session's
// output file, is matched line by line from there, and a failure is
// reported in bounded form — the first differing lines, the last lines,
// counts of what was left out — with the full output copied to a file
// that is kept and named in the report.

// BigOutput is the size above which a stream is checked from disk rather
// than in memory.
const BigOutput = 8 << 20

// Report bounds for a big stream's failure.
const (
	bigReportHead    = 20  // expectation and actual lines shown from the first difference
	bigReportTail    = 5   // last actual lines shown
	bigReportContext = 3   // matching lines shown before the first difference
	maxReportLine    = 200 // bytes of one line shown
)

// outSection is a stream left in the session's output file: valid until
// the next command starts.
type outSection struct {
	f         *os.File
	off, size int64
}

func (o *outSection) reader() *io.SectionReader { return io.NewSectionReader(o.f, o.off, o.size) }

// BigOutputs reports whether a stream of the command was larger than
// BigOutput: it was checked from disk and is not in Stdout/Stderr.
func (cr *CommandResult) BigOutputs() bool { return cr.wasBig }

// Output returns the bytes of one stream (1 stdout, 2 stderr): from
// memory, or from the file a big output of a failed command was kept in.
func (cr *CommandResult) Output(stream int) ([]byte, error) {
	data, path := cr.Stdout, cr.StdoutPath
	if stream == 2 {
		data, path = cr.Stderr, cr.StderrPath
	}
	if path == "" {
		return data, nil
	}
	return os.ReadFile(path)
}

// keepBig copies the big streams of a failed command to files that
// outlive the session (the report names them, update reads them), and
// forgets the sections, which the next command overwrites.
func (cr *CommandResult) keepBig() {
	for stream, sec := range cr.big {
		if sec == nil {
			continue
		}
		cr.big[stream] = nil
		if cr.Failure == nil {
			continue
		}
		path, err := keepOutput(sec, stream)
		if err != nil {
			cr.Failure.Err = errors.Join(cr.Failure.Err, err)
			continue
		}
		if stream == 1 {
			cr.StdoutPath = path
		} else {
			cr.StderrPath = path
		}
		cr.Failure.Diff = strings.ReplaceAll(cr.Failure.Diff, keptPlaceholder(stream), path)
	}
}

func keepOutput(sec *outSection, stream int) (string, error) {
	name := map[int]string{1: "stdout", 2: "stderr"}[stream]
	f, err := os.CreateTemp("", "cmdt-"+name+"-*.txt")
	if err != nil {
		return "", fmt.Errorf("keeping the full %s: %w", name, err)
	}
	_, err = io.Copy(f, sec.reader())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("keeping the full %s: %w", name, err)
	}
	return f.Name(), nil
}

// keptPlaceholder stands for the kept file's path in a report until the
// file exists (it is made only for a failed command).
func keptPlaceholder(stream int) string { return fmt.Sprintf("\x00kept-output-%d\x00", stream) }

// lineScanner reads lines from a stream, and can go back to a line it
// read before (by offset), which the "..." backtracking needs.
type lineScanner struct {
	src  io.ReaderAt
	size int64
	br   *bufio.Reader
	off  int64 // offset of the next unread byte
	buf  []byte
	rd   offsetReader // what br reads, reused on every seek
}

// offsetReader reads src from off to end.
type offsetReader struct {
	src      io.ReaderAt
	off, end int64
}

func (r *offsetReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.end-r.off)]
	n, err := r.src.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func newLineScanner(src io.ReaderAt, size int64) *lineScanner {
	s := &lineScanner{src: src, size: size, br: bufio.NewReaderSize(nil, 64<<10)}
	s.seek(0)
	return s
}

func (s *lineScanner) seek(off int64) {
	s.off = off
	s.rd = offsetReader{src: s.src, off: off, end: s.size}
	s.br.Reset(&s.rd)
}

// next returns the next line without its '\n' (valid until the next call)
// and the offset where it starts.
func (s *lineScanner) next() ([]byte, int64, bool) {
	if s.off >= s.size {
		return nil, s.off, false
	}
	start := s.off
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.off += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			s.buf = append(s.buf, chunk...)
			continue
		}
		if len(s.buf) > 0 {
			s.buf = append(s.buf, chunk...)
			chunk = s.buf
		}
		return bytes.TrimSuffix(chunk, []byte{'\n'}), start, true
	}
}

// asString views b as a string without copying; the matcher does not keep it.
func asString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// streamMatchesFrom runs the wildcard algorithm of matchLines over a
// scanner: on a mismatch the latest "..." absorbs one more line and the
// scan resumes after it.
func streamMatchesFrom(pats []*linePattern, sc *lineScanner) bool {
	i := 0
	star := -1
	var starOff int64
	line, off, ok := sc.next()
	for ok {
		switch {
		case i < len(pats) && pats[i].any:
			star, starOff = i, off
			i++
		case i < len(pats) && pats[i].match(asString(line)):
			i++
			line, off, ok = sc.next()
		case star >= 0 && i == star+1:
			// The line right after the "..." did not continue the
			// match: the "..." absorbs it, no need to read back.
			line, off, ok = sc.next()
			starOff = off
		case star >= 0:
			sc.seek(starOff)
			sc.next() // the line the "..." absorbs
			i = star + 1
			line, off, ok = sc.next()
			starOff = off
		default:
			return false
		}
	}
	for i < len(pats) && pats[i].any {
		i++
	}
	return i == len(pats)
}

// isBinaryStream applies IsBinary's rule to a stream read in chunks.
func isBinaryStream(r io.Reader) bool {
	buf := make([]byte, 1<<20)
	var carry []byte
	bad, total := 0, 0
	for {
		n, err := io.ReadFull(r, buf[len(carry):])
		copy(buf, carry)
		data := buf[:len(carry)+n]
		if bytes.IndexByte(data, 0) >= 0 {
			return true
		}
		carry = carry[:0]
		for len(data) > 0 {
			if !utf8.FullRune(data) && err == nil {
				carry = append(carry, data...)
				break
			}
			r, size := utf8.DecodeRune(data)
			data = data[size:]
			total++
			if r == utf8.RuneError && size == 1 || r < 0x20 && !strings.ContainsRune("\t\n\r\f\v\b\x1b", r) || r == 0x7f {
				bad++
			}
		}
		if err != nil {
			return bad*10 > total
		}
	}
}

// bigStream is one stream of a command checked from disk.
type bigStream struct {
	stream   int
	src      io.ReaderAt
	size     int64
	pats     []*linePattern
	wantNoNL bool
	wantBin  []byte // the "1<" binary file compared to, or nil
	ref      string
}

// checkBig checks a command one of whose streams is big.
func (s *session) checkBig(cr *CommandResult, f *Failure) *Failure {
	b := cr.Block
	var report strings.Builder
	var errs []error
	for _, stream := range []int{2, 1} {
		bs, err := newBigStream(cr, stream, s.obs.add)
		if err != nil {
			errs = append(errs, err)
		}
		if !bs.matches() {
			bs.report(&report, cr)
		}
	}
	if report.Len() == 0 && !b.HasPatterns() && !canonicalOrder(b) {
		report.WriteString("expected stderr lines must come before stdout lines, as the output is compared\n")
	}
	f.Err = errors.Join(errs...)
	f.Diff = report.String()
	return f.orNil(cr, b)
}

// canonicalOrder reports whether no stderr expectation follows a stdout one.
func canonicalOrder(b *parser.Block) bool {
	seenOut := false
	for _, e := range b.Expect {
		seenOut = seenOut || e.Stream == 1
		if e.Stream == 2 && seenOut {
			return false
		}
	}
	return true
}

func newBigStream(cr *CommandResult, stream int, seen func(Input)) (*bigStream, error) {
	bs := &bigStream{stream: stream}
	if sec := cr.big[stream]; sec != nil {
		bs.src, bs.size = sec.reader(), sec.size
	} else {
		data := cr.Stdout
		if stream == 2 {
			data = cr.Stderr
		}
		bs.src, bs.size = bytes.NewReader(data), int64(len(data))
	}
	var errs []error
	for _, e := range cr.Block.Expect {
		if e.Stream != stream {
			continue
		}
		bs.wantNoNL = e.NoNewline
		if e.File {
			items, err := expectedFileItems(e, cr.Dir, seen)
			if err != nil {
				errs = append(errs, err)
			}
			for _, it := range items {
				if it.binary != nil {
					bs.wantBin, bs.ref = it.binary, it.ref
					continue
				}
				bs.pats = append(bs.pats, &linePattern{parts: []string{it.text}})
				bs.wantNoNL = it.noNewline
			}
			continue
		}
		p, err := compileExpectation(e, cr.Substs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		bs.pats = append(bs.pats, p)
	}
	return bs, errors.Join(errs...)
}

func (bs *bigStream) matches() bool {
	if bs.size == 0 {
		return len(bs.pats) == 0 && bs.wantBin == nil || onlyAnyLines(bs.pats) && !bs.wantNoNL
	}
	if bs.wantBin != nil || isBinaryStream(io.NewSectionReader(bs.src, 0, bs.size)) {
		return bs.wantBin != nil && len(bs.pats) == 0 && int64(len(bs.wantBin)) == bs.size && sameBytes(bs.src, bs.wantBin)
	}
	last := make([]byte, 1)
	bs.src.ReadAt(last, bs.size-1)
	if (last[0] != '\n') != bs.wantNoNL {
		return false
	}
	return streamMatchesFrom(bs.pats, newLineScanner(bs.src, bs.size))
}

func onlyAnyLines(pats []*linePattern) bool {
	for _, p := range pats {
		if !p.any {
			return false
		}
	}
	return true
}

func sameBytes(src io.ReaderAt, want []byte) bool {
	buf := make([]byte, 1<<20)
	for off := 0; off < len(want); {
		n, err := src.ReadAt(buf[:min(len(buf), len(want)-off)], int64(off))
		if n == 0 || !bytes.Equal(buf[:n], want[off:off+n]) {
			return false
		}
		off += n
		if err != nil && off < len(want) {
			return false
		}
	}
	return true
}

// report writes a bounded account of how the stream differs: the lines
// around the first difference, the last lines, what was left out, and
// where the full output is kept.
func (bs *bigStream) report(w *strings.Builder, cr *CommandResult) {
	name := map[int]string{1: "stdout", 2: "stderr"}[bs.stream]
	keep := func() string {
		if cr.big[bs.stream] != nil {
			return keptPlaceholder(bs.stream)
		}
		return "(in memory)"
	}
	if bs.wantBin != nil || bs.size > 0 && isBinaryStream(io.NewSectionReader(bs.src, 0, bs.size)) {
		h := sha256.New()
		io.Copy(h, io.NewSectionReader(bs.src, 0, bs.size))
		fmt.Fprintf(w, "%s: binary output of %d bytes (sha256 %x) does not match", name, bs.size, h.Sum(nil))
		if bs.wantBin != nil {
			fmt.Fprintf(w, " %s (%d bytes, sha256 %x)", bs.ref, len(bs.wantBin), sha256.Sum256(bs.wantBin))
		}
		fmt.Fprintf(w, "\nfull %s: %s\n", name, keep())
		return
	}
	// The matching prefix: expectations paired with lines until the first
	// one that does not match (or the first "...").
	sc := newLineScanner(bs.src, bs.size)
	var context []string
	i, lineNo := 0, 0
	line, lineOff, ok := sc.next()
	for ok && i < len(bs.pats) && !bs.pats[i].any && bs.pats[i].match(asString(line)) {
		context = append(context, clipReportLine(line))
		if len(context) > bigReportContext {
			context = context[1:]
		}
		i++
		lineNo++
		line, lineOff, ok = sc.next()
	}
	fmt.Fprintf(w, "--- expected %s\n+++ actual %s\n@@ first difference at %s line %d @@\n", name, name, name, lineNo+1)
	for _, c := range context {
		w.WriteString(" " + c + "\n")
	}
	shownWant := 0
	for ; i < len(bs.pats) && shownWant < bigReportHead; i++ {
		w.WriteString("-" + bs.pats[i].render(bs.stream) + "\n")
		shownWant++
	}
	restWant := len(bs.pats) - i
	// The last lines are remembered by offset and read again at the end:
	// nothing is allocated per line of a huge output.
	var tail [bigReportTail][2]int64
	nTail := 0
	shown, lines := 0, lineNo
	for ok {
		lines++
		if shown < bigReportHead {
			w.WriteString("+" + literalLine(bs.stream, clipReportLine(line)) + "\n")
			shown++
		} else {
			tail[nTail%bigReportTail] = [2]int64{lineOff, int64(len(line))}
			nTail++
		}
		line, lineOff, ok = sc.next()
	}
	kept := min(nTail, bigReportTail)
	leftOut := lines - lineNo - shown - kept
	if restWant > 0 || leftOut > 0 {
		fmt.Fprintf(w, "@@ left out: %d expected line(s), %d actual line(s) @@\n", restWant, leftOut)
	}
	for k := nTail - kept; k < nTail; k++ {
		at := tail[k%bigReportTail]
		buf := make([]byte, min(at[1], maxReportLine+4))
		n, _ := bs.src.ReadAt(buf, at[0])
		text := clipReportLine(buf[:n])
		if at[1] > int64(n) {
			text = fmt.Sprintf("%s… (%d bytes)", strings.TrimSuffix(clipReportLine(buf[:min(n, maxReportLine)]), "…"), at[1])
		}
		w.WriteString("+" + literalLine(bs.stream, text) + "\n")
	}
	if bs.wantNoNL != (bs.size > 0 && lastByte(bs.src, bs.size) != '\n') {
		w.WriteString("(the final newline differs: see % no-newline)\n")
	}
	fmt.Fprintf(w, "full %s (%d lines, %d bytes): %s\n", name, lines, bs.size, keep())
}

func lastByte(src io.ReaderAt, size int64) byte {
	b := make([]byte, 1)
	src.ReadAt(b, size-1)
	return b[0]
}

// clipReportLine bounds one line of a report.
func clipReportLine(line []byte) string {
	if len(line) <= maxReportLine {
		return string(line)
	}
	cut := maxReportLine
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", line[:cut], len(line))
}

// Bounds of a failure's diff: reports, editors and JSON stay readable
// whatever the output's size.
const (
	maxDiffHead = 300
	maxDiffTail = 50
)

// boundDiff keeps a diff's first maxDiffHead and last maxDiffTail lines,
// each clipped to maxReportLine bytes, and says how many it left out.
func boundDiff(diff string) string {
	lines := strings.SplitAfter(diff, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	long := false
	for _, l := range lines {
		if len(l) > maxReportLine+1 {
			long = true
			break
		}
	}
	if len(lines) <= maxDiffHead+maxDiffTail && !long {
		return diff
	}
	var b strings.Builder
	emit := func(l string) {
		body := strings.TrimSuffix(l, "\n")
		b.WriteString(clipReportLine([]byte(body)) + "\n")
	}
	if len(lines) <= maxDiffHead+maxDiffTail {
		for _, l := range lines {
			emit(l)
		}
		return b.String()
	}
	for _, l := range lines[:maxDiffHead] {
		emit(l)
	}
	fmt.Fprintf(&b, "@@ … %d diff line(s) left out … @@\n", len(lines)-maxDiffHead-maxDiffTail)
	for _, l := range lines[len(lines)-maxDiffTail:] {
		emit(l)
	}
	return b.String()
}
