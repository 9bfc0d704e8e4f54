package engine

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// This file turns what a traced run saw into the declarations a person
// would write by hand: one suggestion per command, folding the probes a
// toolchain makes (absent go.work, vendor, default.pgo; python's stat
// probes; a directory listed to find its sources) into the declaration of
// what it really read. `transcript deps --observed --write`, `check
// --strict-deps` and the language server's quick fix all use it, so they
// agree on what "undeclared" means after a run.
//
// The folding, per command (the `$` line the inputs were observed on):
//
//   - a path a program looked for and did not find, unless the command's
//     text names it (`test -e tool.conf`), or a directory it only stat'ed,
//     needs no declaration: the traced cache records it, and a
//     declaration of it would be noise;
//   - a directory listed together with one of its subdirectories is a
//     walk (find, grep -r, du): `% dep glob DIR/**` stands for everything
//     the command saw under DIR (the topmost such DIR the command names,
//     when it names one: find also opens its starting directory, whose
//     listing folds into the walk);
//   - files read in a directory the command listed are grouped by
//     extension: `% dep glob DIR/*.go` for source files (or several files
//     of one extension), `% dep file` for the rest (go.mod, Makefile); the
//     listing itself is folded into them, and so are files there it only
//     stat'ed (go stats every entry of the package directory);
//   - a directory listed with nothing read in it (`ls d`) is `% dep glob
//     d/*`; any other file read is `% dep file`;
//   - artefacts a tool derives from sources (__pycache__, *.pyc) are never
//     suggested: declare the sources.

// Declaration is one suggested dependency declaration.
type Declaration struct {
	Kind parser.DepKind // DepFile or DepGlob
	// Path is the absolute file or pattern.
	Path string
}

// Input is the declaration as the engine resolves it, for coverage tests
// (Covered) without touching the disk.
func (d Declaration) Input() Input {
	if d.Kind == parser.DepGlob {
		return Input{Kind: InputGlob, Path: d.Path, Origin: OriginDeclared}
	}
	return Input{Kind: InputFile, Path: d.Path, Origin: OriginDeclared, Exists: true}
}

// Text is the declaration line, with Path relative to dir (where the line
// will resolve): "% dep glob *.go", "% dep file go.mod".
func (d Declaration) Text(dir string) string {
	rel, err := filepath.Rel(dir, d.Path)
	if err != nil || filepath.IsAbs(rel) {
		rel = d.Path
	}
	rel = filepath.ToSlash(rel)
	if d.Kind == parser.DepGlob {
		// Quote the directory part when it needs it, never the pattern.
		i := strings.IndexAny(rel, "*?[")
		j := strings.LastIndexByte(rel[:max(i, 0)], '/')
		if i < 0 || j < 0 {
			return "% dep glob " + rel
		}
		return "% dep glob " + QuoteWord(rel[:j]) + rel[j:]
	}
	return "% dep file " + QuoteWord(rel)
}

// QuoteWord quotes s as one shell word when it needs it.
func QuoteWord(s string) string {
	q, err := syntax.Quote(s, syntax.LangBash)
	if err != nil {
		return s
	}
	return q
}

// Suggestion is what one command of a run read that no declaration
// covers, and the declarations that would cover it.
type Suggestion struct {
	// Line is the `$` line of the command.
	Line int
	// Progs are the base names of the programs that read the inputs.
	Progs []string
	// Decls are the declarations to add, in a stable order.
	Decls []Declaration
	// Inputs are the observed inputs the declarations stand for that no
	// declaration of the run covers.
	Inputs []Input
}

