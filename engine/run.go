package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/parser"
)

// DefaultTimeout bounds each command unless Options.Timeout says otherwise.
const DefaultTimeout = 10 * time.Minute

// Options configure a run.
type Options struct {
	// Dir is where the session starts. Default: the transcript's directory
	// (from the File's name), else the process's working directory.
	Dir string
	// Env is the session's initial environment ("NAME=value"); nil means
	// the process environment.
	Env []string
	// Timeout bounds each command block; 0 means DefaultTimeout.
	Timeout time.Duration
	// ModuleRoot marks inputs inside/outside the root; default
	// FindModuleRoot(Dir).
	ModuleRoot string
	// Launcher starts external programs (tracing); nil runs them plainly.
	Launcher Launcher
	// Progress, if set, is called before each command block runs.
	Progress func(done, total int, b *parser.Block)
}

// Result is everything a run produced and used.
type Result struct {
	File *parser.File
	Dir  string // the start directory
	Root string // the module root
	// Commands holds one result per block that ran: every block, unless
	// the run was cancelled. A block that runs `exit` ends with that
	// status and the next one still runs (spec §2), as in the origin tool.
	Commands []*CommandResult
	// Declared holds the resolved declarations, in file order, de-duplicated.
	Declared []Input
	// Observed holds what the run used without a declaration: env lookups,
	// redirect reads, programs, expected-output files, traced files.
	Observed []Input
	// Doubts say why the observed inputs may be incomplete (a tracer lost
	// events): such a result must not be cached.
	Doubts []string
	// Traced holds what traced programs used inside the module root, one
	// entry per input and command line (Observed keeps only the first
	// command): what each command did, for Suggest.
	Traced []Input
	// DeclErrors holds problems found while resolving declarations
	// (unreadable or invalid depfiles); they fail the run.
	DeclErrors parser.ErrorList
	// ObservedBy says how programs were observed: the launcher's backend
	// ("ptrace", "ebpf") or Untraced (no tracing, or a program it could not
	// trace). A result cache never trusts a result recorded by a mode that
	// could see less than the one checking it.
	ObservedBy string
	// Outputs are the absolute paths the run wrote, created, renamed or
	// deleted (shell redirections, traced writes), sorted: not inputs,
	// even where a later command read them.
	Outputs []string
	// AttrChanges are the attribute-only calls (utimensat, chmod, chown)
	// traced programs made, in the order they ended (retimed.go): the
	// result cache accepts an input's change time moved by these alone.
	AttrChanges []AttrChange
	// Start is when the run began; the result cache trusts no input whose
	// change time is later (it may not be what the run saw).
	Start time.Time
	// FSStart is the change time the file system gave a file the run
	// created as it started: Start on the clock file times come from.
	// That clock (the kernel's coarse one) lags time.Now by a tick or
	// more, so the result cache compares input change times with FSStart,
	// as git compares them with its index file's. Zero if unknown.
	FSStart  time.Time
	Duration time.Duration
}

// Passed reports whether every command that ran matched its expectations
// and every declaration resolved.
func (r *Result) Passed() bool {
	if len(r.DeclErrors) > 0 {
		return false
	}
	for _, c := range r.Commands {
		if c.Failure != nil {
			return false
		}
	}
	return true
}

// Failures returns the failed commands in file order.
func (r *Result) Failures() []*CommandResult {
	var out []*CommandResult
	for _, c := range r.Commands {
		if c.Failure != nil {
			out = append(out, c)
		}
	}
	return out
}

// Inputs returns declared and observed inputs together, de-duplicated.
func (r *Result) Inputs() []Input {
	return dedupInputs(append(append([]Input(nil), r.Declared...), r.Observed...))
}

// CommandResult is the outcome of one command block.
type CommandResult struct {
	Block    *parser.Block
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Duration time.Duration
	// Dir is the session's directory after the command, against which its
	// "1<"/"2<" paths resolve.
	Dir      string
	TimedOut bool
	// Failure is nil when the command matched its expectations.
	Failure *Failure
	// Substs are the substitutions its pattern lines were matched under.
	Substs *Substitutions
	// StdoutPath / StderrPath name the file a stream larger than
	// BigOutput was kept in when the command failed; Stdout / Stderr are
	// then nil. Output reads either.
	StdoutPath, StderrPath string
	// big holds the streams larger than BigOutput while they are checked.
	big [3]*outSection
	// wasBig is set when a stream was larger than BigOutput.
	wasBig bool
}

// session is one interpreter plus what it observes.
type session struct {
	runner   *interp.Runner
	env      *recordingEnviron
	obs      *observer
	launcher Launcher
	// stdout and stderr are the shell's output streams, over unlinked
	// temporary files (outstream.go).
	stdout *outStream
	stderr *outStream
	// blocks parses the shell text of command blocks: a transcript's
	// ahead, in chunks (blockparse.go); an interactive session's, which
	// has no transcript, each alone.
	blocks  *blockParser
	clock   blockClock
	fsStart time.Time // see Result.FSStart
	substs  *Substitutions
	// streamBig checks big outputs from disk (Run); a recording session
	// reads everything.
	streamBig bool
	// reapToken is set once the session started a program (reap_linux.go).
	reapToken uint64
}

