package lsp

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// The undeclared-dependency heuristic (spec §5). A command argument is
// reported when all of these hold:
//
//   - it is a literal word (no $VAR, no glob, no ~) that is not a flag,
//     or the value of a --flag=VALUE word;
//   - resolved against the statically known directory, it names an
//     existing regular file inside the module root;
//   - the program is not one that only looks at names or metadata, writes,
//     or is the shell itself (cd, ls, rm, touch, test, echo, source, ...);
//   - the argument is not an output of its command (-o FILE, the
//     destination of cp/mv, touch/mkdir/tee operands, ...);
//   - the transcript did not create the file earlier (output redirections,
//     touch, mkdir of a parent, cp/mv destinations, -o outputs);
//   - no declaration covers it (a declared file, a file under a declared
//     directory, a glob match, a depfile entry), and it is not one of the
//     transcript's own "1<"/"2<" files.
//
// Redirections (`< file`) are never candidates: the in-process shell opens
// them itself and the engine records them.

// metaOnly lists programs whose file operands are not read for content,
// or are read by the shell itself: their arguments are never inputs.
var metaOnly = map[string]bool{
	"cd": true, "pushd": true, "popd": true, "echo": true, "printf": true, "export": true,
	"unset": true, "set": true, "source": true, ".": true, "ls": true, "stat": true,
	"test": true, "[": true, "basename": true, "dirname": true, "realpath": true,
	"readlink": true, "which": true, "type": true, "rm": true, "rmdir": true,
	"unlink": true, "mkdir": true, "touch": true, "chmod": true, "chown": true,
	"chgrp": true, "true": true, "false": true, "exit": true, "return": true,
	"eval": true, "alias": true, "read": true, "sleep": true, "wait": true,
	"kill": true, "trap": true, "shift": true, "local": true, "declare": true,
	"typeset": true, "let": true, "hash": true, "umask": true, "ln": true,
	"mktemp": true, "truncate": true, "du": true, "df": true, "tee": true,
	"git-rm": true, "exec": true, "getopts": true, "wait4": true,
}

// undeclaredArg is one reported argument.
type undeclaredArg struct {
	block *blockInfo
	arg   *engine.ShellArg
	Range parser.Range
	Arg   string // as written
	Path  string // absolute
	// Rel is the path to declare: relative to the transcript's directory,
	// where a declaration at the top of the file resolves.
	Rel  string
	Prog string
}

// undeclaredGroup is the one undeclared-dependency diagnostic of a
// command: every argument of it naming an undeclared file.
type undeclaredGroup struct {
	diag  Diag
	decls []string
	title string
}

// undeclaredGroups gathers a.Undeclared by command block, at most one
// diagnostic per command, on its first argument.
func undeclaredGroups(a *Analysis) []undeclaredGroup {
	var out []undeclaredGroup
	for i := 0; i < len(a.Undeclared); {
		j := i + 1
		for j < len(a.Undeclared) && a.Undeclared[j].block == a.Undeclared[i].block && a.Undeclared[j].Prog == a.Undeclared[i].Prog {
			j++
		}
		us := a.Undeclared[i:j]
		i = j
		g := undeclaredGroup{}
		var args, paths []string
		for _, u := range us {
			d := "% dep file " + quoteWord(u.Rel)
			if !contains(g.decls, d) {
				g.decls = append(g.decls, d)
				args = append(args, u.Arg)
				paths = append(paths, u.Path)
			}
		}
		first := us[0]
		g.diag = Diag{Range: first.Range, Severity: protocol.DiagnosticSeverityWarning, Code: CodeUndeclared,
			paths: paths, line: first.block.Block.Command.Num}
		if len(g.decls) == 1 {
			g.diag.Message = fmt.Sprintf("%s reads %s, which no declaration covers: cached results will not notice when it changes. Declare it with `%s`.",
				first.Prog, first.Arg, g.decls[0])
			g.diag.Data = map[string]string{"path": first.Rel}
			g.title = "Declare dependency: " + g.decls[0]
		} else {
			g.diag.Message = fmt.Sprintf("%s reads %s, which no declaration covers: cached results will not notice when they change. Declare them with `%s`.",
				first.Prog, strings.Join(args, ", "), strings.Join(g.decls, "` and `"))
			g.title = "Declare dependencies: " + strings.Join(g.decls, ", ")
		}
		out = append(out, g)
	}
	return out
}