// Suggest returns, per command in line order, the declarations a run
// needs (see the folding rules above). Inputs outside the module root,
// and those the shell observed itself, need none.
func Suggest(res *Result) []Suggestion {
	byLine := map[int][]Input{}
	var lines []int
	shell := map[string]bool{}
	for _, o := range res.Observed {
		if o.Origin != OriginTraced {
			shell[o.Path] = true
		}
	}
	traced := res.Traced
	if traced == nil {
		traced = res.Observed // a result built without Traced
	}
	for _, in := range traced {
		if in.Origin != OriginTraced || !in.InRoot || in.Kind == InputEnv || shell[in.Path] || derivedArtefact(in.Path) {
			continue
		}
		if _, ok := byLine[in.Line]; !ok {
			lines = append(lines, in.Line)
		}
		byLine[in.Line] = append(byLine[in.Line], in)
	}
	sort.Ints(lines)
	text := map[int]string{}
	named := map[int]map[string]bool{}
	if res.File != nil {
		// The paths each command names, by the static walker.
		st := NewWalkState(res.Dir)
		for _, b := range res.File.Blocks {
			text[b.Command.Num] = b.Text()
			if _, ok := byLine[b.Command.Num]; !ok {
				st.Step(b.Text())
				continue
			}
			m := map[string]bool{}
			for _, c := range st.Step(b.Text()).Cmds {
				for _, a := range c.Args {
					if a.Path != "" {
						m[a.Path] = true
					}
				}
			}
			named[b.Command.Num] = m
		}
	}
	var out []Suggestion
	for _, l := range lines {
		if s, ok := suggestFor(res.Declared, l, text[l], named[l], byLine[l]); ok {
			out = append(out, s)
		}
	}
	return out
}

// Undeclared returns the observed inputs inside the module root that need
// a declaration and have none, after folding (see Suggest).
func Undeclared(res *Result) []Input {
	var out []Input
	for _, s := range Suggest(res) {
		out = append(out, s.Inputs...)
	}
	return out
}

// candidate is a declaration with every input of the command it stands
// for, covered or not: the folding depends only on what the command did,
// never on what is declared, so a declaration added by the fix folds the
// same probes on the next run.
type candidate struct {
	decl   Declaration
	stands []Input
}

