//go:build linux && amd64

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// holdBPF keeps the programs (and so the link cache) loaded for the
// test, as commands following each other do.
func holdBPF(t *testing.T) *bpfTracer {
	t.Helper()
	requireMode(t, Options{Mode: ModeEBPF})
	bt, err := acquireBPF()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(releaseBPF)
	return bt
}

// nameSlot is where the kernel counts unbindings of name.
func nameSlot(name string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * fnvPrime
	}
	return 1 + h&(nameSlots-1)
}

// TestNamesCountedByTheKernel: the kernel counts an unbound name where
// linkCache.sum looks for it (the same hash on both sides), for each
// unbinding call, made by any process, trailing slashes or not.
func TestNamesCountedByTheKernel(t *testing.T) {
	bt := holdBPF(t)
	dir := t.TempDir()
	count := func(name string) uint64 { return bt.cache.counts[nameSlot(name)] }
	for i, step := range []struct {
		name string
		do   func(p string) error
	}{
		{"unlink", func(p string) error { return unix.Unlink(p) }},
		{"unlinkat", func(p string) error { return unix.Unlinkat(unix.AT_FDCWD, p, 0) }},
		{"rmdir/", func(p string) error { return unix.Rmdir(p + "/") }},
		{"rename-from", func(p string) error { return unix.Rename(p, p+".new") }},
		{"rename-over", func(p string) error { return unix.Renameat2(unix.AT_FDCWD, p+".src", unix.AT_FDCWD, p, 0) }},
		{"by a child", func(p string) error { return exec.Command("rm", "-f", p).Run() }},
	} {
		name := fmt.Sprintf("name-%d-%s", i, strings.ReplaceAll(step.name, "/", ""))
		p := filepath.Join(dir, name)
		if strings.HasPrefix(step.name, "rmdir") {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			writeFiles(t, dir, name, name+".src")
		}
		before, other := count(name), count(name+".other")
		if err := step.do(p); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := count(name); got <= before {
			t.Errorf("%s %s: count %d, was %d: the kernel did not count it where user space looks", step.name, name, got, before)
		}
		if nameSlot(name) != nameSlot(name+".other") && count(name+".other") != other {
			t.Errorf("%s: another name's count changed", step.name)
		}
	}
	mounts := bt.cache.counts[0]
	if err := unix.Mount("none", dir, "tmpfs", 0, ""); err != nil {
		t.Logf("mount: %v (counted all the same)", err)
	} else {
		defer unix.Unmount(dir, 0)
	}
	if bt.cache.counts[0] == mounts {
		t.Error("a mount was not counted")
	}
	// io_uring can rename without a rename call: setting one up counts
	// as a change of every name (whether it succeeds or not).
	rings := bt.cache.counts[0]
	var params [120]byte // struct io_uring_params
	if fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0); errno == 0 {
		unix.Close(int(fd))
	}
	if bt.cache.counts[0] == rings {
		t.Error("io_uring_setup was not counted")
	}
}

