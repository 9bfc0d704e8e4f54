package main

import (
	"fmt"
	"path/filepath"
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
		what := describeInputs(dir, s.Inputs)
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

// describeInputs says what a command did with inputs, paths relative to
// dir: "read go.mod, main.go and listed d/". Directories it only stat'ed
// are left out when it did more.
func describeInputs(dir string, ins []engine.Input) string {
	var read, listed, looked []string
	for _, in := range ins {
		name := in.Path
		if rel, err := filepath.Rel(dir, in.Path); err == nil {
			name = filepath.ToSlash(rel)
		}
		switch {
		case in.Kind == engine.InputGlob:
			listed = append(listed, strings.TrimSuffix(name, "*"))
		case in.StatOnly:
			looked = append(looked, name)
		default:
			read = append(read, name)
		}
	}
	isListed := map[string]bool{}
	for _, l := range listed {
		isListed[strings.TrimSuffix(l, "/")] = true
	}
	kept := read[:0]
	for _, r := range read {
		if !isListed[r] { // grep -r opens the directory it then lists
			kept = append(kept, r)
		}
	}
	read = kept
	if len(read)+len(listed) == 0 {
		read = looked
	}
	var parts []string
	if len(read) > 0 {
		parts = append(parts, "read "+listNames(read))
	}
	if len(listed) > 0 {
		parts = append(parts, "listed "+listNames(listed))
	}
	return strings.Join(parts, " and ")
}

// listNames joins up to five names, counting the rest.
func listNames(names []string) string {
	for i, n := range names {
		if n == "" {
			names[i] = "./"
		}
	}
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(", … (+%d more)", len(names)-5)
	}
	return strings.Join(names, ", ")
}
