package engine

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cmdt-dev/cmdt/parser"
)

// TestPreviewIsWhatUpdateWrites: the preview of an update lists exactly the
// files WriteUpdate then writes, with exactly the content they end up
// holding: the transcript, a changed `1<` text file, a changed binary, a new
// binary file, and an unchanged referenced file (listed, not changed).
func TestPreviewIsWhatUpdateWrites(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("text.txt", "old\nsame\n")
	write("blob.bin", "\x00old")
	write("same.txt", "same\n")
	src := "$ printf 'new\\nsame\\n'\n1< text.txt\n\n$ printf '\\0new!'\n1< blob.bin\n\n$ echo same\n1< same.txt\n\n$ printf '\\0\\1fresh'\n1 stale\n"
	path := filepath.Join(dir, "t.cmdt")
	write("t.cmdt", src)
	f := parser.Parse(path, []byte(src))
	if len(f.Errors) > 0 {
		t.Fatal(f.Errors)
	}
	res, err := Run(context.Background(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanUpdate(res)
	if err != nil {
		t.Fatal(err)
	}
	preview, err := PreviewUpdate(path, plan, res.Root)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, w := range preview {
		if w.Refused != nil {
			t.Errorf("%s: refused: %v", w.Path, w.Refused)
		}
		if w.Changed() {
			changed = append(changed, w.Path)
		}
	}
	// The preview wrote nothing.
	if b, _ := os.ReadFile(filepath.Join(dir, "text.txt")); string(b) != "old\nsame\n" {
		t.Fatalf("the preview wrote text.txt: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "001.bin")); err == nil {
		t.Fatal("the preview created 001.bin")
	}
	written, err := WriteUpdate(path, plan, res.Root)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(changed)
	sort.Strings(written)
	if len(changed) != 4 || len(changed) != len(written) {
		t.Fatalf("preview changes %q, update wrote %q (want the transcript, text.txt, blob.bin, 001.bin)", changed, written)
	}
	for i := range changed {
		if changed[i] != written[i] {
			t.Fatalf("preview changes %q, update wrote %q", changed, written)
		}
	}
	for _, w := range preview {
		got, err := os.ReadFile(w.Path)
		if err != nil || string(got) != string(w.New) {
			t.Errorf("%s: previewed %q, written %q (%v)", w.Path, w.New, got, err)
		}
		if base := filepath.Base(w.Path); (base == "blob.bin" || base == "001.bin") != w.Binary() {
			t.Errorf("%s: Binary() = %v", base, w.Binary())
		}
	}
}
