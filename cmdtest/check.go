package cmdtest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// Check runs the transcript read from r and reports every failed command
// with t.Errorf. name labels the transcript in messages ("name:line").
// The session starts in the test's working directory (the package
// directory under go test) unless [WithDir] says otherwise. Update mode
// cannot rewrite a transcript that is not a file: failures are reported
// as usual, with a note.
func Check(t testing.TB, name string, r io.Reader, opts ...Option) {
	t.Helper()
	src, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("cmdt: read %s: %v", name, err)
	}
	c := newConfig(opts)
	if c.dir == "" {
		c.dir = "."
	}
	run(t, name, "", src, c)
}

// CheckString runs the transcript text, as [Check] does; messages name it
// "<string>".
func CheckString(t testing.TB, text string, opts ...Option) {
	t.Helper()
	Check(t, "<string>", strings.NewReader(text), opts...)
}

// CheckFile runs the transcript at path. The session starts in the
// file's directory, so relative paths in the transcript mean the same
// whoever runs it. In update mode a failing transcript is rewritten to
// match the actual output (see the package documentation).
func CheckFile(t testing.TB, path string, opts ...Option) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cmdt: %v", err)
	}
	run(t, path, path, src, newConfig(opts))
}

// CheckDir runs every *.cmdt file under dir, recursively, each in its own
// parallel subtest named by its slash-separated path relative to dir
// ("sub/x.cmdt"), so `go test -run 'TestCLI/sub/x.cmdt'` runs one.
// Directories whose names start with "." or "_" are skipped, as the go
// command skips them. A dir without transcripts is an error: a typo in
// the path must not pass silently.
func CheckDir(t *testing.T, dir string, opts ...Option) {
	t.Helper()
	files, err := transcriptsIn(dir)
	if err != nil {
		t.Fatalf("cmdt: %v", err)
	}
	if len(files) == 0 {
		t.Fatalf("cmdt: no *.cmdt files under %s", dir)
	}
	for _, rel := range files {
		path := filepath.Join(dir, rel)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			t.Parallel()
			CheckFile(t, path, opts...)
		})
	}
}

// transcriptsIn lists the *.cmdt files under dir, relative to it, in
// lexical order.
func transcriptsIn(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".cmdt") {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list transcripts: %w", err)
	}
	return files, nil
}

// run parses, runs and reports one transcript. path is the file to
// rewrite in update mode, "" when there is none.
func run(t testing.TB, name, path string, src []byte, c *config) {
	t.Helper()
	f := parser.Parse(name, src)
	if len(f.Errors) > 0 {
		t.Fatalf("cmdt: %d syntax error(s):\n%v", len(f.Errors), f.Errors)
	}
	update, err := updateMode()
	if err != nil {
		t.Fatalf("cmdt: %v", err)
	}
	launcher, _, err := trace.NewLauncher(c.trace, nil)
	if err != nil {
		t.Fatalf("cmdt: %v", err)
	}
	res, err := engine.Run(t.Context(), f, engine.Options{Dir: c.dir, Env: c.environ(), Timeout: c.timeout, Launcher: launcher})
	if res == nil {
		t.Fatalf("cmdt: %s: %v", name, err)
	}
	// Before anything else can stop the test: record the inputs.
	if invisible := makeVisible(res, c); len(invisible) > 0 {
		t.Log(invisibleWarning(name, goTestRoot(), invisible))
	}
	if err != nil {
		t.Errorf("cmdt: %s: run interrupted: %v", name, err)
	}
	for _, e := range res.DeclErrors {
		t.Errorf("%v", e)
	}
	if res.Passed() {
		return
	}
	if update && path != "" {
		writeUpdate(t, path, res)
		return
	}
	for _, cr := range res.Failures() {
		t.Errorf("%s", failureMessage(name, cr.Failure))
	}
	if update {
		t.Logf("cmdt: update mode cannot rewrite %s: it is not a file (use CheckFile or CheckDir)", name)
	}
}
