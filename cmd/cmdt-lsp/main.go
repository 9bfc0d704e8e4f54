// Command cmdt-lsp is the cmdt language server. It speaks LSP over stdin
// and stdout and logs to stderr; editors start it as a child process.
//
// Usage:
//
//	cmdt-lsp [-v | -log-level LEVEL] [-cache-dir DIR] [-trace auto|on|off]
//	cmdt-lsp version | --version
//	cmdt-lsp help | -h
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

	"github.com/cmdt-dev/cmdt/engine"
	"github.com/cmdt-dev/cmdt/engine/trace"
	"github.com/cmdt-dev/cmdt/lsp"
)

const usage = `cmdt-lsp is the cmdt language server. Editors start it as a child
process and speak LSP with it over stdin and stdout; it logs to stderr.

Usage:
  cmdt-lsp [flags]          serve LSP on stdin/stdout
  cmdt-lsp version          print the version and exit (also --version)
  cmdt-lsp help             print this help and exit (also -h)

Flags:
`

func main() {
	// This process owns every child it starts: orphans that escape their
	// command's group come back to it, to be killed and reaped.
	engine.AdoptOrphans()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("cmdt-lsp", flag.ContinueOnError)
	showVersion := fs.Bool("version", false, "print the version and exit")
	level := fs.String("log-level", "info", "log level on stderr: debug, info, warn, error")
	verbose := fs.Bool("v", false, "shorthand for -log-level debug")
	cacheDir := fs.String("cache-dir", "", "result cache `DIR` for runs and statuses (default $CMDT_CACHE_DIR, else the user cache dir)")
	traceMode := fs.String("trace", "auto", "observe the files subprocesses of runs read: "+trace.Settings+" (see transcript doctor)")
	// Editors often pass --stdio; stdio is the only transport, so accept it.
	_ = fs.Bool("stdio", true, "serve over stdin/stdout (the default and only transport)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// An editor starts the server without arguments; anything else is a
	// person at a terminal, who gets an answer instead of a server silently
	// waiting for LSP messages on stdin.
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "version":
		*showVersion = true
	case fs.NArg() == 1 && fs.Arg(0) == "help":
		fs.SetOutput(os.Stdout)
		fs.Usage()
		return 0
	case fs.NArg() > 0:
		fmt.Fprintf(os.Stderr, "cmdt-lsp: unknown argument %q\n", fs.Arg(0))
		fs.Usage()
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
