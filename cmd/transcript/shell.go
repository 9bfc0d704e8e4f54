package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"mvdan.cc/sh/v3/syntax"

	"github.com/cmdt-dev/cmdt/engine"
)

func newShellCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "shell [-o FILE]",
		Short: "Record an interactive shell session into a transcript",
		Long: `Start an interactive shell session and record each command with its
output and exit status into a transcript. The file is rewritten atomically
after every command, so nothing is lost if the session is interrupted.
End with exit or Ctrl-D. An existing FILE is appended to. Without -o the
session is recorded to a new temporary file, named when the shell starts
and again when it ends. Binary output, and output with "\r\n" line
endings, goes to numbered files (001.bin, ...) beside the transcript,
referenced with 1< / 2<.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			temp := out == ""
			if temp {
				// As the origin tool does: record somewhere, say where.
				dir, err := os.MkdirTemp("", "transcript-")
				if err != nil {
					return &exitCode{code: 2, err: err}
				}
				out = filepath.Join(dir, "session.cmdt")
				fmt.Fprintf(cmd.ErrOrStderr(), "recording to %s\n", out)
			}
			if err := recordShell(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), out); err != nil {
				return err
			}
			if temp {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote transcript: %s\n", out)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "transcript `FILE` to write (default: a new temporary file)")
	return cmd
}

func recordShell(ctx context.Context, in io.Reader, stdout, stderr io.Writer, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	// The transcript may be written only inside its own module root, and
	// never through a link that leads out of it.
	root := engine.FindModuleRoot(filepath.Dir(abs))
	if err := engine.CheckWriteInRoot(root, abs); err != nil {
		return &exitCode{code: 2, err: err}
	}
	var transcript strings.Builder
	if old, err := engine.ReadRegular(out, engine.MaxTranscriptSize); err == nil {
		transcript.Write(old)
		if len(old) > 0 && !strings.HasSuffix(string(old), "\n") {
			transcript.WriteByte('\n')
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return &exitCode{code: 2, err: err}
	}
	sess, err := engine.StartSession(engine.Options{})
	if err != nil {
		return &exitCode{code: 2, err: err}
	}
	defer sess.Close()
	files := engine.NewBinNamer(filepath.Dir(abs))
	// A check starts the session in the transcript's directory: references
	// relative to the session's directory replay only if the recording
	// started there too; otherwise (a temporary file) they are absolute.
	relRefs := sess.Dir() == filepath.Dir(abs)
	parser := syntax.NewParser()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		fmt.Fprint(stderr, "$ ")
		if !sc.Scan() {
			fmt.Fprintln(stderr)
			break
		}
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		// Keep reading continuation lines while the shell text is incomplete.
		for {
			_, err := parser.Parse(strings.NewReader(text+"\n"), "")
			if err == nil || !syntax.IsIncomplete(err) {
				break
			}
			fmt.Fprint(stderr, "> ")
			if !sc.Scan() {
				break
			}
			text += "\n" + sc.Text()
		}
		cr, exited := sess.Exec(ctx, text)
		stderr.Write(cr.Stderr)
		stdout.Write(cr.Stdout)
		if cr.ExitCode != 0 {
			fmt.Fprintf(stderr, "[exit status %d]\n", cr.ExitCode)
		}
		block, outputs := recordBlock(text, cr, files, relRefs)
		for _, fw := range outputs {
			if _, err := engine.WriteInRoot(root, fw.Path, fw.Data); err != nil {
				return &exitCode{code: 2, err: err}
			}
		}
		transcript.WriteString(block)
		if _, err := engine.WriteInRoot(root, out, []byte(transcript.String())); err != nil {
			return &exitCode{code: 2, err: err}
		}
		if exited {
			break
		}
	}
	return nil
}

// recordBlock renders one command and its result in transcript syntax.
// Output that cannot be written inline (binary, "\r\n" lines) goes to
// a new numbered file from files, referenced relative to the session's
// directory after the command, as a check resolves it (and as update
// does), or absolute when relRefs is false; the files to write come back
// with the text.
func recordBlock(text string, cr *engine.CommandResult, files *engine.BinNamer, relRefs bool) (string, []engine.FileWrite) {
	var b strings.Builder
	var writes []engine.FileWrite
	for i, l := range strings.Split(text, "\n") {
		if i == 0 {
			b.WriteString("$ " + l + "\n")
		} else {
			b.WriteString("> " + l + "\n")
		}
	}
	for _, s := range []struct {
		n    int
		data []byte
	}{{2, cr.Stderr}, {1, cr.Stdout}} {
		if len(s.data) == 0 {
			continue
		}
		if engine.NeedsFile(s.data) {
			path := files.Next()
			ref := path
			if rel, err := filepath.Rel(cr.Dir, path); err == nil && relRefs {
				ref = rel
			}
			writes = append(writes, engine.FileWrite{Path: path, Data: s.data})
			fmt.Fprintf(&b, "%d< %s\n", s.n, ref)
			continue
		}
		for _, l := range engine.OutputLines(s.n, s.data, cr.Substs) {
			b.WriteString(l + "\n")
		}
	}
	if cr.ExitCode != 0 {
		fmt.Fprintf(&b, "? %d\n", cr.ExitCode)
	}
	b.WriteString("\n")
	return b.String(), writes
}
