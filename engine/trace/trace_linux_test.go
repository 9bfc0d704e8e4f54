//go:build linux && amd64

package trace

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// modes are the ways a trace can run; most tests run in each.
var modes = []struct {
	name string
	opts Options
}{
	{"seccomp", Options{Mode: ModeSeccomp}},
	{"seccomp-exact", Options{Mode: ModeSeccomp, ExactResults: true}},
	{"seccomp-shim", Options{Mode: ModeSeccomp, Shim: true}},
	{"ptrace-all", Options{Mode: ModePtraceAll}},
	{"ebpf", Options{Mode: ModeEBPF}},
	{"unotify", Options{Mode: ModeUnotify}},
}

func requireTracing(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("tracing unavailable here: %v", err)
	}
}

// requireMode skips a test of a mode this machine cannot run (eBPF needs
// root or CAP_BPF); CI runs as root, so there every mode runs.
func requireMode(t *testing.T, opts Options) {
	t.Helper()
	switch opts.Mode {
	case ModeEBPF:
		if err := ebpfAvailable(); err != nil {
			t.Skipf("eBPF unavailable here: %v", err)
		}
	case ModeUnotify:
		if err := unotifyAvailable(); err != nil {
			t.Skipf("seccomp user notification unavailable here: %v", err)
		}
	}
}

// traced runs cmd under the tracer and returns the report and cmd's error.
func traced(t *testing.T, cmd *exec.Cmd, opts Options) (*Report, error) {
	t.Helper()
	requireMode(t, opts)
	p, err := Start(cmd, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	rep, err := p.Wait()
	if rep == nil {
		t.Fatalf("Wait returned no report (err %v)", err)
	}
	return rep, err
}

// mustRun runs cmd traced and fails the test if it does not succeed.
func mustRun(t *testing.T, cmd *exec.Cmd, opts Options) *Report {
	t.Helper()
	rep, err := traced(t, cmd, opts)
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	if (opts.Mode == ModeSeccomp || opts.Mode == ModeEBPF || opts.Mode == ModeUnotify) && rep.Mode != opts.Mode {
		t.Errorf("ran in %v, want %v", rep.Mode, opts.Mode)
	}
	if rep.Incomplete != "" {
		t.Errorf("incomplete report: %s", rep.Incomplete)
	}
	return rep
}

func find(rep *Report, path string, op Op) *Access {
	for i, a := range rep.Accesses {
		if a.Path == path && a.Op == op {
			return &rep.Accesses[i]
		}
	}
	return nil
}

// want fails unless rep has path with op and existence exists.
func want(t *testing.T, rep *Report, path string, op Op, exists bool) *Access {
	t.Helper()
	a := find(rep, path, op)
	switch {
	case a == nil:
		t.Errorf("no %v %s in the report:\n%s", op, path, dump(rep))
	case a.Exists != exists:
		t.Errorf("%v %s: Exists = %v, want %v", op, path, a.Exists, exists)
	}
	return a
}

func dump(rep *Report) string {
	var b strings.Builder
	for _, a := range rep.Accesses {
		b.WriteString("\t" + a.String() + "  [" + a.Program + "]\n")
	}
	return b.String()
}

// tempDir is t.TempDir with symbolic links resolved, so that paths the
// kernel reports (/proc/PID/cwd) compare equal.
func tempDir(t *testing.T) string {
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenatWithDirfd(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "f1", "f2", "f3")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rep := mustRun(t, helperCmd(t, "openat", dir), m.opts)
			want(t, rep, dir, OpReaddir, true)
			want(t, rep, filepath.Join(dir, "f1"), OpRead, true)
			want(t, rep, filepath.Join(dir, "f2"), OpStat, true)
			want(t, rep, filepath.Join(dir, "missing"), OpStat, false)
			want(t, rep, filepath.Join(dir, "f3"), OpStat, true)
		})
	}
}

func TestRelativeAfterChdir(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "rel", "sub/file")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cmd := helperCmd(t, "chdir", dir)
			cmd.Dir = "/" // the helper starts elsewhere and moves
			rep := mustRun(t, cmd, m.opts)
			want(t, rep, filepath.Join(dir, "rel"), OpRead, true)
			want(t, rep, filepath.Join(dir, "sub/file"), OpRead, true) // cleaned

			// A shell changing directory: its children and its own test
			// builtin resolve relative paths in the new one.
			cmd = exec.Command("/bin/sh", "-c", "cat rel; cd sub; cat file; test -e rel; cd ..; test -e file; true")
			cmd.Dir = dir
			rep = mustRun(t, cmd, m.opts)
			want(t, rep, filepath.Join(dir, "rel"), OpRead, true)
			want(t, rep, filepath.Join(dir, "sub/file"), OpRead, true)
			want(t, rep, filepath.Join(dir, "sub/rel"), OpStat, false)
			want(t, rep, filepath.Join(dir, "file"), OpStat, false)
		})
	}
}

