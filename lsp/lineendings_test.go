package lsp

import (
	"reflect"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// Bad input in the editor: mixed CRLF and LF lines, a lone '\r' (one
// line), a 1 MB output line: one clear diagnostic, every feature answers.
func TestMixedLineEndingsAndLongLine(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	long := strings.Repeat("x", 1<<20)
	text := "$ echo a\r\n1 a\n\r\r\n$ printf '%s\\n' long\r\n1 " + long + "\r\n% no-newline extra\n"
	u := protocol.DocumentURI("untitled:mixed")
	c.open(u, "cmdt", text)
	diags := c.waitDiagnostics(u, 1)
	if got := codes(diags); !reflect.DeepEqual(got, []string{"unknown-opcode", "no-newline-arguments"}) {
		t.Fatalf("codes = %v: %+v", got, diags)
	}
	// An editor also breaks lines at a lone '\r': "\r\r\n" is two LSP
	// lines, so transcript line 6 is LSP line 6 (0-based), not 5.
	if diags[0].Range.Start.Line != 2 || diags[1].Range.Start.Line != 6 {
		t.Errorf("diagnostics on lines %d, %d; want 2, 6", diags[0].Range.Start.Line, diags[1].Range.Start.Line)
	}
	c.mustCall(protocol.MethodTextDocumentHover, posParams(u, 5, 500000), nil)
	for _, m := range []string{MethodSemanticTokensFull, protocol.MethodTextDocumentDocumentSymbol, protocol.MethodTextDocumentFoldingRange} {
		c.mustCall(m, docID(u), nil)
	}
	c.shutdown()
}
