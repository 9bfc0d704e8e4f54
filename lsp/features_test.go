package lsp

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

func docID(u protocol.DocumentURI) map[string]interface{} {
	return map[string]interface{}{"textDocument": map[string]string{"uri": string(u)}}
}

func posParams(u protocol.DocumentURI, line, char uint32) map[string]interface{} {
	p := docID(u)
	p["position"] = protocol.Position{Line: line, Character: char}
	return p
}

// findDiag returns the first diagnostic with code, or fails.
func findDiag(t *testing.T, diags []protocol.Diagnostic, code string) protocol.Diagnostic {
	t.Helper()
	for _, d := range diags {
		if d.Code == code {
			return d
		}
	}
	t.Fatalf("no %s diagnostic in %v", code, codes(diags))
	return protocol.Diagnostic{}
}

func TestDependencyDiagnostics(t *testing.T) {
	outside := workspaceDir(t, map[string]string{"far.txt": "x"})
	dir := workspaceDir(t, map[string]string{
		"data/config.json": "{}",
		"sub/want.txt":     "hello\n",
		"deps.cmdtdeps":    "# inputs\nfile data/config.json\nfile nothere.txt\ndepfile other\n$BAD-NAME\n",
	})
	src := strings.Join([]string{
		"% dep file data/config.json missing.txt",   // 1
		"% dep glob data/**/*.json nomatch/**/*.go", // 2
		"% dep file data/config.json",               // 3: duplicate
		"% dep file " + filepath.Join(outside, "far.txt"),
		"% depfile deps.cmdtdeps", // 5
		"% dep env HOME",
		"% dep exe no-such-program-xyz",
		"$ cd sub",
		"1< want.txt",
		"2< nope.txt",
		"",
	}, "\n")
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	diags := c.waitDiagnostics(u, 1)
	got := codes(diags)
	want := []string{
		CodeDepMissing,        // missing.txt
		CodeGlobNoMatch,       // nomatch/**
		CodeDuplicateDep,      // line 3
		CodeDepOutsideRoot,    // far.txt
		CodeDepfileError,      // deps.cmdtdeps has errors
		CodeDepMissing,        // ... and a missing entry
		CodeDepMissing,        // exe
		CodeOutputFileMissing, // 2< nope.txt (want.txt found in sub/ after cd)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("codes:\n got %v\nwant %v\n%+v", got, want, diags)
	}
	d := findDiag(t, diags, CodeDepOutsideRoot)
	if !strings.Contains(d.Message, "go test") {
		t.Errorf("outside-root message does not explain go test: %q", d.Message)
	}
	if d := findDiag(t, diags, CodeOutputFileMissing); d.Range.Start.Line != 9 {
		t.Errorf("output-file-missing on line %d, want 9", d.Range.Start.Line)
	}
	if d := findDiag(t, diags, CodeDepfileError); len(d.RelatedInformation) != 2 {
		t.Errorf("depfile-error related = %+v, want the 2 bad depfile lines", d.RelatedInformation)
	}

	// The depfile itself, opened: named *.cmdtdeps, so a depfile even
	// with a plain-text language id.
	du := pathURI(filepath.Join(dir, "deps.cmdtdeps"))
	c.open(du, "plaintext", "# inputs\nfile data/config.json\nfile nothere.txt\ndepfile other\n$BAD-NAME\nfile data/config.json\n")
	dd := c.waitDiagnostics(du, 1)
	if got, want := codes(dd), []string{CodeDepMissing, "nested-depfile", "invalid-env-name", CodeDuplicateDep}; !reflect.DeepEqual(got, want) {
		t.Fatalf("depfile codes = %v, want %v", got, want)
	}
	c.shutdown()
}

