package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine/trace"
)

// TestCacheCorpus is the result cache's promise measured on what users
// run: testdata/_cachecorpus holds real transcripts (go run, go build then
// run, go test, //go:embed, python3, node, make, git, ls, find, grep -r,
// tar, du, mktemp, symlinks, a tool on PATH, a variable only a subprocess
// reads, cd, a depfile, the shell's own test/glob/command -v, a read
// through /proc/self/cwd). In every trace mode, through the real binary:
//
//   - after one passing check, the next serves every transcript from the
//     cache;
//   - each relevant mutation re-runs its transcript (no false hit);
//   - each irrelevant one re-runs nothing (no needless re-run), and no
//     mutation re-runs another transcript.
//
// Where --trace=off cannot see an input (a file only a subprocess reads)
// the mutation is marked blindUntraced: that is the documented hazard of
// --trace=off, logged, not counted as a false hit. The table it logs is the
// one in docs/caching.md; CMDT_CORPUS_TABLE=FILE writes it to FILE.
func TestCacheCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the corpus runs real toolchains")
	}
	for _, tool := range []string{"go", "python3", "node", "make", "git", "tar", "du"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: scripts/install-test-deps.sh installs the corpus's toolchains", tool)
			}
			t.Skipf("%s is not installed (scripts/install-test-deps.sh)", tool)
		}
	}
	bin := filepath.Join(buildBinary(t), "transcript")
	shared := corpusGoCache()
	var rows []corpusRow
	for _, mode := range corpusModes(t) {
		t.Run(mode, func(t *testing.T) {
			rows = append(rows, runCorpus(t, bin, mode, shared))
		})
	}
	table := corpusTable(rows)
	t.Log("\n" + table)
	if p := os.Getenv("CMDT_CORPUS_TABLE"); p != "" {
		if err := os.WriteFile(p, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// corpusGoCache is one Go build cache for every mode and every run of the
// corpus tests, apart from the user's (their builds would otherwise start
// cold).
func corpusGoCache() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "cmdt-corpus-go-build")
}

// corpusModes are the --trace settings the corpus runs in: every backend
// this machine has, and off. A new backend is one more entry here.
func corpusModes(t *testing.T) []string {
	auto, _ := trace.SelectBackend("auto")
	if auto.Name == "off" {
		// No tracer works here: auto is off, and judged as off.
		t.Logf("no tracer works here (%s): the corpus runs untraced only", auto.Why)
		return []string{"off"}
	}
	modes := []string{"auto"}
	for _, backend := range []string{"ptrace", "ebpf", "unotify"} {
		if _, err := trace.SelectBackend(backend); err != nil {
			t.Logf("--trace=%s unavailable here: %v", backend, err)
			continue
		}
		if backend != auto.Name {
			modes = append(modes, backend)
		}
	}
	return append(modes, "off")
}

// mutation is one change to the corpus and what it must do.
type mutation struct {
	transcript string // directory of the transcript it concerns; "" for all
	// everyone: the change reaches every transcript (an environment
	// variable): it gets a round of its own, and only its transcript is
	// judged.
	everyone bool
	name     string
	relevant bool // must re-run the transcript
	// blindUntraced: only tracing sees the input; --trace=off keeps the
	// result (documented hazard).
	blindUntraced bool
	// cachedAfter: the pass this mutation causes must itself be cached
	// (the next check serves it), in the modes that see attribute-only
	// calls (seesRetiming): a run that only re-times or re-modes an input
	// (go build with the binary up to date) is cacheable.
	cachedAfter bool
	apply, undo func(c *corpus)
}

// corpus is one mode's copy of the corpus and its environment.
type corpus struct {
	t    *testing.T
	bin  string
	mode string
	root string
	env  map[string]string
}

func (c *corpus) path(rel string) string { return filepath.Join(c.root, filepath.FromSlash(rel)) }