// TestLinkCacheSeesChangesBetweenCommands: what a traced command's paths
// resolve to is right after every kind of change made between two
// commands, by this process or by a traced command: a file replaced by a
// link, a directory replaced by a link, a directory of the path renamed
// away and made again with a link in it, a link repointed, in a
// directory small enough to be looked up path by path and in one large
// enough to be listed.
func TestLinkCacheSeesChangesBetweenCommands(t *testing.T) {
	holdBPF(t)
	opts := Options{Mode: ModeEBPF}
	for _, files := range []int{1, 2 * listAt} {
		t.Run(fmt.Sprint(files, "files"), func(t *testing.T) {
			dir := tempDir(t)
			var names []string
			for i := range files {
				names = append(names, fmt.Sprintf("f%03d", i))
			}
			paths := func(sub string) []string {
				var ps []string
				for _, n := range names {
					ps = append(ps, filepath.Join(sub, n))
				}
				return ps
			}
			for _, sub := range []string{"a/b", "a/b2", "t1", "t2"} {
				writeFiles(t, dir, paths(sub)...)
			}
			last := filepath.Join("a/b", names[len(names)-1])
			// resolved checks what cat of a/b/* says each path resolves to.
			resolved := func(step string, want func(p string) string) {
				t.Helper()
				cmd := exec.Command("cat", paths("a/b")...)
				cmd.Dir = dir
				rep := mustRun(t, cmd, opts)
				for _, p := range paths("a/b") {
					a := find(rep, filepath.Join(dir, p), OpRead)
					if a == nil {
						t.Fatalf("%s: no read of %s:\n%s", step, p, dump(rep))
					}
					if w := want(p); a.Resolved != w {
						t.Fatalf("%s: %s resolved to %q, want %q", step, p, a.Resolved, w)
					}
				}
			}
			same := func(string) string { return "" }
			in := func(sub string) func(p string) string {
				return func(p string) string { return filepath.Join(dir, sub, filepath.Base(p)) }
			}
			resolved("start", same)
			resolved("again (cached)", same)

			// A file replaced by a link, by this process.
			must(t, os.Remove(filepath.Join(dir, last)))
			must(t, os.Symlink(filepath.Join(dir, "t1", filepath.Base(last)), filepath.Join(dir, last)))
			resolved("file made a link", func(p string) string {
				if p == last {
					return filepath.Join(dir, "t1", filepath.Base(p))
				}
				return ""
			})
			must(t, os.Remove(filepath.Join(dir, last)))
			writeFiles(t, dir, last)
			resolved("link made a file again", same)

			// A directory of the path replaced by a link, by a traced
			// command.
			sh := exec.Command("/bin/sh", "-c", "mv a/b a/b.old && ln -s ../t1 a/b")
			sh.Dir = dir
			mustRun(t, sh, opts)
			resolved("directory made a link", in("t1"))

			// The link repointed (a rename over it, as ln -sfn does not).
			must(t, os.Symlink("../t2", filepath.Join(dir, "a/b.new")))
			must(t, os.Rename(filepath.Join(dir, "a/b.new"), filepath.Join(dir, "a/b")))
			resolved("link repointed", in("t2"))

			// An ancestor renamed away and made again, holding a link
			// where its old self held a directory: only names above
			// the cached paths change.
			must(t, os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "a.old")))
			must(t, os.Mkdir(filepath.Join(dir, "a"), 0o755))
			must(t, os.Symlink(filepath.Join(dir, "a.old/b2"), filepath.Join(dir, "a/b")))
			resolved("ancestor made again", in("a.old/b2"))
		})
	}
}

// TestLinkCacheDiesWithThePrograms: a change made while the programs are
// unloaded (nobody counts) is seen: the cache does not outlive them.
func TestLinkCacheDiesWithThePrograms(t *testing.T) {
	requireMode(t, Options{Mode: ModeEBPF})
	dir := tempDir(t)
	writeFiles(t, dir, "d/f", "t/f")
	run := func() *Report {
		cmd := exec.Command("cat", "d/f")
		cmd.Dir = dir
		return mustRun(t, cmd, Options{Mode: ModeEBPF})
	}
	if a := find(run(), filepath.Join(dir, "d/f"), OpRead); a == nil || a.Resolved != "" {
		t.Fatalf("d/f: %+v", a)
	}
	bpfState.mu.Lock()
	active := bpfState.active
	bpfState.mu.Unlock()
	if active > 0 {
		t.Skip("another test holds the programs")
	}
	unloadIdleBPF()
	// Unlinking and renaming now are counted by no one.
	must(t, os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "d.old")))
	must(t, os.Symlink("t", filepath.Join(dir, "d")))
	if a := find(run(), filepath.Join(dir, "d/f"), OpRead); a == nil || a.Resolved != filepath.Join(dir, "t/f") {
		t.Fatalf("d/f after d became a link while unloaded: %+v", a)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
