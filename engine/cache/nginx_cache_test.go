package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
	"github.com/cmdt-dev/cmdt/internal/nginxtest"
	"github.com/cmdt-dev/cmdt/parser"
)

// The cross-machine tests go through the whole Cache API: a transcript is
// run by the engine and recorded on "machine A" (its own checkout and
// cache directory), and looked up on "machine B" (another checkout path,
// an empty cache directory), with only the nginx server in common.

const remoteSecret = "hunter2-s3cr3t-env-value-7f1c"

// machine is one checkout plus one cache directory plus the shared server.
type machine struct {
	t      *testing.T
	root   string
	env    []string
	local  *cache.Local
	store  cache.Store
	cache  *cache.Cache
	warned warnings
}

func newMachine(t *testing.T, root, serverURL string, upload bool) *machine {
	t.Helper()
	m := &machine{t: t, root: root}
	m.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "GREETING=hello", "API_TOKEN=" + remoteSecret}
	m.local = newLocal(t)
	remote := openRemote(t, serverURL, cache.RemoteOptions{Warn: m.warned.add})
	m.store = cache.Tiered(m.local, remote, upload, m.warned.add)
	m.cache = cache.New(m.store, filepath.Join(m.local.Dir(), "memo"))
	return m
}

func (m *machine) target(rel string) cache.Target {
	p := filepath.Join(m.root, filepath.FromSlash(rel))
	// --env=declared, the mode for sharing: HOME differs between machines.
	return cache.Target{Path: p, Dir: filepath.Dir(p), Root: m.root, Env: m.env, EnvMode: engine.EnvDeclared}
}

// runAndRecord runs a transcript with the engine and records the result.
func (m *machine) runAndRecord(rel string) {
	m.t.Helper()
	tg := m.target(rel)
	src, err := os.ReadFile(tg.Path)
	if err != nil {
		m.t.Fatal(err)
	}
	res, err := engine.Run(context.Background(), parser.Parse(tg.Path, src), engine.Options{Env: m.env, ModuleRoot: m.root})
	if err != nil {
		m.t.Fatal(err)
	}
	if !res.Passed() {
		m.t.Fatalf("%s failed", rel)
	}
	if err := m.cache.Record(context.Background(), tg, res); err != nil {
		m.t.Fatalf("record %s: %v", rel, err)
	}
}

func (m *machine) lookup(rel string) cache.Verdict {
	m.t.Helper()
	v, err := m.cache.Lookup(context.Background(), m.target(rel))
	if err != nil {
		m.t.Fatalf("lookup %s: %v", rel, err)
	}
	return v
}

// writeModule writes a small module: a transcript with declared file,
// glob and env inputs, and observed ones (the env lookup of API_TOKEN, the
// programs it runs).
func writeModule(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"go.mod":          "module example.com/remote\n",
		"testdata/in.txt": "one\n",
		"src/a.go":        "package a\n",
		"t.cmdt": strings.Join([]string{
			"% dep file testdata/in.txt",
			"% dep glob src/**",
			"% dep env GREETING",
			"$ cat testdata/in.txt",
			"1 one",
			"$ test -n \"$API_TOKEN\" && echo token set",
			"1 token set",
			"",
		}, "\n"),
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// File times clearly before the run, as after a checkout.
	time.Sleep(30 * time.Millisecond)
}

