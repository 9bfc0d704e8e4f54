package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/cmdt-dev/cmdt/engine"
)

// style colours text on a terminal, as colorEnabled decides.
type style struct{ on bool }

func newStyle(w io.Writer) style {
	f, ok := w.(*os.File)
	return style{on: colorEnabled(ok && term.IsTerminal(int(f.Fd())), os.LookupEnv)}
}

// colorEnabled follows https://bixense.com/clicolors/ as the origin tool
// does: CLICOLOR_FORCE set and not "0" forces colour, "0" turns it off;
// otherwise colour needs a terminal and CLICOLOR other than "0". NO_COLOR
// (https://no-color.org) and TERM=dumb also turn it off unless forced.
func colorEnabled(tty bool, lookup func(string) (string, bool)) bool {
	if force, _ := lookup("CLICOLOR_FORCE"); force != "" {
		return force != "0"
	}
	if v, _ := lookup("NO_COLOR"); v != "" {
		return false
	}
	if v, _ := lookup("TERM"); v == "dumb" {
		return false
	}
	prefer, _ := lookup("CLICOLOR")
	return tty && prefer != "0"
}

func (s style) wrap(code, text string) string {
	if !s.on {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}
func (s style) red(t string) string   { return s.wrap("31", t) }
func (s style) green(t string) string { return s.wrap("32", t) }
func (s style) dim(t string) string   { return s.wrap("2", t) }

// colorDiff colours the lines of a unified diff.
func (s style) colorDiff(diff string) string {
	if !s.on {
		return diff
	}
	lines := strings.SplitAfter(diff, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			lines[i] = s.wrap("1", l)
		case strings.HasPrefix(l, "+"):
			lines[i] = s.green(l)
		case strings.HasPrefix(l, "-"):
			lines[i] = s.red(l)
		case strings.HasPrefix(l, "@@"):
			lines[i] = s.wrap("36", l)
		}
	}
	return strings.Join(lines, "")
}

// renderOutcome is the text a file contributes to `check` output.
func renderOutcome(o *fileOutcome, st style, verbose bool) string {
	var b strings.Builder
	switch o.status {
	case "pass":
		if o.cached {
			fmt.Fprintf(&b, "%s  %s (cached)\n", st.green("ok"), o.path)
		} else {
			fmt.Fprintf(&b, "%s  %s (%.2fs)%s%s\n", st.green("ok"), o.path, o.duration.Seconds(), staleNote(o, st), notCachedNote(o, st))
		}
	case "fail":
		fmt.Fprintf(&b, "%s %s (%.2fs)%s\n", st.red("FAIL"), o.path, o.duration.Seconds(), staleNote(o, st))
	default:
		fmt.Fprintf(&b, "%s %s: %v\n", st.red("ERROR"), o.path, o.err)
	}
	if o.result == nil {
		return b.String()
	}
	for _, c := range o.result.Commands {
		if c.Failure == nil {
			if verbose {
				fmt.Fprintf(&b, "    %s %s:%d: $ %s (%s)\n", st.green("✓"), o.path, c.Block.Command.Num, firstLine(c.Block.Text()), roundDuration(c.Duration))
			}
			continue
		}
		b.WriteString(indent(renderFailure(o.path, c.Failure, st), "    "))
	}
	for _, u := range o.undeclared {
		fmt.Fprintf(&b, "    %s\n", u)
	}
	return b.String()
}

// staleNote says why a transcript with a cached result was run again.
func staleNote(o *fileOutcome, st style) string {
	if len(o.reasons) == 0 {
		return ""
	}
	return st.dim(" [stale: " + strings.Join(o.reasons, ", ") + "]")
}

// notCachedNote says why a passing run was not cached.
func notCachedNote(o *fileOutcome, st style) string {
	if o.notCached == "" {
		return ""
	}
	return st.dim(" [not cached: " + o.notCached + "]")
}

func renderFailure(path string, f *engine.Failure, st style) string {
	return f.Report(path, st.colorDiff)
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// progress draws a live "[done/total] running: ..." line on a terminal.
type progress struct {
	mu      sync.Mutex
	w       *os.File
	on      bool
	total   int
	done    int
	running []string
	shown   bool
}

func newProgress(w io.Writer, total int, enabled bool) *progress {
	f, ok := w.(*os.File)
	return &progress{w: f, total: total, on: enabled && ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"}
}

func (p *progress) start(path string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	p.running = append(p.running, path)
	p.mu.Unlock()
	p.redraw()
}

func (p *progress) finish(path string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	p.done++
	for i, r := range p.running {
		if r == path {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	p.redraw()
}

func (p *progress) clear() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) redraw() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("[%d/%d] running: %s", p.done, p.total, strings.Join(p.running, ", "))
	width := 80
	if w, _, err := term.GetSize(int(p.w.Fd())); err == nil && w > 10 {
		width = w
	}
	if len(line) > width-1 {
		line = line[:width-4] + "..."
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
	p.shown = true
}
