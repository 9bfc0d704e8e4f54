package engine

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"mvdan.cc/sh/v3/interp"
)

// The interpreter does some file system work itself, in this process,
// where no tracer sees it: `test -e conf` and `[ -s f ]` stat, `[ -x f ]`
// checks access, `echo g/*.txt` lists g to expand the glob, and
// `command -v tool` searches PATH. Each of these decides what the
// transcript prints, so each is an observed input (OriginShell) — without
// them a result stayed cached after conf appeared, g gained a file or tool
// was installed.

// statHandler records the paths the shell stats.
func (s *session) statHandler(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
	fi, err := interp.DefaultStatHandler()(ctx, name, follow)
	s.shellLooked(ctx, name, err == nil)
	return fi, err
}

// accessHandler records the paths the shell checks access to.
func (s *session) accessHandler(ctx context.Context, name string, mode interp.AccessMode) error {
	err := interp.DefaultAccessHandler()(ctx, name, mode)
	exists := err == nil || !isNotExist(err)
	s.shellLooked(ctx, name, exists)
	return err
}

func (s *session) shellLooked(ctx context.Context, name string, exists bool) {
	abs := absIn(interp.HandlerCtx(ctx).Dir, name)
	if !IsWithin(s.obs.root, abs) {
		// Outside the module root, as for listings: mostly `cd` into a
		// temp dir the run made (untraced, the engine cannot know), whose
		// later absence would re-run the transcript every time.
		return
	}
	s.obs.add(Input{Kind: InputFile, Origin: OriginShell, Path: abs, Raw: name, Exists: exists})
}

// readDirHandler records the directories the shell lists to expand globs.
func (s *session) readDirHandler(ctx context.Context, dir string) ([]fs.DirEntry, error) {
	ents, err := interp.DefaultReadDirHandler2()(ctx, dir)
	abs := absIn(interp.HandlerCtx(ctx).Dir, dir)
	s.obs.add(Input{Kind: InputGlob, Origin: OriginShell, Path: filepath.Join(abs, "*"), Raw: dir, Exists: err == nil})
	return ents, err
}

// callHandler records the programs `command -v`, `command -V` and `type`
// look up on PATH, found or not.
func (s *session) callHandler(ctx context.Context, args []string) ([]string, error) {
	var names []string
	switch {
	case len(args) > 2 && args[0] == "command" && (args[1] == "-v" || args[1] == "-V"):
		names = args[2:]
	case len(args) > 1 && args[0] == "type":
		names = args[1:]
	}
	hc := interp.HandlerCtx(ctx)
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			continue
		}
		in := Input{Kind: InputExe, Origin: OriginShell, Name: n, Raw: n}
		if path, err := interp.LookPathDir(hc.Dir, hc.Env, n); err == nil {
			in.Path, in.Exists = absIn(hc.Dir, path), true
		} else if strings.ContainsRune(n, '/') {
			in.Path = absIn(hc.Dir, n)
		} else {
			in.Path = "PATH:" + n
		}
		s.obs.add(in)
	}
	return args, nil
}

// isNotExist reports whether err says the path is absent (ENOENT, or a
// component that is no directory), as opposed to being there but denied.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
