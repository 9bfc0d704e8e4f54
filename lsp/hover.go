package lsp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// opcodeDocs explain each opcode (spec §1).
var opcodeDocs = map[parser.Kind]string{
	parser.KindCommand:      "**`$ CMD`** — a shell command; starts a new command block. The whole transcript runs in one shell session: variables, functions and `cd` persist.",
	parser.KindContinuation: "**`> TEXT`** — continuation: appended to the pending command with a newline. Only directly after `$` or `>`.",
	parser.KindStdout:       "**`1 TEXT`** — one expected line of stdout. `1` alone expects an empty line. Compared byte for byte, after all stderr lines.",
	parser.KindStderr:       "**`2 TEXT`** — one expected line of stderr. Compared byte for byte; stderr lines come before stdout lines.",
	parser.KindStdoutFile:   "**`1< PATH`** — expected stdout held in a file, relative to the session's current directory. A text file stands for its lines; a binary file must match exactly.",
	parser.KindStderrFile:   "**`2< PATH`** — expected stderr held in a file, relative to the session's current directory.",
	parser.KindExitStatus:   "**`? N`** — expected exit status (0–255). Absent means 0; ends the block's checks.",
	parser.KindDirective:    "**`% NAME ARGS`** — a directive: `% dep`, `% depfile`, `% no-newline` or `% subst`.",
	parser.KindComment:      "**`#`** — a comment; ends any pending command block.",
}

// directiveDocs explain each directive (spec §2, §3).
var directiveDocs = map[string]string{
	parser.DirectiveDep: "**`% dep KIND VALUE...`** — declares inputs the result depends on, so caches notice when they change.\n\n" +
		"- `file PATH...` files or directories (a directory means every file under it)\n- `glob PATTERN...` every file matching a `**` pattern\n" +
		"- `env NAME...` environment variables\n- `exe NAME-OR-PATH...` programs (names resolve on `PATH`)\n" +
		"- `% dep PATH... '$NAME'...` compatible form; `% dep < PATH` reads a depfile\n\nRelative paths resolve against the session's current directory at this point.",
	parser.DirectiveDepfile:   "**`% depfile PATH`** — declares every entry of a depfile (lines `file`, `glob`, `env`, `exe`; relative paths resolve against the session's current directory at this point, not the depfile's).",
	parser.DirectiveNoNewline: "**`% no-newline`** — the output line just before it is the last of its stream and has no trailing newline.",
	parser.DirectiveSubst:     substDirectiveDoc,
}

// depfileKeywordDocs explain depfile line keywords (spec §4).
var depfileKeywordDocs = map[string]string{
	"file": "**`file PATH`** — a file or directory, relative to the session's directory where the depfile is declared.",
	"glob": "**`glob PATTERN`** — every file matching a `**` pattern, relative to the session's directory where the depfile is declared.",
	"env":  "**`env NAME`** — an environment variable.",
	"exe":  "**`exe NAME-OR-PATH`** — a program; a name resolves on `PATH`.",
}

func markdown(s string) *protocol.Hover {
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: s}}
}

func (s *Server) hover(ctx context.Context, p *protocol.HoverParams) (*protocol.Hover, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	pos := snap.Mapper.PosOf(p.Position)
	l := snap.lineAt(pos)
	if l == nil || snap.Kind == DocOther {
		return nil, nil
	}
	a := s.analysis(snap)
	if di := a.depAt(pos); di != nil {
		text := s.describeDep(a, di)
		if snap.Kind == DocTranscript && di.Known && len(di.Inputs) > 0 && di.Inputs[0].Kind != engine.InputEnv {
			in := di.Inputs[0]
			keys := pathKeys(in.Path)
			if in.Kind == engine.InputGlob {
				keys = []string{in.Key()}
			}
			if r := s.readersText(snap, keys...); r != "" {
				text += "\n" + r + "\n"
			}
		}
		h := markdown(text)
		r := snap.Mapper.Range(di.Dep.Range)
		h.Range = &r
		return h, nil
	}
	if snap.Kind == DocDepfile {
		if doc, ok := depfileKeywordDocs[l.Opcode]; ok && l.OpcodeRange.Contains(pos) {
			return markdown(doc), nil
		}
		return nil, nil
	}
	if f := a.fileAt(pos); f != nil {
		return markdown(describeOutputFile(f)), nil
	}
	if h := s.patternHover(snap, l, pos); h != nil {
		return h, nil
	}
	if d := l.Directive; d != nil {
		if d.NameRange.Contains(pos) {
			if doc, ok := directiveDocs[d.Name]; ok {
				return markdown(doc), nil
			}
		}
		// The kind keyword of "% dep KIND ...".
		kind, _, _ := strings.Cut(d.Args, " ")
		kr := parser.Range{Start: d.ArgsPos, End: parser.Pos{Line: d.ArgsPos.Line, Col: d.ArgsPos.Col + len(kind)}}
		if doc, ok := depfileKeywordDocs[kind]; ok && d.Name == parser.DirectiveDep && kr.Contains(pos) {
			return markdown(doc), nil
		}
	}
	if l.OpcodeRange.Contains(pos) {
		if doc, ok := opcodeDocs[l.Kind]; ok {
			r := snap.Mapper.Range(l.OpcodeRange)
			if l.Kind == parser.KindCommand {
				doc += s.notCachedNote(ctx, snap)
			}
			h := markdown(doc)
			h.Range = &r
			return h, nil
		}
	}
	if b, c, arg := a.argAt(pos); arg != nil {
		return markdown(s.describeArg(a, c, arg)), nil
	} else if b != nil && b.Cwd != "" {
		return markdown(fmt.Sprintf("Runs in `%s`", b.Cwd) + s.notCachedNote(ctx, snap)), nil
	}
	return nil, nil
}

