package engine

import (
	"path/filepath"

	"github.com/bmatcuk/doublestar/v4"
)

// Covered reports whether an observed input is covered by one of the
// declarations: the same file or program, a file under a declared
// directory, a file a declared glob matches (by pattern, so a file the
// glob would match once created counts too), or the same variable.
func Covered(declared []Input, in Input) bool {
	for _, d := range declared {
		if coveredBy(d, in) {
			return true
		}
	}
	return false
}

func coveredBy(d, in Input) bool {
	switch {
	case in.Kind == InputEnv:
		return d.Kind == InputEnv && d.Name == in.Name
	case d.Kind == InputEnv:
		return false
	case d.Path == in.Path:
		return true
	case d.Kind == InputDir:
		return IsWithin(d.Path, in.Path)
	case d.Kind == InputGlob:
		if d.Path == filepath.Join(in.Path, "*") {
			// `ls D` stats D and lists it: declaring the listing (D/*)
			// covers looking at D itself.
			return true
		}
		ok, err := doublestar.Match(filepath.ToSlash(d.Path), filepath.ToSlash(in.Path))
		return err == nil && ok
	case d.Kind == InputFile && !d.Exists:
		// A declared path that did not exist when resolved may be a
		// directory by now; treat it as covering what lies under it.
		return IsWithin(d.Path, in.Path)
	}
	return false
}

// NeedsDeclaration reports whether an observed input is one the spec
// wants declared (§5): something a subprocess read (seen only by tracing)
// that no declaration covers and the shell did not observe by itself
// (redirections, expansions and the programs it ran need none).
func NeedsDeclaration(res *Result, in Input) bool {
	if in.Origin != OriginTraced || Covered(res.Declared, in) {
		return false
	}
	for _, o := range res.Observed {
		if o.Origin != OriginTraced && o.Path == in.Path {
			return false
		}
	}
	return true
}

// Undeclared returns the observed inputs inside the module root that need
// a declaration and have none (see NeedsDeclaration).
func Undeclared(res *Result) []Input {
	var out []Input
	for _, in := range res.Observed {
		if in.InRoot && NeedsDeclaration(res, in) {
			out = append(out, in)
		}
	}
	return out
}
