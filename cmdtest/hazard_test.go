package cmdtest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
)

// The hazard tests prove cache correctness end to end: each builds a
// throwaway Go module whose test runs a transcript through this
// repository's cmdtest (a replace directive points at it), runs the real
// `go test .` several times with mutations in between, and asserts both
// pass/fail and go test's "(cached)" marker. docs/go-test-cache.md holds
// the table of measured results; `go test -v -run TestHazards` prints it.
//
// They use the default GOCACHE on purpose: a fresh cache per test would
// rebuild the standard library and the dependencies each time (tens of
// seconds on two cores), and the default cache cannot serve a stale entry
// here — every module lives in a new temporary directory, which is part
// of the compile action ID, so the first run is always a miss.

// hazardStep is one `go test .` run and what it must show.
type hazardStep struct {
	name   string
	mutate func(m *hazardModule) // before the run
	env    []string              // added to go test's environment
	pass   bool
	cached bool
	output []string // substrings of go test's output
}

type hazard struct {
	id, summary string
	files       map[string]string // module files; {{OUTSIDE}} is a directory outside the module
	setup       func(m *hazardModule)
	steps       []hazardStep
	// needs, when set, says why the hazard cannot be tested here ("" = it can).
	needs func() string
}

// traceAvailable says why tracing cannot run here, or "".
func traceAvailable() string {
	if err := trace.Available(); err != nil {
		return err.Error()
	}
	return ""
}

func TestHazards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test in temporary modules; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	if out, err := exec.Command(goBin, "env", "GOCACHE").Output(); err != nil || strings.TrimSpace(string(out)) == "off" || strings.TrimSpace(string(out)) == "" {
		t.Skipf("go test caching is unavailable (GOCACHE=%q, %v)", strings.TrimSpace(string(out)), err)
	}
	repo := engine.FindModuleRoot(mustGetwd(t))
	for _, h := range hazards {
		t.Run(h.id, func(t *testing.T) {
			if h.needs != nil {
				if why := h.needs(); why != "" {
					t.Skip(why)
				}
			}
			t.Parallel()
			m := newHazardModule(t, goBin, repo, h)
			for i, s := range h.steps {
				if s.mutate != nil {
					s.mutate(m)
				}
				start := time.Now()
				r := m.goTest(s.env...)
				d := time.Since(start)
				t.Logf("| %s | %d. %s | %s | %s | %.1fs |", h.id, i+1, s.name, outcome(s.pass, s.cached), outcome(r.passed, r.cached), d.Seconds())
				if r.passed != s.pass || r.cached != s.cached {
					t.Fatalf("step %d (%s): want %s, got %s:\n%s", i+1, s.name, outcome(s.pass, s.cached), outcome(r.passed, r.cached), r.out)
				}
				for _, w := range s.output {
					w = strings.ReplaceAll(w, "{{OUTSIDE}}", m.outside)
					if !strings.Contains(r.out, w) {
						t.Errorf("step %d (%s): output lacks %q:\n%s", i+1, s.name, w, r.out)
					}
				}
			}
		})
	}
}

func outcome(pass, cached bool) string {
	s := "FAIL"
	if pass {
		s = "ok"
	}
	if cached {
		s += " (cached)"
	}
	return s
}

// testFile is the module's test: CheckFile on testdata/t.cmdt with opts
// (Go source for extra cmdtest options).
func testFile(opts string) string {
	return `package h

import (
	"testing"

	"github.com/cmdt-dev/cmdt/cmdtest"
)

func TestTranscript(t *testing.T) {
	cmdtest.CheckFile(t, "testdata/t.cmdt"` + opts + `)
}
`
}

func toolSource(version string) string {
	return "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"" + version + "\") }\n"
}