// notCachedNote is the hover's account of why the transcript's last pass
// was not cached (the status hint's reason, from engine/cache), or "".
func (s *Server) notCachedNote(ctx context.Context, snap *Snapshot) string {
	if snap.Kind != DocTranscript || snap.Path == "" {
		return ""
	}
	info := s.statusOf(ctx, snap)
	if strings.HasPrefix(info.Text, "passed, not cached") || strings.HasPrefix(info.Text, "last pass not cacheable") {
		return "\n\n**Cache:** " + info.Text
	}
	return ""
}

// describeDep renders what a declaration resolves to. Env values are never
// shown: they may be secrets.
func (s *Server) describeDep(a *Analysis, di *depInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s dependency** `%s`\n\n", di.Dep.Kind, di.Dep.Raw)
	switch {
	case len(di.Unset) > 0:
		fmt.Fprintf(&b, "Not resolved: `$%s` is not set in the editor's environment.\n", strings.Join(di.Unset, "`, `$"))
		return b.String()
	case di.Err != nil:
		fmt.Fprintf(&b, "Error: %s\n", di.Err)
		return b.String()
	case !di.Known:
		b.WriteString("Not resolved: the current directory at this point is not known statically (a `cd` the server cannot follow).\n")
		return b.String()
	}
	in := di.Inputs[0]
	if in.Kind == engine.InputEnv {
		state := "unset"
		if in.Exists {
			state = "set"
		}
		fmt.Fprintf(&b, "Environment variable `%s` is **%s** in the editor's environment.\n", in.Name, state)
		return b.String()
	}
	fmt.Fprintf(&b, "- kind: %s\n- resolved: `%s`\n- exists: %s\n", in.Kind, in.Path, yesNo(in.Exists))
	if a.Root != "" && (in.Kind != engine.InputExe || strings.ContainsRune(in.Raw, '/')) {
		if in.InRoot {
			fmt.Fprintf(&b, "- inside the module root `%s`\n", a.Root)
		} else {
			fmt.Fprintf(&b, "- **outside** the module root `%s`: `go test` does not see changes to it\n", a.Root)
		}
	}
	switch in.Kind {
	case engine.InputGlob, engine.InputDir:
		matches, more := in.Matches, false
		if in.Kind == engine.InputDir {
			matches, more = listFiles(in.Path, 1000)
		}
		plus := ""
		if more {
			plus = "+"
		}
		fmt.Fprintf(&b, "- %d%s file(s)", len(matches), plus)
		if len(in.Exclude) > 0 {
			var xs []string
			for _, x := range in.Exclude {
				xs = append(xs, "`"+filepath.ToSlash(relTo(a.Snap.Dir(), x))+"`")
			}
			fmt.Fprintf(&b, " (excluding %s)", strings.Join(xs, ", "))
		}
		for i, m := range matches {
			if i == 10 {
				fmt.Fprintf(&b, "\n  - … %d%s more", len(matches)-10, plus)
				break
			}
			fmt.Fprintf(&b, "\n  - `%s`", relTo(a.Snap.Dir(), m))
		}
		b.WriteString("\n")
	case engine.InputDepfile:
		if di.Depfile != nil {
			fmt.Fprintf(&b, "- %d entr(ies), %d error(s)\n", len(di.Depfile.Entries), len(di.Depfile.Errors))
		}
	}
	if in.Via != "" {
		fmt.Fprintf(&b, "- from depfile `%s`\n", in.Via)
	}
	return b.String()
}

func (s *Server) describeArg(a *Analysis, c *engine.ShellCmd, arg *engine.ShellArg) string {
	path := argPath(c, arg)
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` argument `%s`", c.Prog, arg.Value)
	if c.Cwd != "" {
		fmt.Fprintf(&b, "\n\nRuns in `%s`", c.Cwd)
	}
	if path != "" && s.ws.isFile(path) {
		fmt.Fprintf(&b, "\n\nNames the file `%s`", path)
	}
	if path != "" {
		if r := s.readersText(a.Snap, pathKeys(path)...); r != "" {
			b.WriteString("\n\n" + r)
		}
	}
	return b.String()
}

// describeOutputFile shows an expected-output file: size and first lines.
func describeOutputFile(f *outputFile) string {
	if f.Path == "" {
		return "Expected output file; the current directory at this point is not known statically."
	}
	if !f.Exists {
		return fmt.Sprintf("Expected output file `%s` **does not exist**.", f.Path)
	}
	st, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Sprintf("Expected output file `%s`: %v", f.Path, err)
	}
	if st.IsDir() {
		return fmt.Sprintf("`%s` is a directory, not a file.", f.Path)
	}
	if !st.Mode().IsRegular() {
		return fmt.Sprintf("`%s` is not a regular file (%s): it cannot hold expected output.", f.Path, st.Mode().Type())
	}
	head, err := readHead(f.Path, 4096)
	if err != nil {
		return fmt.Sprintf("Expected output file `%s`: %v", f.Path, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Expected output file `%s` (%d bytes)", filepath.Base(f.Path), st.Size())
	if engine.IsBinary(head) {
		b.WriteString(", binary: must equal the stream's bytes exactly")
		return b.String()
	}
	lines := strings.SplitN(string(head), "\n", 7)
	if len(lines) > 6 {
		lines = append(lines[:6], "…")
	}
	b.WriteString("\n\n```text\n" + strings.Join(lines, "\n") + "\n```")
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func relTo(dir, path string) string {
	if dir == "" {
		return path
	}
	if r, err := filepath.Rel(dir, path); err == nil {
		return r
	}
	return path
}