func (c *corpus) write(rel, content string) {
	c.t.Helper()
	p := c.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *corpus) read(rel string) string {
	c.t.Helper()
	b, err := os.ReadFile(c.path(rel))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

func (c *corpus) remove(rel string) {
	c.t.Helper()
	if err := os.RemoveAll(c.path(rel)); err != nil {
		c.t.Fatal(err)
	}
}

// edit replaces a file's content, returning the undo.
func (c *corpus) edit(rel, content string) func(*corpus) {
	old := c.read(rel)
	c.write(rel, content)
	return func(c *corpus) { c.write(rel, old) }
}

// sameSizeEdit upper-cases the file's last lower-case letter and puts the modification time back, as
// a careless tool (or tar -x, or a fast editor) can: only the content and
// the change time say it changed.
func sameSizeEdit(rel string) (apply, undo func(*corpus)) {
	var old []byte
	var mtime time.Time
	apply = func(c *corpus) {
		p := c.path(rel)
		st, err := os.Stat(p)
		if err != nil {
			c.t.Fatal(err)
		}
		old, mtime = []byte(c.read(rel)), st.ModTime()
		b := bytes.Clone(old)
		i := bytes.LastIndexFunc(b, func(r rune) bool { return r >= 'a' && r <= 'z' })
		b[i] -= 'a' - 'A'
		if err := os.WriteFile(p, b, 0o644); err != nil {
			c.t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			c.t.Fatal(err)
		}
	}
	undo = func(c *corpus) {
		p := c.path(rel)
		if err := os.WriteFile(p, old, 0o644); err != nil {
			c.t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			c.t.Fatal(err)
		}
	}
	return apply, undo
}

func editMut(dir, name, rel, content string, relevant, blind bool) mutation {
	var undo func(*corpus)
	return mutation{transcript: dir, name: name, relevant: relevant, blindUntraced: blind,
		apply: func(c *corpus) { undo = c.edit(rel, content) },
		undo:  func(c *corpus) { undo(c) }}
}

func addMut(dir, name, rel, content string, relevant, blind bool) mutation {
	return mutation{transcript: dir, name: name, relevant: relevant, blindUntraced: blind,
		apply: func(c *corpus) { c.write(rel, content) },
		undo:  func(c *corpus) { c.remove(rel) }}
}

func sameSizeMut(dir, name, rel string, blind bool) mutation {
	apply, undo := sameSizeEdit(rel)
	return mutation{transcript: dir, name: name, relevant: true, blindUntraced: blind, apply: apply, undo: undo}
}

func touchMut(dir, rel string) mutation {
	return mutation{transcript: dir, name: "touch " + rel + " (content unchanged)",
		apply: func(c *corpus) {
			now := time.Now()
			if err := os.Chtimes(c.path(rel), now, now); err != nil {
				c.t.Fatal(err)
			}
		}}
}

func symlinkMut(dir, name, link, target string) mutation {
	var old string
	return mutation{transcript: dir, name: name, relevant: true, blindUntraced: true,
		apply: func(c *corpus) {
			var err error
			if old, err = os.Readlink(c.path(link)); err != nil {
				c.t.Fatal(err)
			}
			c.remove(link)
			if err := os.Symlink(target, c.path(link)); err != nil {
				c.t.Fatal(err)
			}
		},
		undo: func(c *corpus) {
			c.remove(link)
			if err := os.Symlink(old, c.path(link)); err != nil {
				c.t.Fatal(err)
			}
		}}
}

// corpusMutations lists, per transcript, the changes that must re-run it
// (relevant) and those that must not.
func corpusMutations() []mutation {
	rebuiltTool := "#!/bin/sh\n# rebuilt\necho corpustool v1\n"
	return []mutation{
		editMut("go-run", "edit main.go", "go-run/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from go run\") } // edited\n", true, true),
		addMut("go-run", "add a file to the package directory", "go-run/extra.go", "package main\n", true, true),
		sameSizeMut("go-run", "same-size edit of main.go, mtime put back", "go-run/main.go", true),
		touchMut("go-run", "go-run/main.go"),
		// First of go-build-run's: app is what the first check built from
		// main.go, so go build only re-times it.
		{transcript: "go-build-run", name: "edit the transcript's text: go build finds app up to date and re-times it", relevant: true, cachedAfter: true,
			apply: func(c *corpus) { c.write("go-build-run/t.cmdt", goBuildRunEdited) },
			undo:  func(c *corpus) { c.write("go-build-run/t.cmdt", goBuildRun) }},
		// The pass just recorded (app re-timed, not rewritten) must still
		// depend on main.go.
		{transcript: "go-build-run", name: "the same edited text, with main.go edited", relevant: true, blindUntraced: true,
			apply: func(c *corpus) {
				c.write("go-build-run/t.cmdt", goBuildRunEdited)
				c.write("go-build-run/main.go", c.read("go-build-run/main.go")+"// edited\n")
			},
			undo: func(c *corpus) {
				c.write("go-build-run/t.cmdt", goBuildRun)
				c.write("go-build-run/main.go", strings.TrimSuffix(c.read("go-build-run/main.go"), "// edited\n"))
			}},
		editMut("go-build-run", "edit main.go (rebuild the binary)", "go-build-run/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"built, then run\") } // v2\n", true, true),
		editMut("go-test", "edit the test", "go-test/calc/calc_test.go", "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 1) != 2 {\n\t\tt.Fatal(\"1+1\")\n\t}\n}\n", true, true),
		sameSizeMut("go-embed", "same-size edit of the embedded file", "go-embed/msg.txt", true),
		editMut("py-import", "edit the imported module", "py-import/mod.py", "X = 42  # edited\n", true, true),
		addMut("py-import", "a file in __pycache__", "py-import/__pycache__/junk.pyc", "junk", false, false),
		sameSizeMut("py-data", "same-size edit of the data file, mtime put back", "py-data/data.json", true),
		editMut("node-require", "edit the required module", "node-require/lib.js", "module.exports = { greet: (who) => `hi ${who}` }; // edited\n", true, true),
		editMut("node-json", "edit the JSON file", "node-json/conf.json", "{\"port\": 8081}\n", true, true),
		addMut("make", "add a file the wildcard lists", "make/b.txt", "b\n", true, true),
		// touch opens src.c for writing (no truncation) and re-times it;
		// make then reads it: an input, not an output.
		{transcript: "make-touch", name: "edit the source make builds from (the run touches it)", relevant: true, blindUntraced: true, cachedAfter: true,
			apply: func(c *corpus) {
				c.write("make-touch/src.c", "int answer = 43;\n")
				c.write("make-touch/t.cmdt", strings.Replace(c.read("make-touch/t.cmdt"), "42", "43", 1))
			},
			undo: func(c *corpus) {
				c.write("make-touch/src.c", "int answer = 42;\n")
				c.write("make-touch/t.cmdt", strings.Replace(c.read("make-touch/t.cmdt"), "43", "42", 1))
			}},
		sameSizeMut("make-touch", "same-size edit of the source, mtime put back", "make-touch/src.c", true),
		{transcript: "chmod-script", name: "edit the script the run re-modes", relevant: true, cachedAfter: true,
			apply: func(c *corpus) {
				c.write("chmod-script/script", "#!/bin/sh\necho script ran # edited\n")
			},
			undo: func(c *corpus) { c.write("chmod-script/script", "#!/bin/sh\necho script ran\n") }},
		editMut("make", "edit the Makefile", "make/Makefile", "srcs := $(sort $(wildcard *.txt))\n\nall:\n\t@echo sources: $(srcs)\n# edited\n", true, true),
		sameSizeMut("git", "same-size edit of the hashed file", "git/data.txt", true),
		addMut("ls", "add a file to the listed directory", "ls/d/c.txt", "c\n", true, true),
		editMut("ls", "edit a listed file's content (ls prints names)", "ls/d/a.txt", "a, edited\n", false, false),
		addMut("find", "add a file in a subdirectory", "find/d/sub/c.txt", "c\n", true, true),
		editMut("find", "edit a found file's content (find prints names)", "find/d/a.txt", "a, edited\n", false, false),
		editMut("grep-r", "make another file match", "grep-r/d/two.txt", "now a needle too\n", true, true),
		addMut("tar", "add a file to the archived directory", "tar/d/b.txt", "b\n", true, true),
		addMut("du", "add a file to the measured directory", "du/d/g.txt", "g\n", true, true),
		{transcript: "write-read", name: "delete the file the transcript writes (an output)",
			apply: func(c *corpus) { c.remove("write-read/out.txt") }},
		symlinkMut("symlink", "retarget the link to a file with the same content", "symlink/link", "c.txt"),
		symlinkMut("symlink", "retarget the link to another file", "symlink/link", "b.txt"),
		editMut("path-tool", "rebuild the tool on PATH", "path-tool/tools/corpustool", rebuiltTool, true, false),
		// The environment is every transcript's: in the default mode
		// (--env=inherit) each variable is an input of every transcript, so
		// this re-runs them all, by design (docs/caching.md); the row counts
		// env-sub's re-run only.
		{transcript: "env-sub", everyone: true, name: "change the variable only a subprocess reads", relevant: true,
			apply: func(c *corpus) { c.env["CORPUS_VAR"] = "two" }, undo: func(c *corpus) { c.env["CORPUS_VAR"] = "one" }},
		{name: "change a session-volatile variable (SSH_CONNECTION)",
			apply: func(c *corpus) { c.env["SSH_CONNECTION"] = "10.0.0.1 1 10.0.0.2 22" }, undo: func(c *corpus) { delete(c.env, "SSH_CONNECTION") }},
		editMut("cd-sub", "edit the file read after cd", "cd-sub/sub/f.txt", "in the subdirectory, edited\n", true, true),
		editMut("depfile", "edit a file the depfile declares", "depfile/data.txt", "declared through a depfile, edited\n", true, false),
		addMut("shell-test", "create the file `test -e` looks for", "shell-test/conf", "", true, false),
		addMut("shell-glob", "add a file the shell's glob matches", "shell-glob/g/b.txt", "b\n", true, false),
		{transcript: "command-v", name: "install the program `command -v` looks for", relevant: true,
			apply: func(c *corpus) {
				c.write("pathdir/corpus-later-tool", "#!/bin/sh\n")
				if err := os.Chmod(c.path("pathdir/corpus-later-tool"), 0o755); err != nil {
					c.t.Fatal(err)
				}
			},
			undo: func(c *corpus) { c.remove("pathdir/corpus-later-tool") }},
		sameSizeMut("proc-self", "same-size edit of the file read through /proc/self/cwd", "proc-self/p.txt", true),
		addMut("declared-glob", "add a file the declared glob matches", "declared-glob/src/b.txt", "b\n", true, false),
		sameSizeMut("declared-glob", "same-size edit of a matched file, mtime put back", "declared-glob/src/a.txt", false),
		// Changes no transcript depends on.
		{name: "touch every file (content unchanged)", apply: func(c *corpus) {
			now := time.Now()
			filepath.WalkDir(c.root, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					os.Chtimes(p, now, now)
				}
				return nil
			})
		}},
		addMut("", "add a file to an unrelated directory", "zz-unrelated/new.txt", "new\n", false, false),
		{name: "a file in the Go build cache (GOCACHE)", apply: func(c *corpus) {
			if err := os.WriteFile(filepath.Join(c.env["GOCACHE"], "cmdt-corpus-junk"), []byte("x"), 0o644); err != nil {
				c.t.Fatal(err)
			}
		}},
	}
}