var hazards = []hazard{
	{
		id:      "H1",
		summary: "$FOO expanded by the shell; FOO changes",
		files:   map[string]string{"testdata/t.cmdt": "$ echo \"$FOO\"\n1 bar\n"},
		steps: []hazardStep{
			{name: "FOO=bar", env: []string{"FOO=bar"}, pass: true},
			{name: "unchanged", env: []string{"FOO=bar"}, pass: true, cached: true},
			{name: "FOO=baz", env: []string{"FOO=baz"}, pass: false},
		},
	},
	{
		id:      "H1-WithEnv",
		summary: "FOO set by the test with WithEnv; the outer FOO changes, then the test's value",
		files: map[string]string{
			"h_test.go":       testFile(`, cmdtest.WithEnv("FOO=bar")`),
			"testdata/t.cmdt": "$ echo \"$FOO\"\n1 bar\n",
		},
		steps: []hazardStep{
			{name: "outer FOO=1", env: []string{"FOO=1"}, pass: true},
			{name: "unchanged", env: []string{"FOO=1"}, pass: true, cached: true},
			{name: "outer FOO=2 (not what the transcript sees)", env: []string{"FOO=2"}, pass: true, cached: true},
			{name: `test source: WithEnv("FOO=baz")`, env: []string{"FOO=2"}, pass: false,
				mutate: func(m *hazardModule) { m.write("h_test.go", testFile(`, cmdtest.WithEnv("FOO=baz")`)) }},
		},
	},
	{
		id:      "H2-undeclared",
		summary: "`cat dep.txt` without a declaration, tracing off; dep.txt changes",
		files: map[string]string{
			"h_test.go":       testFile(`, cmdtest.WithTrace("off")`),
			"testdata/t.cmdt": "$ cat dep.txt\n1 v1\n", "testdata/dep.txt": "v1\n",
		},
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "dep.txt changed: STALE (known hazard)", pass: true, cached: true,
				mutate: func(m *hazardModule) { m.write("testdata/dep.txt", "v2\n") }},
		},
	},
	{
		id:      "H2-traced",
		summary: "`cat dep.txt` without a declaration, traced (Linux); dep.txt changes",
		needs:   traceAvailable,
		files: map[string]string{
			"h_test.go":       testFile(`, cmdtest.WithTrace("on")`),
			"testdata/t.cmdt": "$ cat dep.txt\n1 v1\n", "testdata/dep.txt": "v1\n",
		},
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "dep.txt changed", pass: false, mutate: func(m *hazardModule) { m.write("testdata/dep.txt", "v2\n") }},
		},
	},
	{
		id:      "H2-dep-file",
		summary: "`cat dep.txt` with `% dep file dep.txt`; dep.txt changes",
		files:   map[string]string{"testdata/t.cmdt": "% dep file dep.txt\n$ cat dep.txt\n1 v1\n", "testdata/dep.txt": "v1\n"},
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "dep.txt changed", pass: false, mutate: func(m *hazardModule) { m.write("testdata/dep.txt", "v2\n") }},
		},
	},
	{
		id:      "H2-depfile",
		summary: "`cat dep.txt` with `% depfile deps` listing `file dep.txt`; dep.txt changes",
		files: map[string]string{
			"testdata/t.cmdt":  "% depfile deps\n$ cat dep.txt\n1 v1\n",
			"testdata/deps":    "file dep.txt\n",
			"testdata/dep.txt": "v1\n",
		},
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "dep.txt changed", pass: false, mutate: func(m *hazardModule) { m.write("testdata/dep.txt", "v2\n") }},
		},
	},
	{
		id:      "H2-glob",
		summary: "`cat fixtures/*.txt` with `% dep glob fixtures/*.txt`; a new matching file appears",
		files: map[string]string{
			"testdata/t.cmdt":         "% dep glob fixtures/*.txt\n$ cat fixtures/*.txt\n1 a\n",
			"testdata/fixtures/a.txt": "a\n",
		},
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "new fixtures/b.txt", pass: false, mutate: func(m *hazardModule) { m.write("testdata/fixtures/b.txt", "b\n") }},
		},
	},
	{
		id:      "H3",
		summary: "after `cd sub`, `1< expected.txt` reads sub/expected.txt",
		files: map[string]string{
			"testdata/t.cmdt":           "$ cd sub\n$ echo hello\n1< expected.txt\n",
			"testdata/sub/expected.txt": "hello\n",
			"testdata/expected.txt":     "hello\n", // a decoy: not the file the transcript reads
		},
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "decoy testdata/expected.txt changed", pass: true, cached: true,
				mutate: func(m *hazardModule) { m.write("testdata/expected.txt", "decoy\n") }},
			{name: "sub/expected.txt changed", pass: false,
				mutate: func(m *hazardModule) { m.write("testdata/sub/expected.txt", "bye\n") }},
		},
	},
	{
		id:      "H4-path",
		summary: "tool built into bin/ and run as `../bin/tool`, no declaration; rebuilt",
		files:   map[string]string{"testdata/t.cmdt": "$ ../bin/tool\n1 v1\n", "tool/main.go": toolSource("v1")},
		setup:   func(m *hazardModule) { m.buildTool() },
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "tool rebuilt printing v2", pass: false,
				mutate: func(m *hazardModule) { m.write("tool/main.go", toolSource("v2")); m.buildTool() }},
			{name: "tool rebuilt printing v1, binary fresh (mtime < 2s)", pass: true,
				mutate: func(m *hazardModule) {
					m.write("tool/main.go", toolSource("v1"))
					m.buildTool()
					m.touchFresh("bin/tool")
				}},
			{name: "unchanged, binary still fresh: not cached (go test opens programs)", pass: true,
				mutate: func(m *hazardModule) { m.touchFresh("bin/tool") }},
			{name: "binary now old", pass: true, mutate: func(m *hazardModule) { m.touchOld("bin/tool") }},
			{name: "unchanged", pass: true, cached: true},
		},
	},
	{
		id:      "H4-PATH",
		summary: "tool built into bin/, found on PATH (WithPath(\"bin\")) as `tool`, no declaration; rebuilt",
		files: map[string]string{
			"h_test.go":       testFile(`, cmdtest.WithPath("bin")`),
			"testdata/t.cmdt": "$ tool\n1 v1\n",
			"tool/main.go":    toolSource("v1"),
		},
		setup: func(m *hazardModule) { m.buildTool() },
		steps: []hazardStep{
			{name: "first", pass: true},
			{name: "unchanged", pass: true, cached: true},
			{name: "tool rebuilt printing v2", pass: false,
				mutate: func(m *hazardModule) { m.write("tool/main.go", toolSource("v2")); m.buildTool() }},
		},
	},
	{
		id:      "H5",
		summary: "a declared dependency outside the module root",
		files: map[string]string{
			"testdata/t.cmdt":     "% dep file {{OUTSIDE}}/dep.txt\n$ cat {{OUTSIDE}}/dep.txt\n1 v1\n",
			"{{OUTSIDE}}/dep.txt": "v1\n",
		},
		steps: []hazardStep{
			{name: "first (-v shows the warning)", env: []string{"GOTEST_V=1"}, pass: true,
				output: []string{"outside the module root", "file {{OUTSIDE}}/dep.txt (line 1, declared)"}},
			{name: "unchanged", env: []string{"GOTEST_V=1"}, pass: true, cached: true},
			{name: "outside dep.txt changed: STALE (warned about)", env: []string{"GOTEST_V=1"}, pass: true, cached: true,
				mutate: func(m *hazardModule) { m.write("{{OUTSIDE}}/dep.txt", "v2\n") }},
		},
	},
	{
		id:      "H6-dep-file",
		summary: "declared file stat'ed, never opened: a fresh fixture keeps caching; what stat cannot see",
		files:   map[string]string{"testdata/t.cmdt": "% dep file data.txt\n$ cat data.txt\n1 v1\n", "testdata/data.txt": "v1\n"},
		setup:   func(m *hazardModule) { m.touchFresh("testdata/data.txt") },
		steps: []hazardStep{
			{name: "first, data.txt fresh (mtime < 2s)", pass: true},
			{name: "unchanged, data.txt still fresh", pass: true, cached: true},
			{name: "data.txt edited to same size, mtime restored: STALE (stat cannot see it)", pass: true, cached: true,
				mutate: func(m *hazardModule) { m.writeKeepTimes("testdata/data.txt", "v2\n") }},
			{name: "data.txt touched", pass: false, mutate: func(m *hazardModule) { m.touchOld("testdata/data.txt") }},
		},
	},
	{
		id:      "H6-depfile",
		summary: "a depfile is opened (read): a fresh depfile disables caching",
		files: map[string]string{
			"testdata/t.cmdt":   "% depfile deps\n$ cat data.txt\n1 v1\n",
			"testdata/deps":     "file data.txt\n",
			"testdata/data.txt": "v1\n",
		},
		setup: func(m *hazardModule) { m.touchFresh("testdata/deps") },
		steps: []hazardStep{
			{name: "first, depfile fresh (mtime < 2s)", pass: true},
			{name: "unchanged, depfile still fresh: not cached", pass: true},
			{name: "depfile now old", pass: true, mutate: func(m *hazardModule) { m.touchOld("testdata/deps") }},
			{name: "unchanged", pass: true, cached: true},
		},
	},
}