// Run runs every command of f in one shell session and checks it. It
// returns an error (and no result) only when f has syntax errors or the
// session cannot start; a cancelled ctx returns the partial result and
// ctx's error.
func Run(ctx context.Context, f *parser.File, opts Options) (*Result, error) {
	if len(f.Errors) > 0 {
		return nil, f.Errors
	}
	start := time.Now()
	opts, err := opts.withDefaults(f)
	if err != nil {
		return nil, err
	}
	s, err := newSession(opts, f.Blocks)
	if err != nil {
		return nil, err
	}
	defer s.close()
	s.substs = builtinSubstitutions(opts.ModuleRoot, transcriptDir(f, opts.Dir), opts.Env)
	s.streamBig = true
	res := &Result{File: f, Dir: opts.Dir, Root: opts.ModuleRoot, Start: start, FSStart: s.fsStart}
	resolver := &Resolver{Root: opts.ModuleRoot, LookupEnv: s.lookupVar}
	// Each command's timeout context hangs off this session's own
	// context, not the caller's: a child context registers with its
	// parent under the parent's lock, and parallel checks sharing one
	// parent contended for it on every command.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done, total := 0, len(f.Blocks)
	var runErr error
	for _, l := range f.Lines {
		switch l.Kind {
		case parser.KindDirective:
			if l.Directive != nil && len(l.Directive.Deps) > 0 {
				s.declare(resolver, l.Directive, res)
			}
			if l.Directive != nil && l.Directive.Subst != nil {
				s.declareSubst(l.Directive, res)
			}
		case parser.KindCommand:
			if opts.Progress != nil {
				opts.Progress(done, total, l.Block)
			}
			cr := s.runBlock(sctx, l.Block, opts.Timeout)
			cr.Substs = s.substs
			done++
			res.Commands = append(res.Commands, cr)
			if ctx.Err() != nil {
				runErr = ctx.Err()
				break
			}
			cr.Failure = s.check(cr)
			cr.keepBig()
		}
		if runErr != nil {
			break
		}
	}
	// A file read before the run overwrote it is an output too: it would
	// otherwise be "changed during the run" on every run (outputs.go).
	observed, outputs := s.obs.finish()
	res.Observed = dropAncestorStats(dedupInputs(s.dropAssigned(observed)), opts.Dir)
	res.Traced = dropAncestorStats(tracedPerLine(observed), opts.Dir)
	res.Outputs = outputs
	res.Doubts = s.obs.doubtsSoFar()
	res.AttrChanges = s.obs.attrChanges()
	res.ObservedBy = ObservedBy(opts.Launcher)
	if s.obs.unobserved {
		res.ObservedBy = Untraced
	}
	res.Declared = dedupInputs(res.Declared)
	res.Duration = time.Since(start)
	return res, runErr
}

// dropAssigned drops the lookups of variables the transcript assigns
// itself (`who=world`) that were not inherited: assigning a variable reads
// its previous value first, which is no input. A read before the
// assignment (`echo ${who:-x}; who=1`) is covered without it: in the
// default mode every inherited variable is keyed (EnvInherit), and in
// EnvDeclared mode an undeclared variable never reaches the session.
func (s *session) dropAssigned(ins []Input) []Input {
	out := ins[:0]
	for _, in := range ins {
		if in.Kind == InputEnv && in.Origin == OriginEnvLookup && !in.Exists {
			if _, assigned := s.runner.Vars[in.Name]; assigned {
				continue
			}
		}
		out = append(out, in)
	}
	return out
}

// dropAncestorStats drops traced inputs that are the start directory or
// one of its ancestors: shells and runtimes stat their working directory
// and its parents all the time, and those directories are not inputs.
func dropAncestorStats(ins []Input, dir string) []Input {
	out := ins[:0]
	for _, in := range ins {
		if in.Origin == OriginTraced && in.Kind == InputFile && IsWithin(in.Path, dir) {
			continue
		}
		out = append(out, in)
	}
	return out
}

