package engine

import (
	"bytes"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// blockParser parses the shell text of a transcript's command blocks a
// chunk of blocks at a time, in one parser call, where that gives each
// block exactly what parsing it alone would.
//
// Why: the shell parser allocates its word and literal nodes in batches of
// 32 and drops the rest of a batch at the start of every Parse, so parsing
// a one-word command alone allocated some 2.3 KB, over half of everything
// a builtin command allocates. Freshly allocated memory is what parallel
// workers contend for (page faults, the heap lock), and it kept --jobs 2
// from running twice as fast as --jobs 1.
//
// What must not change: a block is one unit of shell text (spec §2), so a
// quote, a here-document or a line continuation left open in one block is
// that block's syntax error, never text of the next; and positions are a
// block's own (line 1 is the "$" line), because two things show them:
// $LINENO, and the errors of the builtins [, test, source and . ("1:3: [:
// missing matching ]"). A chunk is used only when every statement and
// here-document lies inside its own block, and a block in which a position
// can show (the names above, $LINENO, or a command name that is not a
// plain word, as in $cmd or "[") is parsed alone, and so is a chunk with a
// here-document. Everything else about a
// block's statements is the same in the chunk as alone: positions are only
// shifted, and printing a function (type, declare -f) depends only on the
// distances between them.
type blockParser struct {
	p      *syntax.Parser
	blocks []*parser.Block
	// chunk holds the parsed blocks[from:from+len(chunk)]; an entry is nil
	// when that block must be parsed alone.
	from  int
	chunk []*syntax.File
	src   strings.Reader // a block's text, parsed alone
	// text is a chunk's joined texts, read through raw; ends[k] is where
	// block from+k's text ends in it; files holds the chunk's trees.
	text  []byte
	raw   bytes.Reader
	ends  []uint
	files []syntax.File
	// skip is set when the last chunk gave fewer than half its blocks:
	// its parse was mostly wasted, so the next chunk is parsed block by
	// block (and the one after is tried whole again).
	skip bool
}

// chunkBlocks is how many blocks one parser call takes: enough that the
// parser's batches are shared by many blocks, few enough that a large
// transcript's syntax trees are not all alive at once.
const chunkBlocks = 64

func newBlockParser(p *syntax.Parser, blocks []*parser.Block) *blockParser {
	return &blockParser{p: p, blocks: blocks}
}

// parse returns the syntax tree of b, or the parser's error for b's text.
// The tree is good until the next call: run it first.
func (bp *blockParser) parse(b *parser.Block) (*syntax.File, error) {
	i := bp.index(b)
	if i < 0 {
		return bp.parseAlone(b)
	}
	if i < bp.from || i >= bp.from+len(bp.chunk) {
		bp.parseChunk(i)
	}
	if prog := bp.chunk[i-bp.from]; prog != nil {
		bp.chunk[i-bp.from] = nil // run once; let it go
		return prog, nil
	}
	return bp.parseAlone(b)
}

// index finds b among the blocks, looking first where the run is.
func (bp *blockParser) index(b *parser.Block) int {
	for i := bp.from; i < len(bp.blocks); i++ {
		if bp.blocks[i] == b {
			return i
		}
	}
	for i := 0; i < bp.from && i < len(bp.blocks); i++ {
		if bp.blocks[i] == b {
			return i
		}
	}
	return -1
}

func (bp *blockParser) parseAlone(b *parser.Block) (*syntax.File, error) {
	bp.src.Reset(b.Text())
	return bp.p.Parse(&bp.src, "")
}

// parseChunk parses the blocks from i on in one call. When the chunk
// cannot be trusted to equal parsing each block alone (a syntax error,
// text that runs into the next block), every entry is left nil.
//
// The arrays of one chunk are reused by the next: a tree is only used
// until the block it is for has run, and freshly mapped memory read
// before it is written costs a second page fault whose TLB flush
// interrupts the other workers' cores.
func (bp *blockParser) parseChunk(i int) {
	n := min(chunkBlocks, len(bp.blocks)-i)
	bp.from = i
	bp.chunk = slices.Grow(bp.chunk[:0], n)[:n]
	clear(bp.chunk)
	if bp.skip {
		bp.skip = false
		return
	}
	bp.skip = true // unless enough blocks come out of it
	// Each block's text on lines of its own; block k's range is
	// [ends[k-1]+1, ends[k]) in the joined text.
	bp.ends = bp.ends[:0]
	bp.text = bp.text[:0]
	for k := range n {
		t := bp.blocks[i+k].Text()
		if strings.HasSuffix(t, `\`) {
			return // a line continuation would join the separator
		}
		bp.text = append(bp.text, t...)
		bp.ends = append(bp.ends, uint(len(bp.text)))
		bp.text = append(bp.text, '\n')
	}
	bp.raw.Reset(bp.text)
	all, err := bp.p.Parse(&bp.raw, "")
	if err != nil {
		return // the blocks alone say which one is wrong, and where
	}
	// Each block's statements are a run of all.Stmts.
	bp.files = slices.Grow(bp.files[:0], n)[:n]
	k, first := 0, 0
	for j, st := range all.Stmts {
		off := st.Pos().Offset()
		for k < n && off >= bp.ends[k] {
			bp.files[k] = syntax.File{Stmts: all.Stmts[first:j:j]}
			k, first = k+1, j
		}
		if k == n || k > 0 && off <= bp.ends[k-1] || st.End().Offset() > bp.ends[k] {
			return
		}
	}
	for ; k < n; k++ {
		bp.files[k] = syntax.File{Stmts: all.Stmts[first:len(all.Stmts):len(all.Stmts)]}
		first = len(all.Stmts)
	}
	usable := 0
	for k := range n {
		ok, alone := inBlock(bp.files[k].Stmts)
		if !ok {
			clear(bp.chunk)
			return
		}
		if !alone {
			bp.chunk[k] = &bp.files[k]
			usable++
		}
	}
	bp.skip = usable < n/2
}

// inBlock checks the statements of one block: ok is false when it has a
// here-document (the chunk is then no good, see the Redirect case), and
// alone is true when a position can show in what they do.
func inBlock(stmts []*syntax.Stmt) (ok, alone bool) {
	ok = true
	for _, st := range stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.Redirect:
				if n.Hdoc != nil || n.Op == syntax.Hdoc || n.Op == syntax.DashHdoc {
					// Where a here-document closes is not in the tree
					// (an empty one has no body to end), and alone it
					// must close before the text ends, where in a chunk
					// the newline after the block or a line of the next
					// block may close it: such a chunk is parsed block
					// by block.
					ok = false
				}
			case *syntax.ParamExp:
				if n.Param != nil && n.Param.Value == "LINENO" {
					alone = true
				}
			case *syntax.CallExpr:
				if len(n.Args) > 0 && showsPosition(n.Args[0]) {
					alone = true
				}
			}
			return ok
		})
		if !ok {
			return false, false
		}
	}
	return ok, alone
}

// showsPosition reports whether a command named by w may print its
// position: the builtins that do, the builtins that run another one with
// their own position, and a name that is not a plain word.
func showsPosition(w *syntax.Word) bool {
	if len(w.Parts) != 1 {
		return true
	}
	lit, ok := w.Parts[0].(*syntax.Lit)
	if !ok {
		return true
	}
	switch lit.Value {
	case "[", "test", "source", ".", "command", "builtin":
		return true
	}
	return false
}
