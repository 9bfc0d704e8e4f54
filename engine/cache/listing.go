package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/cmdt-dev/cmdt/engine"
)

// A listing (engine.Input.IsListing: a traced readdir, the shell's glob
// expansion) depends on the names a directory holds, not on their
// contents: `ls d` prints the same after an edit of d/a.txt. Its record
// keeps the sorted names (root-relative, in Matches, without hashes) and
// their hash; names the run itself wrote are outputs, listed in Ignore so
// that a later lookup does not find the run's own leftovers "gained".

// maxListedNames bounds the names a manifest keeps for one listing; a
// larger directory is recorded by the hash of its names only, and a
// change is reported without naming the entries.
const maxListedNames = 1000

// isListing reports whether the record is a directory listing.
func (r InputRecord) isListing() bool {
	return r.Kind == engine.InputGlob && !r.Origin.Declared()
}

// listingHash hashes a sorted list of root-relative names.
func listingHash(names []string) string {
	h := sha256.New()
	writeField(h, "cmdt listing v1")
	for _, n := range names {
		writeField(h, n)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listNow lists dir (absolute) now, root-relative, minus ignored names
// (root-relative too). ok is false when dir cannot be listed.
func (ev *evaluator) listNow(dir string, ignore map[string]bool) (names []string, ok bool) {
	abs, ok := engine.ListNames(dir)
	if !ok {
		return nil, false
	}
	names = make([]string, 0, len(abs))
	for _, p := range abs {
		rel := relPath(ev.t.Root, p)
		if !ignore[rel] {
			names = append(names, rel)
		}
	}
	return names, true
}

// recordListing makes the record of a listing and reports whether the
// directory's names differ from those the run saw (other than by the
// run's own outputs).
func (ev *evaluator) recordListing(rec InputRecord, in engine.Input, outputs []string) (InputRecord, bool) {
	dir := in.ListingDir()
	ignore := map[string]bool{}
	// outputs is sorted: the run's outputs directly in dir.
	i := sort.SearchStrings(outputs, dir+string(filepath.Separator))
	for ; i < len(outputs) && engine.IsWithin(dir, outputs[i]); i++ {
		if filepath.Dir(outputs[i]) == dir {
			rel := relPath(ev.t.Root, outputs[i])
			ignore[rel] = true
			rec.Ignore = append(rec.Ignore, rel)
		}
	}
	names, ok := ev.listNow(dir, ignore)
	if !ok {
		rec.Hash = hashAbsent
		return rec, in.Exists
	}
	if !in.Exists {
		rec.Hash = listingHash(names)
		return rec, true // created during the run
	}
	rec.Hash = listingHash(names)
	if len(names) <= maxListedNames {
		rec.Matches = make([]MatchRecord, len(names))
		for i, n := range names {
			rec.Matches[i] = MatchRecord{Path: n}
		}
	}
	changed := len(names) != len(in.Matches)
	for i := 0; !changed && i < len(names); i++ {
		changed = names[i] != relPath(ev.t.Root, in.Matches[i])
	}
	return rec, changed
}

// listingChanges compares a recorded listing with the directory now.
func (ev *evaluator) listingChanges(in *InputRecord, rs *reasons) {
	dir := filepath.Dir(absPath(ev.t.Root, in.Path))
	ignore := make(map[string]bool, len(in.Ignore))
	for _, n := range in.Ignore {
		ignore[n] = true
	}
	names, ok := ev.listNow(dir, ignore)
	now := hashAbsent
	if ok {
		now = listingHash(names)
	}
	if now == in.Hash {
		return
	}
	display := listingDisplay(in.Path)
	switch {
	case in.Hash == hashAbsent:
		rs.add(display + " created")
		return
	case now == hashAbsent:
		rs.add(display + " deleted")
		return
	case len(in.Matches) == 0 && len(names) > maxListedNames:
		rs.add(fmt.Sprintf("%s changed (%d entries)", display, len(names)))
		return
	}
	was := make(map[string]bool, len(in.Matches))
	for _, m := range in.Matches {
		was[m.Path] = true
	}
	is := make(map[string]bool, len(names))
	for _, n := range names {
		is[n] = true
		if !was[n] {
			rs.add(display + " gained " + n)
		}
	}
	for _, m := range in.Matches {
		if !is[m.Path] {
			rs.add(display + " lost " + m.Path)
		}
	}
}

// listingDisplay names a listing by its directory with a trailing slash
// ("d/"), as reasons show it.
func listingDisplay(pattern string) string {
	dir := filepath.ToSlash(filepath.Dir(filepath.FromSlash(pattern)))
	if dir == "." {
		return "./"
	}
	return dir + "/"
}
