package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/cmdt-dev/cmdt/lsp"
)

// newLSPCmd serves the language server over stdio, like cmdt-lsp, for
// editors configured to start `transcript lsp`.
func newLSPCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the cmdt language server over stdin/stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			err := lsp.Serve(cmd.Context(), lsp.StdioConn(), lsp.Options{Logger: logger})
			switch {
			case err == nil, errors.Is(err, context.Canceled):
				return nil
			case errors.Is(err, lsp.ErrExitWithoutShutdown):
				return &exitCode{code: 1}
			}
			return &exitCode{code: 1, err: err}
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log debug messages to stderr")
	cmd.Flags().Bool("stdio", true, "serve over stdin/stdout (the only transport)")
	return cmd
}

func init() { extraCommands = append(extraCommands, newLSPCmd) }
