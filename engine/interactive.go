package engine

import (
	"context"
	"time"

	"github.com/cmdt-dev/cmdt/parser"
)

// Session is a shell session driven one command at a time, for recording
// transcripts interactively (`transcript shell`). Run uses the same
// machinery for whole files.
type Session struct {
	s       *session
	timeout time.Duration
	substs  *Substitutions
}

// StartSession starts a session in opts.Dir (default: the working
// directory).
func StartSession(opts Options) (*Session, error) {
	opts, err := opts.withDefaults(&parser.File{})
	if err != nil {
		return nil, err
	}
	s, err := newSession(opts, nil)
	if err != nil {
		return nil, err
	}
	// Recording writes the built-in substitutions as update does.
	return &Session{s: s, timeout: opts.Timeout, substs: builtinSubstitutions(opts.ModuleRoot, opts.Dir, opts.Env)}, nil
}

// Exec runs one command's shell text (newlines allowed) and returns what
// it printed and its status; its Substs are the built-in substitutions,
// for OutputLines. Exited reports whether it ran `exit`.
func (s *Session) Exec(ctx context.Context, text string) (cr *CommandResult, exited bool) {
	lines := Lines(text)
	src := "$ " + lines[0] + "\n"
	for _, l := range lines[1:] {
		src += "> " + l + "\n"
	}
	f := parser.Parse("", []byte(src))
	cr = s.s.runBlock(ctx, f.Blocks[0], s.timeout)
	cr.Substs = s.substs
	return cr, s.s.runner.Exited()
}

// Dir returns the session's current directory.
func (s *Session) Dir() string { return s.s.runner.Dir }

// Close releases the session's resources.
func (s *Session) Close() { s.s.close() }
