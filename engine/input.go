package engine

import (
	"fmt"
	"sort"
	"strings"
)

// InputKind is the kind of thing a transcript's result depends on.
type InputKind int

// Input kinds.
const (
	InputFile    InputKind = iota // a file (content), or its absence
	InputDir                      // a declared directory: every file under it
	InputGlob                     // a pattern: the set of matches and their contents
	InputEnv                      // an environment variable's value, or its absence
	InputExe                      // a program (content of the resolved file)
	InputDepfile                  // a depfile (its content; entries are inputs too)
)

var inputKindNames = [...]string{"file", "dir", "glob", "env", "exe", "depfile"}

func (k InputKind) String() string { return inputKindNames[k] }

// MarshalText makes kinds readable in JSON output and manifests.
func (k InputKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind name.
func (k *InputKind) UnmarshalText(b []byte) error {
	for i, n := range inputKindNames {
		if n == string(b) {
			*k = InputKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown input kind %q", b)
}

// Origin says how the engine learned about an input.
type Origin int

// Origins: declared ones come from the transcript, the rest were observed.
const (
	OriginDeclared   Origin = iota // a "% dep" / "% depfile" directive
	OriginDepfile                  // an entry of a declared depfile
	OriginRedirect                 // a file the shell opened for a redirection
	OriginExec                     // a program the shell executed
	OriginEnvLookup                // a variable the shell expanded
	OriginExpectFile               // a "1<"/"2<" expected-output file
	OriginTraced                   // a file a subprocess touched (engine/trace)
	// OriginShell: a path the shell itself looked at without running a
	// program: `test -e`/`[ -s f ]` (stat, access), a glob it expanded (a
	// listing), a program `command -v`/`type` looked up.
	OriginShell
)

var originNames = [...]string{"declared", "depfile", "redirect", "exec", "env-lookup", "expect-file", "traced", "shell"}

func (o Origin) String() string { return originNames[o] }

// MarshalText makes origins readable in JSON output and manifests.
func (o Origin) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an origin name.
func (o *Origin) UnmarshalText(b []byte) error {
	for i, n := range originNames {
		if n == string(b) {
			*o = Origin(i)
			return nil
		}
	}
	return fmt.Errorf("unknown input origin %q", b)
}

// Declared reports whether the input came from a declaration.
func (o Origin) Declared() bool { return o == OriginDeclared || o == OriginDepfile }

// Input is one thing a transcript's result depends on.
type Input struct {
	Kind   InputKind `json:"kind"`
	Origin Origin    `json:"origin"`
	// Path is absolute: the file, directory, program or depfile; for a glob,
	// the absolute pattern.
	Path string `json:"path,omitempty"`
	// Name is the variable name (env) or the program name as written (exe).
	Name string `json:"name,omitempty"`
	// Raw is the text as written in the transcript or depfile.
	Raw string `json:"raw,omitempty"`
	// Line is the transcript line of the declaration or of the command
	// that caused the observation.
	Line int `json:"line,omitempty"`
	// Via is the depfile a declaration came from, or the program that
	// read a traced file.
	Via    string `json:"via,omitempty"`
	InRoot bool   `json:"inRoot"`
	// Exists reports whether the file, directory or program exists, or the
	// variable is set, when the input was resolved.
	Exists bool `json:"exists"`
	// Matches holds the sorted absolute paths a glob matched, or the files
	// under a directory.
	Matches []string `json:"matches,omitempty"`
	// Exclude holds a glob's absolute exclusion patterns (`% dep glob P
	// !(X)`): files they match are not part of the glob.
	Exclude []string `json:"exclude,omitempty"`
	// StatOnly: the traced programs only looked at the path's metadata or
	// existence (stat), never at its content. Declarations suggested for
	// a run fold such probes into what a person would declare (Suggest).
	StatOnly bool `json:"statOnly,omitempty"`
}

// Key identifies an input for de-duplication: kind plus path or name.
func (in Input) Key() string {
	if in.Kind == InputEnv {
		return "env:" + in.Name
	}
	if len(in.Exclude) > 0 {
		return in.Kind.String() + ":" + in.Path + " !" + strings.Join(in.Exclude, " !")
	}
	return in.Kind.String() + ":" + in.Path
}

// String renders the input the way status messages name it.
func (in Input) String() string {
	if in.Kind == InputEnv {
		return "env " + in.Name
	}
	return in.Kind.String() + " " + in.Path
}

// dedupInputs keeps the first occurrence of each input (by Key) and sorts
// the result by key so lists are stable across runs.
func dedupInputs(ins []Input) []Input {
	seen := make(map[string]int, len(ins))
	out := ins[:0:0]
	for _, in := range ins {
		k := in.Key()
		if i, ok := seen[k]; ok {
			// One observation of the content makes it more than a probe.
			out[i].StatOnly = out[i].StatOnly && in.StatOnly
			continue
		}
		seen[k] = len(out)
		out = append(out, in)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// tracedPerLine keeps the traced in-root inputs, one per input and line
// (a file read and stat'ed on a line is read there).
func tracedPerLine(ins []Input) []Input {
	type key struct {
		k    string
		line int
	}
	seen := map[key]int{}
	var out []Input
	for _, in := range ins {
		if in.Origin != OriginTraced || !in.InRoot {
			continue
		}
		k := key{in.Key(), in.Line}
		if i, ok := seen[k]; ok {
			out[i].StatOnly = out[i].StatOnly && in.StatOnly
			continue
		}
		seen[k] = len(out)
		out = append(out, in)
	}
	return out
}
