package engine

import (
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// This file is the one static walker of a transcript's shell session,
// shared by `transcript deps`, the cache and the language server: it
// follows the current directory (literal `cd`, `cd a && ...`, `pushd`,
// `popd`, subshells), the files commands create (output redirections,
// touch, mkdir, cp/mv/ln destinations, tee, -o outputs), and the simple
// commands with their literal arguments. Anything it cannot follow makes
// the directory unknown ("") rather than guessed: checks that need it are
// then skipped, which costs a missed warning, never a false one.

// ShellArg is one literal argument of a simple command.
type ShellArg struct {
	Value      string // the word after quote removal
	Path       string // Value resolved against the command's directory; "" if unknown
	Start, End int    // byte offsets in the block text
}

// ShellCmd is one simple command reached by the walk.
type ShellCmd struct {
	Prog string // the program word, after wrappers like `env` or `command`
	// ProgStart and ProgEnd are the program word's byte offsets in the
	// block text.
	ProgStart, ProgEnd int
	Args               []ShellArg // literal arguments after the program (non-literal ones dropped)
	Cwd                string     // directory it runs in, "" unknown
	// Outputs are indexes into Args of arguments the command writes
	// (`-o FILE`, cp/mv destinations, touch/mkdir/tee operands); nil when
	// there are none.
	Outputs map[int]bool
}

func (c *ShellCmd) setOutput(i int) {
	if c.Outputs == nil {
		c.Outputs = map[int]bool{}
	}
	c.Outputs[i] = true
}

// WalkState is what the walk knows between blocks.
type WalkState struct {
	Cwd     string          // "" when unknown
	Dirs    []string        // pushd stack
	Created map[string]bool // absolute paths the transcript created so far
}

// NewWalkState starts a walk in dir.
func NewWalkState(dir string) *WalkState {
	return &WalkState{Cwd: dir, Created: map[string]bool{}}
}

// IsCreated reports whether path, or a directory above it, was created
// by the transcript earlier in the walk.
func (st *WalkState) IsCreated(path string) bool {
	if len(st.Created) == 0 {
		return false
	}
	// path and its parents, as substrings: no allocation on this hot path.
	for p := path; p != ""; {
		if st.Created[p] {
			return true
		}
		i := strings.LastIndexByte(p, filepath.Separator)
		if i <= 0 {
			return false
		}
		p = p[:i]
	}
	return false
}

func (st *WalkState) create(path string) {
	if path != "" {
		st.Created[path] = true
	}
}

// Abs resolves a literal path against the walk's directory, or "" when
// the directory is unknown and the path relative.
func (st *WalkState) Abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	if st.Cwd == "" || p == "" {
		return ""
	}
	return filepath.Join(st.Cwd, p)
}

// Step walks one command block's text from the state and applies its
// effects: the common loop of every caller that does not cache facts.
func (st *WalkState) Step(text string) *BlockFacts {
	f := WalkBlock(text, st.Cwd, st.Dirs)
	f.Apply(st)
	return f
}

// SessionDirs predicts the session's directory at every line without
// running anything. Entry i is the directory in effect after line i+1
// (for a directive: the directory it resolves against); "" where the walk
// lost track.
func SessionDirs(f *parser.File, start string) []string {
	dirs := make([]string, len(f.Lines))
	st := NewWalkState(start)
	for i, l := range f.Lines {
		if l.Kind == parser.KindCommand && l.Block != nil {
			st.Step(l.Block.Text())
		}
		dirs[i] = st.Cwd
	}
	return dirs
}

// blockWalk walks one parsed command block, updating st and collecting
// its simple commands.
type blockWalk struct {
	st   *WalkState
	cmds []ShellCmd
}

// Span is a byte range in a block's text.
type Span struct{ Start, End int }

// BlockFacts is what the walk learns from one command block started in a
// given directory. It depends only on the block's text and that directory
// (and pushd stack), so it is computed once and shared by every analysis
// of every document holding the same block: an edit re-walks only the
// block it touched. It holds no syntax tree, which keeps open documents
// small.
type BlockFacts struct {
	Err       error // the block does not parse as shell
	Cmds      []ShellCmd
	Created   []string // absolute paths the block creates
	CwdAfter  string
	DirsAfter []string
	Vars      []Span // $VAR expansions, for semantic tokens
	Strings   []Span // single-quoted strings
}