func TestReferencedDepfileIsDepfile(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"inputs.list": "file a.txt\n"})
	c := newTestClient(t)
	c.initialize(dir, "")
	lu := pathURI(filepath.Join(dir, "inputs.list"))
	c.open(lu, "plaintext", "file a.txt\nbogus-keyword-line-is-a-path\n")
	// Not a depfile yet: no analysis, empty diagnostics.
	if d := c.waitDiagnostics(lu, 1); len(d) != 0 {
		t.Fatalf("plain file got diagnostics %+v", d)
	}
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "% dep < inputs.list\n")
	c.waitDiagnostics(u, 1)
	// Now it is named by a transcript: analysed as a depfile (a.txt does
	// not exist).
	d := c.waitPublish(lu, func(p protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	if got := codes(d); got[0] != CodeDepMissing {
		t.Fatalf("referenced depfile codes = %v", got)
	}
	// Closing the transcript makes it plain text again.
	c.notify(protocol.MethodTextDocumentDidClose, docID(u))
	c.waitCleared(lu)
}

func TestUndeclaredQuickFix(t *testing.T) {
	dir := workspaceDir(t, map[string]string{
		"data.txt":       "x",
		"declared.txt":   "x",
		"lib/helper.sh":  "echo",
		"inputs/a.json":  "{}",
		"expected.out":   "x\n",
		"leftover.out":   "old",
		"fixtures/in.md": "x",
	})
	src := strings.Join([]string{
		"# Header comment",
		"% dep file declared.txt",
		"% dep glob inputs/*.json",
		"",
		"$ cat data.txt declared.txt inputs/a.json", // 5: data.txt undeclared
		"1< expected.out",
		"",
		"$ echo hi > leftover.out && cat leftover.out", // created first: fine
		"$ wc -l < data.txt",                           // redirection: fine
		"$ bash lib/helper.sh",                         // undeclared
		"$ cd fixtures && cat in.md",                   // undeclared, after cd
		"$ rm data.txt; ls data.txt",                   // metadata only
		"",
	}, "\n")
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	diags := c.waitDiagnostics(u, 1)
	var got []string
	for _, d := range diags {
		if d.Code == CodeUndeclared {
			got = append(got, fmt.Sprintf("%d:%s", d.Range.Start.Line+1, src[0:0]+lineText(src, d.Range)))
		}
	}
	want := []string{"5:data.txt", "10:lib/helper.sh", "11:in.md"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("undeclared = %v, want %v\nall: %+v", got, want, diags)
	}
	// Quick fix for line 11: declares fixtures/in.md relative to the
	// transcript, after the existing declarations.
	var actions []protocol.CodeAction
	p := docID(u)
	p["range"] = protocol.Range{Start: protocol.Position{Line: 10, Character: 22}, End: protocol.Position{Line: 10, Character: 22}}
	p["context"] = map[string]interface{}{"diagnostics": []interface{}{}, "only": []string{"quickfix"}}
	c.mustCall(protocol.MethodTextDocumentCodeAction, p, &actions)
	if len(actions) != 2 {
		t.Fatalf("actions = %+v, want the fix and declare-all", actions)
	}
	edit := actions[0].Edit.Changes[u][0]
	if actions[0].Kind != protocol.QuickFix || edit.NewText != "% dep file fixtures/in.md\n" || edit.Range.Start.Line != 3 {
		t.Fatalf("fix = %q at %+v", edit.NewText, edit.Range)
	}
	// Apply it: the warning goes away.
	c.change(u, 2, TextDocumentContentChangeEvent{Range: &edit.Range, Text: edit.NewText})
	diags = c.waitDiagnostics(u, 2)
	for _, d := range diags {
		if d.Code == CodeUndeclared && strings.Contains(d.Message, "in.md") {
			t.Fatalf("still undeclared after fix: %+v", d)
		}
	}
	all := actions[1].Edit.Changes[u][0].NewText
	if all != "% dep file data.txt\n% dep file lib/helper.sh\n% dep file fixtures/in.md\n" {
		t.Errorf("declare-all = %q", all)
	}
}

// lineText returns the text a single-line range covers.
func lineText(src string, r protocol.Range) string {
	lines := strings.Split(src, "\n")
	l := lines[r.Start.Line]
	return l[r.Start.Character:r.End.Character]
}

func TestHoverCompletionDefinition(t *testing.T) {
	dir := workspaceDir(t, map[string]string{
		"testdata/config.json": "{}",
		"testdata/conf.d/x":    "",
		"want.txt":             "line one\nline two\n",
	})
	src := strings.Join([]string{
		"% dep file testdata/config.json", // 0
		"% dep env CMDT_TEST_SET CMDT_TEST_UNSET",
		"$ cat testdata/config.json",
		"1< want.txt",
		"% dep file testdata/co", // 4: completion target
		"% dep env CMDT_T",
		"% dep ex",
		"",
	}, "\n")
	env := map[string]string{"CMDT_TEST_SET": "secret-value", "PATH": ""}
	c := newTestClient(t, func(o *Options) {
		o.LookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		o.Environ = func() []string { return []string{"CMDT_TEST_SET=secret-value", "HOME=/root"} }
	})
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)

	hover := func(line, char uint32) string {
		t.Helper()
		var h *protocol.Hover
		c.mustCall(protocol.MethodTextDocumentHover, posParams(u, line, char), &h)
		if h == nil {
			return ""
		}
		return h.Contents.Value
	}
	if h := hover(0, 14); !strings.Contains(h, filepath.Join(dir, "testdata/config.json")) || !strings.Contains(h, "exists: yes") || !strings.Contains(h, "inside the module root") {
		t.Errorf("file dep hover = %q", h)
	}
	if h := hover(1, 12); !strings.Contains(h, "**set**") || strings.Contains(h, "secret-value") {
		t.Errorf("env hover = %q (must say set, never the value)", h)
	}
	if h := hover(1, 30); !strings.Contains(h, "**unset**") {
		t.Errorf("unset env hover = %q", h)
	}
	if h := hover(3, 5); !strings.Contains(h, "18 bytes") || !strings.Contains(h, "line two") {
		t.Errorf("1< hover = %q", h)
	}
	if h := hover(2, 0); !strings.Contains(h, "shell command") {
		t.Errorf("$ hover = %q", h)
	}
	if h := hover(0, 2); !strings.Contains(h, "declares inputs") {
		t.Errorf("dep directive hover = %q", h)
	}

	complete := func(line, char uint32) []string {
		t.Helper()
		var list protocol.CompletionList
		c.mustCall(protocol.MethodTextDocumentCompletion, posParams(u, line, char), &list)
		var labels []string
		for _, it := range list.Items {
			labels = append(labels, it.Label)
		}
		sort.Strings(labels)
		return labels
	}
	if got := complete(4, 22); !reflect.DeepEqual(got, []string{"conf.d/", "config.json"}) {
		t.Errorf("path completion = %v", got)
	}
	if got := complete(5, 16); !reflect.DeepEqual(got, []string{"CMDT_TEST_SET"}) {
		t.Errorf("env completion = %v", got)
	}
	if got := complete(6, 8); !reflect.DeepEqual(got, []string{"exe"}) {
		t.Errorf("kind completion = %v", got)
	}
	if got := complete(7, 0); len(got) != 13 {
		t.Errorf("opcode completion = %v", got)
	}

	define := func(line, char uint32) []protocol.Location {
		t.Helper()
		var locs []protocol.Location
		c.mustCall(protocol.MethodTextDocumentDefinition, posParams(u, line, char), &locs)
		return locs
	}
	cfg := pathURI(filepath.Join(dir, "testdata/config.json"))
	if l := define(0, 15); len(l) != 1 || l[0].URI != cfg {
		t.Errorf("definition of file dep = %+v", l)
	}
	if l := define(2, 10); len(l) != 1 || l[0].URI != cfg {
		t.Errorf("definition of command argument = %+v", l)
	}
	if l := define(3, 5); len(l) != 1 || l[0].URI != pathURI(filepath.Join(dir, "want.txt")) {
		t.Errorf("definition of 1< = %+v", l)
	}
}

