package cmdtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An Option configures how a transcript runs.
type Option func(*config)

// config is the result of applying Options.
type config struct {
	dir     string
	timeout time.Duration
	// env holds overrides in order: "NAME=value" sets, "NAME" unsets.
	env []string
	// pathDirs are prepended to PATH, in order.
	pathDirs []string
	// trace is the tracing setting: "auto" (default), "on" or "off".
	trace string
	// nonFatal reports problems that keep a transcript from running
	// (syntax errors, an unreadable reader) with Errorf instead of Fatalf:
	// the origin tool's Check and CheckString return false and let the
	// test go on.
	nonFatal bool
}

// nonFatal is the origin tool's error handling, for Check and CheckString.
var nonFatal Option = func(c *config) { c.nonFatal = true }

// fail reports a problem that keeps the transcript from running.
func (c *config) fail(t testing.TB, format string, args ...any) {
	t.Helper()
	if c.nonFatal {
		t.Errorf(format, args...)
		return
	}
	t.Fatalf(format, args...)
}

func newConfig(opts []Option) *config {
	c := &config{trace: "auto"}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithEnv adds or overrides environment variables of the session:
// each kv is "NAME=value", or a bare "NAME" to unset NAME. Everything else
// is inherited from the test process.
//
// A variable set here gets its value from the test itself: from its
// source, which is part of the test binary go test keys its cache on, or
// from whatever the test read to compute it (os.Getenv, a file), which go
// test records on its own. So cmdtest does not report reading it from the
// process environment: changing the outer value of an overridden variable
// does not re-run the test, because the transcript never sees that value.
func WithEnv(kv ...string) Option {
	return func(c *config) { c.env = append(c.env, kv...) }
}

// WithPath puts dirs (made absolute) at the front of the session's PATH,
// ahead of the PATH inherited from the test process (or set by WithEnv).
// It is the way to run a tool the test built itself, by name:
//
//	bin := t.TempDir()
//	// go build -o bin/mytool . ...
//	cmdtest.CheckDir(t, "testdata", cmdtest.WithPath(bin))
//
// Programs found in these directories are not warned about when they lie
// outside the module root: the test chose them, and if it built them from
// packages the test binary links (its own main package, say), a change to
// their sources changes the test binary and re-runs the test. A program
// built from anything else belongs under the module root.
func WithPath(dirs ...string) Option {
	return func(c *config) {
		for _, d := range dirs {
			if abs, err := filepath.Abs(d); err == nil {
				d = abs
			}
			c.pathDirs = append(c.pathDirs, d)
		}
	}
}

// WithDir starts the session in dir instead of the transcript's own
// directory ([CheckFile], [CheckDir]) or the test's working directory
// ([CheckReader], [CheckText]).
func WithDir(dir string) Option {
	return func(c *config) { c.dir = dir }
}

// WithTrace sets whether the files subprocesses read are observed (Linux,
// engine/trace): "auto" (the default: where supported), "on" (fail where
// unsupported) or "off". Traced files inside the module root are stat'ed
// like declared ones, so go test re-runs when a fixture a subprocess read
// changes, without a declaration.
func WithTrace(setting string) Option {
	return func(c *config) { c.trace = setting }
}

// WithTimeout bounds each command block (not the whole transcript); a
// command that runs longer is killed and reported. The default is
// engine.DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// overridden reports whether the session's value of name comes from the
// options rather than from the test process's environment.
func (c *config) overridden(name string) bool {
	for _, kv := range c.env {
		if n, _, _ := strings.Cut(kv, "="); n == name {
			return true
		}
	}
	return false
}

// environ builds the session's environment: the process environment with
// the overrides applied, then PATH extended. It returns nil (inherit the
// process environment unchanged) when there is nothing to apply.
func (c *config) environ() []string {
	if len(c.env) == 0 && len(c.pathDirs) == 0 {
		return nil
	}
	vars := map[string]string{}
	var order []string
	set := func(name, value string) {
		if _, ok := vars[name]; !ok {
			order = append(order, name)
		}
		vars[name] = value
	}
	for _, kv := range os.Environ() {
		if name, value, ok := strings.Cut(kv, "="); ok && name != "" {
			set(name, value)
		}
	}
	for _, kv := range c.env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			delete(vars, name)
			continue
		}
		set(name, value)
	}
	if len(c.pathDirs) > 0 {
		path := strings.Join(c.pathDirs, string(os.PathListSeparator))
		if old, ok := vars["PATH"]; ok && old != "" {
			path += string(os.PathListSeparator) + old
		}
		set("PATH", path)
	}
	env := make([]string, 0, len(order))
	for _, name := range order {
		if value, ok := vars[name]; ok {
			env = append(env, name+"="+value)
		}
	}
	return env
}

// sessionPath is the PATH the session starts with, for re-resolving a
// program the run could not find.
func (c *config) sessionPath() string {
	env := c.environ()
	if env == nil {
		return os.Getenv("PATH")
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}