func TestThroughSymlink(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "target", "real/f")
	for old, link := range map[string]string{"target": "link", "real": "ldir"} {
		if err := os.Symlink(old, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command("cat", "link", "ldir/f")
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			if a := want(t, rep, filepath.Join(dir, "link"), OpRead, true); a != nil && a.Resolved != filepath.Join(dir, "target") {
				t.Errorf("link resolved to %q", a.Resolved)
			}
			if a := want(t, rep, filepath.Join(dir, "ldir/f"), OpRead, true); a != nil && a.Resolved != filepath.Join(dir, "real/f") {
				t.Errorf("ldir/f resolved to %q", a.Resolved)
			}
			if find(rep, filepath.Join(dir, "target"), OpRead) != nil {
				t.Errorf("the link target is reported as a path of its own:\n%s", dump(rep))
			}
		})
	}
}

func TestForkExecTree(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "a", "b")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command("/bin/sh", "-c", `cat a; sh -c "cat b"`)
			cmd.Dir, cmd.Stdout = dir, &out
			rep := mustRun(t, cmd, m.opts)
			if out.String() != "a\nb\n" {
				t.Errorf("output %q", out.String())
			}
			want(t, rep, "/bin/sh", OpExec, true)
			for _, f := range []string{"a", "b"} {
				if a := want(t, rep, filepath.Join(dir, f), OpRead, true); a != nil && filepath.Base(a.Program) != "cat" {
					t.Errorf("%s read by %q, want cat", f, a.Program)
				}
			}
			var cats, shells int
			for _, a := range rep.Accesses {
				if a.Op == OpExec && a.Exists {
					switch filepath.Base(a.Path) {
					case "cat":
						cats++
					case "sh":
						shells++
					}
				}
			}
			// Same path + op is one entry: one cat, /bin/sh and the inner sh.
			if cats != 1 || shells != 2 {
				t.Errorf("execs: %d cat, %d sh; want 1 and 2:\n%s", cats, shells, dump(rep))
			}
		})
	}
}

// TestChildRunsBeforeForkEvent: the kernel reports events of newer
// tracees first, so a child can exec and read before its parent's fork
// event is seen; the event must not undo what the child did since.
func TestChildRunsBeforeForkEvent(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	var script strings.Builder
	for i := range 30 {
		name := "c" + strconv.Itoa(i)
		writeFiles(t, dir, name)
		script.WriteString("cat " + name + " & ")
	}
	script.WriteString("wait")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", script.String())
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			for i := range 30 {
				p := filepath.Join(dir, "c"+strconv.Itoa(i))
				if a := want(t, rep, p, OpRead, true); a != nil && filepath.Base(a.Program) != "cat" {
					t.Errorf("%s read by %q, want cat", filepath.Base(p), a.Program)
				}
			}
		})
	}
}

func TestVforkFromGo(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "v")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := helperCmd(t, "spawn", "/bin/cat", filepath.Join(dir, "v"))
			cmd.Stdout = &out
			rep := mustRun(t, cmd, m.opts)
			want(t, rep, "/bin/cat", OpExec, true)
			want(t, rep, filepath.Join(dir, "v"), OpRead, true)
			if out.String() != "v\n" {
				t.Errorf("output %q", out.String())
			}
		})
	}
}

func TestThreads(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	const n = 8
	var names []string
	for i := range n {
		names = append(names, "t"+strconv.Itoa(i))
	}
	writeFiles(t, dir, names...)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rep := mustRun(t, helperCmd(t, "threads", dir, strconv.Itoa(n)), m.opts)
			for _, name := range names {
				want(t, rep, filepath.Join(dir, name), OpRead, true)
			}
		})
	}
}

func TestShebangScript(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "data")
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh -e\ncat data\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command("/bin/sh", "-c", "./script")
			cmd.Dir, cmd.Stdout = dir, &out
			rep := mustRun(t, cmd, m.opts)
			want(t, rep, script, OpExec, true)
			want(t, rep, filepath.Join(dir, "data"), OpRead, true)
			if out.String() != "data\n" {
				t.Errorf("output %q", out.String())
			}
		})
	}
	// The script as the command: the kernel opens /bin/sh without a system
	// call, so it must be recorded from the script's first line.
	for _, m := range modes {
		t.Run(m.name+"/direct", func(t *testing.T) {
			cmd := exec.Command(script)
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			want(t, rep, script, OpExec, true)
			want(t, rep, "/bin/sh", OpExec, true)
			want(t, rep, filepath.Join(dir, "data"), OpRead, true)
		})
	}
}

