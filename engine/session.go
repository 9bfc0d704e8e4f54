package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// Launcher starts a prepared command and returns a function that waits
// for it. It is the extension point for tracing (engine/trace): the default
// launcher is plain cmd.Start/cmd.Wait. A launcher reports what the
// program read and wrote to the Observer.
type Launcher interface {
	Launch(cmd *exec.Cmd, obs Observer) (wait func() error, err error)
}

// Observer receives what a launched program used and produced.
type Observer interface {
	// Input records something the program read (a file, a program).
	Input(Input)
	// Output records a file the program wrote: it is not an input of the
	// transcript, even if a later command reads it.
	Output(path string)
	// Unobserved says a program ran without being observed (tracing was
	// denied for it): the run saw less than its launcher's mode claims,
	// and its result is recorded as untraced.
	Unobserved(program string)
	// Doubt says the launcher may have missed some of what a program read
	// (events lost by a tracer): the run's result is then not cached
	// (Result.Doubts). It is part of the interface, not an optional one,
	// so a wrapping observer (the LSP's) can never hide it.
	Doubt(reason string)
}

// Untraced is Result.ObservedBy for a run whose programs were not traced.
const Untraced = "untraced"

// Observing is implemented by launchers that observe what programs read:
// Name names the backend ("ptrace", "ebpf"), or "off" (or "") when it
// observes nothing. A result cache never trusts a result recorded by a
// mode that saw less than the current one (see ObservedBy).
type Observing interface {
	Name() string
}

// ObservedBy names how a launcher observes programs: Untraced for nil or
// a launcher whose Name is "off" or "", its backend name, or "traced"
// for a launcher that does not say (a launcher exists to observe).
func ObservedBy(l Launcher) string {
	if l == nil {
		return Untraced
	}
	if o, ok := l.(Observing); ok {
		if n := o.Name(); n != "" && n != "off" {
			return n
		}
		return Untraced
	}
	return "traced"
}

// observer collects the inputs a session uses as it runs. Background jobs
// run on other goroutines, hence the lock.
type observer struct {
	mu       sync.Mutex
	line     int // the command line being run, for Input.Line
	root     string
	inputs   []Input
	written  map[string]bool // paths the run wrote, created or deleted
	envNames map[string]bool
	// toolCaches are directories whose contents are no inputs (outputs.go).
	toolCaches []string
	doubts     []string
	unobserved bool // a program ran untraced (Unobserved)
	attrs      []AttrChange
}

func (o *observer) doubtsSoFar() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.doubts...)
}

// Doubt implements Observer.
func (o *observer) Doubt(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range o.doubts {
		if d == reason {
			return
		}
	}
	o.doubts = append(o.doubts, reason)
}

