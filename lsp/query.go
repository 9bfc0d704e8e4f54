package lsp

import (
	"path/filepath"
	"sort"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/parser"
)

// Helpers shared by the position-based requests (hover, definition,
// completion, code actions): locating what lies under the cursor.

// lineAt returns the transcript or depfile line holding pos, or nil.
func (snap *Snapshot) lineAt(pos parser.Pos) *parser.Line {
	var lines []*parser.Line
	switch snap.Kind {
	case DocTranscript:
		lines = snap.File().Lines
	case DocDepfile:
		lines = snap.Depfile().Lines
	}
	if pos.Line < 1 || pos.Line > len(lines) {
		return nil
	}
	return lines[pos.Line-1]
}

// depAt returns the declaration whose value range contains pos.
func (a *Analysis) depAt(pos parser.Pos) *depInfo {
	for _, di := range a.Deps {
		if di.Line == pos.Line && di.Dep.Range.Contains(pos) {
			return di
		}
	}
	return nil
}

// fileAt returns the "1<"/"2<" reference on pos's line when pos is on its
// payload.
func (a *Analysis) fileAt(pos parser.Pos) *outputFile {
	for _, f := range a.Files {
		if f.Line.Num == pos.Line && f.Line.PayloadRange().Contains(pos) {
			return f
		}
	}
	return nil
}

// blockAt returns the block whose command text holds line n.
func (a *Analysis) blockAt(n int) *blockInfo {
	i := sort.Search(len(a.Blocks), func(i int) bool { return a.Blocks[i].Block.Command.Num > n }) - 1
	if i < 0 {
		return nil
	}
	b := a.Blocks[i]
	last := b.Block.Command.Num + len(b.Block.Continuations)
	if n > last {
		return nil
	}
	return b
}

// argAt returns the command argument under pos, with its command.
func (a *Analysis) argAt(pos parser.Pos) (*blockInfo, *engine.ShellCmd, *engine.ShellArg) {
	b := a.blockAt(pos.Line)
	if b == nil {
		return nil, nil, nil
	}
	for i := range b.Cmds {
		c := &b.Cmds[i]
		for j := range c.Args {
			arg := &c.Args[j]
			start, ok1 := blockPos(b.Block, arg.Start)
			end, ok2 := blockPos(b.Block, arg.End)
			if ok1 && ok2 && (parser.Range{Start: start, End: end}).Contains(pos) {
				return b, c, arg
			}
		}
	}
	return b, nil, nil
}

// argPath resolves a command argument against its command's directory.
func argPath(c *engine.ShellCmd, arg *engine.ShellArg) string {
	switch {
	case filepath.IsAbs(arg.Value):
		return filepath.Clean(arg.Value)
	case c.Cwd != "":
		return filepath.Join(c.Cwd, arg.Value)
	}
	return ""
}

// cwdAt returns the statically known directory at the start of line n of
// a transcript ("" unknown): the directory of the last block before it,
// after that block ran.
func (s *Server) cwdAt(snap *Snapshot, n int) string {
	if snap.Kind == DocDepfile {
		return snap.Dir()
	}
	if snap.Path == "" {
		return ""
	}
	// Replay the walk up to line n; cheap thanks to the shell parse cache.
	st := engine.NewWalkState(snap.Dir())
	for _, b := range snap.File().Blocks {
		if b.Command.Num >= n {
			break
		}
		s.ws.blockFacts(b.Text(), st.Cwd, st.Dirs).Apply(st)
	}
	return st.Cwd
}

// quoteWord quotes s for a shell word when it needs it.
func quoteWord(s string) string { return engine.QuoteWord(s) }

// wholeLine returns the LSP range of a parser line's content.
func wholeLine(m *Mapper, l *parser.Line) protocol.Range {
	return m.Range(l.Range())
}
