package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The server must survive any sequence of messages. The fuzz input is a
// little program: each byte picks a message kind and the following bytes
// its arguments (document, positions, text fragments, garbage).

var fuzzFragments = []string{
	"$ cat data.txt\n", "1 out\n", "2 err\n", "1< want.txt\n", "2< missing\n", "? 1\n", "? 999\n",
	"% dep file data.txt ../outside\n", "% dep glob **/*.txt\n", "% dep env HOME '$X'\n", "% dep exe ls\n",
	"% depfile d.cmdtdeps\n", "% dep < d.cmdtdeps\n", "% no-newline\n", "> continued\n", "\n", "# c\n",
	"$ cd sub && cat in.md\n", "$ (\n", "$ echo $(cat x) > y\n", "😀", "é", "\r\n", "\r", "\x00", "\xff",
	"file a\n", "env 1BAD\n", "depfile x\n", "glob [\n", "% dep file $(x)\n", "% bogus\n", "x bad\n",
	"1* a [..] [ROOT] \\[\n", "1* ...\n", "2~ (\n", "1~ \\d+\n", "% subst V regexp v[0-9]+\n", "1* [V] [NOPE] [\n", "% subst W value $HOME\n",
}

type fuzzSession struct {
	t      testing.TB
	conn   net.Conn
	done   chan error
	logs   *errorCounter
	nextID int
	uris   []string
}

func (fs *fuzzSession) frame(body string) {
	_ = fs.conn.SetWriteDeadline(time.Now().Add(callTimeout))
	if _, err := fmt.Fprintf(fs.conn, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		fs.t.Fatalf("server stopped reading: %v (Serve returned %v)", err, <-fs.done)
	}
}

func (fs *fuzzSession) write(raw string) {
	_ = fs.conn.SetWriteDeadline(time.Now().Add(callTimeout))
	if _, err := io.WriteString(fs.conn, raw); err != nil {
		fs.t.Fatalf("server stopped reading: %v (Serve returned %v)", err, <-fs.done)
	}
}

// brokenFrame returns one of the malformed frames of issue 18, sized by n.
func brokenFrame(kind, n int) string {
	body := `{"jsonrpc":"2.0","id":"lost","method":"cmdt/status","params":{"uri":"file:///x"}}`
	garbage := func(size int) string {
		b := make([]byte, size)
		rand.New(rand.NewSource(int64(n))).Read(b)
		return strings.NewReplacer("C", "c", "c", "x").Replace(string(b)) // no accidental header
	}
	switch kind % 8 {
	case 0:
		return "Content-Type: application/vscode-jsonrpc\r\n\r\n" + body // missing Content-Length
	case 1:
		return fmt.Sprintf("Content-Length: -%d\r\n\r\n%s", n, body)
	case 2:
		return "Content-Length: 99999999999999\r\n\r\n" + body
	case 3:
		return garbage(n * 256) // up to 64 KB
	case 4:
		return strings.Repeat("not a header\r\n", n*40)
	case 5:
		return "Content-Length: banana\r\n\r\n" + body
	case 6:
		return "Content-Length: 10\r\nX-" + strings.Repeat("a", 5000) + "\r\n\r\n" + body
	default:
		return "Content-Length:" // dangling, glued to the next frame's header
	}
}

func (fs *fuzzSession) send(method string, params interface{}, call bool) int {
	msg := map[string]interface{}{"jsonrpc": "2.0", "method": method, "params": params}
	id := 0
	if call {
		fs.nextID++
		id = fs.nextID
		msg["id"] = id
	}
	b, _ := json.Marshal(msg)
	fs.frame(string(b))
	return id
}

func runFuzzSession(t *testing.T, data []byte) {
	dir := workspaceDir(t, map[string]string{"data.txt": "x", "want.txt": "out\n", "sub/in.md": "x", "d.cmdtdeps": "file data.txt\n"})
	runFuzzSessionIn(t, dir, data)
}

