package cache_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/parser"
)

// doubtingLauncher runs programs plainly and doubts, as a tracer that lost
// events does (engine/trace: Report.Incomplete).
type doubtingLauncher struct{}

func (doubtingLauncher) Launch(cmd *exec.Cmd, obs engine.Observer) (func() error, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	obs.Doubt("eBPF trace: 3 event(s) lost in the kernel")
	return cmd.Wait, nil
}

// TestDoubtedRunNotRecorded: a passing run whose tracer may have missed
// inputs is not cached, and Record says why.
func TestDoubtedRunNotRecorded(t *testing.T) {
	f := newFixture(t)
	f.write("t.cmdt", lines("$ /bin/echo a", "1 a"))
	settle()
	src, _ := os.ReadFile(f.path("t.cmdt"))
	res, err := engine.Run(context.Background(), parser.Parse(f.path("t.cmdt"), src),
		engine.Options{Env: f.env, ModuleRoot: f.root, Launcher: doubtingLauncher{}})
	if err != nil || !res.Passed() {
		t.Fatalf("run: %v", err)
	}
	err = f.cache.Record(context.Background(), f.target("t.cmdt"), res)
	if !errors.Is(err, cache.ErrNotRecorded) || !strings.Contains(err.Error(), "lost in the kernel") {
		t.Fatalf("Record: %v, want ErrNotRecorded with the reason", err)
	}
	if v := f.lookup("t.cmdt"); v.State == cache.Fresh {
		t.Fatal("a doubted run was cached")
	}
}

// traceEnv selects the tracer of the traced tests (default auto: eBPF
// where it loads); TestTracedUnderEveryBackend sets it.
const traceEnv = "CMDT_TEST_TRACE"

func traceSetting() string {
	if s := os.Getenv(traceEnv); s != "" {
		return s
	}
	return "auto"
}

// TestTracedUnderEveryBackend runs the traced tests again, in a go test
// subprocess, with the backend auto did not pick: both must keep the
// cache correct.
func TestTracedUnderEveryBackend(t *testing.T) {
	if os.Getenv(traceEnv) != "" {
		t.Skip("in the subprocess")
	}
	b, err := trace.SelectBackend("auto")
	if err != nil || b.Name == "off" {
		t.Skipf("no tracer here: %v", err)
	}
	other := map[string]string{"ebpf": "ptrace", "ptrace": "ebpf"}[b.Name]
	if _, err := trace.SelectBackend(other); err != nil {
		t.Skipf("only %s works here: %v", b.Name, err)
	}
	names := []string{"TestUndeclaredTracedInputs", "TestTracedListing", "TestRunOutputsAreNotInputs"}
	cmd := exec.Command(os.Args[0], "-test.run", "^("+strings.Join(names, "|")+")$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), traceEnv+"="+other)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("traced tests with --trace=%s: %v\n%s", other, err, out)
	}
	for _, n := range names {
		if !strings.Contains(string(out), "--- PASS: "+n) {
			t.Errorf("%s did not pass with --trace=%s:\n%s", n, other, out)
		}
	}
}
