package main

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

// schemaVersion is the version of docs/schema/cmdt-report.schema.json the
// JSON documents follow; every document carries it with its kind. Bump it
// when a field is removed, renamed or changes meaning (adding an optional
// field does not), and say so in docs/json.md.
const schemaVersion = 1

// docHeader starts every JSON document: the schema version and the kind
// that selects its shape in the schema.
type docHeader struct {
	SchemaVersion int    `json:"schemaVersion"`
	Kind          string `json:"kind"`
}

func header(kind string) docHeader { return docHeader{SchemaVersion: schemaVersion, Kind: kind} }

// problem is one reason a file could not be checked (schema: problem).
type problem struct {
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// problemsOf splits an error into problems with lines where it carries
// them (syntax and declaration errors), capped like their text.
func problemsOf(err error) []problem {
	var list parser.ErrorList
	var one *parser.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = parser.ErrorList{one}
	default:
		return []problem{{Message: err.Error()}}
	}
	var out []problem
	for i, e := range list {
		if i == parser.MaxListed {
			out = append(out, problem{Message: "and " + strconv.Itoa(len(list)-i) + " more syntax errors"})
			break
		}
		out = append(out, problem{Line: e.Range.Start.Line, Message: e.Msg})
	}
	return out
}

type jsonCommand struct {
	Line       int     `json:"line"`
	Command    string  `json:"command"`
	Status     string  `json:"status"`
	DurationMS float64 `json:"durationMs"`
	ExitCode   int     `json:"exitCode"`
	WantExit   int     `json:"wantExitCode"`
	Diff       string  `json:"diff,omitempty"`
	Error      string  `json:"error,omitempty"`
	TimedOut   bool    `json:"timedOut,omitempty"`
}

type jsonFile struct {
	Path       string        `json:"path"`
	Status     string        `json:"status"`
	Cached     bool          `json:"cached"`
	Reasons    []string      `json:"rerunReasons,omitempty"`
	NotCached  string        `json:"notCached,omitempty"`
	DurationMS float64       `json:"durationMs"`
	Line       int           `json:"line,omitempty"`
	Error      string        `json:"error,omitempty"`
	Problems   []problem     `json:"problems,omitempty"`
	Commands   []jsonCommand `json:"commands,omitempty"`
}

type jsonSummary struct {
	Passed    int     `json:"passed"`
	Cached    int     `json:"cached"`
	Failed    int     `json:"failed"`
	Errors    int     `json:"errors"`
	ElapsedMS float64 `json:"elapsedMs"`
}

// checkDoc is the check document (schema: check); watch events embed it.
type checkDoc struct {
	docHeader
	Error   string      `json:"error,omitempty"`
	Files   []jsonFile  `json:"files"`
	Summary jsonSummary `json:"summary"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// newCheckDoc builds the check document; fatal is a problem that stopped
// the whole command (nil when it ran to the end).
func newCheckDoc(outcomes []*fileOutcome, s summary, fatal error) checkDoc {
	r := checkDoc{docHeader: header("check"), Files: []jsonFile{}}
	if fatal != nil {
		r.Error = fatal.Error()
	}
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		r.Files = append(r.Files, fileJSON(o))
	}
	r.Summary = jsonSummary{Passed: s.passed, Cached: s.cached, Failed: s.failed, Errors: s.errors, ElapsedMS: ms(s.elapsed)}
	return r
}

// fileJSON is one transcript's entry (schema: checkFile); watch result
// events carry it too.
func fileJSON(o *fileOutcome) jsonFile {
	jf := jsonFile{Path: o.path, Status: o.status, Cached: o.cached, Reasons: o.reasons, NotCached: o.notCached, DurationMS: ms(o.duration)}
	if o.err != nil {
		jf.Problems = problemsOf(o.err)
		jf.Line, jf.Error = jf.Problems[0].Line, jf.Problems[0].Message
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
	return jf
}

func writeJSON(w io.Writer, outcomes []*fileOutcome, s summary, fatal error) error {
	return encodeJSON(w, newCheckDoc(outcomes, s, fatal))
}

// encodeJSON prints one indented JSON document.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // `<` and `>` are common in commands; keep them readable
	return enc.Encode(v)
}
