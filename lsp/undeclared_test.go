package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
)

// TestUndeclaredCorpus measures the undeclared-dependency heuristic on the
// corpus in testdata/undeclared: transcripts written the way CLI tests are
// written, over a small workspace of fixtures, scripts and leftovers of
// earlier runs. A comment line
//
//	# want-undeclared: ARG...
//
// directly before a command lists the arguments of that command block
// that really are undeclared inputs (ground truth, decided by hand). Every
// warning not listed is a false positive; every listed argument without a
// warning a false negative. Both are printed; false positives must stay
// rare (at most 1 in 20 warnings).
func TestUndeclaredCorpus(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "undeclared"))
	if err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.cmdt"))
	if len(names) < 20 {
		t.Fatalf("corpus has %d transcripts", len(names))
	}
	c := newTestClient(t)
	c.initialize(dir, "")
	var tp, fp, fn, commands int
	var fpList, fnList []string
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		wantRaw, blockOf, n := corpusExpectations(string(src))
		want := map[string]bool{}
		for k := range wantRaw {
			want[strings.Replace(k, "\x00", filepath.Base(name)+":", 1)] = true
		}
		commands += n
		u := pathURI(name)
		c.open(u, "cmdt", string(src))
		diags := c.waitDiagnostics(u, 1)
		got := map[string]bool{}
		lines := strings.Split(string(src), "\n")
		for _, d := range diags {
			if d.Code != CodeUndeclared {
				continue
			}
			arg := lines[d.Range.Start.Line][d.Range.Start.Character:d.Range.End.Character]
			key := fmt.Sprintf("%s:%d %s", filepath.Base(name), blockOf[int(d.Range.Start.Line)+1], arg)
			got[key] = true
			if want[key] {
				tp++
			} else {
				fp++
				fpList = append(fpList, key)
			}
		}
		for key := range want {
			if !got[key] {
				fn++
				fnList = append(fnList, key)
			}
		}
		c.notify(protocol.MethodTextDocumentDidClose, docID(u))
	}
	sort.Strings(fpList)
	sort.Strings(fnList)
	reported := tp + fp
	t.Logf("corpus: %d transcripts, %d commands; %d warnings: %d true, %d false positives; %d missed (false negatives)",
		len(names), commands, reported, tp, fp, fn)
	if reported > 0 {
		t.Logf("false-positive rate: %.1f%% of warnings; recall %.1f%%", 100*float64(fp)/float64(reported), 100*float64(tp)/float64(tp+fn))
	}
	for _, k := range fpList {
		t.Logf("false positive: %s", k)
	}
	for _, k := range fnList {
		t.Logf("missed: %s", k)
	}
	if fp*20 > reported {
		t.Errorf("too many false positives: %d of %d warnings", fp, reported)
	}
	if tp == 0 {
		t.Errorf("the heuristic found nothing")
	}
}

// corpusExpectations reads want-undeclared annotations. It returns the
// expected keys ("file:commandLine arg"), a map from each line to the
// command line of its block, and the number of commands.
func corpusExpectations(src string) (want map[string]bool, blockOf map[int]int, commands int) {
	want, blockOf = map[string]bool{}, map[int]int{}
	lines := strings.Split(src, "\n")
	var pending []string
	block := 0
	for i, l := range lines {
		n := i + 1
		switch {
		case strings.HasPrefix(l, "# want-undeclared:"):
			pending = append(pending, strings.Fields(strings.TrimPrefix(l, "# want-undeclared:"))...)
		case strings.HasPrefix(l, "$ "):
			commands++
			block = n
			for _, a := range pending {
				want[fmt.Sprintf("\x00%d %s", n, a)] = true
			}
			pending = nil
		case strings.HasPrefix(l, "> "):
		default:
			block = 0
		}
		blockOf[n] = block
	}
	return want, blockOf, commands
}