// hazardModule is a temporary module using this repository's cmdtest.
type hazardModule struct {
	t       *testing.T
	goBin   string
	dir     string // the module
	outside string // a directory outside it
	// old is the next "old" modification time handed out: files are
	// backdated so go test's 2-second "too new" rule never applies by
	// accident, and each write gets a distinct time.
	old time.Time
}

func newHazardModule(t *testing.T, goBin, repo string, h hazard) *hazardModule {
	t.Helper()
	tmp := t.TempDir()
	m := &hazardModule{t: t, goBin: goBin, dir: filepath.Join(tmp, "mod"), outside: filepath.Join(tmp, "outside"),
		old: time.Now().Add(-time.Hour).Truncate(time.Second)}
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod": fmt.Sprintf("module example.com/%s\n\ngo 1.26\n\nrequire github.com/cmdt-dev/cmdt v0.0.0\n\nreplace github.com/cmdt-dev/cmdt => %s\n\n%s",
			strings.ToLower(strings.ReplaceAll(h.id, "-", "")), repo, requireBlock(string(gomod))),
		"go.sum":    string(gosum),
		"h_test.go": testFile(""),
	}
	for name, content := range h.files {
		files[name] = content
	}
	for name, content := range files {
		m.write(name, content)
	}
	if h.setup != nil {
		h.setup(m)
	}
	return m
}

