package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.uber.org/zap"

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/cache"
)

// Options configure a server.
type Options struct {
	// Logger receives the server's logs. nil discards them. Never log to
	// stdout when serving over stdio: stdout is the wire.
	Logger *slog.Logger
	// Version is reported in serverInfo; "" means the module version.
	Version string
	// LookupEnv reads the environment for env dependencies ($VAR expansion
	// in declarations, "set or unset" in hovers); nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment for env-name completion, and is the
	// environment transcripts run in (and are cached under); nil means
	// os.Environ.
	Environ func() []string
	// CacheDir is the result cache's directory; "" means
	// $CMDT_CACHE_DIR, else the user cache directory, as for the CLI.
	CacheDir string
	// Launcher starts the programs transcripts run; nil means the one
	// Trace selects.
	Launcher engine.Launcher
	// Trace is "auto" (the default, as for `transcript check`: trace the
	// files subprocesses read where the system allows it: eBPF, else ptrace),
	// "ebpf", "ptrace", "on" (any tracer) or "off" (see trace.SelectBackend).
	// Traced reads become observed inputs of the recorded result, so the
	// editor records what the CLI would.
	Trace string

	// onPublish, for benchmarks, is told how long after the server began
	// handling a document's didOpen/didChange its diagnostics were written.
	onPublish func(u protocol.DocumentURI, version int32, latency time.Duration)
}

// ErrExitWithoutShutdown is returned by Serve when the client sent exit
// without shutdown first; LSP asks the server process to exit with code 1.
var ErrExitWithoutShutdown = errors.New("exit notification without a prior shutdown request")

// Version returns the cmdt module version the binary was built from
// (set by `go install ...@version`), else the engine's tool version.
func Version() string { return engine.DisplayVersion() }

