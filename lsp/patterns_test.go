package lsp

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// Patterns in the server: diagnostics for an invalid regexp and an unknown
// substitution, semantic tokens, completion of substitution names, hover
// with what a pattern matched in the last run, and update / accept keeping
// patterns.
func TestPatterns(t *testing.T) {
	dir := workspaceDir(t, nil)
	src := strings.Join([]string{
		"% subst PID regexp [0-9]+",     // 0
		"$ echo \"pid $$\"; seq 5; pwd", // 1
		"1* pid [PID]",                  // 2
		"1* ...",                        // 3
		"1 stale",                       // 4
		"",                              // 5
		"$ echo x",                      // 6
		"1~ (",                          // 7
		"1* [NOPE] [",                   // 8
		"",
	}, "\n")
	writeFiles(t, dir, map[string]string{"p.cmdt": src})
	c := newTestClient(t)
	c.initialize(dir, editorCaps)
	u := pathURI(filepath.Join(dir, "p.cmdt"))
	c.open(u, "cmdt", src)
	diags := c.waitDiagnostics(u, 1)
	findDiag(t, diags, "invalid-regexp")
	if d := findDiag(t, diags, "unknown-substitution"); d.Range.Start.Line != 8 || d.Range.Start.Character != 3 || d.Range.End.Character != 9 {
		t.Errorf("unknown substitution at %+v", d.Range)
	}

	// Semantic tokens: [PID] a variable, [..]-free "pid " a string, "..." an
	// operator, the regexp a regexp.
	var toks protocol.SemanticTokens
	c.mustCall(MethodSemanticTokensFull, docID(u), &toks)
	found := decodeTokens(strings.Split(src, "\n"), toks.Data)
	for _, want := range []string{"2:[PID]:6", "2:pid :2", "3:...:10", "7:(:9", "0:PID:6", "0:regexp:5", "0:[0-9]+:9"} {
		if !found[want] {
			t.Errorf("no token %s in %v", want, found)
		}
	}

	// Completion after "[" offers the wildcard, the built-ins and PID.
	var list protocol.CompletionList
	c.mustCall(protocol.MethodTextDocumentCompletion, posParams(u, 8, 11), &list)
	labels := map[string]bool{}
	for _, it := range list.Items {
		labels[it.Label] = true
	}
	for _, want := range []string{"..", "ROOT", "TMP", "HOME", "DIR", "PID"} {
		if !labels[want] {
			t.Errorf("completion lacks %s: %v", want, labels)
		}
	}

	// Fix the syntax errors, run, and hover.
	fixed := strings.Replace(src, "1~ (\n1* [NOPE] [\n", "1~ [a-z]\n", 1)
	c.change(u, 2, TextDocumentContentChangeEvent{Text: fixed})
	c.waitDiagnostics(u, 2)
	if out := c.mustExecute(CommandRun, string(u)); out.Status != OutcomeFailed {
		t.Fatalf("run = %+v", out)
	}
	if h := c.hoverText(u, 2, 9); !strings.Contains(h, "[PID]") || !strings.Contains(h, "matched 1 line") || !strings.Contains(h, "pid ") {
		t.Errorf("hover on [PID] = %q", h)
	}
	if h := c.hoverText(u, 3, 4); !strings.Contains(h, "matched 5 line(s)") || !strings.Contains(h, "\n1\n2\n3\n4\n5\n") {
		t.Errorf("hover on ... = %q", h)
	}

	// Accept keeps the patterns that still match and writes [ROOT].
	out := c.mustExecute(CommandAccept, string(u), 1)
	if out.Status != OutcomeUpdated {
		t.Fatalf("accept = %+v", out)
	}
	want := strings.Replace(fixed, "1 stale\n", "1* [ROOT]\n", 1)
	if got := c.text(u); got != want {
		t.Fatalf("after accept:\n%s\nwant:\n%s", got, want)
	}
}

// decodeTokens maps semantic tokens to "line:text:type".
func decodeTokens(lines []string, data []uint32) map[string]bool {
	var line, char uint32
	found := map[string]bool{}
	for i := 0; i+4 < len(data); i += 5 {
		if data[i] > 0 {
			char = 0
		}
		line += data[i]
		char += data[i+1]
		found[fmt.Sprintf("%d:%s:%d", line, lines[line][char:char+data[i+2]], data[i+3])] = true
	}
	return found
}
