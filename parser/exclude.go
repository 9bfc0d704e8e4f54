package parser

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Glob exclusions: `% dep glob src/** !(**/__pycache__/**)`. A word that
// is exactly `!(PATTERN)` — bash's extended glob "anything except" —
// excludes the files PATTERN matches from every pattern of the same
// `% dep glob` line. The spelling was chosen because it was an error
// before (extended globs are refused in declarations), so no line that
// was valid changes meaning: an unquoted `!name` stays a pattern whose
// first character is `!`.

// exclusionPattern returns PATTERN when w is exactly `!(PATTERN)`.
func exclusionPattern(w *syntax.Word) (string, bool) {
	if len(w.Parts) != 1 {
		return "", false
	}
	g, ok := w.Parts[0].(*syntax.ExtGlob)
	if !ok || g.Op != syntax.GlobExcept || g.Pattern == nil || g.Pattern.Value == "" {
		return "", false
	}
	// `!(a|b)` is bash's alternation; one pattern per word keeps the
	// syntax small (write `!(a) !(b)`).
	if strings.ContainsAny(g.Pattern.Value, "|()") {
		return "", false
	}
	return g.Pattern.Value, true
}

// splitExclusions separates a glob line's `!(PATTERN)` words from its
// patterns.
func splitExclusions(words []*Dep) (patterns []*Dep, exclude []string) {
	for _, w := range words {
		if w.exclusion {
			exclude = append(exclude, w.Value)
			continue
		}
		patterns = append(patterns, w)
	}
	return patterns, exclude
}

// exclusionErrors refuses `!(PATTERN)` anywhere but a `% dep glob` line.
func exclusionErrors(file string, words []*Dep) ErrorList {
	for _, w := range words {
		if w.exclusion {
			return ErrorList{{File: file, Range: w.Range, Code: CodeBadDep,
				Msg: "an extended glob is not allowed in a dependency declaration (only quoting and $VAR expansion are; `!(PATTERN)` excludes files from the patterns of a `% dep glob` line)"}}
		}
	}
	return nil
}