func TestMissingInterpreter(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/nonexistent/interp\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "./script")
	cmd.Dir = dir
	rep, err := traced(t, cmd, Options{})
	if err == nil {
		t.Fatal("the script ran")
	}
	want(t, rep, script, OpExec, true)
	want(t, rep, "/nonexistent/interp", OpExec, false)
}

func TestCreatedThenReadIsOutput(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "config")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", "cat config > out; cat out; test -e later || echo x > later")
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			out, later, config := filepath.Join(dir, "out"), filepath.Join(dir, "later"), filepath.Join(dir, "config")
			want(t, rep, out, OpWrite, true)
			want(t, rep, out, OpRead, true)
			want(t, rep, later, OpStat, false)
			want(t, rep, later, OpWrite, true)
			inputs := Classify(rep.Accesses)
			for _, a := range inputs {
				if a.Path == out {
					t.Errorf("output classified as input: %v", a)
				}
			}
			if !slices.ContainsFunc(inputs, func(a Access) bool { return a.Path == config && a.Op == OpRead }) {
				t.Errorf("config not an input")
			}
			if !slices.ContainsFunc(inputs, func(a Access) bool { return a.Path == later && a.Op == OpStat && !a.Exists }) {
				t.Errorf("the absence of later, checked before it was made, is not an input")
			}
			os.Remove(out)
			os.Remove(later)
		})
	}
}

func TestStatOfMissingFile(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	missing := filepath.Join(dir, "no-such.conf")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rep := mustRun(t, helperCmd(t, "stat", missing), m.opts)
			want(t, rep, missing, OpStat, false)
			cmd := exec.Command("/bin/sh", "-c", "test -f no-such.conf || cat no-such.conf 2>/dev/null; true")
			cmd.Dir = dir
			rep = mustRun(t, cmd, m.opts)
			want(t, rep, missing, OpStat, false)
			want(t, rep, missing, OpRead, false)
		})
	}
}

// TestPathsOfEveryLength: paths short and long (longer than the eBPF
// tracer's old 256-byte slot; its records are now as long as their
// paths), one or two to a call, the first long and the second short or
// the other way round (rename, link), each read back whole. The files
// are made anew for each mode: the command moves them.
func TestPathsOfEveryLength(t *testing.T) {
	requireTracing(t)
	long := strings.Repeat("a", 200) + "/" + strings.Repeat("b", 200)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := tempDir(t)
			writeFiles(t, dir, long+"/f", long+"/h", "s", "t")
			cmd := exec.Command("/bin/sh", "-c", `L=$1
				cat "$L/f" s >/dev/null
				mv "$L/f" s2 && mv s "$L/s"
				ln "$L/h" t2 && ln t "$L/t"`, "sh", long)
			cmd.Dir = dir
			rep := mustRun(t, cmd, m.opts)
			L := filepath.Join(dir, long)
			want(t, rep, filepath.Join(L, "f"), OpRead, true)
			want(t, rep, filepath.Join(dir, "s"), OpRead, true)
			want(t, rep, filepath.Join(L, "h"), OpStat, true)
			want(t, rep, filepath.Join(dir, "t"), OpStat, true)
			// Whether a write is judged to have happened differs between
			// modes (unotify sees no call's return): the path is the point.
			// Each second path is named nowhere else.
			for _, p := range []string{filepath.Join(L, "f"), filepath.Join(dir, "s2"), filepath.Join(L, "s"),
				filepath.Join(dir, "s"), filepath.Join(dir, "t2"), filepath.Join(L, "t")} {
				if find(rep, p, OpWrite) == nil {
					t.Errorf("no write of %s in the report:\n%s", p, dump(rep))
				}
			}
		})
	}
}

