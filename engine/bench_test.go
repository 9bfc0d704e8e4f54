package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

func benchFile(b *testing.B, name string, gen func(i int) string, n int) *parser.File {
	b.Helper()
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteString(gen(i))
	}
	path := filepath.Join(b.TempDir(), name)
	os.WriteFile(path, []byte(sb.String()), 0o644)
	f := parser.Parse(path, []byte(sb.String()))
	if len(f.Errors) > 0 {
		b.Fatal(f.Errors)
	}
	return f
}

func benchRun(b *testing.B, f *parser.File) {
	for b.Loop() {
		res, err := Run(context.Background(), f, Options{})
		if err != nil || !res.Passed() {
			b.Fatalf("run failed: %v", err)
		}
	}
}

// BenchmarkBuiltins500 runs 500 shell-builtin commands in one session.
func BenchmarkBuiltins500(b *testing.B) {
	benchRun(b, benchFile(b, "b.cmdt", func(i int) string { return fmt.Sprintf("$ echo line%d\n1 line%d\n\n", i, i) }, 500))
}

// BenchmarkExternal200 runs 200 external programs.
func BenchmarkExternal200(b *testing.B) {
	benchRun(b, benchFile(b, "e.cmdt", func(i int) string { return fmt.Sprintf("$ /bin/echo line%d\n1 line%d\n\n", i, i) }, 200))
}

// BenchmarkParallelFiles runs 20 builtin files with 2 workers vs 1. It
// reports the process's CPU time per op too (cpu-ns/op): on a busy
// machine the second worker gets no second core, and equal CPU times say
// the work itself parallelises.
func BenchmarkParallelFiles(b *testing.B) {
	f := benchFile(b, "p.cmdt", func(i int) string { return fmt.Sprintf("$ echo line%d\n1 line%d\n\n", i, i) }, 500)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				work := make(chan int, 20)
				for i := 0; i < 20; i++ {
					work <- i
				}
				close(work)
				done := make(chan bool)
				for w := 0; w < workers; w++ {
					go func() {
						for range work {
							Run(context.Background(), f, Options{})
						}
						done <- true
					}()
				}
				for w := 0; w < workers; w++ {
					<-done
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
