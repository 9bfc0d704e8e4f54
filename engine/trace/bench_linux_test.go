//go:build linux && amd64

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The benchmarks run bench/trace's workloads, one command per iteration;
// compare the untraced and traced sub-benchmarks of one run (see
// docs/tracing.md for the ratios measured with go run ./bench/trace).

var benchVariants = []struct {
	name string
	opts *Options // nil: untraced
}{
	{"untraced", nil},
	{"seccomp", &Options{Mode: ModeSeccomp}},
	{"seccomp-exact", &Options{Mode: ModeSeccomp, ExactResults: true}},
	{"seccomp-shim", &Options{Mode: ModeSeccomp, Shim: true}},
	{"ptrace-all", &Options{Mode: ModePtraceAll}},
	{"ebpf", &Options{Mode: ModeEBPF}},
}

func benchRun(b *testing.B, command func() *exec.Cmd) {
	for _, v := range benchVariants {
		b.Run(v.name, func(b *testing.B) {
			if v.opts != nil {
				if err := AvailableMode(v.opts.Mode); err != nil {
					b.Skip(err)
				}
			}
			// The tracer's own CPU (this process: decoding, recording, link
			// resolution), steadier than wall time on a shared machine.
			var before, after unix.Rusage
			_ = unix.Getrusage(unix.RUSAGE_SELF, &before)
			defer func() {
				_ = unix.Getrusage(unix.RUSAGE_SELF, &after)
				self := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
				b.ReportMetric(float64(self.Microseconds())/float64(b.N), "self-cpu-µs/op")
			}()
			for b.Loop() {
				cmd := command()
				if v.opts == nil {
					if err := cmd.Run(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				p, err := Start(cmd, *v.opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchCommand(b *testing.B, dir string, name string, args ...string) func() *exec.Cmd {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	return func() *exec.Cmd {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, devnull, os.Stderr
		return cmd
	}
}

func benchFiles(b *testing.B, n int) (dir string, names []string) {
	dir = b.TempDir()
	for i := range n {
		name := fmt.Sprintf("f%04d", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		names = append(names, name)
	}
	return dir, names
}

// BenchmarkEcho is one /bin/echo per iteration: the fixed cost of a traced
// command (LC_ALL=C: the C locale opens no locale files).
func BenchmarkEcho(b *testing.B) {
	command := benchCommand(b, b.TempDir(), "/bin/echo", "hi")
	env := append(os.Environ(), "LC_ALL=C")
	benchRun(b, func() *exec.Cmd {
		cmd := command()
		cmd.Env = env
		return cmd
	})
}

// BenchmarkCat is one cat over 1,000 files: the cost of each access.
func BenchmarkCat(b *testing.B) {
	dir, names := benchFiles(b, 1000)
	benchRun(b, benchCommand(b, dir, "cat", names...))
}

// BenchmarkHead is a shell running head -c1 on each of 100 files: 100
// short processes.
func BenchmarkHead(b *testing.B) {
	dir, _ := benchFiles(b, 100)
	benchRun(b, benchCommand(b, dir, "/bin/sh", "-c", `for f in f*; do head -c1 "$f"; done`))
}
