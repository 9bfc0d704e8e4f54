package trace

import (
	"slices"
	"testing"
)

func TestClassify(t *testing.T) {
	r := func(p string) Access { return Access{Path: p, Op: OpRead, Exists: true} }
	w := func(p string) Access { return Access{Path: p, Op: OpWrite, Exists: true} }
	tests := []struct {
		name string
		in   []Access
		want []Access
	}{
		{"empty", nil, []Access{}},
		{"reads are inputs", []Access{r("/a"), {Path: "/b", Op: OpStat}}, []Access{r("/a"), {Path: "/b", Op: OpStat}}},
		{"written then read is an output", []Access{w("/out"), r("/out"), {Path: "/out", Op: OpExec, Exists: true}}, []Access{}},
		{"read then rewritten stays an input", []Access{r("/conf"), w("/conf")}, []Access{r("/conf")}},
		{"absence checked before creating is an input",
			[]Access{{Path: "/x", Op: OpStat}, w("/x"), r("/x")},
			[]Access{{Path: "/x", Op: OpStat}}},
		{"a failed write changes nothing", []Access{{Path: "/ro", Op: OpWrite}, r("/ro")}, []Access{r("/ro")}},
		{"writes through a link cover its target",
			[]Access{{Path: "/link", Resolved: "/target", Op: OpWrite, Exists: true}, r("/target")},
			[]Access{}},
		{"other paths are unaffected", []Access{w("/out"), r("/in")}, []Access{r("/in")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := Classify(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("Classify modified its argument")
			}
		})
	}
}
