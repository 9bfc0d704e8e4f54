package trace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cmdt-dev/cmdt/engine"
)

// Launcher implements engine.Launcher: it runs each program the shell
// executes under a tracer and reports the files it read, stat'ed or
// executed as observed inputs (Origin traced), and the files it wrote as
// outputs.
//
// With --trace=auto the backend is chosen when the first program runs,
// not before: a check that runs no program probes nothing.
type Launcher struct {
	Options Options
	// Note, if set, receives the one line that says why auto tracing fell
	// back from eBPF (to ptrace, or to running untraced), when it does.
	Note func(line string)

	setting   string
	backend   func() Backend
	decided   atomic.Bool // backend has returned
	loading   sync.Once   // auto: the first load of the eBPF programs, in the background
	reloading atomic.Bool // auto: a load after they were unloaded for being idle, in the background
}

// Backend says which tracer a --trace setting uses here, and why.
type Backend struct {
	// Name is "ebpf", "ptrace" (ptrace with the seccomp filter),
	// "unotify" (seccomp user notification) or "off".
	Name string
	// Why explains the choice, with the reason each better backend failed.
	Why string
	// Fallback is set when auto wanted eBPF and could not have it.
	Fallback bool
}

func (b Backend) String() string { return b.Name + ": " + b.Why }

// Settings lists the accepted --trace values.
const Settings = "auto, ebpf, ptrace, unotify, on or off"

// SelectBackend decides, now, which backend setting gives here: "auto"
// (eBPF where this process may load BPF programs and they load, else
// ptrace where it works, else seccomp user notification where it works,
// else off), "on" (the same, an error if none
// works), "ebpf", "ptrace" or "unotify" (that one or an error), "off".
// Deciding on
// eBPF loads the programs (once per process); on ptrace, runs the probe.
func SelectBackend(setting string) (Backend, error) {
	switch setting {
	case "off":
		return Backend{Name: "off", Why: "--trace=off"}, nil
	case "ebpf":
		if err := AvailableMode(ModeEBPF); err != nil {
			return Backend{}, fmt.Errorf("--trace=ebpf: %w", err)
		}
		return Backend{Name: "ebpf", Why: "--trace=ebpf; " + bpfWho()}, nil
	case "ptrace":
		if err := Available(); err != nil {
			return Backend{}, fmt.Errorf("--trace=ptrace: %w", err)
		}
		return Backend{Name: "ptrace", Why: "--trace=ptrace"}, nil
	case "unotify":
		if err := AvailableMode(ModeUnotify); err != nil {
			return Backend{}, fmt.Errorf("--trace=unotify: %w", err)
		}
		return Backend{Name: "unotify", Why: "--trace=unotify"}, nil
	case "auto", "on", "":
	default:
		return Backend{}, fmt.Errorf("--trace must be %s, not %q", Settings, setting)
	}
	ebpfErr := AvailableMode(ModeEBPF)
	if ebpfErr == nil {
		return Backend{Name: "ebpf", Why: bpfWho()}, nil
	}
	ptraceErr := ptraceAvailable()
	if ptraceErr == nil {
		return Backend{Name: "ptrace", Fallback: true, Why: fmt.Sprintf("ptrace+seccomp, since %v", ebpfErr)}, nil
	}
	// Where ptrace is denied (Yama's ptrace_scope 2 for users without
	// CAP_SYS_PTRACE, a container's policy), user notification may still
	// work: slower than ptrace+seccomp (docs/tracing.md), so it comes last.
	unotifyErr := AvailableMode(ModeUnotify)
	if unotifyErr == nil {
		return Backend{Name: "unotify", Fallback: true, Why: fmt.Sprintf("seccomp user notification, since %v; %v", ebpfErr, ptraceErr)}, nil
	}
	b := Backend{Name: "off", Fallback: true, Why: fmt.Sprintf("%v; %v; %v", ebpfErr, ptraceErr, unotifyErr)}
	if setting == "on" {
		return Backend{}, fmt.Errorf("--trace=on: no tracer works here: %s", b.Why)
	}
	return b, nil
}

