package engine

import (
	"sort"
	"strings"

	"github.com/cmdt-dev/cmdt/parser"
)

// EnvMode says which inherited variables a transcript's programs see and
// which of them a cached result is keyed on (docs/caching.md,
// "Environment"). The shell's own expansions ($NAME) and `% dep env`
// declarations are keyed in every mode.
type EnvMode string

const (
	// EnvInherit (the default, ""): programs see the inherited
	// environment minus the session-volatile names (VolatileEnv), and a
	// cached result is keyed on every variable they see — so a variable
	// read only by a subprocess (`sh -c 'echo $BAR'`) re-runs the
	// transcript when it changes. Results move between machines only when
	// their environments agree.
	EnvInherit EnvMode = ""
	// EnvDeclared: programs see only the portable names (PortableEnv,
	// passed but not keyed: they locate things, they are not test inputs)
	// and the variables the transcript declares with `% dep env`. Nothing
	// else of a personal shell or a CI runner reaches them, so a result
	// recorded in CI is a hit on a developer machine: the mode for sharing
	// results through a remote cache.
	EnvDeclared EnvMode = "declared"
)

// ParseEnvMode parses a --env setting: "inherit" (or "") or "declared".
func ParseEnvMode(s string) (EnvMode, bool) {
	switch s {
	case "", "inherit":
		return EnvInherit, true
	case "declared":
		return EnvDeclared, true
	}
	return "", false
}

// String names the mode as --env spells it.
func (m EnvMode) String() string {
	if m == EnvInherit {
		return "inherit"
	}
	return string(m)
}

// volatileEnv are variables that identify a terminal session, a login or
// the tool's own configuration, not an input of a test: they change from
// one window to the next. Programs never see them in EnvInherit mode, and
// they are not keyed.
var volatileEnv = map[string]bool{
	"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true, "COLUMNS": true, "LINES": true,
	"TERM_SESSION_ID": true, "WINDOWID": true, "TMUX": true, "TMUX_PANE": true, "STY": true,
	"SSH_CLIENT": true, "SSH_CONNECTION": true, "SSH_TTY": true, "SSH_AUTH_SOCK": true, "SSH_AGENT_PID": true,
	"GPG_AGENT_INFO": true, "GPG_TTY": true, "DBUS_SESSION_BUS_ADDRESS": true,
	"XDG_SESSION_ID": true, "XDG_SESSION_CLASS": true, "XDG_SESSION_TYPE": true, "XDG_VTNR": true, "XDG_SEAT": true,
	"INVOCATION_ID": true, "JOURNAL_STREAM": true, "MANAGERPID": true, "SYSTEMD_EXEC_PID": true,
	"KITTY_WINDOW_ID": true, "KITTY_PID": true, "ALACRITTY_WINDOW_ID": true, "WEZTERM_PANE": true,
	"TERM_PROGRAM_VERSION": true, "GIT_ASKPASS": true,
}

// volatilePrefixes extend volatileEnv: editor terminals' per-window
// handles and the tool's own settings (among them secrets:
// CMDT_REMOTE_CACHE_HEADERS, CMDT_CACHE_ENV_KEY).
var volatilePrefixes = []string{"VSCODE_", "CMDT_"}

// IsVolatileEnv reports whether a variable is session-volatile: never
// passed to a transcript's programs and never part of a cache key.
func IsVolatileEnv(name string) bool {
	if volatileEnv[name] {
		return true
	}
	for _, p := range volatilePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// portableEnv are the variables EnvDeclared passes without keying: where
// the programs, the home directory, the temp directory and the Go caches
// are, and the locale and terminal type. They differ between machines
// without being what a test checks; a transcript whose output prints one
// of them is not portable (a documented hazard of EnvDeclared).
var portableEnv = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "TMPDIR": true,
	"LANG": true, "LANGUAGE": true, "TZ": true, "TERM": true,
	"GOCACHE": true, "GOPATH": true, "GOMODCACHE": true, "GOROOT": true,
	"XDG_CACHE_HOME": true, "XDG_CONFIG_HOME": true, "XDG_DATA_HOME": true, "XDG_RUNTIME_DIR": true,
}

// IsPortableEnv reports whether EnvDeclared passes a variable unkeyed.
func IsPortableEnv(name string) bool {
	return portableEnv[name] || strings.HasPrefix(name, "LC_")
}

// ProgramEnv returns the environment a transcript's session starts with
// in mode, from the inherited one: minus the volatile names (EnvInherit),
// or only the portable names and those f declares with a literal
// `% dep env NAME` (EnvDeclared; env entries of a depfile are not known
// before the run, so a depfile cannot let a variable through).
func ProgramEnv(inherited []string, mode EnvMode, f *parser.File) []string {
	declared := map[string]bool{}
	if mode == EnvDeclared && f != nil {
		for _, l := range f.Lines {
			if l.Kind != parser.KindDirective || l.Directive == nil {
				continue
			}
			for _, d := range l.Directive.Deps {
				if d.Kind == parser.DepEnv && d.Literal {
					declared[d.Value] = true
				}
			}
		}
	}
	out := make([]string, 0, len(inherited))
	for _, kv := range inherited {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || IsVolatileEnv(name) {
			continue
		}
		if mode == EnvDeclared && !IsPortableEnv(name) && !declared[name] {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// KeyedEnv returns the sorted NAME=value pairs of env a cached result is
// keyed on in EnvInherit mode: every variable but the volatile ones, the
// last assignment of a name winning as in exec.
func KeyedEnv(env []string) []string {
	last := make(map[string]string, len(env))
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if ok && !IsVolatileEnv(name) {
			last[name] = value
		}
	}
	out := make([]string, 0, len(last))
	for name, value := range last {
		out = append(out, name+"="+value)
	}
	sort.Strings(out)
	return out
}