func (o *observer) add(in Input) {
	if in.IsListing() && IsWithin(o.root, in.ListingDir()) {
		// Keyed on the names the directory holds now, as the command
		// that listed it ends (outputs.go).
		in.Matches, in.Exists = ListNames(in.ListingDir())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if in.Line == 0 {
		in.Line = o.line
	}
	if in.Kind == InputFile && o.written[in.Path] {
		return // the transcript made it: an output, not an input
	}
	if in.Path != "" && in.Kind != InputEnv {
		in.InRoot = IsWithin(o.root, in.Path)
	}
	if in.IsListing() && !in.InRoot {
		return // a program listing a system directory: noise, not an input
	}
	o.inputs = append(o.inputs, in)
}

// Input implements Observer.
func (o *observer) Input(in Input) { o.add(in) }

// Output implements Observer.
func (o *observer) Output(path string) { o.wrote(path) }

// Unobserved implements Observer.
func (o *observer) Unobserved(string) {
	o.mu.Lock()
	o.unobserved = true
	o.mu.Unlock()
}

func (o *observer) wrote(path string) {
	o.mu.Lock()
	o.written[path] = true
	o.mu.Unlock()
}

// shellManaged names variables the interpreter maintains itself; reading
// them is not reading an input.
var shellManaged = map[string]bool{"PWD": true, "OLDPWD": true, "IFS": true, "OPTIND": true, "OPTARG": true,
	"PPID": true, "RANDOM": true, "LINENO": true, "SECONDS": true, "UID": true, "EUID": true, "GID": true,
	"DIRSTACK": true, "BASH_REMATCH": true, "PIPESTATUS": true}

func (o *observer) env(name string, set bool) {
	if shellManaged[name] {
		return
	}
	o.mu.Lock()
	seen := o.envNames[name]
	o.envNames[name] = true
	o.mu.Unlock()
	if !seen {
		o.add(Input{Kind: InputEnv, Origin: OriginEnvLookup, Name: name, Raw: "$" + name, Exists: set, InRoot: true})
	}
}

// recordingEnviron is the session's parent environment. The interpreter
// overlays variables the transcript sets, so only lookups that fall through
// to the inherited environment arrive here: exactly the env inputs.
type recordingEnviron struct {
	parent expand.Environ
	// vars is parent's Each, in its order, taken once: the interpreter
	// walks the whole environment twice per external command (after each
	// Run, and to build the program's), and a list environment splits
	// every "name=value" again each time.
	vars []namedVar
	obs  *observer
	on   bool // off while the interpreter initialises itself
}

type namedVar struct {
	name string
	vr   expand.Variable
}

// newRecordingEnviron is env (as "name=value" pairs, the last of a name
// winning) as the session's parent environment.
func newRecordingEnviron(env []string, obs *observer) *recordingEnviron {
	e := &recordingEnviron{parent: expand.ListEnviron(env...), obs: obs}
	e.parent.Each(func(name string, vr expand.Variable) bool {
		e.vars = append(e.vars, namedVar{name, vr})
		return true
	})
	return e
}

func (e *recordingEnviron) Get(name string) expand.Variable {
	v := e.parent.Get(name)
	if e.on {
		// Assigning a variable the transcript never set also looks it up
		// here first (the interpreter reads the previous value). Recording
		// that is conservative: it can cost a needless re-run, never a
		// false cache hit (`echo ${X:-d}; X=1` really reads X).
		e.obs.env(name, v.IsSet())
	}
	return v
}

func (e *recordingEnviron) Each(f func(string, expand.Variable) bool) {
	for _, v := range e.vars {
		if !f(v.name, v.vr) {
			return
		}
	}
}

// execHandler runs external programs: each in its own process group, so a
// timeout or cancellation kills the whole tree, and records the resolved
// program as an input.
func (s *session) execHandler(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		path, err := interp.LookPathDir(hc.Dir, hc.Env, args[0])
		if err != nil {
			missing := Input{Kind: InputExe, Origin: OriginExec, Name: args[0], Path: absIn(hc.Dir, args[0])}
			if filepath.Base(args[0]) == args[0] {
				missing.Path = "PATH:" + args[0]
			}
			s.obs.add(missing)
			fmt.Fprintln(hc.Stderr, err)
			return interp.ExitStatus(127)
		}
		path = absIn(hc.Dir, path)
		s.obs.add(Input{Kind: InputExe, Origin: OriginExec, Name: args[0], Path: path, Exists: true})
		cmd := &exec.Cmd{
			Path:        path,
			Args:        args,
			Env:         execEnv(hc.Env),
			Dir:         hc.Dir,
			Stdin:       stdinOf(hc.Stdin),
			Stdout:      s.programOutput(hc.Stdout),
			Stderr:      s.programOutput(hc.Stderr),
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
			// Output normally goes to files, so Wait does not wait on pipes;
			// inside $(...) it is a pipe, and an orphan holding it must not
			// hang the session.
			WaitDelay: time.Second,
		}
		if s.reapToken == 0 {
			s.reapToken = reaperStart()
		}
		wait, err := s.start(cmd)
		for delay := time.Millisecond; errors.Is(err, syscall.ETXTBSY) && delay < 300*time.Millisecond; delay *= 2 {
			time.Sleep(delay)
			cmd = cloneCmd(cmd)
			wait, err = s.start(cmd)
		}
		if errors.Is(err, syscall.ENOEXEC) {
			// A script without #!: the default handler runs it as a shell script.
			return next(ctx, args)
		}
		if err != nil {
			fmt.Fprintf(hc.Stderr, "%s: %v\n", args[0], err)
			return interp.ExitStatus(126)
		}
		pgid := cmd.Process.Pid
		reaperAddGroup(pgid)
		// On a timeout or cancellation, the whole tree, including what
		// left the group. Not once the command has ended: the block's end
		// cancels ctx too, and the tree is gone (a /proc scan of the whole
		// machine for nothing; TestOneProcessScanPerSession).
		stop := context.AfterFunc(ctx, func() { killCommandTree(pgid, pgid) })
		err = wait()
		stop()
		// Leave no orphans: whatever the command left in its group dies with it.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var exitErr *exec.ExitError
		switch {
		case err == nil, errors.Is(err, exec.ErrWaitDelay):
			return nil
		case errors.As(err, &exitErr):
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return interp.ExitStatus(128 + int(ws.Signal()))
			}
			return interp.ExitStatus(exitErr.ExitCode())
		default:
			fmt.Fprintf(hc.Stderr, "%s: %v\n", args[0], err)
			return interp.ExitStatus(1)
		}
	}
}