// ptraceAvailable is Available, unless a test says ptrace is denied.
func ptraceAvailable() error {
	if ptraceHook != nil {
		if err := ptraceHook(); err != nil {
			return err
		}
	}
	return Available()
}

// ptraceHook, when set (by tests), runs before the ptrace probe and can
// make it fail, as a system that denies ptrace would.
var ptraceHook func() error

// NewLauncher returns the launcher for a --trace setting (see
// SelectBackend): nil for "off"; for "auto", a launcher that chooses when
// it first launches (why is nil then); for the others, a launcher on the
// backend chosen now, or an error when it is unavailable.
func NewLauncher(setting string, ignoreDirs []string) (l engine.Launcher, why error, err error) {
	opts := Options{IgnoreDirs: ignoreDirs}
	switch setting {
	case "off":
		return nil, errors.New("tracing is off"), nil
	case "auto", "":
		return &Launcher{Options: opts, setting: "auto",
			backend: sync.OnceValue(func() Backend { b, _ := SelectBackend("auto"); return b })}, nil, nil
	}
	b, err := SelectBackend(setting)
	if err != nil {
		return nil, nil, err
	}
	return &Launcher{Options: opts, setting: setting, backend: func() Backend { return b }}, nil, nil
}

// Backend returns the backend the launcher uses (choosing it if it has
// not yet).
func (l *Launcher) Backend() Backend {
	if l.backend == nil { // a Launcher made by hand: ptrace, as Options say
		return Backend{Name: "ptrace", Why: "Options"}
	}
	b := l.backend()
	l.decided.Store(true)
	return b
}

// Name is the backend's name, "ebpf", "ptrace" or "off": what a cache
// manifest records as the way inputs were observed. Before an auto
// launcher has run a program it predicts, without loading or probing
// anything (a check of builtins sets nothing up): "ebpf" where this
// process may load BPF programs, else "ptrace". Both observe the same;
// if the prediction proves wrong and no tracer works, each launch says so
// to the Observer (Unobserved) and the run counts as untraced.
func (l *Launcher) Name() string {
	if l.setting == "auto" && !l.decided.Load() {
		if mayLoadBPF() {
			return "ebpf"
		}
		return "ptrace"
	}
	return l.Backend().Name
}

var noteOnce sync.Once

// whileLoading is the backend auto traces with while the eBPF programs
// load.
var whileLoading = Backend{Name: "ptrace", Why: "ptrace+seccomp while the eBPF programs load"}

// launchBackend is the backend for one launch. Where auto uses (or will
// use) eBPF but the programs are not loaded, they are loaded in the
// background and this program is traced with ptrace meanwhile, if ptrace
// works: loading takes about 10 ms (mostly the kernel's verifier), more
// than most programs a transcript runs, and a check of one program would
// otherwise wait for all of it. That holds for the first programs of a
// process, and again in a long-lived one (the language server, check
// --watch) after the programs were unloaded for being idle. Both backends
// see the same accesses (every trace test runs on both) and the cache
// trusts what any tracer observed alike; a command is traced by one
// backend from start to end.
func (l *Launcher) launchBackend() Backend {
	if l.setting != "auto" || l.backend == nil || bpfLoaded.Load() {
		return l.Backend()
	}
	if l.decided.Load() && l.Backend().Name != "ebpf" {
		// Auto chose another backend for good (not root, eBPF failed):
		// the usual case for a user, decided without a system call.
		return l.Backend()
	}
	// Only as root: for a user who may load BPF programs (CAP_BPF) but is
	// not root, ptrace would run set-user-ID programs without their
	// privileges (no_new_privs), and the first programs of a process would
	// behave otherwise than the rest (docs/tracing.md, Limits).
	if os.Geteuid() != 0 || !mayLoadBPF() {
		return l.Backend()
	}
	if l.decided.Load() {
		// eBPF, unloaded since, for being idle.
		if l.reloading.CompareAndSwap(false, true) {
			go func() {
				_ = ebpfAvailable()
				l.reloading.Store(false)
			}()
		}
	} else {
		l.loading.Do(func() { go l.Backend() })
	}
	if ptraceAvailable() != nil || bpfLoaded.Load() {
		return l.Backend() // waits for the load (or it just ended)
	}
	if l.decided.Load() && l.Backend().Name != "ebpf" {
		return l.Backend() // the load failed meanwhile: Backend says why
	}
	return whileLoading
}

