package parser

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// parseDepArgs parses the arguments of a "% dep" directive (spec §3): the
// typed forms "file|glob|env|exe WORD...", and the compatible forms
// "WORD... '$NAME'..." and "< PATH".
func parseDepArgs(file, args string, at Pos) ([]*Dep, ErrorList) {
	trimmed := strings.TrimLeft(args, " \t")
	if strings.HasPrefix(trimmed, "<") {
		// "% dep < PATH": the compatible spelling of "% depfile PATH".
		skip := len(args) - len(trimmed) + 1
		deps, errs := parseDepfileDirective(file, args[skip:], Pos{at.Line, at.Col + skip})
		for _, d := range deps {
			d.Compat = true
		}
		return deps, errs
	}
	words, errs := splitDepWords(file, args, at)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(words) == 0 {
		return nil, ErrorList{{File: file, Range: Range{at, at}, Code: CodeBadDep,
			Msg: "`% dep` needs a kind (file, glob, env, exe) and at least one value"}}
	}
	if words[0].Literal {
		if kind, ok := ParseDepKind(words[0].Value); ok && kind != DepDepfile {
			rest := words[1:]
			if kind == DepGlob {
				var excl []string
				rest, excl = splitExclusions(rest)
				if len(excl) > 0 && len(rest) == 0 {
					return nil, ErrorList{{File: file, Range: words[0].Range, Code: CodeBadDep,
						Msg: "`% dep glob` needs at least one pattern for `!(...)` to exclude from"}}
				}
				for _, w := range rest {
					w.Exclude = excl
				}
			}
			if errs := exclusionErrors(file, rest); len(errs) > 0 {
				return nil, errs
			}
			if len(rest) == 0 {
				return nil, ErrorList{{File: file, Range: words[0].Range, Code: CodeBadDep,
					Msg: fmt.Sprintf("`%% dep %s` needs at least one value", clip(words[0].Value))}}
			}
			for _, w := range rest {
				w.Kind = kind
				if kind == DepEnv {
					errs = append(errs, checkEnvName(file, w, w.Value)...)
				}
			}
			return rest, errs
		}
	}
	if errs := exclusionErrors(file, words); len(errs) > 0 {
		return nil, errs
	}
	// Compatible form: '$NAME' words are environment variables, the rest files.
	for _, w := range words {
		w.Compat = true
		if w.Literal && strings.HasPrefix(w.Value, "$") {
			w.Kind = DepEnv
			w.Value = w.Value[1:]
			errs = append(errs, checkEnvName(file, w, w.Value)...)
		} else {
			w.Kind = DepFile
		}
	}
	return words, errs
}

// parseDepfileDirective parses the single path of "% depfile PATH".
func parseDepfileDirective(file, args string, at Pos) ([]*Dep, ErrorList) {
	words, errs := splitDepWords(file, args, at)
	if len(errs) > 0 {
		return nil, errs
	}
	if errs := exclusionErrors(file, words); len(errs) > 0 {
		return nil, errs
	}
	if len(words) != 1 {
		r := Range{at, Pos{at.Line, at.Col + len(args)}}
		return nil, ErrorList{{File: file, Range: r, Code: CodeBadDep,
			Msg: fmt.Sprintf("`%% depfile` takes exactly one path, got %d", len(words))}}
	}
	words[0].Kind = DepDepfile
	return words, nil
}

func checkEnvName(file string, d *Dep, name string) ErrorList {
	if !d.Literal || ValidEnvName(name) {
		return nil
	}
	return ErrorList{{File: file, Range: d.Range, Code: CodeBadEnvName,
		Msg: fmt.Sprintf("%q is not a valid environment variable name", clip(name))}}
}

