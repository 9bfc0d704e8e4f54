package cmdtest

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// Check runs the transcript read from r, as the origin tool's
// cmdtest.Check does (github.com/deref/transcript/cmdtest): same
// signature, so migrating is an import-path change. The session starts in
// the test's working directory (the package directory under go test). It
// reports every failed command with t.Errorf and returns whether the
// transcript passed; a syntax error or an unreadable r also fails the
// test and returns false, without stopping it. For a name in messages,
// options or update mode, use [CheckReader], [CheckText] or [CheckFile].
func Check(t *testing.T, r io.Reader) bool {
	t.Helper()
	return CheckReader(t, "", r, nonFatal)
}

// CheckString runs the transcript text as [Check] does, like the origin
// tool's cmdtest.CheckString.
func CheckString(t *testing.T, cmdt string) bool {
	t.Helper()
	return CheckReader(t, "", strings.NewReader(cmdt), nonFatal)
}

// CheckReader runs the transcript read from r and reports every failed
// command with t.Errorf; it returns whether the transcript passed. name
// labels the transcript in messages ("name:line"; "line N" when empty).
// The session starts in the test's working directory (the package
// directory under go test) unless [WithDir] says otherwise. A syntax
// error stops the test. Update mode cannot rewrite a transcript that is
// not a file: failures are reported as usual, with a note.
func CheckReader(t testing.TB, name string, r io.Reader, opts ...Option) bool {
	t.Helper()
	c := newConfig(opts)
	src, err := io.ReadAll(r)
	if err != nil {
		c.fail(t, "cmdt: read %s: %v", displayName(name), err)
		return false
	}
	if c.dir == "" {
		c.dir = "."
	}
	return run(t, name, "", src, c)
}

// CheckText runs the transcript text, as [CheckReader] does; messages
// name it "<string>".
func CheckText(t testing.TB, text string, opts ...Option) bool {
	t.Helper()
	return CheckReader(t, "<string>", strings.NewReader(text), opts...)
}

func displayName(name string) string {
	if name == "" {
		return "transcript"
	}
	return name
}

// CheckFile runs the transcript at path and returns whether it passed.
// The session starts in the file's directory, so relative paths in the
// transcript mean the same whoever runs it. In update mode a failing
// transcript is rewritten to match the actual output (see the package
// documentation).
func CheckFile(t testing.TB, path string, opts ...Option) bool {
	t.Helper()
	c := newConfig(opts)
	src, err := engine.ReadRegular(path, engine.MaxTranscriptSize)
	if err != nil {
		c.fail(t, "cmdt: %v", err)
		return false
	}
	return run(t, path, path, src, c)
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
			// A helper too: go test then attributes the subtest's failures
			// to the caller's CheckDir line, not to this library.
			t.Helper()
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

// run parses, runs and reports one transcript and returns whether it
// passed. path is the file to rewrite in update mode, "" when there is
// none.
func run(t testing.TB, name, path string, src []byte, c *config) bool {
	t.Helper()
	f := parser.Parse(name, src)
	if len(f.Errors) > 0 {
		c.fail(t, "cmdt: %d syntax error(s):\n%v", len(f.Errors), f.Errors)
		return false
	}
	update, err := updateMode()
	if err != nil {
		c.fail(t, "cmdt: %v", err)
		return false
	}
	launcher, _, err := trace.NewLauncher(c.trace, nil)
	if err != nil {
		c.fail(t, "cmdt: %v", err)
		return false
	}
	res, err := engine.Run(t.Context(), f, engine.Options{Dir: c.dir, Env: c.environ(), Timeout: c.timeout, Launcher: launcher})
	if res == nil {
		c.fail(t, "cmdt: %s: %v", displayName(name), err)
		return false
	}
	// Before anything else can stop the test: record the inputs.
	if invisible := makeVisible(res, c); len(invisible) > 0 {
		t.Log(invisibleWarning(displayName(name), goTestRoot(), invisible))
	}
	if err != nil {
		t.Errorf("cmdt: %s: run interrupted: %v", displayName(name), err)
	}
	for _, e := range res.DeclErrors {
		t.Errorf("%v", e)
	}
	if err == nil && res.Passed() {
		return true
	}
	if update && path != "" && err == nil {
		writeUpdate(t, path, res)
		return false
	}
	for _, cr := range res.Failures() {
		t.Errorf("%s", failureMessage(name, cr.Failure))
	}
	if update {
		t.Logf("cmdt: update mode cannot rewrite %s: it is not a file (use CheckFile or CheckDir)", displayName(name))
	}
	return false
}