// Apply replays the block's effects on the session.
func (f *BlockFacts) Apply(st *WalkState) {
	for _, p := range f.Created {
		st.Created[p] = true
	}
	st.Cwd, st.Dirs = f.CwdAfter, f.DirsAfter
}

var shellParser = sync.Pool{New: func() interface{} {
	return syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(false))
}}

// WalkBlock parses a block's shell text and walks it from cwd.
func WalkBlock(text, cwd string, dirs []string) *BlockFacts {
	p := shellParser.Get().(*syntax.Parser)
	f, err := p.Parse(strings.NewReader(text), "")
	shellParser.Put(p)
	if err != nil {
		return &BlockFacts{Err: err, CwdAfter: cwd, DirsAfter: dirs}
	}
	st := &WalkState{Cwd: cwd, Dirs: append([]string(nil), dirs...), Created: map[string]bool{}}
	w := &blockWalk{st: st}
	w.stmts(f.Stmts, modePersist)
	facts := &BlockFacts{Cmds: w.cmds, CwdAfter: st.Cwd, DirsAfter: st.Dirs}
	for p := range st.Created {
		facts.Created = append(facts.Created, p)
	}
	sort.Strings(facts.Created)
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp:
			facts.Vars = append(facts.Vars, Span{int(n.Pos().Offset()), int(n.End().Offset())})
			return false
		case *syntax.SglQuoted:
			facts.Strings = append(facts.Strings, Span{int(n.Pos().Offset()), int(n.End().Offset())})
		}
		return true
	})
	return facts
}

type walkMode int

const (
	modePersist   walkMode = iota // directory changes persist
	modeSubshell                  // changes are local to a subshell
	modeUncertain                 // may or may not run: a change makes the directory unknown
)

func (w *blockWalk) stmts(list []*syntax.Stmt, mode walkMode) {
	for _, s := range list {
		w.stmt(s, mode)
	}
}

// scoped runs fn in mode, restoring or poisoning the directory afterwards.
func (w *blockWalk) scoped(mode walkMode, fn func()) {
	cwd, dirs := w.st.Cwd, append([]string(nil), w.st.Dirs...)
	fn()
	switch mode {
	case modeSubshell:
		w.st.Cwd, w.st.Dirs = cwd, dirs
	case modeUncertain:
		if w.st.Cwd != cwd {
			w.st.Cwd, w.st.Dirs = "", nil
		}
	}
}

func (w *blockWalk) stmt(s *syntax.Stmt, mode walkMode) {
	if s == nil {
		return
	}
	for _, r := range s.Redirs {
		w.words(mode, r.Word)
		if isOutputRedirect(r.Op) {
			if v, ok := shellLiteral(r.Word); ok {
				w.st.create(w.st.Abs(v))
			}
		}
	}
	switch c := s.Cmd.(type) {
	case *syntax.CallExpr:
		for _, a := range c.Assigns {
			if a.Value != nil {
				w.words(mode, a.Value)
			}
		}
		w.words(mode, c.Args...)
		w.call(c)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt:
			w.stmt(c.X, mode)
			w.stmt(c.Y, mode)
		case syntax.OrStmt:
			w.stmt(c.X, mode)
			w.scoped(modeUncertain, func() { w.stmt(c.Y, mode) })
		default: // pipes: each side in its own subshell
			w.scoped(modeSubshell, func() { w.stmt(c.X, modeSubshell) })
			w.scoped(modeSubshell, func() { w.stmt(c.Y, modeSubshell) })
		}
	case *syntax.Block:
		w.stmts(c.Stmts, mode)
	case *syntax.Subshell:
		w.scoped(modeSubshell, func() { w.stmts(c.Stmts, modeSubshell) })
	case *syntax.IfClause:
		w.scoped(modeUncertain, func() {
			for cl := c; cl != nil; cl = cl.Else {
				w.stmts(cl.Cond, modeUncertain)
				w.stmts(cl.Then, modeUncertain)
			}
		})
	case *syntax.WhileClause:
		w.scoped(modeUncertain, func() {
			w.stmts(c.Cond, modeUncertain)
			w.stmts(c.Do, modeUncertain)
		})
	case *syntax.ForClause:
		w.scoped(modeUncertain, func() { w.stmts(c.Do, modeUncertain) })
	case *syntax.CaseClause:
		w.scoped(modeUncertain, func() {
			for _, item := range c.Items {
				w.stmts(item.Stmts, modeUncertain)
			}
		})
	case *syntax.TimeClause:
		w.stmt(c.Stmt, mode)
	case *syntax.CoprocClause:
		w.scoped(modeSubshell, func() { w.stmt(c.Stmt, modeSubshell) })
	case *syntax.FuncDecl:
		// The body runs when called, from wherever: walking it with the
		// current directory would guess. Files it creates are still
		// created by someone, so record them with an unknown directory.
		saved := w.st.Cwd
		w.scoped(modeSubshell, func() {
			w.st.Cwd = ""
			w.stmt(c.Body, modeSubshell)
		})
		w.st.Cwd = saved
	}
}

// words walks command substitutions inside words: `$(cat f)` runs a
// command like any other, in a subshell.
func (w *blockWalk) words(mode walkMode, words ...*syntax.Word) {
	for _, word := range words {
		syntax.Walk(word, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.CmdSubst:
				w.scoped(modeSubshell, func() { w.stmts(n.Stmts, modeSubshell) })
				return false
			case *syntax.ProcSubst:
				w.scoped(modeSubshell, func() { w.stmts(n.Stmts, modeSubshell) })
				return false
			}
			return true
		})
	}
}

func isOutputRedirect(op syntax.RedirOperator) bool {
	switch op {
	case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.ClbOut, syntax.RdrInOut:
		return true
	}
	return false
}

// literal returns a word's value when it has no expansions.
func shellLiteral(w *syntax.Word) (string, bool) {
	if w == nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			if strings.ContainsAny(p.Value, "*?[") {
				return "", false // a glob: the shell expands it
			}
			b.WriteString(unescapeLit(p.Value))
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(l.Value)
			}
		default:
			return "", false
		}
	}
	v := b.String()
	if strings.HasPrefix(v, "~") {
		return "", false // tilde expansion: a home directory, not ours
	}
	return v, true
}

// unescapeLit removes backslash escapes from an unquoted literal.
func unescapeLit(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// wrappers run their operands as a command; the walk skips to the real
// program. The value says how many leading non-flag operands to skip.
var wrappers = map[string]int{
	"command": 0, "builtin": 0, "exec": 0, "nice": 0, "nohup": 0, "time": 0,
	"stdbuf": 0, "sudo": 0, "env": 0, "timeout": 1, "xargs": 0, "unbuffer": 0,
}

func (w *blockWalk) call(c *syntax.CallExpr) {
	if len(c.Args) == 0 {
		return
	}
	words := c.Args
	progWord := words[0]
	prog, ok := shellLiteral(progWord)
	if !ok {
		return
	}
	words = words[1:]
	for {
		skip, isWrapper := wrappers[prog]
		if !isWrapper {
			break
		}
		// Skip the wrapper's own flags, VAR=value words (env) and fixed
		// operands (timeout's duration).
		for len(words) > 0 {
			v, ok := shellLiteral(words[0])
			if ok && (strings.HasPrefix(v, "-") || strings.Contains(v, "=")) {
				words = words[1:]
				continue
			}
			if skip > 0 {
				skip--
				words = words[1:]
				continue
			}
			break
		}
		if len(words) == 0 {
			return
		}
		progWord = words[0]
		if prog, ok = shellLiteral(progWord); !ok {
			return
		}
		words = words[1:]
	}
	cmd := ShellCmd{Prog: prog, Cwd: w.st.Cwd,
		ProgStart: int(progWord.Pos().Offset()), ProgEnd: int(progWord.End().Offset())}
	for _, word := range words {
		v, ok := shellLiteral(word)
		if !ok {
			continue
		}
		cmd.Args = append(cmd.Args, ShellArg{Value: v, Path: w.st.Abs(v), Start: int(word.Pos().Offset()), End: int(word.End().Offset())})
	}
	w.effects(&cmd, len(words))
	w.cmds = append(w.cmds, cmd)
}

// effects applies what a command does to the session: directory changes
// and created files. nwords counts all operands, literal or not.
func (w *blockWalk) effects(cmd *ShellCmd, nwords int) {
	st := w.st
	operands := nonFlags(cmd.Args)
	switch filepath.Base(cmd.Prog) {
	case "cd", "pushd":
		if cmd.Prog == "pushd" {
			st.Dirs = append(st.Dirs, st.Cwd)
		}
		if len(operands) != 1 || nwords != len(cmd.Args) || operands[0].Value == "-" {
			st.Cwd = "" // `cd`, `cd -`, `cd $X`: not followed
			break
		}
		st.Cwd = st.Abs(operands[0].Value)
	case "popd":
		if n := len(st.Dirs); n > 0 {
			st.Cwd, st.Dirs = st.Dirs[n-1], st.Dirs[:n-1]
		} else {
			st.Cwd = ""
		}
	case "touch", "mkdir", "tee", "mktemp", "truncate":
		for i, a := range cmd.Args {
			if !strings.HasPrefix(a.Value, "-") {
				cmd.setOutput(i)
				st.create(st.Abs(a.Value))
			}
		}
	case "cp", "mv", "ln", "install", "rsync":
		if len(operands) >= 2 {
			dst := operands[len(operands)-1]
			cmd.setOutput(indexOf(cmd.Args, dst))
			st.create(st.Abs(dst.Value))
		}
	case "tar":
		if i := tarCreateArchive(cmd.Args); i >= 0 {
			cmd.setOutput(i)
			st.create(st.Abs(cmd.Args[i].Value))
		}
	case "zip":
		if len(operands) > 0 {
			i := indexOf(cmd.Args, operands[0])
			cmd.setOutput(i)
			st.create(st.Abs(operands[0].Value))
		}
	}
	// `-o FILE`, `--output FILE`, `--output=FILE`, `-oFILE` name outputs
	// for most tools (compilers, curl, sort, go build).
	for i, a := range cmd.Args {
		switch {
		case a.Value == "-o" || a.Value == "--output" || a.Value == "--out" || a.Value == "-out":
			if i+1 < len(cmd.Args) {
				cmd.setOutput(i + 1)
				st.create(st.Abs(cmd.Args[i+1].Value))
			}
		case strings.HasPrefix(a.Value, "--output=") || strings.HasPrefix(a.Value, "--out="):
			_, v, _ := strings.Cut(a.Value, "=")
			cmd.setOutput(i)
			st.create(st.Abs(v))
		}
	}
}

func nonFlags(args []ShellArg) []ShellArg {
	var out []ShellArg
	for _, a := range args {
		if !strings.HasPrefix(a.Value, "-") || a.Value == "-" {
			out = append(out, a)
		}
	}
	return out
}

func indexOf(args []ShellArg, a ShellArg) int {
	for i, b := range args {
		if b.Start == a.Start {
			return i
		}
	}
	return -1
}

// tarCreateArchive returns the index of the archive a creating tar writes
// (`tar -czf out.tgz ...`, `tar cf out.tar ...`), or -1.
func tarCreateArchive(args []ShellArg) int {
	create := false
	for i, a := range args {
		v := a.Value
		if strings.HasPrefix(v, "--") {
			if v == "--create" {
				create = true
			}
			if v == "--file" && create && i+1 < len(args) {
				return i + 1
			}
			continue
		}
		// Bundled short options: "-czf" or, as the first word, "czf".
		if strings.HasPrefix(v, "-") || i == 0 {
			opts := strings.TrimPrefix(v, "-")
			if strings.ContainsRune(opts, 'c') {
				create = true
			}
			if create && strings.HasSuffix(opts, "f") && i+1 < len(args) {
				return i + 1
			}
		}
	}
	return -1
}
