package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stream larger than BigOutput is checked from disk: a failure is
// reported in bounded form with the full output kept on disk, a match
// under patterns or against a "1<" text file passes, and update reads the
// kept output.
func TestBigOutput(t *testing.T) {
	const lines = 500_000 // 21 bytes each: 10.5 MB, above BigOutput
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/t\n"), 0o644)
	gen := "yes 'line of output 01234' | head -n 500000"
	os.WriteFile(filepath.Join(dir, "want.txt"), []byte(strings.Repeat("line of output 01234\n", lines)), 0o644)
	src := "$ " + gen + "\n1 line of output 01234\n1 something else\n\n" +
		"$ " + gen + "; echo end\n1 line of output 01234\n1* ...\n1* e[..]\n\n" +
		"$ " + gen + "\n1< want.txt\n\n" +
		"$ " + gen + " >&2; echo out\n2* ...\n1 out\n"
	path := filepath.Join(dir, "big.cmdt")
	os.WriteFile(path, []byte(src), 0o644)
	res := run(t, parseFile(t, path), Options{})
	if len(res.Commands) != 4 {
		t.Fatalf("ran %d commands", len(res.Commands))
	}
	for i, cr := range res.Commands[1:] {
		if cr.Failure != nil {
			t.Errorf("command %d: %v", i+2, cr.Failure)
		}
	}
	cr := res.Commands[0]
	if cr.Failure == nil {
		t.Fatal("a big output that does not match passed")
	}
	report := cr.Failure.Error()
	if len(report) > 4000 {
		t.Errorf("report of %d bytes is not bounded:\n%.2000s", len(report), report)
	}
	for _, want := range []string{"first difference at stdout line 2", "-1 something else", "+1 line of output 01234",
		"left out: 0 expected line(s), 499974 actual line(s)", "full stdout (500000 lines, 10500000 bytes): " + cr.StdoutPath} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	defer os.Remove(cr.StdoutPath)
	if cr.Stdout != nil {
		t.Error("a big output was held in memory")
	}
	if st, err := os.Stat(cr.StdoutPath); err != nil || st.Size() != 21*lines {
		t.Fatalf("kept output %s: %v %v", cr.StdoutPath, st, err)
	}
	plan, err := PlanUpdate(res)
	if err != nil {
		t.Fatal(err)
	}
	// The failed block gets every line; the passing one keeps its one.
	if n := strings.Count(string(plan.Source), "1 line of output 01234\n"); n != lines+1 {
		t.Errorf("update wrote %d output lines, want %d", n, lines+1)
	}
	if !strings.Contains(string(plan.Source), "1* ...\n1* e[..]\n") {
		t.Error("update lost the patterns of a passing block")
	}
}

func TestBoundDiff(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		b.WriteString("+1 x\n")
	}
	b.WriteString("+" + strings.Repeat("y", 5000) + "\n")
	got := boundDiff(b.String())
	if n := strings.Count(got, "\n"); n != maxDiffHead+maxDiffTail+1 || !strings.Contains(got, "651 diff line(s) left out") || !strings.Contains(got, "… (5001 bytes)") {
		t.Errorf("bounded diff has %d lines:\n%s", n, got)
	}
	if small := "-1 a\n+1 b\n"; boundDiff(small) != small {
		t.Error("a small diff changed")
	}
}