// programOutput is what a program writes to for the shell's writer w:
// the session's output file itself when w is one of its streams.
func (s *session) programOutput(w io.Writer) io.Writer {
	if o, ok := w.(*outStream); ok {
		return o.handOff()
	}
	return w
}

func (s *session) start(cmd *exec.Cmd) (func() error, error) {
	if s.launcher != nil {
		return s.launcher.Launch(cmd, s.obs)
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd.Wait, nil
}

// devNull is /dev/null, opened once for the process: a command whose
// standard input is the session's (none) reads it. Left to os/exec, every
// command would open and close it (and grow a goroutine's stack for it).
var devNull = sync.OnceValue(func() *os.File {
	f, _ := os.Open(os.DevNull)
	return f // nil if it cannot be opened: os/exec then tries itself
})

// stdinOf is what a program reads for the shell's standard input r.
func stdinOf(r io.Reader) io.Reader {
	if r != nil {
		return r
	}
	if f := devNull(); f != nil {
		return f
	}
	return nil
}

func cloneCmd(c *exec.Cmd) *exec.Cmd {
	return &exec.Cmd{Path: c.Path, Args: c.Args, Env: c.Env, Dir: c.Dir, Stdin: c.Stdin, Stdout: c.Stdout,
		Stderr: c.Stderr, SysProcAttr: c.SysProcAttr, WaitDelay: c.WaitDelay}
}

// execEnv lists the exported variables, as the shell passes them to a child.
func execEnv(env expand.Environ) []string {
	list := make([]string, 0, 64)
	env.Each(func(name string, vr expand.Variable) bool {
		if vr.Exported && vr.IsSet() && vr.Kind == expand.String {
			list = append(list, name+"="+vr.Str)
		}
		return true
	})
	return list
}

// openHandler opens redirection targets in-process and records them:
// a file read is an input unless the transcript wrote it first.
func (s *session) openHandler(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	abs := absIn(hc.Dir, path)
	f, err := interp.DefaultOpenHandler()(ctx, path, flag, perm)
	if abs == os.DevNull {
		return f, err
	}
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE) != 0 {
		s.obs.wrote(abs)
	} else {
		s.obs.add(Input{Kind: InputFile, Origin: OriginRedirect, Path: abs, Raw: path, Exists: err == nil})
	}
	return f, err
}