// corpusRow is one mode's measurements.
type corpusRow struct {
	mode                        string
	transcripts, cachedAfterOne int
	uncacheable                 int // documented: not cacheable in this mode
	relevant, reran             int // relevant mutations, and how many re-ran
	blind                       int // relevant ones --trace=off cannot see (documented hazard)
	irrelevant, kept            int // irrelevant (mutation, transcript) pairs, and how many stayed cached
	retimed, retimedCached      int // passes that re-timed an input and must be cached, and how many were
	falseHits, needless         []string
	uncachedRun, cachedRun      time.Duration
}

// outcome is one transcript's line of `check`.
type outcome struct {
	status    string // "ok", "FAIL", "ERROR"
	cached    bool
	notCached string
	line      string // the rest of the line: why it ran
}

var outcomeLine = regexp.MustCompile(`^(ok|FAIL|ERROR) +(\S+/t\.cmdt)(.*)$`)

// check runs `transcript check` over the corpus and parses its lines.
func (c *corpus) check() (map[string]outcome, time.Duration) {
	c.t.Helper()
	cmd := exec.Command(c.bin, "check", "--jobs", "2", "--trace="+c.mode, ".")
	cmd.Dir = c.root
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	start := time.Now()
	out, _ := cmd.CombinedOutput()
	took := time.Since(start)
	res := map[string]outcome{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := outcomeLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		o := outcome{status: m[1], cached: strings.HasPrefix(m[3], " (cached)"), line: strings.TrimSpace(m[3])}
		if i := strings.Index(m[3], "[not cached: "); i >= 0 {
			o.notCached = strings.TrimSuffix(m[3][i+len("[not cached: "):], "]")
		}
		res[filepath.Dir(m[2])] = o
	}
	if len(res) == 0 {
		c.t.Fatalf("check printed no transcript lines:\n%s", out)
	}
	return res, took
}