func suggestFor(declared []Input, line int, text string, named map[string]bool, ins []Input) (Suggestion, bool) {
	listed := map[string]bool{}
	for _, in := range ins {
		if in.Kind == InputGlob && in.Exists && filepath.Base(in.Path) == "*" {
			listed[filepath.Dir(in.Path)] = true
		}
	}
	// Walks: a listed directory with a listed subdirectory. Keep the
	// topmost.
	var trees []string
	for d := range listed {
		for e := range listed {
			if e != d && IsWithin(d, e) {
				trees = append(trees, d)
				break
			}
		}
	}
	sort.Strings(trees)
	// When the command names some of them (`find d`), the walk is of
	// those: find also opens the directory it starts in.
	var namedTrees []string
	for _, t := range trees {
		if named[t] {
			namedTrees = append(namedTrees, t)
		}
	}
	if len(namedTrees) > 0 {
		trees = namedTrees
	}
	roots := trees[:0:0]
	for _, t := range trees {
		if len(roots) == 0 || !IsWithin(roots[len(roots)-1], t) {
			roots = append(roots, t)
		}
	}
	// A listing of a directory above a walk folds into it.
	aboveTree := func(d string) bool {
		for _, r := range roots {
			if r != d && IsWithin(d, r) {
				return true
			}
		}
		return false
	}
	treeOf := func(p string) string {
		for _, r := range roots {
			if IsWithin(r, p) {
				return r
			}
		}
		return ""
	}

	cands := map[string]*candidate{}
	var order []string
	add := func(d Declaration, in Input) {
		k := d.Kind.String() + ":" + d.Path
		c := cands[k]
		if c == nil {
			c = &candidate{decl: d}
			cands[k] = c
			order = append(order, k)
		}
		c.stands = append(c.stands, in)
	}
	// Content reads per listed directory, by extension.
	type extKey struct{ dir, ext string }
	readIn := map[string]bool{}
	extCount := map[extKey]int{}
	for _, in := range ins {
		if isContent(in) {
			readIn[filepath.Dir(in.Path)] = true
			extCount[extKey{filepath.Dir(in.Path), filepath.Ext(in.Path)}]++
		}
	}
	for _, in := range ins {
		if r := treeOf(in.Path); r != "" || in.Kind == InputGlob && treeOf(filepath.Dir(in.Path)) != "" {
			if r == "" {
				r = treeOf(filepath.Dir(in.Path))
			}
			if in.Exists {
				add(Declaration{Kind: parser.DepGlob, Path: filepath.Join(r, "**")}, in)
			}
			continue
		}
		dir := filepath.Dir(in.Path)
		switch {
		case !in.Exists && !strings.Contains(text, filepath.Base(in.Path)):
			// A probe for something absent the command does not name
			// (go.work, a Python module candidate): the traced cache
			// notices when it appears.
		case !in.Exists:
			// An absent file the command names (`test -e tool.conf`):
			// its absence is part of the result.
			add(Declaration{Kind: parser.DepFile, Path: in.Path}, in)
		case in.Kind == InputGlob:
			d := filepath.Dir(in.Path)
			if !readIn[d] && !aboveTree(d) {
				add(Declaration{Kind: parser.DepGlob, Path: in.Path}, in)
			}
		case in.StatOnly && (listed[dir] || isDir(in.Path)):
			// An entry of a listing looked at, or a directory's metadata.
		case listed[dir] && (sourceExt[filepath.Ext(in.Path)] || extCount[extKey{dir, filepath.Ext(in.Path)}] > 1):
			add(Declaration{Kind: parser.DepGlob, Path: filepath.Join(dir, "*"+filepath.Ext(in.Path))}, in)
		default:
			add(Declaration{Kind: parser.DepFile, Path: in.Path}, in)
		}
	}
	s := Suggestion{Line: line}
	for _, k := range order {
		c := cands[k]
		var uncovered []Input
		for _, in := range c.stands {
			if !Covered(declared, in) {
				uncovered = append(uncovered, in)
			}
		}
		if len(uncovered) == 0 {
			continue
		}
		s.Decls = append(s.Decls, c.decl)
		s.Inputs = append(s.Inputs, uncovered...)
	}
	if len(s.Decls) == 0 {
		return s, false
	}
	sort.SliceStable(s.Decls, func(i, j int) bool {
		if s.Decls[i].Kind != s.Decls[j].Kind {
			return s.Decls[i].Kind == parser.DepGlob
		}
		return s.Decls[i].Path < s.Decls[j].Path
	})
	sort.SliceStable(s.Inputs, func(i, j int) bool { return s.Inputs[i].Key() < s.Inputs[j].Key() })
	for _, in := range s.Inputs {
		if in.Via != "" {
			p := filepath.Base(in.Via)
			if !containsString(s.Progs, p) {
				s.Progs = append(s.Progs, p)
			}
		}
	}
	sort.Strings(s.Progs)
	return s, true
}

// isContent reports whether the input is a file whose content a program
// read (or ran).
func isContent(in Input) bool {
	return in.Exists && (in.Kind == InputExe || in.Kind == InputFile && !in.StatOnly)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// sourceExt are extensions of source files a toolchain finds by listing
// its directory: declaring the pattern also notices a new file.
var sourceExt = map[string]bool{
	".go": true, ".py": true, ".js": true, ".mjs": true, ".cjs": true, ".ts": true, ".tsx": true,
	".jsx": true, ".c": true, ".h": true, ".cc": true, ".cpp": true, ".hpp": true, ".rs": true,
	".java": true, ".kt": true, ".rb": true, ".php": true, ".pl": true, ".lua": true, ".cs": true,
	".swift": true, ".scala": true, ".s": true,
}

// derivedArtefact reports whether a tool derives the file from sources
// it also read (Python's bytecode cache): declaring the source is enough.
func derivedArtefact(p string) bool {
	return strings.HasSuffix(p, ".pyc") || strings.Contains(p, string(filepath.Separator)+"__pycache__"+string(filepath.Separator)) ||
		filepath.Base(p) == "__pycache__"
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