func TestSymbolsFoldingSemanticTokens(t *testing.T) {
	src := "# one\n# two\n$ echo a\n> b\n1 a\n? 1\n\n$ ls $HOME\n% dep env HOME\n"
	c := newTestClient(t)
	c.initialize("", "")
	u := protocol.DocumentURI("untitled:Untitled-1")
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)

	var syms []protocol.DocumentSymbol
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, docID(u), &syms)
	if len(syms) != 2 || syms[0].Name != "echo a" || syms[0].Range.End.Line != 5 || syms[1].Name != "ls $HOME" || syms[0].Detail != "1 stdout, exit 1" {
		t.Fatalf("symbols = %+v", syms)
	}
	var folds []protocol.FoldingRange
	c.mustCall(protocol.MethodTextDocumentFoldingRange, docID(u), &folds)
	if len(folds) != 3 {
		t.Fatalf("folds = %+v, want block 2-5, block 7-8 and comments 0-1", folds)
	}
	var toks protocol.SemanticTokens
	c.mustCall(MethodSemanticTokensFull, docID(u), &toks)
	if len(toks.Data)%5 != 0 || len(toks.Data) == 0 {
		t.Fatalf("tokens = %v", toks.Data)
	}
	// Decode and check a few: the $HOME expansion is a variable, echo a function.
	var line, char uint32
	found := map[string]bool{}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(toks.Data); i += 5 {
		if toks.Data[i] > 0 {
			char = 0
		}
		line += toks.Data[i]
		char += toks.Data[i+1]
		text := lines[line][char : char+toks.Data[i+2]]
		found[fmt.Sprintf("%s:%d", text, toks.Data[i+3])] = true
	}
	for _, want := range []string{"echo:7", "$HOME:6", "# one:1", "?:0", "1:3", "dep:4", "env:5", "HOME:6"} {
		if !found[want] {
			t.Errorf("no token %s in %v", want, found)
		}
	}
}