// Serve runs a language server session on rwc (Content-Length framed
// JSON-RPC) until the client sends exit, the stream ends, or ctx is done.
// It returns nil after shutdown+exit or end of input, ErrExitWithoutShutdown
// after an exit without shutdown, ctx.Err() when ctx ends the session, or
// the stream's error.
func Serve(ctx context.Context, rwc io.ReadWriteCloser, opts Options) error {
	s := newServer(opts)
	conn := jsonrpc2.NewConn(newResilientStream(rwc, s.log))
	s.conn = conn
	// The dispatcher is only used to send notifications; its zap logger
	// is a no-op because the server logs with slog (trap 10).
	s.client = protocol.ClientDispatcher(conn, zap.NewNop())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.baseCtx = ctx
	go s.diagnosticsLoop(ctx)
	go s.watches.loop(ctx)
	go s.refreshLoop(ctx)
	conn.Go(ctx, s.handler())
	// No process of a run may outlive the session: cancel every job (the
	// engine kills their process groups) and wait for them; then save the
	// cache's file-hash memo.
	defer func() {
		s.runs.stopAll(errStopping, 5*time.Second)
		s.flushCache()
	}()

	var err error
	select {
	case <-conn.Done():
		s.log.Debug("connection closed", "err", conn.Err())
		if cerr := conn.Err(); cerr != nil && !fatalReadError(ctx, cerr) {
			err = fmt.Errorf("lsp stream: %w", cerr)
		}
		// Messages read before the end of input still run: an exit sent
		// just before closing stdin decides the exit status.
		if waitTimeout(&s.inflight, time.Second) && isClosed(s.exited) && s.lifecycle() != stateShutdown {
			err = ErrExitWithoutShutdown
		}
	case <-s.exited:
		if s.lifecycle() != stateShutdown {
			err = ErrExitWithoutShutdown
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = conn.Close()
	// A read blocked on a terminal's stdin may not wake on Close; do not
	// hold the caller hostage to it.
	select {
	case <-conn.Done():
	case <-time.After(time.Second):
	}
	return err
}

// waitTimeout waits for wg, giving up after d; it reports whether wg
// finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Server lifecycle states.
const (
	stateNew = iota
	stateInitialized
	stateShutdown
)

// Server is one LSP session.
type Server struct {
	log       *slog.Logger
	opts      Options
	conn      jsonrpc2.Conn
	client    protocol.Client
	lookupEnv func(string) (string, bool)
	environ   func() []string

	mu       sync.Mutex // guards the fields below
	state    int
	enc      Encoding
	settings Settings
	roots    []string
	caps     ClientCapabilities317

	store    *Store
	ws       *workspace
	diag     *diagQueue
	commands *commandRegistry
	bugs     atomic.Int64

	// Runs (runner.go) and what they feed: statuses (status.go), file
	// watchers (watch.go), lens and hint refreshes (refresh.go).
	baseCtx     context.Context // the session's: jobs end with it
	runs        *runRegistry
	statuses    *statusCache
	watches     *depWatcher
	tests       *testWatch // cmdt/watch (tests.go)
	refresher   *refresher
	progressSeq atomic.Int64
	cacheMu     sync.Mutex // guards rcache and cacheErr, set on first use
	rcache      *cache.Cache
	cacheErr    error
	launchOnce  sync.Once
	launch      engine.Launcher
	launchErr   error

	// publishMu orders publications with didClose's clearing, so a worker
	// that finished late cannot resurrect diagnostics of a closed document.
	publishMu sync.Mutex

	exitOnce sync.Once
	exited   chan struct{}
	inflight sync.WaitGroup // messages received and not yet handled
}

func newServer(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log: log, opts: opts, lookupEnv: opts.LookupEnv, environ: opts.Environ,
		store: newStore(UTF16), diag: newDiagQueue(), exited: make(chan struct{}),
		settings: defaultSettings(),
	}
	if s.lookupEnv == nil {
		s.lookupEnv = os.LookupEnv
	}
	if s.environ == nil {
		s.environ = os.Environ
	}
	s.ws = newWorkspace(s.lookupEnv)
	s.commands = newCommandRegistry()
	s.baseCtx = context.Background()
	s.runs = newRunRegistry()
	s.statuses = newStatusCache()
	s.watches = newDepWatcher(s)
	s.tests = &testWatch{}
	s.refresher = newRefresher()
	return s
}

// flushCache writes the result cache's pending file-hash memo, so the
// next session (or CLI run) starts warm.
func (s *Server) flushCache() {
	s.cacheMu.Lock()
	rc := s.rcache
	s.cacheMu.Unlock()
	if rc == nil {
		return
	}
	if err := rc.Flush(); err != nil {
		s.log.Debug("flushing the result cache failed", "err", err)
	}
}

func (s *Server) lifecycle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Server) currentSettings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// Bugs returns how many internal errors (panics, double replies) the
// session has seen; tests assert it stays zero.
func (s *Server) Bugs() int64 { return s.bugs.Load() }

func (s *Server) exit() {
	s.exitOnce.Do(func() { close(s.exited) })
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.state = stateShutdown
	s.mu.Unlock()
	s.runs.stopAll(errStopping, 5*time.Second)
	s.tests.stop()
}

// negotiateEncoding picks UTF-8 when the client offers it (no conversion
// needed), else UTF-16, the LSP default every client supports.
func negotiateEncoding(caps ClientCapabilities317) Encoding {
	if caps.General != nil {
		for _, e := range caps.General.PositionEncodings {
			if e == PositionEncodingUTF8 {
				return UTF8
			}
		}
	}
	return UTF16
}

