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

// listingOf reports whether glob is dir's listing, dir/*.
func listingOf(glob, dir string) bool {
	if IsCleanAbs(dir) && dir != string(filepath.Separator) {
		// Without filepath.Join's copy: this runs for every pair of
		// declaration and word on each keystroke in the language server.
		return len(glob) == len(dir)+2 && glob[:len(dir)] == dir && glob[len(dir):] == string(filepath.Separator)+"*"
	}
	return glob == filepath.Join(dir, "*")
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
		if Excluded(d.Exclude, in.Path) {
			return false // an artefact the declaration leaves out
		}
		if listingOf(d.Path, in.Path) {
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
