package lsp

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
)

// TestBrokenFramesResync is issue 18's table for the protocol: after each
// malformed frame the server reads the next valid one and answers it.
// Before, each of these left it alive but deaf (or, for 10,001 bad header
// lines, made it exit).
func TestBrokenFramesResync(t *testing.T) {
	lost := `{"jsonrpc":"2.0","id":"lost","method":"cmdt/status","params":{"uri":"file:///x"}}`
	noNewline := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(noNewline)
	garbage := strings.NewReplacer("C", "x", "c", "x", "\n", "x").Replace(string(noNewline))
	cases := []struct{ name, raw string }{
		{"missing Content-Length", "Content-Type: application/vscode-jsonrpc\r\n\r\n" + lost},
		{"negative Content-Length", "Content-Length: -5\r\n\r\n" + lost},
		{"zero Content-Length", "Content-Length: 0\r\n\r\n" + lost},
		{"too-large Content-Length", "Content-Length: 99999999999999\r\n\r\n" + lost},
		{"Content-Length over the limit", fmt.Sprintf("Content-Length: %d\r\n\r\n", maxMessageSize+1) + lost},
		{"Content-Length not a number", "Content-Length: banana\r\n\r\n" + lost},
		{"64 KB of garbage without a newline", garbage},
		{"64 KB of garbage lines", strings.Repeat("garbage garbage garbage garbage garbage garbage!\r\n", 64<<10/50)},
		{"10,001 bad header lines", strings.Repeat("this is not a header\r\n", 10001)},
		{"header line over the limit", "Content-Length: 10\r\nX-Long: " + strings.Repeat("a", 2*maxHeaderLine) + "\r\n\r\n" + lost},
		{"too many header lines", "Content-Length: 10\r\n" + strings.Repeat("X-A: b\r\n", maxHeaderLines+1) + "\r\n" + lost},
		{"dangling Content-Length glued to the next frame", "Content-Length:"},
		{"garbage glued to the next frame", "\x00\xffjunk"},
	}
	rc := newRawClient(t)
	rc.frame(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}`)
	rc.expectResult("0")
	for i, c := range cases {
		rc.write(c.raw)
		id := i + 1
		rc.frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"cmdt/status","params":{"uri":"file:///x"}}`, id))
		// The first answer after the broken frame must be to the valid
		// request (the broken one is never answered: it has no usable id).
		if m := rc.read(); string(m["id"]) != fmt.Sprint(id) {
			t.Fatalf("%s: first answer %s, want one to request %d", c.name, stringify(m), id)
		}
	}
}

// TestAnyMethodAnswered: a request with any method string, the empty one
// included, gets an answer (MethodNotFound); jsonrpc2 takes a message
// without a method for a response and drops it.
func TestAnyMethodAnswered(t *testing.T) {
	rc := newRawClient(t)
	rc.frame(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}`)
	rc.expectResult("0")
	for i, m := range []string{"", " ", `\u0000`, "textDocument/", "$/", "rpc.x", strings.Repeat("m", 10000)} {
		rc.frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"%s"}`, i+1, m))
		rc.expectError(fmt.Sprint(i+1), jsonrpc2.MethodNotFound)
	}
	// A notification with an empty method is ignored like any unknown one.
	rc.frame(`{"jsonrpc":"2.0","method":""}`)
	rc.frame(`{"jsonrpc":"2.0","id":"s","method":"","params":[1]}`)
	rc.expectError(`"s"`, jsonrpc2.MethodNotFound)
}
