package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cmdt-dev/cmdt/parser"
)

// ErrOutsideRoot is returned when an update would write outside the
// module root.
var ErrOutsideRoot = errors.New("refusing to write outside the module root")

// maxLinkHops bounds how many symbolic links a write follows to its target
// (the kernel's own limit for path resolution is 40).
const maxLinkHops = 40

// WriteInRoot replaces the file at path with data, atomically (a temporary
// file in the same directory, then rename), and only when its content
// changed; it reports whether it wrote.
//
// The write is confined by the file system, not by comparing strings: the
// path is resolved through an os.Root opened on the module root, which
// refuses `..`, absolute links and symbolic links at any depth that lead
// outside it (openat with O_NOFOLLOW per component). A symbolic link in
// the last component is followed when its target lies inside the root, so
// the target is updated and the link stays a link; a target outside the
// root is refused with ErrOutsideRoot. Missing directories are created
// inside the root. Anything but a regular file (a directory, a FIFO, a
// device) is refused.
func WriteInRoot(root, path string, data []byte) (bool, error) {
	t, err := resolveInRoot(root, path)
	if err != nil {
		return false, err
	}
	defer t.dir.Close()
	return t.write(data)
}

// rootTarget is a write target resolved inside the module root: an open
// handle on its real directory and the name in it.
type rootTarget struct {
	dir  *os.Root
	name string
	// path is the target as the user named it, for messages.
	path string
	// mode is the existing file's permission bits (0644 for a new file).
	mode fs.FileMode
	// exists is set when a regular file is there already.
	exists bool
}

func resolveInRoot(root, path string) (*rootTarget, error) {
	rootAbs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("write %s: module root: %w", path, err)
	}
	rootReal := rootAbs
	if r, err := filepath.EvalSymlinks(rootAbs); err == nil {
		rootReal = r
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	rel, ok := relInRoot(rootAbs, rootReal, abs)
	if !ok {
		return nil, fmt.Errorf("%s: %w %s", path, ErrOutsideRoot, rootAbs)
	}
	r, err := os.OpenRoot(rootReal)
	if err != nil {
		return nil, fmt.Errorf("write %s: open module root: %w", path, err)
	}
	defer r.Close()
	for hop := 0; ; hop++ {
		if hop > maxLinkHops {
			return nil, fmt.Errorf("write %s: too many levels of symbolic links", path)
		}
		dirRel, name := filepath.Split(rel)
		if name == "" || name == "." || name == ".." {
			return nil, fmt.Errorf("write %s: not a file name", path)
		}
		dirRel = filepath.Clean(dirRel)
		dir, dirReal, err := openDirInRoot(r, rootReal, dirRel)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		fi, err := dir.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return &rootTarget{dir: dir, name: name, path: path, mode: 0o644}, nil
		case err != nil:
			dir.Close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		case fi.Mode().IsRegular():
			return &rootTarget{dir: dir, name: name, path: path, mode: fi.Mode().Perm(), exists: true}, nil
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := dir.Readlink(name)
			dir.Close()
			if err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
			next := link
			if !filepath.IsAbs(next) {
				next = filepath.Join(dirReal, next)
			}
			if rel, ok = relInRoot(rootAbs, rootReal, filepath.Clean(next)); !ok {
				return nil, fmt.Errorf("%s is a symbolic link to %s: %w %s", path, link, ErrOutsideRoot, rootAbs)
			}
		default:
			dir.Close()
			return nil, fmt.Errorf("write %s: not a regular file (%s)", path, fi.Mode().Type())
		}
	}
}

// relInRoot returns abs relative to the root, which it may name by its
// given or its real (symlink-free) path; ok is false outside the root.
func relInRoot(rootAbs, rootReal, abs string) (string, bool) {
	for _, root := range []string{rootAbs, rootReal} {
		if IsWithin(root, abs) {
			rel, err := filepath.Rel(root, abs)
			return rel, err == nil
		}
	}
	return "", false
}

