package lsp

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// maxCompletions caps long lists (programs on PATH, big directories); the
// list is then marked incomplete so the client asks again as the user types.
const maxCompletions = 200

type completionItems struct {
	items      []protocol.CompletionItem
	incomplete bool
}

func (c *completionItems) add(item protocol.CompletionItem) {
	if len(c.items) >= maxCompletions {
		c.incomplete = true
		return
	}
	c.items = append(c.items, item)
}

func (s *Server) completion(ctx context.Context, p *protocol.CompletionParams) (*protocol.CompletionList, error) {
	snap, err := s.snapshot(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	out := &completionItems{}
	off := snap.Mapper.PositionToOffset(p.Position)
	pos := snap.Mapper.ParserPos(off)
	lineStart := off - pos.Col
	prefix := snap.Text[lineStart:off] // the line up to the cursor
	switch snap.Kind {
	case DocTranscript:
		s.completeTranscript(snap, pos, prefix, out)
	case DocDepfile:
		s.completeDepfile(snap, pos, prefix, out)
	}
	return &protocol.CompletionList{IsIncomplete: out.incomplete, Items: out.items}, nil
}

// opcodeItems are offered at the start of a transcript line.
var opcodeItems = []struct{ label, detail string }{
	{"$ ", "command"}, {"> ", "continuation"}, {"1 ", "expected stdout line"}, {"2 ", "expected stderr line"},
	{"1< ", "expected stdout from a file"}, {"2< ", "expected stderr from a file"},
	{"1* ", "expected stdout line: a pattern"}, {"2* ", "expected stderr line: a pattern"},
	{"1~ ", "expected stdout line: a regexp"}, {"2~ ", "expected stderr line: a regexp"}, {"? ", "expected exit status"},
	{"% ", "directive"}, {"# ", "comment"},
}

func (s *Server) completeTranscript(snap *Snapshot, pos parser.Pos, prefix string, out *completionItems) {
	replace := func(from int) protocol.Range {
		return snap.Mapper.Range(parser.Range{Start: parser.Pos{Line: pos.Line, Col: from}, End: pos})
	}
	if !strings.Contains(prefix, " ") {
		// Still typing the opcode.
		for _, o := range opcodeItems {
			if strings.HasPrefix(o.label, prefix) {
				out.add(protocol.CompletionItem{Label: strings.TrimSpace(o.label), Detail: o.detail, Kind: protocol.CompletionItemKindKeyword,
					TextEdit: &protocol.TextEdit{Range: replace(0), NewText: o.label}})
			}
		}
		return
	}
	op, rest, _ := strings.Cut(prefix, " ")
	switch op {
	case "%":
		s.completeDirective(snap, pos, rest, len(op)+1, out)
	case "1<", "2<":
		s.completePath(s.cwdAt(snap, pos.Line+1), rest, pos, len(op)+1, snap, out, "")
	case "1*", "2*":
		completeSubstName(snap, pos, rest, len(op)+1, out)
	}
}

// completeDirective completes after "% ": directive names, dependency
// kinds, then values. col is where rest starts on the line.
func (s *Server) completeDirective(snap *Snapshot, pos parser.Pos, rest string, col int, out *completionItems) {
	name, args, hasArgs := strings.Cut(rest, " ")
	if !hasArgs {
		for _, d := range []string{parser.DirectiveDep, parser.DirectiveDepfile, parser.DirectiveNoNewline, parser.DirectiveSubst} {
			if strings.HasPrefix(d, name) {
				out.add(protocol.CompletionItem{Label: d, Kind: protocol.CompletionItemKindKeyword, Documentation: docMarkup(directiveDocs[d])})
			}
		}
		return
	}
	col += len(name) + 1
	cwd := s.cwdAt(snap, pos.Line)
	switch name {
	case parser.DirectiveDepfile:
		s.completePath(cwd, lastWord(args), pos, col+len(args)-len(lastWord(args)), snap, out, ".cmdtdeps")
	case parser.DirectiveDep:
		kind, vals, hasVals := strings.Cut(args, " ")
		if !hasVals {
			for _, k := range []string{"file", "glob", "env", "exe", "<"} {
				if strings.HasPrefix(k, kind) {
					out.add(protocol.CompletionItem{Label: k, Kind: protocol.CompletionItemKindEnum, Documentation: docMarkup(depfileKeywordDocs[k])})
				}
			}
			return
		}
		word := lastWord(vals)
		wordCol := col + len(args) - len(word)
		s.completeValue(snap, kind, cwd, word, pos, wordCol, out)
	}
}

func (s *Server) completeDepfile(snap *Snapshot, pos parser.Pos, prefix string, out *completionItems) {
	kind, val, hasVal := strings.Cut(prefix, " ")
	if !hasVal {
		for _, k := range []string{"file", "glob", "env", "exe"} {
			if strings.HasPrefix(k, kind) {
				out.add(protocol.CompletionItem{Label: k, Kind: protocol.CompletionItemKindEnum, Documentation: docMarkup(depfileKeywordDocs[k])})
			}
		}
		return
	}
	// A depfile value is the rest of the line, spaces included; paths are
	// relative to the session that declares the depfile (spec §4).
	cwd := snap.Dir()
	if d := s.analysis(snap).depfileCwd; d != "" {
		cwd = d
	}
	s.completeValue(snap, kind, cwd, val, pos, len(kind)+1, out)
}

// completeValue completes one dependency value of the given kind.
func (s *Server) completeValue(snap *Snapshot, kind, cwd, word string, pos parser.Pos, wordCol int, out *completionItems) {
	switch kind {
	case "env":
		s.completeEnv(strings.TrimPrefix(word, "$"), out)
	case "exe":
		if strings.ContainsRune(word, '/') {
			s.completePath(cwd, word, pos, wordCol, snap, out, "")
		} else {
			s.completePrograms(word, out)
		}
	case "<":
		s.completePath(cwd, word, pos, wordCol, snap, out, ".cmdtdeps")
	default: // file, glob, compatible form
		s.completePath(cwd, word, pos, wordCol, snap, out, "")
	}
}

func lastWord(s string) string {
	if i := strings.LastIndexAny(s, " \t"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func docMarkup(s string) interface{} {
	if s == "" {
		return nil
	}
	return protocol.MarkupContent{Kind: protocol.Markdown, Value: s}
}

// completePath lists directory entries for a partially typed path. The
// edit replaces only the last path segment, so "testdata/co" completes to
// "testdata/config.json". prefer sorts names with that suffix first.
func (s *Server) completePath(cwd, word string, pos parser.Pos, wordCol int, snap *Snapshot, out *completionItems, prefer string) {
	if cwd == "" && !filepath.IsAbs(word) {
		return
	}
	dirPart, base := "", word
	if i := strings.LastIndex(word, "/"); i >= 0 {
		dirPart, base = word[:i+1], word[i+1:]
	}
	dir := dirPart
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cwd, dirPart)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	sort.SliceStable(entries, func(i, j int) bool {
		pi, pj := prefer != "" && strings.HasSuffix(entries[i].Name(), prefer), prefer != "" && strings.HasSuffix(entries[j].Name(), prefer)
		return pi && !pj
	})
	r := snap.Mapper.Range(parser.Range{Start: parser.Pos{Line: pos.Line, Col: wordCol + len(dirPart)}, End: pos})
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		kind, text := protocol.CompletionItemKindFile, name
		if e.IsDir() {
			kind, text = protocol.CompletionItemKindFolder, name+"/"
		}
		out.add(protocol.CompletionItem{Label: text, Kind: kind, TextEdit: &protocol.TextEdit{Range: r, NewText: text}})
	}
}

func (s *Server) completeEnv(prefix string, out *completionItems) {
	var names []string
	for _, kv := range s.environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, prefix) && parser.ValidEnvName(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out.add(protocol.CompletionItem{Label: n, Kind: protocol.CompletionItemKindVariable, Detail: "set in the editor's environment"})
	}
}

// completePrograms lists executables on PATH starting with prefix.
func (s *Server) completePrograms(prefix string, out *completionItems) {
	pathVar, _ := s.lookupEnv("PATH")
	seen := map[string]bool{}
	var names []string
	for _, dir := range filepath.SplitList(pathVar) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if seen[name] || !strings.HasPrefix(name, prefix) || e.IsDir() {
				continue
			}
			if info, err := e.Info(); err != nil || info.Mode()&0o111 == 0 && info.Mode()&os.ModeSymlink == 0 {
				continue
			}
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out.add(protocol.CompletionItem{Label: n, Kind: protocol.CompletionItemKindFunction, Detail: "program on PATH"})
	}
}
