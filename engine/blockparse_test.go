package engine

import (
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// blocksOf makes a transcript of one block per text ("\n" in a text makes
// continuation lines) and parses it.
func blocksOf(t *testing.T, texts []string) []*parser.Block {
	var b strings.Builder
	for _, text := range texts {
		for i, l := range strings.Split(text, "\n") {
			if i == 0 {
				b.WriteString("$ " + l + "\n")
			} else {
				b.WriteString("> " + l + "\n")
			}
		}
		b.WriteString("\n")
	}
	f := parser.Parse("t.cmdt", []byte(b.String()))
	if len(f.Errors) > 0 || len(f.Blocks) != len(texts) {
		return nil
	}
	for i, bl := range f.Blocks {
		if bl.Text() != texts[i] {
			return nil // the transcript format cannot hold this text
		}
	}
	return f.Blocks
}

// checkBlockParse holds parsing in chunks to parsing each block alone: the
// same syntax error or none, the same program printed, and the same
// positions wherever a position can show.
func checkBlockParse(t *testing.T, texts []string) {
	blocks := blocksOf(t, texts)
	if blocks == nil {
		return
	}
	bp := newBlockParser(syntax.NewParser(syntax.Variant(syntax.LangBash)), blocks)
	alone := syntax.NewParser(syntax.Variant(syntax.LangBash))
	printer := syntax.NewPrinter()
	for i, b := range blocks {
		got, gotErr := bp.parse(b)
		want, wantErr := alone.Parse(strings.NewReader(b.Text()), "")
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("block %d %q: chunked error %v, alone %v", i, b.Text(), gotErr, wantErr)
		}
		if wantErr != nil {
			if gotErr.Error() != wantErr.Error() {
				t.Fatalf("block %d %q: chunked error %v, alone %v", i, b.Text(), gotErr, wantErr)
			}
			continue
		}
		var g, w strings.Builder
		printer.Print(&g, got)
		printer.Print(&w, want)
		if g.String() != w.String() {
			t.Fatalf("block %d %q: chunked\n%s\nalone\n%s", i, b.Text(), g.String(), w.String())
		}
		if _, shows := inBlock(want.Stmts); shows && len(want.Stmts) > 0 &&
			got.Stmts[0].Pos().Line() != want.Stmts[0].Pos().Line() {
			t.Fatalf("block %d %q: a position shows, and chunked it is line %d, alone %d", i, b.Text(),
				got.Stmts[0].Pos().Line(), want.Stmts[0].Pos().Line())
		}
	}
}

func TestBlockParse(t *testing.T) {
	cases := [][]string{
		{"echo a", "echo b; echo c", "", "true"},
		{"echo 'open", "echo close'", "echo after"},
		{"cat <<EOF\nbody\nEOF", "echo next"},
		{"cat <<EOF\nbody", "EOF", "echo next"},
		{"{ cat <<EOF; }\nbody", "EOF"},
		{"echo a \\", "echo b"},
		{"f()", "{ echo body; }"},
		{"if true; then", "echo x; fi"},
		{"echo $LINENO", "echo x; echo $LINENO", "[ a", "test -z", "x=[; $x a", "command [ a", `"[" a`},
		{"f() { [ a; }", "f"},
		{"echo ok &", "wait"},
		{"echo ${x:-$(echo $((1+2)))}", "for i in 1 2; do\necho $i\ndone"},
		{"echo )", "echo fine"},
	}
	for _, c := range cases {
		checkBlockParse(t, c)
	}
	// More blocks than a chunk holds.
	var many []string
	for i := range 3*chunkBlocks + 5 {
		many = append(many, "echo line"+strings.Repeat("x", i%7))
	}
	many[chunkBlocks+3] = "echo 'unclosed"
	checkBlockParse(t, many)
}

func FuzzBlockParse(f *testing.F) {
	f.Add("echo a\x1eecho 'b\x1ec'")
	f.Add("cat <<EOF\nx\x1eEOF\x1eecho $LINENO")
	f.Add("f() {\x1e}\x1e[ a")
	f.Fuzz(func(t *testing.T, joined string) {
		texts := strings.Split(joined, "\x1e")
		if len(texts) > 8 {
			return
		}
		checkBlockParse(t, texts)
	})
}