// undeclaredCandidates collects a command's arguments that name existing
// workspace files not created earlier. Declarations are checked later, in
// findUndeclared, because a declaration anywhere in the file counts.
func (s *Server) undeclaredCandidates(a *Analysis, st *engine.WalkState, bi *blockInfo, cmd *engine.ShellCmd) {
	prog := filepath.Base(cmd.Prog)
	if metaOnly[prog] || a.Root == "" {
		return
	}
	argsRead := readOperands(prog, cmd) // nil: every argument may be read
	for i := range cmd.Args {
		arg := &cmd.Args[i]
		if cmd.Outputs[i] || argsRead != nil && !argsRead[i] {
			continue
		}
		v := arg.Value
		if strings.HasPrefix(v, "-") {
			// --flag=VALUE may name a file; a bare flag does not.
			if !strings.HasPrefix(v, "--") || !strings.Contains(v, "=") {
				continue
			}
			_, v, _ = strings.Cut(v, "=")
		}
		if v == "" || v == "." || v == ".." || v == "/" || strings.ContainsRune(v, '\n') {
			continue
		}
		path := arg.Path
		if v != arg.Value { // the value of a --flag=VALUE word
			switch {
			case filepath.IsAbs(v):
				path = filepath.Clean(v)
			case cmd.Cwd != "":
				path = filepath.Join(cmd.Cwd, v)
			default:
				path = ""
			}
		}
		// Cheapest checks first: this runs for every argument on every
		// keystroke.
		if path == "" || !engine.IsWithin(a.Root, path) || !s.ws.isFile(path) || path == a.Snap.Path || st.IsCreated(path) {
			continue
		}
		// Positions and the path to declare are worked out only for the
		// candidates no declaration covers (findUndeclared): most are.
		a.Undeclared = append(a.Undeclared, &undeclaredArg{block: bi, arg: arg, Path: path, Prog: cmd.Prog})
	}
}

// readOperands says which arguments a program may read as files. Most
// programs: every argument. A few well-known ones get precise rules that
// avoid false positives on their non-file operands.
func readOperands(prog string, cmd *engine.ShellCmd) []bool {
	var read []bool // nil: all
	all := func() []bool {
		r := make([]bool, len(cmd.Args))
		for i := range r {
			r[i] = true
		}
		return r
	}
	skipFirstOperand := func() {
		read = all()
		for i, a := range cmd.Args {
			if !strings.HasPrefix(a.Value, "-") {
				read[i] = false
				return
			}
		}
	}
	switch prog {
	case "grep", "egrep", "fgrep", "rg":
		// The pattern comes first unless given with -e/-f.
		hasPatternFlag := false
		for _, a := range cmd.Args {
			if a.Value == "-e" || a.Value == "--regexp" || strings.HasPrefix(a.Value, "--regexp=") {
				hasPatternFlag = true
			}
		}
		if !hasPatternFlag {
			skipFirstOperand()
		}
	case "sed", "awk", "jq":
		// The script comes first unless given with -e/-f.
		hasScript := false
		for _, a := range cmd.Args {
			if a.Value == "-e" || a.Value == "-f" || a.Value == "--expression" {
				hasScript = true
			}
		}
		if !hasScript {
			skipFirstOperand()
		}
	case "git":
		read = gitPathOperands(cmd.Args)
	}
	return read
}

// gitPathOperands says which git arguments are paths it reads: for add,
// apply, am, hash-object, check-ignore and check-attr every operand after
// the subcommand; for diff and blame only those after "--" (before it they
// may be revisions, and a branch named like a file is common); none for
// other subcommands (refs, messages, URLs) or with -C (relative to
// another directory).
func gitPathOperands(args []engine.ShellArg) []bool {
	read := make([]bool, len(args))
	for i := 0; i < len(args); i++ {
		v := args[i].Value
		switch {
		case v == "-C":
			return read
		case v == "-c":
			i++ // a setting
			continue
		case strings.HasPrefix(v, "-"):
			continue
		}
		afterDashDash := false
		switch v {
		case "add", "apply", "am", "hash-object", "check-ignore", "check-attr":
		case "diff", "blame":
			afterDashDash = true
		default:
			return read
		}
		dashed := false
		for k := i + 1; k < len(args); k++ {
			if args[k].Value == "--" {
				dashed = true
				continue
			}
			read[k] = !afterDashDash || dashed
		}
		return read
	}
	return read
}

// findUndeclared keeps the candidates no declaration covers, by the
// engine's coverage rule (engine.Covered), the one the CLI and the cache
// use too.
func (s *Server) findUndeclared(a *Analysis) {
	if len(a.Undeclared) == 0 {
		return
	}
	var declared []engine.Input
	for _, di := range a.Deps {
		if !di.Known {
			if di.Dep.Kind != parser.DepEnv {
				// A declaration the server cannot expand might cover any
				// of them: stay quiet rather than risk a false warning.
				a.Undeclared = nil
				return
			}
			continue
		}
		declared = append(declared, di.Inputs...)
	}
	for _, f := range a.Files {
		if f.Path != "" {
			declared = append(declared, engine.Input{Kind: engine.InputFile, Path: f.Path, Exists: true})
		}
	}
	kept := a.Undeclared[:0]
	for _, u := range a.Undeclared {
		if engine.Covered(declared, engine.Input{Kind: engine.InputFile, Path: u.Path, Exists: true}) {
			continue
		}
		start, ok1 := blockPos(u.block.Block, u.arg.Start)
		end, ok2 := blockPos(u.block.Block, u.arg.End)
		if !ok1 || !ok2 || start.Line != end.Line {
			continue
		}
		rel, err := filepath.Rel(a.Snap.Dir(), u.Path)
		if err != nil {
			rel = u.Path
		}
		u.Range, u.Arg, u.Rel = parser.Range{Start: start, End: end}, u.arg.Value, filepath.ToSlash(rel)
		kept = append(kept, u)
	}
	a.Undeclared = kept
}