func (s *Server) initialize(ctx context.Context, p *InitializeParams317) (*InitializeResult317, error) {
	enc := negotiateEncoding(p.Capabilities)
	var roots []string
	for _, f := range p.WorkspaceFolders {
		if path, ok := uriPath(protocol.DocumentURI(f.URI)); ok {
			roots = append(roots, path)
		}
	}
	if len(roots) == 0 {
		if path, ok := uriPath(p.RootURI); ok {
			roots = append(roots, path)
		} else if p.RootPath != "" {
			roots = append(roots, filepath.Clean(p.RootPath))
		}
	}
	s.mu.Lock()
	s.state = stateInitialized
	s.enc = enc
	s.caps = p.Capabilities
	s.roots = roots
	if p.InitializationOptions != nil {
		s.settings = s.settings.merge(*p.InitializationOptions)
	}
	s.store = newStore(enc)
	s.mu.Unlock()
	s.log.Info("initialized", "encoding", enc.String(), "roots", roots)

	version := s.opts.Version
	if version == "" {
		version = Version()
	}
	caps := ServerCapabilities317{ServerCapabilities: protocol.ServerCapabilities{
		TextDocumentSync: protocol.TextDocumentSyncOptions{
			OpenClose: true,
			Change:    protocol.TextDocumentSyncKindIncremental,
			Save:      &protocol.SaveOptions{IncludeText: false},
		},
		HoverProvider:          true,
		DefinitionProvider:     true,
		DocumentSymbolProvider: true,
		FoldingRangeProvider:   true,
		CompletionProvider: &protocol.CompletionOptions{
			// "/" continues a path, "$" starts an env var in `% dep`.
			TriggerCharacters: []string{" ", "/", "$", "%"},
		},
		CodeActionProvider: protocol.CodeActionOptions{
			CodeActionKinds: []protocol.CodeActionKind{protocol.QuickFix, CodeActionUpdateTranscript},
		},
		CodeLensProvider:       &protocol.CodeLensOptions{},
		SemanticTokensProvider: SemanticTokensOptions317{Legend: semanticLegend(), Full: true},
		ExecuteCommandProvider: &protocol.ExecuteCommandOptions{Commands: s.commands.names()},
		// The test capability (tests.go, docs/lsp.md "Tests"): clients
		// look for it here before offering a test explorer.
		Experimental: map[string]interface{}{"cmdtTests": map[string]bool{"testTree": true, "runTest": true, "watch": true}},
	}, InlayHintProvider: InlayHintOptions{}}
	if enc == UTF8 {
		caps.PositionEncoding = PositionEncodingUTF8
	}
	return &InitializeResult317{
		Capabilities: caps,
		ServerInfo:   &protocol.ServerInfo{Name: "cmdt-lsp", Version: version},
	}, nil
}

// initialized asks the client to report file changes, when it can
// register the watcher dynamically: declared dependencies and "1<" files
// appearing or disappearing on disk then update diagnostics at once (the
// disk cache otherwise expires after cacheTTL and diagnostics refresh on
// the next edit or save).
func (s *Server) initialized(ctx context.Context, _ *protocol.InitializedParams) error {
	s.mu.Lock()
	caps := s.caps
	s.mu.Unlock()
	if caps.Workspace == nil || caps.Workspace.DidChangeWatchedFiles == nil || !caps.Workspace.DidChangeWatchedFiles.DynamicRegistration {
		return nil
	}
	params := protocol.RegistrationParams{Registrations: []protocol.Registration{{
		ID: "cmdt-watch-files", Method: protocol.MethodWorkspaceDidChangeWatchedFiles,
		RegisterOptions: map[string]interface{}{"watchers": []map[string]interface{}{{"globPattern": "**/*"}}},
	}}}
	// Not on the request queue: the client may answer only after it has
	// handled messages of ours.
	go func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := s.conn.Call(cctx, protocol.MethodClientRegisterCapability, params, nil); err != nil {
			s.log.Warn("registering file watchers failed", "err", err)
		}
	}()
	return nil
}

// didChangeConfiguration accepts {"settings": {"cmdt": {...}}} or the
// settings object itself.
func (s *Server) didChangeConfiguration(ctx context.Context, p *configurationParams) error {
	next := p.Settings.Cmdt
	if next == nil {
		next = &p.Settings.Settings
	}
	s.mu.Lock()
	s.settings = defaultSettings().merge(*next)
	s.mu.Unlock()
	s.diagnoseAll()
	return nil
}

