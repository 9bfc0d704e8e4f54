package cmdtest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/cmdt-dev/cmdt/engine"
)

// This file makes a run's inputs visible to go test's result cache.
//
// go test runs the test binary with -test.testlogfile and records what the
// process does through os: "getenv NAME" (os.Getenv, os.LookupEnv),
// "stat PATH" (os.Stat, os.Lstat), "open PATH" (os.Open and friends, and
// os.StartProcess for the program it starts) and "chdir". A later
// `go test` re-hashes exactly those (cmd/go/internal/test/test.go,
// computeTestInputsID):
//
//   - getenv: the variable's value, or its absence, always;
//   - stat: hashStat — size, mode, modification time and is-dir, from both
//     os.Stat and os.Lstat, or the error; only for paths inside the
//     package's root (the module directory; GOROOT or GOPATH/src for
//     packages there);
//   - open: hashOpen — the same metadata; for a directory also each entry's
//     name and metadata; for a regular file modified less than 2 s ago
//     (modTimeCutoff) an error, errFileTooNew, which makes go test neither
//     reuse nor store a cached result. Same root restriction.
//
// File contents are never hashed. Subprocesses have no testlog, so what a
// transcript's commands read is invisible unless this package replays it.

// makeVisible replays every input of res in the test process: os.LookupEnv
// for variables the session inherited, os.Stat for everything on disk. It
// returns the inputs go test cannot see (outside its root), except those
// warning about would be noise (see quiet).
func makeVisible(res *engine.Result, c *config) []engine.Input {
	root := goTestRoot()
	var invisible []engine.Input
	for _, in := range res.Inputs() {
		if in.Kind == engine.InputEnv {
			// A variable set through WithEnv takes its value from the test
			// source, already in the test binary; reading the process's
			// value would only add needless re-runs.
			if !c.overridden(in.Name) {
				os.LookupEnv(in.Name)
			}
			continue
		}
		base := statInput(in, c)
		if base == "" || root == "" || within(root, base) || quiet(in, c) {
			continue
		}
		invisible = append(invisible, in)
	}
	return invisible
}

// statInput stats everything an input covers and returns the path that
// decides whether go test can see it ("" when there is none).
func statInput(in engine.Input, c *config) string {
	switch in.Kind {
	case engine.InputExe:
		if name, ok := strings.CutPrefix(in.Path, "PATH:"); ok {
			// Not found: stat where it would be found, so installing it
			// re-runs the test (for PATH directories inside the root).
			for _, dir := range filepath.SplitList(c.sessionPath()) {
				if dir != "" && filepath.IsAbs(dir) {
					os.Stat(filepath.Join(dir, name))
				}
			}
			return ""
		}
		os.Stat(in.Path)
		return in.Path
	case engine.InputDir:
		statTree(in.Path, in.Matches)
		return in.Path
	case engine.InputGlob:
		return statGlob(in.Path, in.Matches)
	default: // file, depfile (the engine has opened the depfile already)
		os.Stat(in.Path)
		return in.Path
	}
}

// statTree stats dir, every directory below it and every file: a file
// changing changes its own metadata; a file appearing or disappearing
// changes its parent directory's modification time. files are the ones
// the engine saw during the run; walking again adds any that appeared
// since, so the recorded state is at least as new as the run's.
func statTree(dir string, files []string) {
	os.Stat(dir)
	for _, f := range files {
		os.Stat(f)
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			os.Stat(p)
		}
		return nil
	})
}

// statGlob stats a glob's matches and every directory it searched: the
// base directory, and each directory matched by a prefix of the pattern
// ("a/*/b/*.txt" searches base, base/a, base/a/*, base/a/*/b). A new
// match appears as a change of its parent directory's modification time.
// It returns the base directory, which decides visibility.
func statGlob(pattern string, matches []string) string {
	base, rel := doublestar.SplitPattern(filepath.ToSlash(pattern))
	base = filepath.FromSlash(base)
	for _, m := range matches {
		os.Stat(m)
	}
	for _, d := range globDirs(base, rel) {
		os.Stat(d)
	}
	return base
}

// globDirs lists the directories a pattern relative to base can look into.
func globDirs(base, rel string) []string {
	dirs := []string{base}
	fsys := os.DirFS(base)
	parts := strings.Split(rel, "/")
	for k := 1; k <= len(parts); k++ {
		prefix := strings.Join(parts[:k], "/")
		if !doublestar.ValidatePattern(prefix) {
			// A '/' inside braces ("{a/b,c}") splits into invalid
			// prefixes: fall back to every directory under base.
			return allDirs(base)
		}
		found, _ := doublestar.Glob(fsys, prefix)
		for _, m := range found {
			p := filepath.Join(base, filepath.FromSlash(m))
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				dirs = append(dirs, p)
			}
		}
	}
	sort.Strings(dirs)
	return dirs
}

func allDirs(base string) []string {
	var dirs []string
	_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	return dirs
}

// quiet reports whether an input outside the module root goes unmentioned:
// programs the shell ran from system directories or the Go toolchain
// (every transcript runs some; warning about /usr/bin/cat is noise, and
// no Go module can hold them), and programs in directories the test put
// on PATH with WithPath. A program the transcript declares explicitly
// ("% dep exe") is still warned about: the author asked for it to count.
func quiet(in engine.Input, c *config) bool {
	if in.Kind == engine.InputExe {
		for _, d := range c.pathDirs {
			if within(d, in.Path) {
				return true
			}
		}
	}
	switch {
	case in.Origin == engine.OriginExec:
	case in.Origin == engine.OriginTraced:
		// Tracing sees every library, locale and config file a program
		// touches; only the unusual ones are worth a warning.
		if within("/etc", in.Path) || within("/tmp", in.Path) {
			return true
		}
		for _, d := range goCacheDirs() {
			if within(d, in.Path) {
				return true
			}
		}
	default:
		return false
	}
	for _, d := range systemDirs {
		if within(d, in.Path) {
			return true
		}
	}
	if g := goroot(); g != "" && within(g, in.Path) {
		return true
	}
	return false
}

// goCacheDirs are the Go module and build caches, which `go run` or `go
// build` in a transcript read heavily and which are not the test's inputs.
var goCacheDirs = sync.OnceValue(func() []string {
	out, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
})

// systemDirs hold the operating system's programs.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// goroot locates the Go toolchain through the go command on PATH: go test
// puts $GOROOT/bin first on the test's PATH, and runtime.GOROOT is
// deprecated for this purpose.
var goroot = sync.OnceValue(func() string {
	p, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	return filepath.Dir(filepath.Dir(p))
})

// goTestRoot is the directory go test restricts stat/open checks to for
// this test: the module holding the package under test, found from the
// working directory the test binary started in (go test runs it in the
// package directory).
var goTestRoot = sync.OnceValue(func() string {
	if startDir == "" {
		return ""
	}
	return engine.FindModuleRoot(startDir)
})

// startDir is captured at init, before a test can change directory.
var startDir, _ = os.Getwd()

// within reports whether path is root or below it, lexically or after
// resolving symbolic links (as go test's own check, search.InDir, does).
func within(root, path string) bool {
	if engine.IsWithin(root, path) {
		return true
	}
	r, err1 := filepath.EvalSymlinks(root)
	p, err2 := filepath.EvalSymlinks(path)
	return err1 == nil && err2 == nil && engine.IsWithin(r, p)
}
