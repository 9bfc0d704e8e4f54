package engine

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cmdt-dev/cmdt/parser"
)

// The pattern matcher (docs/format.md, "Patterns"). A block without
// pattern lines never gets here: it is compared exactly, as before the
// extension. A block with patterns is matched stream by stream: each
// stream's expectations, in source order, against that stream's lines.

// linePattern is one expectation compiled against the substitutions in
// force when its command ran.
type linePattern struct {
	exp *parser.Expectation // nil for a line read from a "1<" file
	any bool                // "...": any number of whole lines
	// parts are literal texts separated by [..] wildcards: one part is an
	// exact line. Used when re is nil.
	parts []string
	re    *regexp.Regexp
}

// match reports whether one actual line matches p (p not "...").
func (p *linePattern) match(line string) bool {
	if p.re != nil {
		return p.re.MatchString(line)
	}
	if len(p.parts) == 1 {
		return line == p.parts[0]
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(line) < len(first)+len(last) || !strings.HasPrefix(line, first) || !strings.HasSuffix(line, last) {
		return false
	}
	rest := line[len(first) : len(line)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return true
}

// patternSlab hands out patterns and part lists from shared chunks: a
// transcript of 10,000 pattern lines costs a few allocations, not 20,000.
type patternSlab struct {
	pats  []linePattern
	parts []string
}

const slabChunk = 256

func (a *patternSlab) pattern() *linePattern {
	if a == nil {
		return &linePattern{}
	}
	if len(a.pats) == 0 {
		a.pats = make([]linePattern, slabChunk)
	}
	p := &a.pats[0]
	a.pats = a.pats[1:]
	return p
}

// strings returns an empty slice with capacity n.
func (a *patternSlab) strings(n int) []string {
	if a == nil || n > slabChunk {
		return make([]string, 0, n)
	}
	if cap(a.parts)-len(a.parts) < n {
		a.parts = make([]string, 0, slabChunk)
	}
	out := a.parts[len(a.parts) : len(a.parts) : len(a.parts)+n]
	a.parts = a.parts[:len(a.parts)+n]
	return out
}

// compileExpectation compiles an inline expectation: a literal line, a
// glob ("1*") or a regexp ("1~").
func compileExpectation(e *parser.Expectation, subs *Substitutions) (*linePattern, error) {
	return compileFrom(nil, e, subs)
}

// compileFrom is compileExpectation allocating from a slab (nil: none).
func compileFrom(a *patternSlab, e *parser.Expectation, subs *Substitutions) (*linePattern, error) {
	p := a.pattern()
	p.exp = e
	switch {
	case e.Pattern == nil:
		p.parts = append(a.strings(1), e.Text)
	case e.Pattern.Kind == parser.PatternAnyLines:
		p.any = true
	case e.Pattern.Kind == parser.PatternRegexp:
		if e.Pattern.Regexp == nil {
			return nil, fmt.Errorf("line %d: invalid regexp", e.Line.Num)
		}
		p.re = e.Pattern.Regexp
	default:
		return compileGlob(a, p, e, subs)
	}
	return p, nil
}

// compileGlob turns a glob into literal parts when every substitution in
// it has one literal spelling (the fast path), else into a regexp.
func compileGlob(a *patternSlab, p *linePattern, e *parser.Expectation, subs *Substitutions) (*linePattern, error) {
	if parts, ok := plainGlobParts(a, e.Pattern.Segments); ok {
		p.parts = parts
		return p, nil
	}
	var cur strings.Builder
	simple := true
	for _, s := range e.Pattern.Segments {
		switch s.Kind {
		case parser.SegLiteral:
			cur.WriteString(s.Text)
		case parser.SegWildcard:
			p.parts = append(p.parts, cur.String())
			cur.Reset()
		case parser.SegSubst:
			v := subs.vals[s.Text]
			if v == nil {
				return nil, fmt.Errorf("line %d: substitution [%s] has no value in this session", e.Line.Num, s.Text)
			}
			if v.re != nil || len(v.lits) != 1 {
				simple = false
			} else {
				cur.WriteString(v.lits[0])
			}
		}
	}
	p.parts = append(p.parts, cur.String())
	if simple {
		return p, nil
	}
	var re strings.Builder
	re.WriteString(`^`)
	for _, s := range e.Pattern.Segments {
		switch s.Kind {
		case parser.SegLiteral:
			re.WriteString(regexp.QuoteMeta(s.Text))
		case parser.SegWildcard:
			re.WriteString(`.*`)
		case parser.SegSubst:
			v := subs.vals[s.Text]
			if v.re != nil {
				re.WriteString(`(?:` + v.re.String() + `)`)
				continue
			}
			alts := make([]string, len(v.lits))
			for i, l := range v.lits {
				alts[i] = regexp.QuoteMeta(l)
			}
			re.WriteString(`(?:` + strings.Join(alts, "|") + `)`)
		}
	}
	re.WriteString(`$`)
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", e.Line.Num, err)
	}
	p.parts, p.re = nil, compiled
	return p, nil
}

// plainGlobParts returns the literal parts of a glob made only of text and
// wildcards, without copying any text: the parser never leaves two literal
// segments side by side.
func plainGlobParts(a *patternSlab, segs []parser.Segment) ([]string, bool) {
	n := 1
	for _, s := range segs {
		switch s.Kind {
		case parser.SegSubst:
			return nil, false
		case parser.SegWildcard:
			n++
		}
	}
	parts := a.strings(n)
	cur := ""
	for _, s := range segs {
		if s.Kind == parser.SegWildcard {
			parts = append(parts, cur)
			cur = ""
		} else {
			cur = s.Text
		}
	}
	return append(parts, cur), true
}

// matchLines reports whether lines match pats, "..." matching any run of
// lines: the classic wildcard algorithm, where on a mismatch the latest
// "..." absorbs one more line. Every other pattern matches exactly one
// line, so the earliest placement of each stretch between two "..." is
// never worse than a later one, and one backtrack point suffices: linear
// in practice, O(len(pats)·len(lines)) at worst.
func matchLines(pats []*linePattern, lines []string) bool {
	i, j := 0, 0
	star, starJ := -1, 0
	for j < len(lines) {
		switch {
		case i < len(pats) && pats[i].any:
			star, starJ = i, j
			i++
		case i < len(pats) && pats[i].match(lines[j]):
			i++
			j++
		case star >= 0:
			starJ++
			i, j = star+1, starJ
		default:
			return false
		}
	}
	for i < len(pats) && pats[i].any {
		i++
	}
	return i == len(pats)
}

// alignOp pairs an expectation (w, -1 if none) with an actual line (g, -1
// if none). A "..." expectation appears once per line it absorbed, or once
// with g == -1 when it absorbed none.
type alignOp struct{ w, g int }

// maxAlignCells bounds the alignment table; past it the differing middle
// is reported as removed and added wholesale.
const maxAlignCells = 1 << 22

// alignLines aligns expectations with actual lines, as a diff does but
// with "matches" for equality: a minimal number of expectations removed
// plus lines added. Matching stretches at both ends are paired directly.
func alignLines(pats []*linePattern, lines []string) []alignOp {
	var head, tail []alignOp
	wi, gi := 0, 0
	for wi < len(pats) && gi < len(lines) && !pats[wi].any && pats[wi].match(lines[gi]) {
		head = append(head, alignOp{wi, gi})
		wi, gi = wi+1, gi+1
	}
	we, ge := len(pats), len(lines)
	for we > wi && ge > gi && !pats[we-1].any && pats[we-1].match(lines[ge-1]) {
		tail = append(tail, alignOp{we - 1, ge - 1})
		we, ge = we-1, ge-1
	}
	ops := head
	n, m := we-wi, ge-gi
	if (n+1)*(m+1) > maxAlignCells {
		for w := wi; w < we; w++ {
			ops = append(ops, alignOp{w, -1})
		}
		for g := gi; g < ge; g++ {
			ops = append(ops, alignOp{-1, g})
		}
	} else {
		ops = append(ops, alignMiddle(pats[wi:we], lines[gi:ge], wi, gi)...)
	}
	for k := len(tail) - 1; k >= 0; k-- {
		ops = append(ops, tail[k])
	}
	return ops
}

// alignMiddle is the edit-distance table for the part that differs.
func alignMiddle(pats []*linePattern, lines []string, w0, g0 int) []alignOp {
	n, m := len(pats), len(lines)
	cost := make([]int32, (n+1)*(m+1))
	at := func(i, j int) *int32 { return &cost[i*(m+1)+j] }
	for i := n; i >= 0; i-- {
		for j := m; j >= 0; j-- {
			switch {
			case i == n:
				*at(i, j) = int32(m - j)
			case pats[i].any:
				c := *at(i+1, j)
				if j < m {
					c = min(c, *at(i, j+1))
				}
				*at(i, j) = c
			case j == m:
				*at(i, j) = 1 + *at(i+1, j)
			default:
				// Replacing a line costs what removing or adding one
				// does, so a stale line is rewritten in place rather than
				// a neighbouring "..." swallowing its replacement.
				c := 1 + min(*at(i+1, j), *at(i, j+1), *at(i+1, j+1))
				if pats[i].match(lines[j]) {
					c = min(c, *at(i+1, j+1))
				}
				*at(i, j) = c
			}
		}
	}
	var ops []alignOp
	i, j := 0, 0
	absorbed := false
	for i < n || j < m {
		switch {
		case i == n:
			ops = append(ops, alignOp{-1, g0 + j})
			j++
		case pats[i].any:
			// On a tie the "..." ends: lines after it are paired or
			// replaced rather than swallowed.
			if j < m && *at(i, j+1) == *at(i, j) && *at(i+1, j) != *at(i, j) {
				ops = append(ops, alignOp{w0 + i, g0 + j})
				absorbed = true
				j++
				continue
			}
			if !absorbed {
				ops = append(ops, alignOp{w0 + i, -1})
			}
			absorbed = false
			i++
		case j < m && pats[i].match(lines[j]) && *at(i+1, j+1) == *at(i, j):
			ops = append(ops, alignOp{w0 + i, g0 + j})
			i, j = i+1, j+1
		case j < m && *at(i+1, j+1)+1 == *at(i, j):
			ops = append(ops, alignOp{w0 + i, -1}, alignOp{-1, g0 + j})
			i, j = i+1, j+1
		case j == m || *at(i+1, j)+1 == *at(i, j):
			ops = append(ops, alignOp{w0 + i, -1})
			i++
		default:
			ops = append(ops, alignOp{-1, g0 + j})
			j++
		}
	}
	return ops
}

// matchNothing stands for an expectation that cannot be compiled.
var matchNothing = regexp.MustCompile(`$.^`)

// streamCheck is one stream of a pattern block: its compiled expectations
// and its actual lines.
type streamCheck struct {
	stream    int
	pats      []*linePattern
	wantNoNL  bool // the last expectation is followed by "% no-newline"
	lines     []string
	gotNoNL   bool
	exact     bool // a binary side: compared as items, not lines
	wantItems []outputItem
	gotItems  []outputItem
}

// streamChecks splits a pattern block into its two streams (stderr first).
func streamChecks(cr *CommandResult, subs *Substitutions, dir string, seen func(Input)) ([]*streamCheck, error) {
	b := cr.Block
	var errs []error
	out := make([]*streamCheck, 0, 2)
	for _, stream := range []int{2, 1} {
		sc := &streamCheck{stream: stream}
		data := cr.Stdout
		if stream == 2 {
			data = cr.Stderr
		}
		sc.gotItems = streamItems(stream, data)
		slab := &patternSlab{}
		for _, e := range b.Expect {
			if e.Stream != stream {
				continue
			}
			sc.wantNoNL = e.NoNewline
			if e.File {
				items, err := expectedFileItems(e, dir, seen)
				if err != nil {
					errs = append(errs, err)
				}
				for _, it := range items {
					sc.wantItems = append(sc.wantItems, it)
					sc.pats = append(sc.pats, &linePattern{parts: []string{it.text}})
					sc.wantNoNL = it.noNewline
				}
				continue
			}
			p, err := compileFrom(slab, e, subs)
			if err != nil {
				errs = append(errs, err)
				p = &linePattern{exp: e, re: matchNothing}
			}
			sc.pats = append(sc.pats, p)
		}
		for _, it := range append(sc.gotItems, sc.wantItems...) {
			sc.exact = sc.exact || it.binary != nil
		}
		if sc.exact {
			// A binary side: compare items, the expectations as written.
			sc.wantItems = sc.wantItems[:0]
			for _, e := range b.Expect {
				if e.Stream != stream {
					continue
				}
				if e.File {
					items, _ := expectedFileItems(e, dir, func(Input) {})
					sc.wantItems = append(sc.wantItems, items...)
					continue
				}
				sc.wantItems = append(sc.wantItems, outputItem{stream: stream, text: e.Text, noNewline: e.NoNewline})
			}
		}
		if !sc.exact {
			sc.lines = make([]string, len(sc.gotItems))
			for i, it := range sc.gotItems {
				sc.lines[i] = it.text
			}
			sc.gotNoNL = len(sc.gotItems) > 0 && sc.gotItems[len(sc.gotItems)-1].noNewline
		}
		out = append(out, sc)
	}
	return out, errors.Join(errs...)
}

func (sc *streamCheck) matches() bool {
	if sc.exact {
		return itemsEqual(sc.wantItems, sc.gotItems)
	}
	return sc.wantNoNL == sc.gotNoNL && matchLines(sc.pats, sc.lines)
}

// render spells the expectation a pattern came from, as written.
func (p *linePattern) render(stream int) string {
	if p.exp == nil || p.exp.Pattern == nil {
		return literalLine(stream, p.parts[0])
	}
	return p.exp.Line.Opcode + " " + p.exp.Text
}

func literalLine(stream int, text string) string {
	if text == "" {
		return strconv.Itoa(stream)
	}
	return strconv.Itoa(stream) + " " + text
}

// renderStream renders both sides of a stream for the failure diff: the
// expectations as written, and the actual lines with every line an
// expectation matched shown as that expectation, so the diff holds only
// what really differs.
func (sc *streamCheck) render(want, got *strings.Builder) {
	if sc.exact {
		want.WriteString(renderItems(sc.wantItems))
		got.WriteString(renderItems(sc.gotItems))
		return
	}
	for _, p := range sc.pats {
		want.WriteString(p.render(sc.stream) + "\n")
	}
	if sc.wantNoNL && len(sc.pats) > 0 {
		want.WriteString("% no-newline\n")
	}
	last := -1
	for _, op := range alignLines(sc.pats, sc.lines) {
		switch {
		case op.w >= 0 && op.g >= 0 && sc.pats[op.w].any && op.w == last:
		case op.w >= 0 && (op.g >= 0 || sc.pats[op.w].any):
			got.WriteString(sc.pats[op.w].render(sc.stream) + "\n")
		case op.g >= 0:
			got.WriteString(literalLine(sc.stream, sc.lines[op.g]) + "\n")
		}
		if op.w >= 0 {
			last = op.w
		}
	}
	if sc.gotNoNL {
		got.WriteString("% no-newline\n")
	}
}

// checkPatterns compares a block with pattern lines; want and got are the
// rendered sides for the diff, empty when everything matched.
func checkPatterns(cr *CommandResult, subs *Substitutions, seen func(Input)) (want, got string, err error) {
	scs, err := streamChecks(cr, subs, cr.Dir, seen)
	ok := true
	for _, sc := range scs {
		ok = ok && sc.matches()
	}
	if ok {
		return "", "", err
	}
	var w, g strings.Builder
	for _, sc := range scs {
		sc.render(&w, &g)
	}
	return w.String(), g.String(), err
}

// MatchedLines returns, for each inline expectation of a command that ran
// with patterns, the actual lines it matched ("..." may match several,
// or none); an expectation that matched nothing is absent. Editors show it
// on hover. It is nil for a command whose output was too large to keep in
// memory (BigOutputs).
func MatchedLines(cr *CommandResult) map[*parser.Expectation][]string {
	if cr.wasBig {
		return nil // not in memory, and too large to show
	}
	scs, _ := streamChecks(cr, cr.Substs, cr.Dir, func(Input) {})
	out := map[*parser.Expectation][]string{}
	for _, sc := range scs {
		if sc.exact {
			continue
		}
		for _, op := range alignLines(sc.pats, sc.lines) {
			if op.w < 0 {
				continue
			}
			e := sc.pats[op.w].exp
			if e == nil {
				continue
			}
			switch {
			case op.g >= 0:
				out[e] = append(out[e], sc.lines[op.g])
			case out[e] == nil:
				out[e] = []string{} // "..." that matched no line
			}
		}
	}
	return out
}