// twoMachines records t.cmdt on machine A and returns A, a copy of A's
// checkout at another path, and the server.
func twoMachines(t *testing.T) (a *machine, rootB string, srv *nginxtest.Server) {
	srv = nginxtest.StartTB(t)
	rootA := filepath.Join(t.TempDir(), "checkout-a")
	writeModule(t, rootA)
	a = newMachine(t, rootA, srv.URL, true)
	a.runAndRecord("t.cmdt")
	if v := a.lookup("t.cmdt"); v.State != cache.Fresh {
		t.Fatalf("A: %s %q right after recording", v.State, v.Reasons)
	}
	rootB = filepath.Join(t.TempDir(), "checkout-b")
	if out, err := exec.Command("cp", "-a", rootA, rootB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return a, rootB, srv
}

// TestNginxCacheHitOnAnotherMachine: computed on A, a hit on B whose
// local cache is empty, and written back so B's next run needs no server.
func TestNginxCacheHitOnAnotherMachine(t *testing.T) {
	_, rootB, srv := twoMachines(t)
	b := newMachine(t, rootB, srv.URL, true)
	if v := b.lookup("t.cmdt"); v.State != cache.Fresh {
		t.Fatalf("B: %s %q; want fresh from the remote", v.State, v.Reasons)
	}
	if st, _ := cache.TieredStatsOf(b.store); st.RemoteHits != 1 {
		t.Errorf("B stats = %+v; want one remote hit", st)
	}
	// Written back: B's own directory answers even with the server gone.
	srv.Stop()
	b2 := &machine{t: t, root: rootB, env: b.env}
	local, err := cache.NewLocal(b.local.Dir())
	if err != nil {
		t.Fatal(err)
	}
	b2.cache = cache.New(local, "")
	if v := b2.lookup("t.cmdt"); v.State != cache.Fresh {
		t.Fatalf("B local-only after the hit: %s %q", v.State, v.Reasons)
	}
	if ws := b.warned.list(); len(ws) != 0 {
		t.Errorf("warnings: %v", ws)
	}
}

// TestNginxCacheRemoteEntryVerifiedLocally: the remote manifest is only a
// hit when B's inputs hash the same; a changed file or env value is stale
// on B, with reasons, whatever A recorded.
func TestNginxCacheRemoteEntryVerifiedLocally(t *testing.T) {
	_, rootB, srv := twoMachines(t)
	if err := os.WriteFile(filepath.Join(rootB, "src/a.go"), []byte("package a // edited on B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newMachine(t, rootB, srv.URL, true)
	if v := b.lookup("t.cmdt"); v.State != cache.Stale || !strings.Contains(strings.Join(v.Reasons, ","), "src/a.go") {
		t.Fatalf("B with an edited input: %s %q; want stale naming src/a.go", v.State, v.Reasons)
	}
	c := newMachine(t, rootB, srv.URL, true)
	c.env[2] = "GREETING=bonjour"
	os.WriteFile(filepath.Join(rootB, "src/a.go"), []byte("package a\n"), 0o644)
	if v := c.lookup("t.cmdt"); v.State != cache.Stale || !strings.Contains(strings.Join(v.Reasons, ","), "GREETING") {
		t.Fatalf("C with another env value: %s %q; want stale naming GREETING", v.State, v.Reasons)
	}
}

// TestNginxCacheEnvOnlyAsHashes greps everything stored on the server for
// the env value: it must not be there, while the variable's name is.
func TestNginxCacheEnvOnlyAsHashes(t *testing.T) {
	_, _, srv := twoMachines(t)
	var stored []byte
	err := filepath.WalkDir(srv.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		stored = append(stored, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) == 0 {
		t.Fatal("nothing stored on the server")
	}
	if bytes.Contains(stored, []byte(remoteSecret)) {
		t.Fatal("the server holds an env value in clear")
	}
	for _, name := range []string{"API_TOKEN", "GREETING"} {
		if !bytes.Contains(stored, []byte(name)) {
			t.Errorf("env %s is not in the stored manifest; the test would prove nothing", name)
		}
	}
}

// TestNginxCachePoisonedManifest: someone rewrites the manifest blob on the
// server so it lists no inputs (a manifest that would be fresh whatever
// changed), without being able to change its digest. B, whose input did
// change, must not be fooled into a pass.
func TestNginxCachePoisonedManifest(t *testing.T) {
	_, rootB, srv := twoMachines(t)
	blobs, err := filepath.Glob(filepath.Join(srv.Root, "cas", "*"))
	if err != nil || len(blobs) != 1 {
		t.Fatalf("CAS blobs = %v, %v; want one", blobs, err)
	}
	honest, err := os.ReadFile(blobs[0])
	if err != nil {
		t.Fatal(err)
	}
	entry, err := cache.DecodeEntry(honest)
	if err != nil || len(entry.Manifests) != 1 || len(entry.Manifests[0].Inputs) == 0 {
		t.Fatalf("stored entry: %+v, %v", entry, err)
	}
	entry.Manifests[0].Inputs = nil
	evil, err := entry.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blobs[0], evil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootB, "src/a.go"), []byte("package a // broken on B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newMachine(t, rootB, srv.URL, true)
	if v := b.lookup("t.cmdt"); v.State != cache.NeverRun {
		t.Fatalf("B with a poisoned manifest: %s %q; want never-run (a miss)", v.State, v.Reasons)
	}
	ws := b.warned.list()
	if len(ws) != 1 || !strings.Contains(ws[0].Error(), "treated as a miss") {
		t.Fatalf("warnings = %v; want one about the failed verification", ws)
	}
	// Nothing poisoned was kept locally.
	key := keyOf(t, b, "t.cmdt")
	if got, err := b.local.Get(context.Background(), key); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("local after a poisoned hit = %q, %v", got, err)
	}

	// Control, documenting the trust model: the same forged manifest
	// uploaded under its true digest by a client with write access is
	// accepted. The digest check stops tampering with stored bytes;
	// deciding who may write is the server's job (docs/remote-cache.md).
	forger := openRemote(t, srv.URL, cache.RemoteOptions{})
	if err := forger.Put(context.Background(), key, evil); err != nil {
		t.Fatal(err)
	}
	c := newMachine(t, rootB, srv.URL, true)
	if v := c.lookup("t.cmdt"); v.State != cache.Fresh {
		t.Fatalf("forged-but-consistent manifest: %s %q; if this changed, update the trust model in docs/remote-cache.md", v.State, v.Reasons)
	}
}

func keyOf(t *testing.T, m *machine, rel string) string {
	t.Helper()
	k, err := m.cache.Key(m.target(rel))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestNginxCacheStoppedMidSuite: the server stops between transcripts of
// one run. The rest of the run looks up and records locally: no error,
// one warning, and the results recorded after the stop are fresh.
func TestNginxCacheStoppedMidSuite(t *testing.T) {
	srv := nginxtest.StartTB(t)
	root := filepath.Join(t.TempDir(), "suite")
	writeModule(t, root)
	for i := range 4 {
		src, _ := os.ReadFile(filepath.Join(root, "t.cmdt"))
		os.WriteFile(filepath.Join(root, fmt.Sprintf("t%d.cmdt", i)), src, 0o644)
	}
	m := newMachine(t, root, srv.URL, true)
	for i := range 4 {
		rel := fmt.Sprintf("t%d.cmdt", i)
		if i == 2 {
			srv.Stop()
		}
		if v := m.lookup(rel); v.State != cache.NeverRun {
			t.Fatalf("%s: %s", rel, v.State)
		}
		m.runAndRecord(rel)
		if v := m.lookup(rel); v.State != cache.Fresh {
			t.Fatalf("%s after recording: %s %q", rel, v.State, v.Reasons)
		}
	}
	ws := m.warned.list()
	if len(ws) != 1 || !errors.Is(ws[0], cache.ErrRemoteUnavailable) {
		t.Fatalf("warnings = %v; want one", ws)
	}
	if st, _ := cache.TieredStatsOf(m.store); !st.RemoteOff || st.Uploads != 2 {
		t.Errorf("stats = %+v; want 2 uploads before the stop, then remote off", st)
	}
}

// TestNginxCachePrefetch: a batch prefetch makes the lookups local.
func TestNginxCachePrefetch(t *testing.T) {
	_, rootB, srv := twoMachines(t)
	b := newMachine(t, rootB, srv.URL, true)
	targets := []cache.Target{b.target("t.cmdt"), b.target("t.cmdt")}
	n, err := cache.Prefetch(context.Background(), b.cache, targets)
	if err != nil || n != 1 {
		t.Fatalf("Prefetch = %d, %v; want 1 (one distinct key)", n, err)
	}
	if v := b.lookup("t.cmdt"); v.State != cache.Fresh {
		t.Fatalf("%s %q", v.State, v.Reasons)
	}
	if st, _ := cache.TieredStatsOf(b.store); st.RemoteHits != 1 || st.LocalHits < 1 {
		t.Errorf("stats = %+v; want the lookup served locally", st)
	}
	// The recorded duration is there for sharding.
	d, err := cache.RecordedDurations(context.Background(), b.cache, b.local, targets)
	if err != nil || d[0] <= 0 || d[1] != d[0] {
		t.Errorf("RecordedDurations from the local store = %v, %v", d, err)
	}
	// Through the batch path too (the tiered store), and unknown for a
	// transcript never recorded.
	targets = append(targets, b.target("never.cmdt"))
	d2, err := cache.RecordedDurations(context.Background(), b.cache, nil, targets)
	if err != nil || d2[0] != d[0] || d2[2] != 0 {
		t.Errorf("RecordedDurations through the cache's store = %v, %v", d2, err)
	}
}