func runFuzzSessionIn(t testing.TB, dir string, data []byte) {
	serverEnd, clientEnd := net.Pipe()
	logs := &errorCounter{}
	fs := &fuzzSession{t: t, conn: clientEnd, done: make(chan error, 1), logs: logs,
		uris: []string{string(pathURI(filepath.Join(dir, "a.cmdt"))), string(pathURI(filepath.Join(dir, "d.cmdtdeps"))), "untitled:u", string(pathURI(filepath.Join(dir, "sub", "b.cmdt")))}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { fs.done <- Serve(ctx, serverEnd, Options{Logger: newSlog(logs), CacheDir: t.TempDir()}) }()

	// Read everything the server sends, so its writes never block, and
	// hand over responses to the final liveness check.
	responses := make(chan map[string]json.RawMessage, 1024)
	go func() {
		in := bufio.NewReader(clientEnd)
		for {
			length := 0
			for {
				line, err := in.ReadString('\n')
				if err != nil {
					close(responses)
					return
				}
				line = strings.TrimSpace(line)
				if line == "" {
					break
				}
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					length, _ = strconv.Atoi(v)
				}
			}
			body := make([]byte, length)
			if _, err := io.ReadFull(in, body); err != nil {
				close(responses)
				return
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(body, &m) != nil {
				t.Errorf("server sent invalid JSON: %q", body)
			}
			if _, ok := m["id"]; ok {
				select {
				case responses <- m:
				default: // nobody checks old responses
				}
			}
		}
	}()

	fs.send("initialize", map[string]interface{}{"rootUri": string(pathURI(dir)), "capabilities": map[string]interface{}{}}, true)
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := int(data[0])
		data = data[1:]
		return b
	}
	text := func() string {
		var b strings.Builder
		for n := next() % 6; n >= 0; n-- {
			b.WriteString(fuzzFragments[next()%len(fuzzFragments)])
		}
		return b.String()
	}
	pos := func() map[string]int { return map[string]int{"line": next() % 12, "character": next() % 20} }
	doc := func() map[string]interface{} {
		return map[string]interface{}{"uri": fs.uris[next()%len(fs.uris)]}
	}
	version := 1
	for len(data) > 0 {
		switch next() % 23 {
		case 0:
			d := doc()
			d["languageId"], d["version"], d["text"] = []string{"cmdt", "cmdt-deps", "plaintext"}[next()%3], version, text()
			fs.send("textDocument/didOpen", map[string]interface{}{"textDocument": d}, false)
		case 1:
			version++
			d := doc()
			d["version"] = version
			fs.send("textDocument/didChange", map[string]interface{}{"textDocument": d,
				"contentChanges": []interface{}{map[string]interface{}{"range": map[string]interface{}{"start": pos(), "end": pos()}, "text": text()}}}, false)
		case 2:
			version++
			d := doc()
			d["version"] = version
			fs.send("textDocument/didChange", map[string]interface{}{"textDocument": d, "contentChanges": []interface{}{map[string]string{"text": text()}}}, false)
		case 3, 4, 5:
			m := []string{"textDocument/hover", "textDocument/completion", "textDocument/definition"}[next()%3]
			fs.send(m, map[string]interface{}{"textDocument": doc(), "position": pos()}, true)
		case 6, 7, 8:
			m := []string{"textDocument/documentSymbol", "textDocument/foldingRange", "textDocument/semanticTokens/full"}[next()%3]
			fs.send(m, map[string]interface{}{"textDocument": doc()}, true)
		case 9:
			fs.send("textDocument/codeAction", map[string]interface{}{"textDocument": doc(), "range": map[string]interface{}{"start": pos(), "end": pos()}, "context": map[string]interface{}{"diagnostics": []int{}}}, true)
		case 10:
			fs.send("textDocument/didClose", map[string]interface{}{"textDocument": doc()}, false)
		case 11:
			n := next() % 24
			if n > len(data) {
				n = len(data)
			}
			fs.frame(string(data[:n]))
			data = data[n:]
		case 12:
			fs.send("$/cancelRequest", map[string]interface{}{"id": fs.nextID - next()%3}, false)
		case 13:
			fs.send("cmdt/"+strconv.Itoa(next()), map[string]int{"x": next()}, next()%2 == 0)
		case 14:
			fs.send("textDocument/didSave", map[string]interface{}{"textDocument": doc()}, false)
		case 15:
			fs.send("workspace/didChangeConfiguration", map[string]interface{}{"settings": map[string]interface{}{"cmdt": map[string]interface{}{"undeclaredDependencies": next()%2 == 0}}}, false)
		case 16:
			fs.send("workspace/didChangeWatchedFiles", map[string]interface{}{"changes": []interface{}{map[string]interface{}{"uri": fs.uris[0], "type": 2}}}, false)
		case 17:
			// Params of the wrong shape for a random method.
			m := []string{"textDocument/hover", "textDocument/didOpen", "initialize", "textDocument/didChange", "cmdt/status"}[next()%5]
			fs.send(m, []interface{}{next(), "x", nil}, next()%2 == 0)
		case 18:
			fs.send("cmdt/status", map[string]interface{}{"uri": fs.uris[next()%len(fs.uris)]}, true)
		case 19:
			// Runs, updates, accepts and cancels of whatever the documents
			// hold (the fragments' commands only touch the workspace), with
			// arguments of any shape. This client never answers
			// workspace/applyEdit: the server must not wait on it.
			cmd := []string{"cmdt.run", "cmdt.runNoCache", "cmdt.update", "cmdt.accept", "cmdt.cancel", "cmdt.nope"}[next()%6]
			u := fs.uris[next()%len(fs.uris)]
			if next()%2 == 0 {
				// Random text rarely parses; often run one that does.
				version++
				fs.send("textDocument/didOpen", map[string]interface{}{"textDocument": map[string]interface{}{
					"uri": u, "languageId": "cmdt", "version": version, "text": "$ cat data.txt\n1 y\n\n$ cd sub && cat in.md\n" + fuzzFragments[next()%3]}}, false)
			}
			args := []interface{}{u, next() % 12}
			if next()%8 == 0 {
				args = []interface{}{next(), "x"}
			}
			fs.send("workspace/executeCommand", map[string]interface{}{"command": cmd, "arguments": args[:(next()%5+1)/2]}, true)
		case 20:
			m := []string{"textDocument/codeLens", "textDocument/inlayHint"}[next()%2]
			fs.send(m, map[string]interface{}{"textDocument": doc(), "range": map[string]interface{}{"start": pos(), "end": pos()}}, true)
		case 21:
			// A broken frame; the server must resynchronise on the next one.
			fs.write(brokenFrame(next(), next()))
		case 22:
			// Any method string, the empty one included, gets an answer.
			fs.send([]string{"", " ", "\x00", "textDocument/", "$/", "rpc.x"}[next()%6], nil, next()%2 == 0)
		}
	}
	// Liveness: a final request must be answered.
	id := fs.send("cmdt/status", map[string]string{"uri": "file:///x"}, true)
	deadline := time.After(callTimeout)
	for alive := false; !alive; {
		select {
		case m, ok := <-responses:
			if !ok {
				t.Fatalf("server closed the connection")
			}
			alive = string(m["id"]) == strconv.Itoa(id)
		case <-deadline:
			t.Fatalf("server did not answer after the sequence")
		}
	}
	if errs := logs.errors(); len(errs) > 0 {
		t.Fatalf("server bugs: %v", errs)
	}
	_ = clientEnd.Close()
	<-fs.done
}

// TestRandomMessageSequences runs fixed pseudo-random sequences on every
// `go test`, so the property holds without the fuzzer.
func TestRandomMessageSequences(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"data.txt": "x", "want.txt": "out\n", "sub/in.md": "x", "d.cmdtdeps": "file data.txt\n"})
	n := 40
	if testing.Short() {
		n = 5
	}
	for seed := int64(0); seed < int64(n); seed++ {
		data := make([]byte, 600)
		rand.New(rand.NewSource(seed)).Read(data)
		runFuzzSessionIn(t, dir, data)
	}
}

func FuzzMessages(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 3, 1, 1, 5, 5, 3, 0, 0})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"))
	f.Add([]byte{11, 20, '{', 'x', '"', ':', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzzSession(t, data)
	})
}