// didChangeWatchedFiles invalidates what the server knows of the disk:
// dependency diagnostics of every transcript may change, and when a file
// an open transcript depends on changed, so may its status (watch.go).
func (s *Server) didChangeWatchedFiles(ctx context.Context, p *protocol.DidChangeWatchedFilesParams) error {
	s.ws.invalidate()
	s.diagnoseAll()
	if s.dependencyChanged(p.Changes) {
		s.statusChanged()
		s.refresh()
	}
	return nil
}

func (s *Server) didOpen(ctx context.Context, p *protocol.DidOpenTextDocumentParams) error {
	snap := s.store.Open(p.TextDocument, time.Now())
	s.log.Debug("didOpen", "uri", snap.URI, "kind", snap.Kind.String(), "bytes", len(snap.Text))
	s.diag.add(snap.URI)
	s.overlayChanged(snap)
	if snap.Kind == DocTranscript {
		s.watches.update()
	}
	return nil
}

func (s *Server) didChange(ctx context.Context, p *DidChangeTextDocumentParams) error {
	snap, err := s.store.Change(p, time.Now())
	if err != nil {
		return err
	}
	s.diag.add(snap.URI)
	s.overlayChanged(snap)
	return nil
}

func (s *Server) didClose(ctx context.Context, p *protocol.DidCloseTextDocumentParams) error {
	old := s.store.Get(p.TextDocument.URI)
	changed := s.store.Close(p.TextDocument.URI)
	s.runs.forget(p.TextDocument.URI)
	s.statuses.forget(p.TextDocument.URI)
	s.watches.update()
	s.clearDiagnostics(p.TextDocument.URI)
	if old != nil {
		s.overlayChanged(old) // transcripts now read it from disk
	}
	for _, c := range changed {
		s.diag.add(c.URI)
	}
	return nil
}

// overlayChanged re-checks transcripts when the editor's text of a file
// they may read as a depfile appears, changes or goes away: analyses read
// open depfiles from the editor, not the disk.
func (s *Server) overlayChanged(snap *Snapshot) {
	if snap.Kind == DocTranscript || snap.Path == "" {
		return
	}
	s.ws.bump()
	s.diagnoseAll()
}

// didSave re-checks what depends on the disk: a saved file may be another
// transcript's dependency. Nothing runs unless runOnSave is on.
func (s *Server) didSave(ctx context.Context, p *protocol.DidSaveTextDocumentParams) error {
	s.ws.invalidate()
	s.diagnoseAll()
	s.statusChanged()
	s.refresh()
	s.watches.update()
	snap := s.store.Get(p.TextDocument.URI)
	if snap == nil || snap.Kind != DocTranscript || snap.Path == "" || !s.currentSettings().runOnSave() {
		return nil
	}
	if len(snap.File().Errors) > 0 {
		s.log.Info("runOnSave: not running a transcript with syntax errors", "uri", snap.URI)
		return nil
	}
	if err := s.runnable(snap); err != nil {
		s.log.Info("runOnSave: not running", "reason", err)
		return nil
	}
	s.startJob(jobRun, snap, nil)
	return nil
}

// snapshot returns the current snapshot of an open document, or an error
// the client can read.
func (s *Server) snapshot(u protocol.DocumentURI) (*Snapshot, error) {
	snap := s.store.Use(u)
	if snap == nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "document %s is not open", u)
	}
	return snap, nil
}

// stdio joins stdin and stdout into the connection an editor gives a
// language server.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	errIn, errOut := os.Stdin.Close(), os.Stdout.Close()
	return errors.Join(errIn, errOut)
}

// StdioConn returns the process's stdin and stdout as one
// io.ReadWriteCloser, for Serve.
func StdioConn() io.ReadWriteCloser { return stdio{} }
