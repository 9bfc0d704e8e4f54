package engine

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cmdt-dev/cmdt/parser"
)

// Substitutions are the values "[NAME]" tokens of pattern lines stand for
// at one point of a run (docs/format.md, "Patterns"): the built-ins
// (module root, transcript directory, temp directory, home) and the
// "% subst" declarations seen so far. A value is immutable; a declaration
// makes a new one, so each command keeps the set it ran under.
type Substitutions struct {
	vals map[string]*substValue
	// order lists the names update writes automatically, longest value
	// first, so the most specific one wins where values overlap.
	order []string
}

// substValue is what one name stands for: one of several literal
// spellings (a path as given and with its links resolved), or a regexp.
type substValue struct {
	lits    []string
	re      *regexp.Regexp
	reAt    *regexp.Regexp // re anchored at the start, for Spell
	auto    bool           // update and recording write it in place of its value
	builtin bool
}

// Value describes a substitution's value for display (hover, messages).
func (s *Substitutions) Value(name string) (string, bool) {
	if s == nil {
		return "", false
	}
	v := s.vals[name]
	if v == nil {
		return "", false
	}
	if v.re != nil {
		return "/" + v.re.String() + "/", true
	}
	return strings.Join(v.lits, " or "), true
}

// Names returns the defined names, sorted.
func (s *Substitutions) Names() []string {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(s.vals))
	for n := range s.vals {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// builtinSubstitutions computes the built-ins for a session starting in a
// transcript at dir, module root root, with environment env.
func builtinSubstitutions(root, dir string, env []string) *Substitutions {
	s := &Substitutions{vals: map[string]*substValue{}}
	tmp := envValue(env, "TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	for _, b := range []struct {
		name, path string
		auto       bool
	}{
		{parser.SubstRoot, root, true},
		// [DIR] is matched but never written: [ROOT]/sub says the same
		// and stays right when the transcript moves within the module.
		{parser.SubstDir, dir, false},
		{parser.SubstTmp, tmp, true},
		{parser.SubstHome, envValue(env, "HOME"), true},
	} {
		lits := pathSpellings(b.path)
		if len(lits) == 0 {
			continue
		}
		s.vals[b.name] = &substValue{lits: lits, auto: b.auto, builtin: true}
	}
	s.sortOrder()
	return s
}

// pathSpellings returns a path as given and with its links resolved, or
// nothing for a path too short to stand for anything ("", "/", relative).
func pathSpellings(p string) []string {
	if !filepath.IsAbs(p) {
		return nil
	}
	p = filepath.Clean(p)
	if p == "/" {
		return nil
	}
	lits := []string{p}
	if real, err := filepath.EvalSymlinks(p); err == nil && real != p && real != "/" {
		lits = append(lits, real)
	}
	return lits
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// with returns s plus (or redefining) one user substitution.
func (s *Substitutions) with(name string, v *substValue) *Substitutions {
	n := &Substitutions{vals: make(map[string]*substValue, len(s.vals)+1)}
	for k, old := range s.vals {
		n.vals[k] = old
	}
	n.vals[name] = v
	n.sortOrder()
	return n
}

// sortOrder lists the automatic names: literal values by decreasing
// length (the root before the home it lies in), then regexps in name order.
func (s *Substitutions) sortOrder() {
	s.order = s.order[:0]
	for name, v := range s.vals {
		if v.auto {
			s.order = append(s.order, name)
		}
	}
	longest := func(v *substValue) int {
		n := 0
		for _, l := range v.lits {
			n = max(n, len(l))
		}
		return n
	}
	sort.Slice(s.order, func(i, j int) bool {
		a, b := s.vals[s.order[i]], s.vals[s.order[j]]
		if (a.re == nil) != (b.re == nil) {
			return a.re == nil
		}
		if la, lb := longest(a), longest(b); la != lb {
			return la > lb
		}
		return s.order[i] < s.order[j]
	})
}

// declare evaluates a "% subst" directive: a value is expanded now, in
// the session's environment (an env variable it reads is an input, like
// any other lookup).
func (s *Substitutions) declare(d *parser.Subst, lookup func(string) (string, bool)) (*Substitutions, error) {
	if d.Kind == parser.SubstRegexp {
		reAt, err := regexp.Compile(`^(?:` + d.Regexp.String() + `)`)
		if err != nil {
			return s, fmt.Errorf("[%s]: %w", d.Name, err)
		}
		return s.with(d.Name, &substValue{re: d.Regexp, reAt: reAt, auto: true}), nil
	}
	value := d.Value
	if !d.Literal {
		v, err := ExpandWord(d.Word, lookup)
		if err != nil {
			return s, fmt.Errorf("[%s]: %w", d.Name, err)
		}
		value = v
	}
	if value == "" {
		return s, fmt.Errorf("[%s]: the value %s expands to the empty string", d.Name, d.Raw)
	}
	return s.with(d.Name, &substValue{lits: []string{value}, auto: true}), nil
}

// Spell writes an actual output line as an expectation payload and says
// whether it needs a pattern line ("1*"): every occurrence of an automatic
// substitution's value becomes its "[NAME]" and the rest is escaped. A
// line holding none is returned as is, for a plain "1" line.
func (s *Substitutions) Spell(line string) (string, bool) {
	if s == nil || len(s.order) == 0 || line == parser.AnyLines {
		return line, false
	}
	var b strings.Builder
	found := false
	lit := 0 // start of the literal text not yet written
	for i := 0; i < len(line); {
		name, n := s.valueAt(line, i)
		if n == 0 {
			i++
			continue
		}
		b.WriteString(parser.EscapeGlob(line[lit:i]))
		b.WriteString("[" + name + "]")
		found = true
		i += n
		lit = i
	}
	if !found {
		return line, false
	}
	b.WriteString(parser.EscapeGlob(line[lit:]))
	return b.String(), true
}

// valueAt returns the automatic substitution whose value starts at
// line[i] (the longest literal, else the first regexp), with its length.
// A literal value must start and end at a path-component boundary, so that
// the root /src/app does not claim /src/app2.
func (s *Substitutions) valueAt(line string, i int) (string, int) {
	for _, name := range s.order {
		v := s.vals[name]
		if v.re != nil {
			if boundaryBefore(line, i) {
				if loc := v.reAt.FindStringIndex(line[i:]); loc != nil && loc[1] > 0 {
					return name, loc[1]
				}
			}
			continue
		}
		if !pathBoundary(line, i-1) {
			continue
		}
		for _, l := range v.lits {
			if strings.HasPrefix(line[i:], l) && pathBoundary(line, i+len(l)) {
				return name, len(l)
			}
		}
	}
	return "", 0
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 0x80
}

// pathBoundary reports whether line[i] (out of range at either end
// counts) cannot continue a path name: /tmp in /tmp/tmp.x is the temp dir
// once, not twice, and /src/app is not the start of /src/app.d.
func pathBoundary(line string, i int) bool {
	return i < 0 || i >= len(line) || !isWordByte(line[i]) && line[i] != '.'
}

// boundaryBefore keeps a regexp substitution from starting inside a word
// (a version regexp inside an unrelated identifier).
func boundaryBefore(line string, i int) bool {
	return i == 0 || !isWordByte(line[i-1]) || !isWordByte(line[i])
}

// transcriptDir is the directory of f's file, or dir for an unnamed file.
func transcriptDir(f *parser.File, dir string) string {
	if f.Name == "" {
		return dir
	}
	abs, err := filepath.Abs(f.Name)
	if err != nil {
		return dir
	}
	return filepath.Dir(abs)
}

// declareSubst evaluates a "% subst" directive at its point in the run.
func (s *session) declareSubst(d *parser.Directive, res *Result) {
	next, err := s.substs.declare(d.Subst, s.lookupVar)
	if err != nil {
		res.DeclErrors = append(res.DeclErrors, &parser.Error{File: res.File.Name, Range: d.Subst.RawRange, Code: parser.CodeBadSubst, Msg: err.Error()})
		return
	}
	s.substs = next
}