// openDirInRoot opens (creating it if missing) the directory dirRel of r.
// os.Root refuses absolute symbolic links even when they point back inside
// the root; such a directory is retried once under its real path, which
// must itself lie inside the root. It also returns the directory's real
// path, against which a relative link in it resolves.
func openDirInRoot(r *os.Root, rootReal, dirRel string) (*os.Root, string, error) {
	if err := r.MkdirAll(dirRel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		real, rerr := filepath.EvalSymlinks(filepath.Join(rootReal, dirRel))
		if rerr != nil && isEscape(err) {
			return nil, "", fmt.Errorf("directory %s leads out of the root (%w): %w %s", dirRel, err, ErrOutsideRoot, rootReal)
		}
		if rerr != nil {
			return nil, "", fmt.Errorf("create directory %s: %w", dirRel, err)
		}
		if !IsWithin(rootReal, real) {
			return nil, "", fmt.Errorf("directory %s resolves to %s: %w %s", dirRel, real, ErrOutsideRoot, rootReal)
		}
		dirRel, _ = filepath.Rel(rootReal, real)
	}
	dir, err := r.OpenRoot(dirRel)
	if err != nil {
		real, rerr := filepath.EvalSymlinks(filepath.Join(rootReal, dirRel))
		if rerr == nil && !IsWithin(rootReal, real) {
			return nil, "", fmt.Errorf("directory %s resolves to %s: %w %s", dirRel, real, ErrOutsideRoot, rootReal)
		}
		return nil, "", fmt.Errorf("open directory %s: %w", dirRel, err)
	}
	real := filepath.Join(rootReal, dirRel)
	if r, err := filepath.EvalSymlinks(real); err == nil && IsWithin(rootReal, r) {
		real = r
	}
	return dir, real, nil
}

// write replaces the target with data unless it already holds exactly that.
func (t *rootTarget) write(data []byte) (bool, error) {
	t.removeLeftovers()
	if t.exists {
		if f, err := t.dir.OpenFile(t.name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0); err == nil {
			old, rerr := readBounded(f, int64(len(data))+1)
			f.Close()
			if rerr == nil && bytes.Equal(old, data) {
				return false, nil
			}
		}
	}
	tmpName, err := tempName(t.name)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", t.path, err)
	}
	tmp, err := t.dir.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", t.path, err)
	}
	fail := func(err error) (bool, error) {
		tmp.Close()
		t.dir.Remove(tmpName)
		return false, fmt.Errorf("write %s: %w", t.path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(t.mode); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		t.dir.Remove(tmpName)
		return false, fmt.Errorf("write %s: %w", t.path, err)
	}
	if err := t.dir.Rename(tmpName, t.name); err != nil {
		t.dir.Remove(tmpName)
		return false, fmt.Errorf("write %s: %w", t.path, err)
	}
	return true, nil
}

// tempSep marks cmdt's temporary files: ".NAME" + tempSep + "PID-RANDOM".
// The PID lets a later update or check remove the leftovers of a process
// that died mid-write (kill -9) without touching a live writer's file.
const tempSep = ".cmdt-tmp-"

func tempName(name string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "." + name + tempSep + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]), nil
}

// tempOwner returns the PID in a cmdt temporary file name.
func tempOwner(name string) (int, bool) {
	i := strings.LastIndex(name, tempSep)
	if !strings.HasPrefix(name, ".") || i < 0 {
		return 0, false
	}
	rest := name[i+len(tempSep):]
	j := strings.IndexByte(rest, '-')
	if j <= 0 {
		return 0, false
	}
	pid, err := strconv.Atoi(rest[:j])
	return pid, err == nil && pid > 0
}

// CheckWriteInRoot reports the error WriteInRoot would give for path
// before anything is written, so that a plan with several files is
// refused whole.
func CheckWriteInRoot(root, path string) error {
	t, err := resolveInRoot(root, path)
	if err != nil {
		return err
	}
	return t.dir.Close()
}

// isEscape reports os.Root's refusal of a path that leaves it. The os
// package does not export that error, so its fixed text is matched.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// RemoveLeftovers removes from dir the temporary files of cmdt writers
// that died mid-write (kill -9 during an update or shell recording):
// files named as tempName names them whose PID no longer runs. A live
// writer's file is left alone. It returns the paths removed; check and
// update call it for the directories a transcript writes into.
func RemoveLeftovers(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		pid, ok := tempOwner(name)
		if !ok || !e.Type().IsRegular() || processRuns(pid) {
			continue
		}
		p := filepath.Join(dir, name)
		if os.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// processRuns reports whether a process with this PID exists (a reused
// PID errs on the side of keeping the file).
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// WriteDirs returns the directories an update of the transcript at path
// writes into: its own and those of its "1<"/"2<" files, taken relative
// to it (a `cd` before them is not followed; their leftovers are removed
// when those files are next written).
func WriteDirs(path string, f *parser.File) []string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	dir := filepath.Dir(abs)
	dirs := []string{dir}
	seen := map[string]bool{dir: true}
	if f == nil {
		return dirs
	}
	for _, b := range f.Blocks {
		for _, e := range b.Expect {
			if !e.File {
				continue
			}
			d := filepath.Dir(absIn(dir, e.Text))
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// removeLeftovers removes dead writers' temporary files of this target.
func (t *rootTarget) removeLeftovers() {
	prefix := "." + t.name + tempSep
	f, err := t.dir.Open(".")
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if pid, ok := tempOwner(n); ok && !processRuns(pid) {
			t.dir.Remove(n)
		}
	}
}
