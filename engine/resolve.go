package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// FindModuleRoot returns the module root for a transcript in dir (spec §3):
// the nearest directory at or above dir holding go.mod, else the nearest
// holding .git, else dir itself.
func FindModuleRoot(dir string) string {
	dir = filepath.Clean(dir)
	gitRoot := ""
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			return d
		}
		if gitRoot == "" && fileExists(filepath.Join(d, ".git")) {
			gitRoot = d
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if gitRoot != "" {
		return gitRoot
	}
	return dir
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// IsWithin reports whether path is root or lies under it.
func IsWithin(root, path string) bool {
	if root == "" {
		return false
	}
	if IsCleanAbs(root) {
		// The common case, on hot paths (every observed input, every word
		// of every command on each keystroke in the language server): a
		// prefix test, no allocation, and only the part of path below
		// root checked for cleanliness.
		if path == root || root == string(filepath.Separator) && IsCleanAbs(path) {
			return true
		}
		if len(path) > len(root) && path[len(root)] == filepath.Separator && path[:len(root)] == root {
			if IsCleanRel(path[len(root)+1:]) {
				return true
			}
		} else if IsCleanAbs(path) {
			return false
		}
	}
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// IsCleanAbs reports whether p is absolute and filepath.Clean(p) == p,
// in one pass and without Clean's copy: IsWithin runs for every observed
// input and, in the language server, for every word of every command on
// each keystroke; the tracer joins paths with it.
func IsCleanAbs(p string) bool {
	const sep = filepath.Separator
	if len(p) == 0 || p[0] != sep {
		return false
	}
	return len(p) == 1 || IsCleanRel(p[1:])
}

// IsCleanRel reports whether p is a non-empty relative path that
// filepath.Clean leaves as it is: no empty, "." or ".." element, no
// leading or trailing separator.
func IsCleanRel(p string) bool {
	const sep = filepath.Separator
	if p == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != sep {
			continue
		}
		switch p[start:i] {
		case "", ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}

// Resolver turns declaration values into Inputs.
type Resolver struct {
	// Root is the module root, for Input.InRoot.
	Root string
	// LookupEnv reads the session's environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

func (r *Resolver) lookup(name string) (string, bool) {
	if r.LookupEnv != nil {
		return r.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// Resolve resolves one declaration value (already expanded) relative to
// cwd. A depfile yields the depfile's own Input followed by its entries;
// the depfile's syntax errors come back in errs without failing the rest.
// err is set only when the depfile cannot be read.
func (r *Resolver) Resolve(kind parser.DepKind, value, cwd string, line int) (inputs []Input, errs parser.ErrorList, err error) {
	switch kind {
	case parser.DepEnv:
		_, set := r.lookup(value)
		return []Input{{Kind: InputEnv, Name: value, Raw: value, Line: line, Exists: set, InRoot: true}}, nil, nil
	case parser.DepExe:
		return []Input{r.resolveExe(value, cwd, line)}, nil, nil
	case parser.DepGlob:
		in, err := r.resolveGlob(value, cwd, line)
		return []Input{in}, nil, err
	case parser.DepDepfile:
		return r.resolveDepfile(value, cwd, line)
	default:
		return []Input{r.resolveFile(value, cwd, line)}, nil, nil
	}
}

func absIn(cwd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(cwd, p)
}

func (r *Resolver) resolveFile(value, cwd string, line int) Input {
	in := Input{Kind: InputFile, Path: absIn(cwd, value), Raw: value, Line: line}
	in.InRoot = IsWithin(r.Root, in.Path)
	st, err := os.Stat(in.Path)
	if err != nil {
		return in
	}
	in.Exists = true
	if st.IsDir() {
		in.Kind = InputDir
		in.Matches = filesUnder(in.Path)
	}
	return in
}

// filesUnder lists every regular file below dir, sorted.
func filesUnder(dir string) []string {
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

func (r *Resolver) resolveExe(value, cwd string, line int) Input {
	in := Input{Kind: InputExe, Name: value, Raw: value, Line: line}
	path, err := interp.LookPathDir(cwd, funcEnviron(r.lookup), value)
	if err != nil {
		// Absent: keep where it would be, so creating it is noticed.
		if strings.ContainsRune(value, '/') {
			in.Path = absIn(cwd, value)
		} else {
			in.Path = "PATH:" + value
		}
		in.InRoot = IsWithin(r.Root, in.Path)
		return in
	}
	in.Path, in.Exists = absIn(cwd, path), true
	in.InRoot = IsWithin(r.Root, in.Path)
	return in
}

// ResolveDep resolves one declaration of a transcript: Resolve, plus the
// exclusions of a `% dep glob` line (parser.Dep.Exclude).
func (r *Resolver) ResolveDep(dep *parser.Dep, value, cwd string, line int) ([]Input, parser.ErrorList, error) {
	if dep.Kind == parser.DepGlob && len(dep.Exclude) > 0 {
		in, err := r.ResolveGlob(value, dep.Exclude, cwd, line)
		return []Input{in}, nil, err
	}
	return r.Resolve(dep.Kind, value, cwd, line)
}

// ResolveGlob resolves a glob pattern minus the files exclusion patterns
// match (both relative to cwd unless absolute): Input.Exclude holds them
// absolute, and Matches leaves out what they match.
func (r *Resolver) ResolveGlob(value string, exclude []string, cwd string, line int) (Input, error) {
	in, err := r.resolveGlob(value, cwd, line)
	if len(exclude) == 0 {
		return in, err
	}
	for _, x := range exclude {
		abs := absIn(cwd, x)
		if _, rel := doublestar.SplitPattern(filepath.ToSlash(abs)); !doublestar.ValidatePattern(rel) {
			return in, fmt.Errorf("invalid exclusion pattern %q", x)
		}
		in.Exclude = append(in.Exclude, abs)
	}
	kept := in.Matches[:0]
	for _, m := range in.Matches {
		if !Excluded(in.Exclude, m) {
			kept = append(kept, m)
		}
	}
	in.Matches = kept
	in.Exists = len(kept) > 0
	return in, err
}

// Excluded reports whether path matches one of a glob's absolute
// exclusion patterns (Input.Exclude).
func Excluded(exclude []string, path string) bool {
	for _, x := range exclude {
		if ok, err := doublestar.Match(filepath.ToSlash(x), filepath.ToSlash(path)); err == nil && ok {
			return true
		}
	}
	return false
}

func (r *Resolver) resolveGlob(value, cwd string, line int) (Input, error) {
	pattern := absIn(cwd, value)
	in := Input{Kind: InputGlob, Path: pattern, Raw: value, Line: line}
	base, rel := doublestar.SplitPattern(filepath.ToSlash(pattern))
	in.InRoot = IsWithin(r.Root, filepath.FromSlash(base))
	if !doublestar.ValidatePattern(rel) {
		return in, fmt.Errorf("invalid glob pattern %q", value)
	}
	matches, err := doublestar.Glob(os.DirFS(base), rel, doublestar.WithFilesOnly(), doublestar.WithFailOnIOErrors())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return in, fmt.Errorf("glob %q: %w", value, err)
	}
	for i, m := range matches {
		matches[i] = filepath.Join(base, filepath.FromSlash(m))
	}
	sort.Strings(matches)
	in.Matches = matches
	in.Exists = len(matches) > 0
	return in, nil
}

func (r *Resolver) resolveDepfile(value, cwd string, line int) ([]Input, parser.ErrorList, error) {
	path := absIn(cwd, value)
	self := Input{Kind: InputDepfile, Path: path, Raw: value, Line: line, InRoot: IsWithin(r.Root, path)}
	src, err := ReadRegular(path, MaxDepfileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return []Input{self}, nil, nil
	}
	if err != nil {
		return []Input{self}, nil, fmt.Errorf("read depfile: %w", err)
	}
	self.Exists = true
	df := parser.ParseDepfile(path, src)
	inputs := []Input{self}
	for _, e := range df.Entries {
		// Entries resolve against the session's directory where the
		// depfile is declared (spec §4), not the depfile's own directory.
		ins, _, err := r.Resolve(e.Kind, e.Value, cwd, line)
		if err != nil {
			df.Errors = append(df.Errors, &parser.Error{File: path, Range: e.Range, Code: parser.CodeBadDep, Msg: err.Error()})
		}
		for _, in := range ins {
			in.Origin, in.Via, in.Raw = OriginDepfile, path, e.Raw
			inputs = append(inputs, in)
		}
	}
	return inputs, df.Errors, nil
}

// ExpandWord expands a declaration word: parameters and quotes only, no
// field splitting, pathname expansion or command substitution (the parser
// already refused those).
func ExpandWord(w *syntax.Word, lookup func(string) (string, bool)) (string, error) {
	return expand.Literal(&expand.Config{Env: funcEnviron(lookup)}, w)
}

// funcEnviron adapts a lookup function to expand.Environ.
type funcEnviron func(string) (string, bool)

func (f funcEnviron) Get(name string) expand.Variable {
	v, ok := f(name)
	if !ok {
		return expand.Variable{}
	}
	return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: v}
}

func (f funcEnviron) Each(func(string, expand.Variable) bool) {}
