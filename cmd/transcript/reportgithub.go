package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// GitHub Actions workflow annotations: a failure printed as
// "::error file=F,line=N,title=T::message" shows at F:N in the pull
// request's diff and on the run's summary page.
// https://docs.github.com/actions/reference/workflow-commands-for-github-actions

// githubFormat decides whether annotations are printed: --format github,
// or running under GitHub Actions (GITHUB_ACTIONS=true) unless --format
// text says otherwise.
func githubFormat(format string) (bool, error) {
	switch format {
	case "github":
		return true, nil
	case "text":
		return false, nil
	case "":
		return os.Getenv("GITHUB_ACTIONS") == "true", nil
	}
	return false, usageError("--format %q: expected text or github", format)
}

// writeAnnotations prints one annotation per failed command and per file
// that could not be checked, and one for a problem that stopped the check.
func writeAnnotations(w io.Writer, outcomes []*fileOutcome, fatal error) {
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		file := annotationPath(o.path)
		switch o.status {
		case "fail":
			for _, c := range o.result.Failures() {
				title := "transcript: $ " + firstLine(c.Block.Text())
				fmt.Fprintf(w, "::error file=%s,line=%d,title=%s::%s\n", escapeProperty(file), c.Block.Command.Num,
					escapeProperty(title), escapeData(strings.TrimRight(c.Failure.Report("", nil), "\n")))
			}
		case "error":
			for _, p := range problemsOf(o.err) {
				loc := "file=" + escapeProperty(file)
				if p.Line > 0 {
					loc += fmt.Sprintf(",line=%d", p.Line)
				}
				fmt.Fprintf(w, "::error %s,title=%s::%s\n", loc, escapeProperty("transcript: cannot check"), escapeData(p.Message))
			}
		}
	}
	if fatal != nil {
		fmt.Fprintf(w, "::error title=%s::%s\n", escapeProperty("transcript check"), escapeData(fatal.Error()))
	}
}

// annotationPath makes a path relative to the repository checkout
// (GITHUB_WORKSPACE), which is what annotations are resolved against;
// outside it, or without it, the path is left as it is.
func annotationPath(p string) string {
	ws := os.Getenv("GITHUB_WORKSPACE")
	if ws == "" {
		return filepath.ToSlash(p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	if rel, err := filepath.Rel(ws, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

// escapeData escapes an annotation's message (%, CR and LF).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a property value (also ':' and ',', which end it).
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