// ValidEnvName reports whether s is a valid shell variable name.
func ValidEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// splitDepWords splits directive arguments into shell words. Quoting and
// parameter expansion are allowed; command substitution, arithmetic,
// redirections, pipes and further commands are not: a declaration must
// not run anything.
func splitDepWords(file, args string, at Pos) ([]*Dep, ErrorList) {
	if words, ok := splitPlainWords(args, at); ok {
		return words, nil
	}
	argsRange := Range{at, Pos{at.Line, at.Col + len(args)}}
	fail := func(r Range, format string, a ...any) ([]*Dep, ErrorList) {
		return nil, ErrorList{{File: file, Range: r, Code: CodeBadDep, Msg: fmt.Sprintf(format, a...)}}
	}
	prog, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(args), "")
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(syntax.ParseError); ok {
			msg = pe.Text
		}
		return fail(argsRange, "cannot split dependency words: %s", msg)
	}
	if len(prog.Stmts) == 0 {
		return nil, nil
	}
	if len(prog.Stmts) > 1 {
		return fail(argsRange, "a dependency declaration cannot hold several commands")
	}
	st := prog.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || st.Negated || st.Background || st.Coprocess || len(st.Redirs) > 0 || len(call.Assigns) > 0 {
		return fail(argsRange, "a dependency declaration is a list of words: no pipes, redirections, assignments or compound commands")
	}
	deps := make([]*Dep, 0, len(call.Args))
	for _, w := range call.Args {
		r := Range{Pos{at.Line, at.Col + int(w.Pos().Offset())}, Pos{at.Line, at.Col + int(w.End().Offset())}}
		if _, ok := exclusionPattern(w); !ok && forbiddenPart(w) != "" {
			bad := forbiddenPart(w)
			return fail(r, "%s is not allowed in a dependency declaration (only quoting and $VAR expansion are)", bad)
		}
		d := &Dep{Raw: args[w.Pos().Offset():w.End().Offset()], Range: r, Word: w}
		if pat, ok := exclusionPattern(w); ok {
			d.Value, d.Literal, d.exclusion = pat, true, true
			deps = append(deps, d)
			continue
		}
		if w.Lit() != "" || isQuotedLiteral(w) {
			if v, err := expand.Literal(nil, w); err == nil {
				d.Value, d.Literal = v, true
			}
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// splitPlainWords is the fast path for the common declaration made of
// plain words (no quotes, expansions or shell operators): it splits on
// blanks without running the shell parser. ok is false when the shell
// parser is needed.
func splitPlainWords(args string, at Pos) ([]*Dep, bool) {
	for i := 0; i < len(args); i++ {
		switch c := args[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/._-+*?,:=@%^[]", c) >= 0, c == ' ' || c == '\t':
		default:
			return nil, false
		}
	}
	var deps []*Dep
	for i := 0; i < len(args); {
		if args[i] == ' ' || args[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(args) && args[j] != ' ' && args[j] != '\t' {
			j++
		}
		w := args[i:j]
		deps = append(deps, &Dep{Raw: w, Value: w, Literal: true,
			Range: Range{Pos{at.Line, at.Col + i}, Pos{at.Line, at.Col + j}}})
		i = j
	}
	return deps, true
}

// forbiddenPart names the first part of w that would run code or expand
// to something other than a plain string, or returns "".
func forbiddenPart(w *syntax.Word) string {
	bad := ""
	syntax.Walk(w, func(n syntax.Node) bool {
		if bad != "" {
			return false
		}
		switch n := n.(type) {
		case *syntax.CmdSubst:
			bad = "command substitution"
		case *syntax.ArithmExp:
			bad = "arithmetic expansion"
		case *syntax.ProcSubst:
			bad = "process substitution"
		case *syntax.ExtGlob:
			bad = "an extended glob"
		case *syntax.ParamExp:
			if n.Exp != nil || n.Repl != nil || n.Slice != nil || n.Index != nil || n.Length || n.Width || n.Excl || n.Names != 0 {
				bad = "a parameter expansion with an operator"
			}
		}
		return true
	})
	return bad
}

// isQuotedLiteral reports whether w has no expansions at all.
func isQuotedLiteral(w *syntax.Word) bool {
	literal := true
	syntax.Walk(w, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ParamExp:
			literal = false
		case *syntax.SglQuoted:
			if n.Dollar {
				literal = false
			}
		}
		return literal
	})
	return literal
}
