package lsp

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

// genTranscript returns a realistic transcript of about n lines: command
// blocks with continuations, expected stdout/stderr, exit statuses, file
// references, declarations, comments; commands that read declared and
// created files.
func genTranscript(n int) string {
	var b strings.Builder
	b.WriteString("# generated benchmark transcript\n% dep file fixtures/input.txt\n% dep glob fixtures/*.json\n% dep env HOME\n\n")
	for i := 0; strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, "# step %d: exercise the tool\n", i)
		fmt.Fprintf(&b, "$ cat fixtures/input.txt | grep -c alpha\n1 1\n")
		fmt.Fprintf(&b, "$ echo \"value %d\" > out_%d.txt && wc -l out_%d.txt\n1 1 out_%d.txt\n", i, i, i, i)
		fmt.Fprintf(&b, "$ ./tool --name item%d \\\n> --verbose fixtures/data.json\n2 warning: item%d is deprecated\n1 {\"id\": %d, \"ok\": true}\n? 1\n\n", i, i, i)
	}
	return b.String()
}

func benchWorkspace(tb testing.TB) string {
	dir := tb.TempDir()
	writeFiles(tb, dir, map[string]string{"go.mod": "module bench\n", "fixtures/input.txt": "alpha\n", "fixtures/data.json": "{}\n"})
	return dir
}

// percentile returns the p-th percentile (0..100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// TestDidChangeDiagnostics10k: every one of 200 edits to a 10,000-line
// transcript gets its own diagnostics. It logs the server-side latency
// percentiles but asserts none: timing belongs to
// BenchmarkDidChangeDiagnostics10k (bench/lsp/run.sh), compared on a quiet
// machine, not to a test that a loaded CI core would make flaky.
func TestDidChangeDiagnostics10k(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-line document")
	}
	const edits = 200
	lat := measureDidChange(t, 10000, edits)
	if len(lat) != edits {
		t.Fatalf("diagnostics for %d of %d edits", len(lat), edits)
	}
	t.Logf("didChange → publishDiagnostics, 10,000 lines, %d edits, server side: p50 %s, p99 %s (targets 5ms, 20ms; see the benchmark)", len(lat), percentile(lat, 50), percentile(lat, 99))
}

func measureDidChange(t testing.TB, lines, edits int) []time.Duration {
	dir := benchWorkspace(t)
	var mu sync.Mutex
	got := map[int32]time.Duration{}
	c := newTestClient(t, func(o *Options) {
		o.onPublish = func(u protocol.DocumentURI, v int32, d time.Duration) {
			mu.Lock()
			got[v] = d
			mu.Unlock()
		}
	})
	c.initialize(dir, "")
	u := pathURI(filepath.Join(dir, "big.cmdt"))
	src := genTranscript(lines)
	c.open(u, "cmdt", src)
	c.waitDiagnostics(u, 1)
	nlines := uint32(strings.Count(src, "\n"))
	for i := 0; i < edits; i++ {
		v := int32(i + 2)
		// Type one character at the end of a command somewhere in the file.
		line := uint32(i*7919) % nlines
		c.change(u, v, TextDocumentContentChangeEvent{Range: &protocol.Range{
			Start: protocol.Position{Line: line, Character: 1000}, End: protocol.Position{Line: line, Character: 1000}}, Text: "x"})
		c.waitDiagnostics(u, uint32(v))
		// The hook runs just after the write the client has already read.
		for deadline := time.Now().Add(callTimeout); ; time.Sleep(50 * time.Microsecond) {
			mu.Lock()
			_, ok := got[v]
			mu.Unlock()
			if ok || time.Now().After(deadline) {
				break
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for v, d := range got {
		if v > 1 {
			lat = append(lat, d)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// BenchmarkDidChangeDiagnostics10k reports server-side latency
// percentiles of didChange → publishDiagnostics on 10,000 lines.
func BenchmarkDidChangeDiagnostics10k(b *testing.B) {
	lat := measureDidChange(b, 10000, b.N)
	if len(lat) == 0 {
		b.Fatal("no samples")
	}
	b.ReportMetric(float64(percentile(lat, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 99).Microseconds())/1000, "p99-ms")
}

func BenchmarkParse100k(b *testing.B) {
	src := []byte(genTranscript(100000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		parser.Parse("bench.cmdt", src)
	}
}

// TestParse100k: a 100,000-line transcript parses without errors and
// prints back byte for byte; BenchmarkParse100k measures its speed.
func TestParse100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000-line document")
	}
	src := []byte(genTranscript(100000))
	start := time.Now()
	f := parser.Parse("bench.cmdt", src)
	t.Logf("parse 100,000 lines (%d bytes): %s (target 20ms; see the benchmark)", len(src), time.Since(start))
	if len(f.Errors) != 0 {
		t.Fatalf("syntax errors: %v", f.Errors[0])
	}
	if got := f.Bytes(); string(got) != string(src) {
		t.Fatal("printing the parsed file does not give the input back")
	}
}

// TestMemory100Docs opens 100 documents of 2,000 lines and reports the
// heap in use; bench/lsp measures the real process's RSS.
func TestMemory100Docs(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	dir := benchWorkspace(t)
	c := newTestClient(t)
	c.initialize(dir, "")
	src := genTranscript(2000)
	for i := 0; i < 100; i++ {
		u := pathURI(filepath.Join(dir, fmt.Sprintf("doc%03d.cmdt", i)))
		c.open(u, "cmdt", strings.ReplaceAll(src, "item", fmt.Sprintf("d%d-", i)))
		c.waitDiagnostics(u, 1)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("100 open documents of 2,000 lines (%d KB each): heap in use %.1f MB (whole test process)", len(src)/1024, float64(ms.HeapInuse)/(1<<20))
	if ms.HeapInuse > 300<<20 {
		t.Errorf("heap %d MB", ms.HeapInuse>>20)
	}
}
