package engine

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/cmdt-dev/cmdt/parser"
)

// ResolveStatic resolves a transcript's declarations without running it:
// words are expanded from env (nil: the process environment) and relative
// paths against the directory the static session walker (SessionDirs)
// predicts. Declarations after a
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
	dirs := SessionDirs(f, dir)
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
			ins, derrs, err := r.ResolveDep(dep, value, cwd, d.Line.Num)
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
