package parser

import (
	"reflect"
	"testing"
)

func TestGlobExclusions(t *testing.T) {
	f := Parse("t.cmdt", []byte("% dep glob src/** lib/*.go !(**/__pycache__/**) !(**/*.pyc)\n% dep glob a !b\n$ true\n"))
	if len(f.Errors) > 0 {
		t.Fatal(f.Errors)
	}
	deps := f.Deps()
	if len(deps) != 4 {
		t.Fatalf("deps = %d", len(deps))
	}
	want := []string{"**/__pycache__/**", "**/*.pyc"}
	for _, d := range deps[:2] {
		if d.Kind != DepGlob || !reflect.DeepEqual(d.Exclude, want) {
			t.Errorf("%s: kind %v, exclude %q", d.Raw, d.Kind, d.Exclude)
		}
	}
	// A valid line before exclusions existed keeps its meaning: `!b` is a
	// pattern, not an exclusion.
	if d := deps[3]; d.Value != "!b" || d.Kind != DepGlob || d.Exclude != nil {
		t.Errorf("!b = %+v", d)
	}
	for _, bad := range []string{"% dep glob !(x)\n", "% dep file a !(x)\n", "% dep a !(x)\n", "% depfile !(x)\n", "% dep glob a !(x|y)\n", "% dep glob a x!(y)\n"} {
		if f := Parse("t.cmdt", []byte(bad)); len(f.Errors) == 0 {
			t.Errorf("%q: no error", bad)
		}
	}
}