// requireBlock copies the repository's requirements, so the temporary
// module resolves the same versions without network access.
func requireBlock(gomod string) string {
	return regexp.MustCompile(`(?ms)^require \(.*?^\)`).FindString(gomod) + "\n"
}

func (m *hazardModule) path(name string) string {
	name = strings.ReplaceAll(name, "{{OUTSIDE}}", m.outside)
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(m.dir, name)
}

// write writes a file (expanding {{OUTSIDE}} in name and content) and
// gives it a distinct old modification time.
func (m *hazardModule) write(name, content string) {
	m.t.Helper()
	p := m.path(name)
	writeFile(m.t, p, strings.ReplaceAll(content, "{{OUTSIDE}}", m.outside))
	m.touchOld(name)
}

// writeKeepTimes replaces a file's content and restores its modification
// time: an edit invisible to size-and-mtime hashing when the size is kept.
func (m *hazardModule) writeKeepTimes(name, content string) {
	m.t.Helper()
	p := m.path(name)
	st, err := os.Stat(p)
	if err != nil {
		m.t.Fatal(err)
	}
	if int64(len(content)) != st.Size() {
		m.t.Fatalf("writeKeepTimes %s: size %d, want %d", name, len(content), st.Size())
	}
	writeFile(m.t, p, content)
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		m.t.Fatal(err)
	}
}

func (m *hazardModule) touchOld(name string) {
	m.t.Helper()
	m.old = m.old.Add(time.Second)
	if err := os.Chtimes(m.path(name), m.old, m.old); err != nil {
		m.t.Fatal(err)
	}
}

// touchFresh marks a file as just written. Its modification time goes a
// minute into the future, so it stays "less than 2 s old" for go test
// however slow the machine is; that is what a file written right before
// `go test` looks like, made deterministic.
func (m *hazardModule) touchFresh(name string) {
	m.t.Helper()
	fresh := time.Now().Add(time.Minute)
	if err := os.Chtimes(m.path(name), fresh, fresh); err != nil {
		m.t.Fatal(err)
	}
}

// buildTool builds ./tool into bin/tool with an old modification time.
func (m *hazardModule) buildTool() {
	m.t.Helper()
	m.goCmd("build", "-o", "bin/tool", "./tool")
	m.touchOld("bin/tool")
}

func (m *hazardModule) goCmd(args ...string) string {
	m.t.Helper()
	cmd := exec.CommandContext(m.t.Context(), m.goBin, args...)
	cmd.Dir = m.dir
	cmd.Env = m.env(nil)
	out, err := cmd.CombinedOutput()
	if err != nil {
		m.t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// env is the go command's environment: the test's, without anything that
// would change go test's behaviour (flags, workspaces, update mode, the
// hazard variables), plus extra.
func (m *hazardModule) env(extra []string) []string {
	env := withoutEnv(os.Environ(), "GOFLAGS", "GOWORK", "GOTOOLCHAIN", "CMDT_UPDATE", "FOO", "GOTEST_V")
	env = append(env, "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "GOTOOLCHAIN=local")
	return append(env, extra...)
}

type goTestResult struct {
	out            string
	passed, cached bool
}

// goTest runs `go test .` (with -v when env holds GOTEST_V=1).
func (m *hazardModule) goTest(env ...string) goTestResult {
	m.t.Helper()
	args := []string{"test"}
	for _, kv := range env {
		if kv == "GOTEST_V=1" {
			args = append(args, "-v")
		}
	}
	cmd := exec.CommandContext(m.t.Context(), m.goBin, append(args, ".")...)
	cmd.Dir = m.dir
	cmd.Env = m.env(env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			m.t.Fatalf("go test: %v\n%s", err, out)
		}
	}
	return goTestResult{
		out:    string(out),
		passed: err == nil,
		cached: regexp.MustCompile(`(?m)^ok\s+\S+\s+\(cached\)`).Match(out),
	}
}
