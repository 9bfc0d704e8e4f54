package engine

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

// benchCheck builds a command of n output lines and a transcript block of
// expectation lines made by expect, ready for session.check.
func benchCheck(b *testing.B, n int, expect func(i int) string) (*session, *CommandResult) {
	b.Helper()
	var src, out strings.Builder
	src.WriteString("$ gen\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&out, "line %d of the output, took %d.%03ds\n", i, i%7, i%1000)
		if e := expect(i); e != "" {
			src.WriteString(e + "\n")
		}
	}
	f := parser.Parse("bench.cmdt", []byte(src.String()))
	if len(f.Errors) > 0 {
		b.Fatal(f.Errors)
	}
	s := &session{obs: &observer{written: map[string]bool{}, envNames: map[string]bool{}}}
	cr := &CommandResult{Block: f.Blocks[0], Stdout: []byte(out.String()), Dir: b.TempDir(),
		Substs: builtinSubstitutions("/src/app", "/src/app", []string{"HOME=/home/u"})}
	if fail := s.check(cr); fail != nil {
		b.Fatalf("does not match: %v", fail)
	}
	return s, cr
}

// loopCPU runs fn b.N times and also reports the process CPU time per
// operation (cpu-ms/op): on a shared machine it is steadier than wall time.
func loopCPU(b *testing.B, fn func() bool) {
	b.Helper()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	n := 0
	for b.Loop() {
		if !fn() {
			b.Fatal("mismatch")
		}
		n++
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(max(n, 1)), "cpu-ms/op")
}

// oldCheck is the exact matcher as it was before patterns, for a
// same-run baseline: expand, split, compare item by item.
func oldCheck(s *session, cr *CommandResult) bool {
	want, _ := expectedItems(cr.Block, cr.Dir, s.obs.add)
	return itemsEqual(want, actualItems(cr))
}

// BenchmarkCheckNoPatterns: a 10,000-line output against literal lines,
// through today's check (which first asks whether the block has
// patterns) and through the exact matcher alone. Compare the two ns/op:
// patterns cost nothing when absent.
func BenchmarkCheckNoPatterns(b *testing.B) {
	literal := func(i int) string { return fmt.Sprintf("1 line %d of the output, took %d.%03ds", i, i%7, i%1000) }
	s, cr := benchCheck(b, 10_000, literal)
	b.Run("exact-matcher", func(b *testing.B) { loopCPU(b, func() bool { return oldCheck(s, cr) }) })
	b.Run("check", func(b *testing.B) { loopCPU(b, func() bool { return s.check(cr) == nil }) })
}

// BenchmarkCheckWildcards: a 10,000-line output against a transcript of
// wildcards (target: <= 10 ms per check). "per-line" has one glob per
// line, "any-lines" a "..." between a first and a last line, "regexp"
// one RE2 line per line.
func BenchmarkCheckWildcards(b *testing.B) {
	for _, c := range []struct {
		name   string
		expect func(i int) string
	}{
		{"per-line", func(i int) string { return "1* line [..] of the output, took [..]s" }},
		{"any-lines", func(i int) string {
			switch i {
			case 0:
				return "1* line 0 [..]"
			case 1:
				return "1* ..."
			case 9_999:
				return "1* line 9999 of the output, took [..]"
			}
			return ""
		}},
		{"regexp", func(i int) string { return `1~ line \d+ of the output, took \d+\.\d+s` }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, cr := benchCheck(b, 10_000, c.expect)
			loopCPU(b, func() bool { return s.check(cr) == nil })
		})
	}
}
