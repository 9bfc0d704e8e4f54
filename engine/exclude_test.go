package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A glob's exclusions leave files out of its matches (what the cache
// hashes) and out of what it covers; static resolution, the run and the
// language server share ResolveDep.
func TestGlobExclusionResolveAndCover(t *testing.T) {
	f, dir := writeTranscript(t, "t.cmdt", "% dep glob src/** !(**/__pycache__/**)\n$ true\n")
	for _, p := range []string{"src/a.py", "src/__pycache__/a.cpython-311.pyc", "src/sub/__pycache__/b.pyc", "src/sub/b.py"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	ins, errs, _ := ResolveStatic(f, dir, dir, nil)
	if len(errs) > 0 || len(ins) != 1 {
		t.Fatalf("inputs %v, errors %v", ins, errs)
	}
	want := []string{filepath.Join(dir, "src/a.py"), filepath.Join(dir, "src/sub/b.py")}
	if !reflect.DeepEqual(ins[0].Matches, want) {
		t.Errorf("matches = %q", ins[0].Matches)
	}
	res := run(t, f, Options{})
	if !reflect.DeepEqual(res.Declared[0].Matches, want) || res.Declared[0].Key() == (Input{Kind: InputGlob, Path: ins[0].Path}).Key() {
		t.Errorf("run: %+v", res.Declared[0])
	}
	if Covered(res.Declared, Input{Kind: InputFile, Path: filepath.Join(dir, "src/__pycache__/a.cpython-311.pyc")}) {
		t.Error("an excluded file is covered")
	}
	if !Covered(res.Declared, Input{Kind: InputFile, Path: filepath.Join(dir, "src/new.py")}) {
		t.Error("a file the pattern matches is not covered")
	}
	if _, err := (&Resolver{}).ResolveGlob("src/**", []string{"[bad"}, dir, 1); err == nil {
		t.Error("an invalid exclusion is accepted")
	}
}
