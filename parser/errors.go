package parser

import (
	"fmt"
	"strings"
)

// Code is a stable identifier for a kind of syntax error; editors show it
// and tests match on it, so existing codes never change meaning.
type Code string

// Error codes reported by the parser.
const (
	CodeUnknownOpcode      Code = "unknown-opcode"
	CodeOrphanOutput       Code = "output-outside-command"
	CodeOrphanContinuation Code = "continuation-outside-command"
	CodeBadExitStatus      Code = "bad-exit-status"
	CodeDuplicateStatus    Code = "duplicate-exit-status"
	CodeAfterStatus        Code = "expectation-after-exit-status"
	CodeUnknownDirective   Code = "unknown-directive"
	CodeMisplacedNoNewline Code = "misplaced-no-newline"
	CodeEmptyPath          Code = "empty-path"
	CodeBadDep             Code = "bad-dependency"
	CodeBadEnvName         Code = "invalid-env-name"
	CodeNestedDepfile      Code = "nested-depfile"
	CodeBadEscape          Code = "bad-escape"
	CodeNoNewlineArgs      Code = "no-newline-arguments"
	CodeNotText            Code = "not-text"
)

// Error is one syntax error, with the range of the offending text.
type Error struct {
	File  string
	Range Range
	Code  Code
	Msg   string
}

func (e *Error) Error() string {
	name := e.File
	if name == "" {
		name = "<input>"
	}
	return fmt.Sprintf("%s:%d: %s", name, e.Range.Start.Line, e.Msg)
}

// ErrorList is a list of syntax errors in file order; it implements error
// so callers can return all of them at once.
type ErrorList []*Error

// MaxListed is how many errors ErrorList.Error lists; a count of the rest
// follows them. A file with thousands of bad lines is fixed from its first
// errors, and a terminal or CI log is not flooded.
const MaxListed = 20

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i == MaxListed {
			fmt.Fprintf(&b, "\n%s: and %d more syntax errors", e.File, len(l)-MaxListed)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns l as an error, or nil when l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