// Editing an open depfile re-checks the transcripts that include it,
// against the unsaved text.
func TestDepfileOverlayEdit(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"a.txt": "x", "deps.cmdtdeps": "file a.txt\n"})
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "% depfile deps.cmdtdeps\n$ true\n")
	if d := c.waitDiagnostics(u, 1); len(d) != 0 {
		t.Fatalf("diags = %+v", d)
	}
	du := pathURI(filepath.Join(dir, "deps.cmdtdeps"))
	c.open(du, "cmdt-deps", "file a.txt\n")
	c.change(du, 2, TextDocumentContentChangeEvent{Text: "file a.txt\nfile gone.txt\n"})
	d := c.waitPublish(u, func(p protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	if len(d) != 1 || d[0].Code != CodeDepMissing || !strings.Contains(d[0].Message, "gone.txt (line 2, does not exist)") {
		t.Fatalf("after depfile edit: %+v", d)
	}
	var res InitializeResult317
	if err := c.call(protocol.MethodInitialize, map[string]interface{}{"capabilities": map[string]interface{}{}}, &res); err == nil {
		t.Fatal("second initialize accepted")
	}
}

func TestDirectoryDependencyHover(t *testing.T) {
	dir := workspaceDir(t, map[string]string{"testdata/a.txt": "", "testdata/sub/b.txt": ""})
	c := newTestClient(t)
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "t.cmdt"))
	c.open(u, "cmdt", "% dep file testdata\n")
	if d := c.waitDiagnostics(u, 1); len(d) != 0 {
		t.Fatalf("diags = %+v", d)
	}
	var h *protocol.Hover
	c.mustCall(protocol.MethodTextDocumentHover, posParams(u, 0, 13), &h)
	if h == nil || !strings.Contains(h.Contents.Value, "kind: dir") || !strings.Contains(h.Contents.Value, "2 file(s)") || !strings.Contains(h.Contents.Value, "sub/b.txt") {
		t.Fatalf("hover = %+v", h)
	}
}
