// Command cmdt-lsp is the cmdt language server. It speaks LSP over stdin
// and stdout and logs to stderr; editors start it as a child process.
//
// Usage:
//
//	cmdt-lsp [-v | -log-level LEVEL] [-cache-dir DIR] [-trace auto|on|off]
//	cmdt-lsp --version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cmdt-dev/cmdt/lsp"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("cmdt-lsp", flag.ContinueOnError)
	showVersion := fs.Bool("version", false, "print the version and exit")
	level := fs.String("log-level", "info", "log level on stderr: debug, info, warn, error")
	verbose := fs.Bool("v", false, "shorthand for -log-level debug")
	cacheDir := fs.String("cache-dir", "", "result cache `DIR` for runs and statuses (default $CMDT_CACHE_DIR, else the user cache dir)")
	traceMode := fs.String("trace", "auto", "observe the files subprocesses of runs read: auto (where supported), on, off")
	// Editors often pass --stdio; stdio is the only transport, so accept it.
	_ = fs.Bool("stdio", true, "serve over stdin/stdout (the default and only transport)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println("cmdt-lsp", lsp.Version())
		return 0
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "cmdt-lsp: bad -log-level %q\n", *level)
		return 2
	}
	if *verbose {
		lv = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := lsp.Serve(ctx, lsp.StdioConn(), lsp.Options{Logger: logger, CacheDir: *cacheDir, Trace: *traceMode})
	switch {
	case err == nil:
		return 0
	case errors.Is(err, lsp.ErrExitWithoutShutdown):
		return 1
	case errors.Is(err, context.Canceled):
		return 0
	}
	logger.Error("server stopped", "err", err)
	return 1
}