// primeHome runs one go command in the corpus's fresh HOME, as any Go
// user's HOME has seen one: since Go 1.23 every go command makes
// $HOME/.config/go/telemetry on first use. Without it the first check
// races: with --jobs 2, two transcripts' go commands start together, one
// finds $HOME/.config absent, the other creates it, and the first
// transcript is rightly not cached (".config changed during the run": a
// directory it saw absent appeared while it ran). That is one check's
// concurrency in an empty HOME, not the cache's promise the corpus
// measures (docs/caching.md).
func (c *corpus) primeHome() {
	c.t.Helper()
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Dir = c.root
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("go env in the corpus's HOME: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(c.env["HOME"], ".config", "go", "telemetry")); err != nil {
		c.t.Logf("go made no telemetry directory in HOME (%v): nothing to race on", err)
	}
}

func runCorpus(t *testing.T, bin, mode, gocache string) corpusRow {
	root := filepath.Join(t.TempDir(), "corpus")
	if out, err := exec.Command("cp", "-a", "testdata/_cachecorpus", root).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	home, tmp := t.TempDir(), t.TempDir()
	c := &corpus{t: t, bin: bin, mode: mode, root: root, env: map[string]string{
		"PATH":           filepath.Join(root, "pathdir") + ":" + os.Getenv("PATH"),
		"HOME":           home,
		"TMPDIR":         tmp,
		"LANG":           "C.UTF-8",
		"GOCACHE":        gocache,
		"GOPATH":         filepath.Join(home, "go"),
		"GOTOOLCHAIN":    "local",
		"GOPROXY":        "off",
		"GOFLAGS":        "",
		"CORPUS_VAR":     "one",
		"CMDT_CACHE_DIR": filepath.Join(tmp, "cmdt-cache"),
	}}
	c.primeHome()
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "t.cmdt"))
	row := corpusRow{mode: mode, transcripts: len(dirs)}
	time.Sleep(20 * time.Millisecond) // file times before the first run, as after a checkout

	first, took := c.check()
	row.uncachedRun = took
	for dir, o := range first {
		if o.status != "ok" {
			t.Fatalf("%s: the first check of the corpus: %s %s", mode, dir, o.status)
		}
	}
	second, took := c.check()
	row.cachedRun = took
	for dir, o := range second {
		switch {
		case o.cached:
			row.cachedAfterOne++
		case documentedUncacheable(mode, dir) != "":
			t.Logf("%s: documented limit: %s is not cacheable here (%s): %s", mode, dir, documentedUncacheable(mode, dir), o.line)
			row.uncacheable++
		default:
			t.Errorf("%s: %s not cached after one passing check: first %s, then %s", mode, dir, first[dir].line, o.line)
		}
	}

	muts := corpusMutations()
	// Round k applies the k-th mutation of every transcript together (each
	// touches only its own directory, so their effects do not mix), then
	// checks, undoes them and checks again; mutations of the whole corpus
	// get a round each.
	var rounds [][]mutation
	byTranscript := map[string]int{}
	for _, m := range muts {
		if m.transcript == "" || m.everyone {
			rounds = append(rounds, []mutation{m})
			continue
		}
		k := byTranscript[m.transcript]
		byTranscript[m.transcript]++
		for len(rounds) <= k {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], m)
	}
	for _, round := range rounds {
		touched := map[string]mutation{}
		for _, m := range round {
			m.apply(c)
			if m.transcript != "" {
				touched[m.transcript] = m
			}
		}
		got, _ := c.check()
		for dir, o := range got {
			m, mine := touched[dir]
			if !mine && len(round) == 1 && round[0].everyone {
				continue // it re-runs everything by design
			}
			if !mine && len(round) == 1 && round[0].transcript == "" {
				m, mine = round[0], true
			}
			if documentedUncacheable(mode, dir) != "" {
				// It re-runs every time, by a documented limit: its
				// re-runs prove nothing, but a hit would still be false.
				if mine && m.relevant && blindIn(mode, m) == "" && o.cached {
					row.falseHits = append(row.falseHits, fmt.Sprintf("%s cached after %q", dir, m.name))
				}
				continue
			}
			switch {
			case !mine || !m.relevant:
				row.irrelevant++
				what := "an unrelated change"
				if mine {
					what = m.name
				}
				if o.cached {
					row.kept++
				} else {
					row.needless = append(row.needless, fmt.Sprintf("%s re-ran after %q: %s", dir, what, o.line))
				}
			case blindIn(mode, m) != "":
				row.blind++
				if o.cached {
					t.Logf("%s: documented hazard: %s stays cached after %q (%s)", mode, dir, m.name, blindIn(mode, m))
				}
			default:
				row.relevant++
				if !o.cached {
					row.reran++
				} else {
					row.falseHits = append(row.falseHits, fmt.Sprintf("%s cached after %q", dir, m.name))
				}
			}
		}
		c.checkCachedAfter(round, got, &row)
		for _, m := range round {
			if m.undo != nil {
				m.undo(c)
			}
		}
		undone, _ := c.check()
		for dir, o := range undone {
			if o.status != "ok" {
				t.Errorf("%s: %s: %s after undoing a mutation: %s", mode, dir, o.status, o.line)
			}
		}
	}
	for _, s := range row.falseHits {
		t.Errorf("%s: false hit: %s", mode, s)
	}
	for _, s := range row.needless {
		t.Errorf("%s: needless re-run: %s", mode, s)
	}
	return row
}

func corpusTable(rows []corpusRow) string {
	var b strings.Builder
	b.WriteString("| --trace | transcripts | cached after one pass (not cacheable, documented) | relevant changes re-run | false hits | blind spots (documented: --trace=off) | irrelevant changes kept cached | needless re-runs | re-timing passes cached | uncached check | cached check |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d (%d) | %d/%d | %d | %d | %d/%d | %d | %d/%d | %.1fs | %.2fs |\n",
			r.mode, r.transcripts, r.cachedAfterOne, r.uncacheable, r.reran, r.relevant, len(r.falseHits), r.blind,
			r.kept, r.irrelevant, len(r.needless), r.retimedCached, r.retimed, r.uncachedRun.Seconds(), r.cachedRun.Seconds())
	}
	return b.String()
}