func TestModesRecordTheSameSet(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "a", "b", "c", "d/e", "f1", "f2", "f3")
	workload := func() []*exec.Cmd {
		sh := exec.Command("/bin/sh", "-c", `cat a b >/dev/null; sh -c "cat c" >/dev/null; test -e nope; ls d >/dev/null; cat d/e > copy; rm copy`)
		sh.Dir = dir
		return []*exec.Cmd{sh, helperCmd(t, "openat", dir)}
	}
	type key struct {
		path   string
		op     Op
		exists bool
	}
	var first map[key]bool
	for _, m := range modes {
		got := make(map[key]bool)
		for _, cmd := range workload() {
			for _, a := range mustRun(t, cmd, m.opts).Accesses {
				got[key{a.Path, a.Op, a.Exists}] = true
			}
		}
		if first == nil {
			first = got
			continue
		}
		for k := range first {
			if !got[k] {
				t.Errorf("%s misses %v %s (exists %v)", m.name, k.op, k.path, k.exists)
			}
		}
		for k := range got {
			if !first[k] {
				t.Errorf("%s has an extra %v %s (exists %v)", m.name, k.op, k.path, k.exists)
			}
		}
	}
	if len(first) < 20 {
		t.Errorf("only %d accesses recorded", len(first))
	}
}

func TestIgnoredAndDeduplicated(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	writeFiles(t, dir, "cache/x", "twice")
	cmd := exec.Command("/bin/sh", "-c", "cat cache/x twice twice /proc/self/stat /dev/null >/dev/null")
	cmd.Dir = dir
	rep := mustRun(t, cmd, Options{IgnoreDirs: []string{filepath.Join(dir, "cache")}})
	n := 0
	for _, a := range rep.Accesses {
		switch {
		case strings.HasPrefix(a.Path, filepath.Join(dir, "cache")), strings.HasPrefix(a.Path, "/proc/"), strings.HasPrefix(a.Path, "/dev/"):
			t.Errorf("ignored path reported: %v", a)
		case a.Path == filepath.Join(dir, "twice"):
			n++
		}
	}
	if n != 1 {
		t.Errorf("twice reported %d times", n)
	}
}

func TestStartErrors(t *testing.T) {
	requireTracing(t)
	dir := tempDir(t)
	noexec := filepath.Join(dir, "noexec")
	noshebang := filepath.Join(dir, "noshebang")
	writeFiles(t, dir, "noexec")
	if err := os.WriteFile(noshebang, []byte("echo hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			for path, errno := range map[string]syscall.Errno{
				filepath.Join(dir, "absent"): syscall.ENOENT,
				noexec:                       syscall.EACCES,
				noshebang:                    syscall.ENOEXEC, // the engine runs these as shell scripts
			} {
				p, err := Start(&exec.Cmd{Path: path, Args: []string{path}}, m.opts)
				if !errors.Is(err, errno) {
					t.Errorf("Start(%s) = %v, %v; want %v", filepath.Base(path), p, err, errno)
				}
				var pe *fs.PathError
				if !errors.As(err, &pe) {
					t.Errorf("Start(%s) error %T, want *fs.PathError like cmd.Start", filepath.Base(path), err)
				}
			}
			if _, err := Start(exec.Command("no-such-program-anywhere"), m.opts); !errors.Is(err, exec.ErrNotFound) {
				t.Errorf("Start(not on PATH) = %v", err)
			}
		})
	}
}

func TestExitStatusAndSetpgid(t *testing.T) {
	requireTracing(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			_, err := traced(t, exec.Command("/bin/sh", "-c", "exit 3"), m.opts)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Errorf("exit 3: err = %v", err)
			}

			var out bytes.Buffer
			cmd := helperCmd(t, "pgid")
			attr := &syscall.SysProcAttr{Setpgid: true}
			cmd.SysProcAttr, cmd.Stdout = attr, &out
			mustRun(t, cmd, m.opts)
			f := strings.Fields(out.String())
			if len(f) != 2 || f[0] != f[1] || f[0] != strconv.Itoa(cmd.ProcessState.Pid()) {
				t.Errorf("pid, pgid = %q; want the command in its own group (pid %d)", out.String(), cmd.ProcessState.Pid())
			}
			if cmd.SysProcAttr != attr || attr.Ptrace {
				t.Errorf("the caller's SysProcAttr was changed")
			}
		})
	}
}

func TestUnavailableWhenAlreadyTraced(t *testing.T) {
	requireTracing(t)
	var out bytes.Buffer
	cmd := helperCmd(t, "available")
	cmd.Stdout = &out
	mustRun(t, cmd, Options{})
	// The helper's probe child is traced by us already: its PTRACE_TRACEME fails.
	if !strings.Contains(out.String(), ErrUnavailable.Error()) {
		t.Errorf("Available() inside a traced process = %q, want an ErrUnavailable error", out.String())
	}
}

// exactMode reports whether existence comes from each call's return value
// in mode opts (the ptrace tracer's ExactResults, ptrace-all and eBPF).
func exactMode(opts Options) bool {
	return opts.Mode == ModePtraceAll || opts.Mode == ModeEBPF || opts.ExactResults
}
