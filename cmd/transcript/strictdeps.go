package main

import (
	"fmt"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
)

// `check --strict-deps`: hermetic checking without a sandbox. A traced run
// that read an in-root input no declaration covers fails, naming the
// command's file:line, what it read and the declarations that would cover
// it (the ones `deps --observed --write` and the editor's quick fix add).
// A cached result says nothing about what the run read, so strict checks
// run every transcript (and still record passing results).

// undeclaredErrors are the strict-deps messages for a run, one per
// command that read undeclared inputs.
func undeclaredErrors(path string, res *engine.Result) []string {
	dir := engine.TranscriptDir(path)
	var msgs []string
	for _, s := range engine.Suggest(res) {
		what := s.Describe(dir)
		who := "a command"
		if len(s.Progs) > 0 {
			who = "`" + strings.Join(s.Progs, "`, `") + "`"
		}
		var decls []string
		for _, d := range s.Decls {
			decls = append(decls, d.Text(dir))
		}
		msgs = append(msgs, fmt.Sprintf("%s:%d: undeclared input: %s %s; declare: %s",
			path, s.Line, who, what, strings.Join(decls, "; ")))
	}
	return msgs
}
