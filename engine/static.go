package engine

import (
	"os"
	"path/filepath"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// StaticDirs predicts the session's directory at every line without
// running anything: it follows blocks that are exactly `cd LITERAL`
// (the common case in transcripts). Entry i is the directory in effect
// after line i+1. A `cd` it cannot follow leaves the directory unknown
// (""), so callers do not guess.
func StaticDirs(f *parser.File, start string) []string {
	dirs := make([]string, len(f.Lines))
	cur := start
	for i, l := range f.Lines {
		if l.Kind == parser.KindCommand && l.Block != nil {
			if target, ok := literalCd(l.Block.Text()); ok {
				if cur != "" {
					cur = absIn(cur, target)
				}
			} else if mentionsCd(l.Block.Text()) {
				cur = ""
			}
		}
		dirs[i] = cur
	}
	return dirs
}

// literalCd recognises "cd DIR" with a literal DIR.
func literalCd(text string) (string, bool) {
	prog, err := syntax.NewParser().Parse(strings.NewReader(text), "")
	if err != nil || len(prog.Stmts) != 1 {
		return "", false
	}
	call, ok := prog.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) != 2 || call.Args[0].Lit() != "cd" || len(prog.Stmts[0].Redirs) > 0 {
		return "", false
	}
	arg := call.Args[1].Lit()
	if arg == "" || arg == "-" || strings.ContainsAny(arg, "$`~") {
		return "", false
	}
	return arg, true
}

func mentionsCd(text string) bool {
	for _, w := range strings.Fields(text) {
		if w == "cd" || w == "pushd" || w == "popd" {
			return true
		}
	}
	return false
}

// ResolveStatic resolves a transcript's declarations without running it:
// words are expanded from env (nil: the process environment) and relative
// paths against the directory StaticDirs predicts. Declarations after a
// `cd` it cannot follow resolve against the start directory, marked in the
// returned unknownDir lines.
func ResolveStatic(f *parser.File, dir, root string, env []string) (inputs []Input, errs parser.ErrorList, unknownDir []int) {
	lookup := os.LookupEnv
	if env != nil {
		m := envMap(env)
		lookup = func(name string) (string, bool) { v, ok := m[name]; return v, ok }
	}
	if root == "" {
		root = FindModuleRoot(dir)
	}
	r := &Resolver{Root: root, LookupEnv: lookup}
	dirs := StaticDirs(f, dir)
	for _, d := range f.Directives {
		cwd := dirs[d.Line.Num-1]
		if cwd == "" {
			cwd = dir
			unknownDir = append(unknownDir, d.Line.Num)
		}
		for _, dep := range d.Deps {
			value := dep.Value
			if !dep.Literal {
				v, err := ExpandWord(dep.Word, lookup)
				if err != nil {
					errs = append(errs, &parser.Error{File: f.Name, Range: dep.Range, Code: parser.CodeBadDep, Msg: err.Error()})
					continue
				}
				value = v
			}
			ins, derrs, err := r.Resolve(dep.Kind, value, cwd, d.Line.Num)
			if err != nil {
				errs = append(errs, &parser.Error{File: f.Name, Range: dep.Range, Code: parser.CodeBadDep, Msg: err.Error()})
			}
			errs = append(errs, derrs...)
			for i := range ins {
				if ins[i].Origin == OriginDeclared {
					ins[i].Raw = dep.Raw
				}
			}
			inputs = append(inputs, ins...)
		}
	}
	return inputs, errs, unknownDir
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TranscriptDir returns the absolute directory of a transcript file name.
func TranscriptDir(name string) string {
	abs, err := filepath.Abs(name)
	if err != nil {
		return filepath.Dir(name)
	}
	return filepath.Dir(abs)
}
