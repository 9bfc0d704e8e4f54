package parser

import "fmt"

// Pos is a position in a source file: a 1-based line and a 0-based byte
// column within that line. The zero Pos is invalid.
type Pos struct {
	Line int
	Col  int
}

// IsValid reports whether p denotes a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Before reports whether p comes strictly before q.
func (p Pos) Before(q Pos) bool {
	return p.Line < q.Line || (p.Line == q.Line && p.Col < q.Col)
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col+1) }

// Range is a half-open span [Start, End) within one file.
type Range struct {
	Start, End Pos
}

// Contains reports whether p lies within r (End inclusive, so a cursor
// just after a token still "touches" it, as editors expect).
func (r Range) Contains(p Pos) bool {
	return !p.Before(r.Start) && !r.End.Before(p)
}

func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }
