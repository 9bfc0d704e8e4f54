package trace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/cmdt-dev/cmdt/engine"
)

// Launcher implements engine.Launcher: it runs each program the shell
// executes under the tracer and reports the files it read, stat'ed or
// executed as observed inputs (Origin traced), and the files it wrote as
// outputs.
type Launcher struct {
	Options Options
}

// NewLauncher returns the launcher for a --trace setting: "off" (nil),
// "on" (an error when tracing is unavailable here) or "auto" (tracing
// where available, else nil and the reason in why).
func NewLauncher(setting string, ignoreDirs []string) (l engine.Launcher, why error, err error) {
	switch setting {
	case "off":
		return nil, errors.New("tracing is off"), nil
	case "auto", "on", "":
		if err := Available(); err != nil {
			if setting == "on" {
				return nil, err, fmt.Errorf("--trace=on: %w", err)
			}
			return nil, err, nil
		}
		return &Launcher{Options: Options{IgnoreDirs: ignoreDirs}}, nil, nil
	}
	return nil, nil, fmt.Errorf("--trace must be auto, on or off, not %q", setting)
}

// Launch implements engine.Launcher.
func (l *Launcher) Launch(cmd *exec.Cmd, obs engine.Observer) (func() error, error) {
	p, err := Start(cmd, l.Options)
	if errors.Is(err, ErrUnavailable) {
		// Denied for this program (already traced, a container rule):
		// run it untraced rather than fail the transcript.
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Wait, nil
	}
	if err != nil {
		return nil, err
	}
	return func() error {
		rep, err := p.Wait()
		if rep != nil {
			report(rep.Accesses, obs)
		}
		return err
	}, nil
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
				if a.Op == OpRead && !isDir(p) {
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
					Exists: a.Exists, Via: a.Program})
			}
		}
	}
}

// isDir reports whether p is a directory now.
func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