func (o Options) withDefaults(f *parser.File) (Options, error) {
	if o.Dir == "" {
		if f.Name != "" {
			o.Dir = filepath.Dir(f.Name)
		} else {
			o.Dir = "."
		}
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, fmt.Errorf("start directory: %w", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return o, fmt.Errorf("start directory %s: not a directory", dir)
	}
	o.Dir = dir
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ModuleRoot == "" {
		o.ModuleRoot = FindModuleRoot(dir)
	}
	return o, nil
}

// newSession starts a shell session for the given command blocks (nil in
// an interactive session, whose commands come one at a time).
func newSession(opts Options, blocks []*parser.Block) (*session, error) {
	obs := &observer{root: opts.ModuleRoot, written: map[string]bool{}, envNames: map[string]bool{},
		toolCaches: toolCacheDirs(opts.Env)}
	s := &session{obs: obs, launcher: opts.Launcher, blocks: newBlockParser(syntax.NewParser(syntax.Variant(syntax.LangBash)), blocks)}
	s.env = newRecordingEnviron(opts.Env, obs)
	stdout, err := os.CreateTemp("", "cmdt-stdout-*")
	if err != nil {
		return nil, fmt.Errorf("create output file: %w", err)
	}
	s.stdout = newOutStream(stdout)
	stderr, err := os.CreateTemp("", "cmdt-stderr-*")
	if err != nil {
		s.close()
		return nil, fmt.Errorf("create output file: %w", err)
	}
	s.stderr = newOutStream(stderr)
	s.fsStart = changeTime(stdout)
	// Unlinked at once: the open descriptors are all we need.
	os.Remove(stdout.Name())
	os.Remove(stderr.Name())
	s.runner, err = interp.New(
		interp.Env(s.env),
		interp.Dir(opts.Dir),
		interp.StdIO(nil, s.stdout, s.stderr),
		interp.ExecHandlers(s.execHandler),
		interp.OpenHandler(s.openHandler),
		interp.StatHandler(s.statHandler),
		interp.AccessHandler(s.accessHandler),
		interp.ReadDirHandler2(s.readDirHandler),
		interp.CallHandler(s.callHandler),
	)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("start shell: %w", err)
	}
	s.runner.Reset()
	s.env.on = true
	return s, nil
}

func (s *session) close() {
	s.clock.close()
	if s.reapToken != 0 {
		reaperEnd(s.reapToken) // kill what escaped its process group
		s.reapToken = 0
	}
	for _, o := range []*outStream{s.stdout, s.stderr} {
		if o != nil {
			o.f.Close()
		}
	}
}

// lookupVar reads a variable as the session sees it now (for expanding
// declarations), recording inherited ones as env inputs.
func (s *session) lookupVar(name string) (string, bool) {
	inherited := s.env.parent.Get(name)
	v, ok := s.runner.Vars[name]
	if !ok || (inherited.IsSet() && inherited.Str == v.String()) {
		s.obs.env(name, inherited.IsSet())
		return inherited.String(), inherited.IsSet()
	}
	return v.String(), v.IsSet()
}

// declare resolves a directive's declarations against the current directory.
func (s *session) declare(resolver *Resolver, d *parser.Directive, res *Result) {
	for _, dep := range d.Deps {
		value := dep.Value
		if !dep.Literal {
			v, err := ExpandWord(dep.Word, s.lookupVar)
			if err != nil {
				res.DeclErrors = append(res.DeclErrors, &parser.Error{File: res.File.Name, Range: dep.Range, Code: parser.CodeBadDep, Msg: err.Error()})
				continue
			}
			value = v
		}
		ins, errs, err := resolver.ResolveDep(dep, value, s.runner.Dir, d.Line.Num)
		if err != nil {
			res.DeclErrors = append(res.DeclErrors, &parser.Error{File: res.File.Name, Range: dep.Range, Code: parser.CodeBadDep, Msg: err.Error()})
		}
		res.DeclErrors = append(res.DeclErrors, errs...)
		for i := range ins {
			if ins[i].Origin == OriginDeclared {
				ins[i].Raw = dep.Raw
			}
		}
		res.Declared = append(res.Declared, ins...)
	}
}

// runBlock runs one command block with its own timeout.
func (s *session) runBlock(ctx context.Context, b *parser.Block, timeout time.Duration) *CommandResult {
	cr := &CommandResult{Block: b}
	s.obs.mu.Lock()
	s.obs.line = b.Command.Num
	s.obs.mu.Unlock()
	s.stdout.mark()
	s.stderr.mark()
	start := time.Now()
	prog, err := s.blocks.parse(b)
	if err != nil {
		// Report it as bash does: on stderr, status 2.
		fmt.Fprintf(s.stderr, "%s\n", shellSyntaxError(err, b))
		cr.ExitCode = 2
	} else {
		bctx := s.clock.start(ctx, timeout)
		err = s.runner.Run(bctx, prog)
		cr.TimedOut = s.clock.stop(bctx) && ctx.Err() == nil
		var status interp.ExitStatus
		switch {
		case err == nil:
		case errors.As(err, &status):
			cr.ExitCode = int(status)
		case cr.TimedOut:
			cr.ExitCode = 124
		default:
			fmt.Fprintf(s.stderr, "%v\n", err)
			cr.ExitCode = 1
		}
	}
	cr.Duration = time.Since(start)
	cr.Dir = s.runner.Dir
	cr.Stdout, cr.big[1] = s.stdout.capture(s.streamBig)
	cr.Stderr, cr.big[2] = s.stderr.capture(s.streamBig)
	cr.wasBig = cr.big[1] != nil || cr.big[2] != nil
	return cr
}

// shellSyntaxError renders a parse error of the command text with the
// transcript's line numbers.
func shellSyntaxError(err error, b *parser.Block) string {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cmdt: line %d: syntax error: %s", b.Command.Num+int(pe.Pos.Line())-1, pe.Text)
	}
	return "cmdt: syntax error: " + err.Error()
}
