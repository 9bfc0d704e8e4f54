package lsp

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

func TestInitializeCapabilities(t *testing.T) {
	c := newTestClient(t)
	res := c.initialize("", "")
	if res.ServerInfo == nil || res.ServerInfo.Name != "cmdt-lsp" || res.ServerInfo.Version != "test" {
		t.Errorf("serverInfo = %+v", res.ServerInfo)
	}
	if res.Capabilities.PositionEncoding != "" {
		t.Errorf("positionEncoding = %q without client offer, want absent (utf-16)", res.Capabilities.PositionEncoding)
	}
	raw, _ := json.Marshal(res.Capabilities)
	for _, want := range []string{`"hoverProvider":true`, `"definitionProvider":true`, `"documentSymbolProvider":true`,
		`"foldingRangeProvider":true`, `"legend"`, `"full":true`, `"codeActionKinds":["quickfix","source.updateTranscript"]`, `"change":2`, `"codeLensProvider":{}`, `"inlayHintProvider":{}`,
		`"commands":["cmdt.accept","cmdt.cancel","cmdt.run","cmdt.runNoCache","cmdt.update"]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("capabilities lack %s: %s", want, raw)
		}
	}
	c.shutdown()
}

func TestInitializeUTF8(t *testing.T) {
	c := newTestClient(t)
	res := c.initialize("", `{"general":{"positionEncodings":["utf-16","utf-8"]}}`)
	if res.Capabilities.PositionEncoding != PositionEncodingUTF8 {
		t.Fatalf("positionEncoding = %q, want utf-8", res.Capabilities.PositionEncoding)
	}
	// "é" is 2 bytes: in UTF-8 the bad opcode after it starts at byte 0 of
	// line 2 either way, but the hover range on a line with it counts bytes.
	u := protocol.DocumentURI("untitled:utf8")
	c.open(u, "cmdt", "$ echo é\n1 é\nx bad\n")
	diags := c.waitDiagnostics(u, 1)
	if len(diags) != 1 || diags[0].Range.Start.Line != 2 {
		t.Fatalf("diags = %+v", diags)
	}
	var syms []protocol.DocumentSymbol
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, map[string]interface{}{"textDocument": map[string]string{"uri": string(u)}}, &syms)
	if len(syms) != 1 || syms[0].SelectionRange.End.Character != uint32(len("$ echo é")) {
		t.Fatalf("symbols = %+v, want selection end at byte %d", syms, len("$ echo é"))
	}
}

func TestDiagnosticsOpenChange(t *testing.T) {
	dir := workspaceDir(t, nil)
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "a.cmdt"))
	c.open(u, "cmdt", "$ echo hi\n1 hi\n\n1 orphan\n% bogus\n")
	diags := c.waitDiagnostics(u, 1)
	if got, want := codes(diags), []string{"output-outside-command", "unknown-directive"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("codes = %v, want %v (%+v)", got, want, diags)
	}
	for _, d := range diags {
		if d.Source != "cmdt" || d.Severity != protocol.DiagnosticSeverityError {
			t.Errorf("diagnostic %+v: want source cmdt, severity error", d)
		}
	}
	// Incremental edit: delete the blank line 3, so "1 orphan" joins the
	// block and only the unknown directive remains.
	c.change(u, 2, TextDocumentContentChangeEvent{Range: &protocol.Range{
		Start: protocol.Position{Line: 2, Character: 0}, End: protocol.Position{Line: 3, Character: 0}}, Text: ""})
	diags = c.waitDiagnostics(u, 2)
	if got, want := codes(diags), []string{"unknown-directive"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after edit codes = %v, want %v", got, want)
	}
	if diags[0].Range.Start.Line != 3 {
		t.Errorf("unknown directive on line %d, want 3", diags[0].Range.Start.Line)
	}
	c.notify(protocol.MethodTextDocumentDidClose, map[string]interface{}{"textDocument": map[string]string{"uri": string(u)}})
	c.waitCleared(u)
	c.shutdown()
}

func TestStatusRequest(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", "")
	var res StatusResult
	c.mustCall(MethodCmdtStatus, StatusParams{URI: "file:///nowhere/x.cmdt"}, &res)
	if res.Status != StatusUnknown || res.Text != "" {
		t.Fatalf("status = %+v", res)
	}
	raw := json.RawMessage{}
	c.mustCall(MethodCmdtStatus, StatusParams{URI: "file:///nowhere/x.cmdt"}, &raw)
	if string(raw) != `{"status":"unknown","text":""}` {
		t.Fatalf("wire form = %s", raw)
	}
}

func TestRegistersFileWatcher(t *testing.T) {
	c := newTestClient(t)
	c.initialize("", `{"workspace":{"didChangeWatchedFiles":{"dynamicRegistration":true}}}`)
	deadline := time.Now().Add(callTimeout)
	for {
		c.mu.Lock()
		reqs := append([]string(nil), c.requests...)
		c.mu.Unlock()
		if len(reqs) == 1 && reqs[0] == protocol.MethodClientRegisterCapability {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client saw requests %v, want one client/registerCapability", reqs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A declared file created on disk clears its warning once the client
// reports the change.
func TestWatchedFileChangeRefreshes(t *testing.T) {
	dir := workspaceDir(t, nil)
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "% dep file later.txt\n$ true\n")
	if got := codes(c.waitDiagnostics(u, 1)); !reflect.DeepEqual(got, []string{CodeDepMissing}) {
		t.Fatalf("codes = %v", got)
	}
	writeFiles(t, dir, map[string]string{"later.txt": "now\n"})
	c.notify(protocol.MethodWorkspaceDidChangeWatchedFiles, map[string]interface{}{
		"changes": []interface{}{map[string]interface{}{"uri": string(pathURI(filepath.Join(dir, "later.txt"))), "type": 1}}})
	c.waitCleared(u)
	var h *protocol.Hover
	c.mustCall(protocol.MethodTextDocumentHover, posParams(u, 0, 7), &h)
	if h == nil || !strings.Contains(h.Contents.Value, "**`file PATH`**") {
		t.Fatalf("hover on the kind keyword = %+v", h)
	}
}
