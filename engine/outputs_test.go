package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// A variable the transcript assigns itself is no env input (assigning
// reads the previous value first); one it only reads is.
func TestAssignedVariablesAreNotInputs(t *testing.T) {
	f, _ := writeTranscript(t, "t.cmdt", "$ who=world\n$ echo \"hello $who\"\n1 hello world\n$ echo ${CMDT_TEST_NOPE:-unset}\n1 unset\n")
	res := run(t, f, Options{Env: []string{"PATH=" + os.Getenv("PATH")}})
	if !res.Passed() {
		t.Fatal("run failed")
	}
	var names []string
	for _, in := range res.Observed {
		if in.Kind == InputEnv {
			names = append(names, in.Name)
		}
	}
	if len(names) != 1 || names[0] != "CMDT_TEST_NOPE" {
		t.Fatalf("env inputs = %q, want only CMDT_TEST_NOPE", names)
	}
}

// What the shell writes is an output, and an observed input under a
// directory the run created is dropped; tool caches are not inputs.
func TestOutputsAndToolCaches(t *testing.T) {
	f, dir := writeTranscript(t, "t.cmdt", "$ mkdir made && echo x > made/f && cat < made/f\n1 x\n$ cat < __pycache__/m.pyc\n1 c\n")
	os.Mkdir(filepath.Join(dir, "__pycache__"), 0o755)
	os.WriteFile(filepath.Join(dir, "__pycache__", "m.pyc"), []byte("c\n"), 0o644)
	res := run(t, f, Options{Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}})
	if !res.Passed() {
		t.Fatal("run failed")
	}
	for _, in := range res.Observed {
		if in.Kind == InputFile {
			t.Errorf("file input %s: an output or a tool cache", in.Path)
		}
	}
	found := false
	for _, p := range res.Outputs {
		found = found || p == filepath.Join(dir, "made", "f")
	}
	if !found {
		t.Errorf("outputs %q lack made/f", res.Outputs)
	}
}