// Launch implements engine.Launcher.
func (l *Launcher) Launch(cmd *exec.Cmd, obs engine.Observer) (func() error, error) {
	b := l.launchBackend()
	if b.Fallback && l.Note != nil {
		noteOnce.Do(func() { l.Note("tracing with " + b.Name + ": " + b.Why) })
	}
	opts := l.Options
	switch b.Name {
	case "off":
		obs.Unobserved(cmd.Path)
		return plainStart(cmd)
	case "ebpf":
		opts.Mode = ModeEBPF
	case "unotify":
		opts.Mode = ModeUnotify
	}
	p, err := Start(cmd, opts)
	if errors.Is(err, ErrUnavailable) {
		// Denied for this program (already traced, a container rule):
		// run it untraced rather than fail the transcript, and say so: the
		// run's result is then an untraced one.
		obs.Unobserved(cmd.Path)
		return plainStart(cmd)
	}
	if err != nil {
		return nil, err
	}
	return func() error {
		rep, err := p.Wait()
		if rep != nil {
			report(rep.Accesses, obs)
			if ao, ok := obs.(engine.AttrObserver); ok {
				for _, a := range rep.Attrs {
					ao.AttrChanged(a)
				}
			}
			if rep.Incomplete != "" {
				obs.Doubt(rep.Incomplete)
			}
		}
		return err
	}, nil
}

func plainStart(cmd *exec.Cmd) (func() error, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd.Wait, nil
}

// report turns a trace into engine observations: every successful write
// is an output; what Classify keeps as inputs is an input.
func report(accesses []Access, obs engine.Observer) {
	for _, a := range accesses {
		if a.Op == OpWrite && a.Exists {
			obs.Output(a.Path)
			if a.Resolved != "" {
				obs.Output(a.Resolved)
			}
		}
	}
	for _, a := range Classify(accesses) {
		paths := []string{a.Path}
		if a.Resolved != "" && a.Resolved != a.Path {
			paths = append(paths, a.Resolved)
		}
		for _, p := range paths {
			switch a.Op {
			case OpWrite:
			case OpExec:
				obs.Input(engine.Input{Kind: engine.InputExe, Origin: engine.OriginTraced, Path: p,
					Name: filepath.Base(p), Exists: a.Exists, Via: a.Program})
			case OpReaddir, OpRead:
				// A path that was absent when read is no listing (and no
				// stat is spent on it: a UTF-8 program's start looks for
				// a dozen locale files that are not there).
				if a.Op == OpRead && (!a.Exists || !isDir(p)) {
					obs.Input(engine.Input{Kind: engine.InputFile, Origin: engine.OriginTraced, Path: p,
						Exists: a.Exists, Via: a.Program})
					continue
				}
				// A listing depends on the set of names in the directory:
				// the matches of dir/* (the engine keeps those inside the
				// module root; listings of system directories are noise).
				// A plain open of a directory is a listing too: Go's
				// os.ReadDir opens without O_DIRECTORY.
				obs.Input(engine.Input{Kind: engine.InputGlob, Origin: engine.OriginTraced,
					Path: filepath.Join(p, "*"), Exists: a.Exists, Via: a.Program})
			default:
				obs.Input(engine.Input{Kind: engine.InputFile, Origin: engine.OriginTraced, Path: p,
					Exists: a.Exists, Via: a.Program, StatOnly: a.Op == OpStat})
			}
		}
	}
}

// isDir reports whether p is a directory now.
func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
