package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/cmdt-dev/cmdt/engine"
)

// style colours text on a terminal, never with NO_COLOR or TERM=dumb.
type style struct{ on bool }

func newStyle(w io.Writer) style {
	f, ok := w.(*os.File)
	return style{on: ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
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
			fmt.Fprintf(&b, "%s  %s (%.2fs)%s\n", st.green("ok"), o.path, o.duration.Seconds(), staleNote(o, st))
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
	return b.String()
}

// staleNote says why a transcript with a cached result was run again.
func staleNote(o *fileOutcome, st style) string {
	if len(o.reasons) == 0 {
		return ""
	}
	return st.dim(" [stale: " + strings.Join(o.reasons, ", ") + "]")
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

// JSON report.

type jsonCommand struct {
	Line       int     `json:"line"`
	Command    string  `json:"command"`
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	ExitCode   int     `json:"exit_code"`
	WantExit   int     `json:"want_exit_code"`
	Diff       string  `json:"diff,omitempty"`
	Error      string  `json:"error,omitempty"`
	TimedOut   bool    `json:"timed_out,omitempty"`
}

type jsonFile struct {
	Path       string        `json:"path"`
	Status     string        `json:"status"`
	Cached     bool          `json:"cached"`
	Reasons    []string      `json:"rerun_reasons,omitempty"`
	DurationMS float64       `json:"duration_ms"`
	Error      string        `json:"error,omitempty"`
	Commands   []jsonCommand `json:"commands,omitempty"`
}

type jsonReport struct {
	Files   []jsonFile `json:"files"`
	Summary struct {
		Passed    int     `json:"passed"`
		Cached    int     `json:"cached"`
		Failed    int     `json:"failed"`
		Errors    int     `json:"errors"`
		ElapsedMS float64 `json:"elapsed_ms"`
	} `json:"summary"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func writeJSON(w io.Writer, outcomes []*fileOutcome, s summary) error {
	var r jsonReport
	r.Files = []jsonFile{}
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		jf := jsonFile{Path: o.path, Status: o.status, Cached: o.cached, Reasons: o.reasons, DurationMS: ms(o.duration)}
		if o.err != nil {
			jf.Error = o.err.Error()
		}
		if o.result != nil {
			for _, c := range o.result.Commands {
				jc := jsonCommand{Line: c.Block.Command.Num, Command: c.Block.Text(), Status: "pass", DurationMS: ms(c.Duration),
					ExitCode: c.ExitCode, WantExit: c.Block.ExitCode, TimedOut: c.TimedOut}
				if c.Failure != nil {
					jc.Status, jc.Diff = "fail", c.Failure.Diff
					if c.Failure.Err != nil {
						jc.Error = c.Failure.Err.Error()
					}
				}
				jf.Commands = append(jf.Commands, jc)
			}
		}
		r.Files = append(r.Files, jf)
	}
	r.Summary.Passed, r.Summary.Cached, r.Summary.Failed, r.Summary.Errors = s.passed, s.cached, s.failed, s.errors
	r.Summary.ElapsedMS = ms(s.elapsed)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JUnit XML report: one test case per transcript.

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

func writeJUnit(path string, outcomes []*fileOutcome, s summary) error {
	suite := junitSuite{Name: "transcript", Failures: s.failed, Errors: s.errors, Time: fmt.Sprintf("%.3f", s.elapsed.Seconds())}
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		suite.Tests++
		c := junitCase{Name: o.path, Classname: "transcript", Time: fmt.Sprintf("%.3f", o.duration.Seconds())}
		switch o.status {
		case "fail":
			var text strings.Builder
			n := 0
			for _, cr := range o.result.Failures() {
				n++
				text.WriteString(renderFailure(o.path, cr.Failure, style{}))
			}
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d command(s) failed", n), Type: "mismatch", Text: text.String()}
		case "error":
			c.Error = &junitFailure{Message: o.err.Error(), Type: "error", Text: o.err.Error()}
		default:
			if o.cached {
				c.SystemOut = "cached"
			}
		}
		suite.Cases = append(suite.Cases, c)
	}
	data, err := xml.MarshalIndent(suite, "", "  ")
	if err != nil {
		return err
	}
	_, err = engine.WriteFileAtomic(path, append([]byte(xml.Header), append(data, '\n')...))
	return err
}
