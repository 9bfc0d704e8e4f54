package cmdtest

import (
	"fmt"
	"strings"

	"github.com/cmdt-dev/cmdt/engine"
)

// failureMessage renders a failed command the way compilers and go vet
// report problems, "file:line: ...", so editors and terminals link to it.
func failureMessage(name string, f *engine.Failure) string {
	return strings.TrimSuffix(f.Report(name, nil), "\n")
}

// maxListed bounds the inputs invisibleWarning names one by one.
const maxListed = 20

// invisibleWarning names the inputs go test cannot see, and what to do.
func invisibleWarning(name, root string, ins []engine.Input) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cmdt: warning: %s depends on %d input(s) outside the module root %s;\n", name, len(ins), root)
	b.WriteString("go test cannot see them, so changing them will not invalidate a cached result\n")
	b.WriteString("(move them under the module root, or run with -count=1):\n")
	// A traced interpreter probes hundreds of library paths; list the
	// declared inputs first and at most maxListed in all, so the warning
	// stays readable and names what the author wrote.
	ordered := make([]engine.Input, 0, len(ins))
	for _, in := range ins {
		if in.Origin.Declared() {
			ordered = append(ordered, in)
		}
	}
	for _, in := range ins {
		if !in.Origin.Declared() {
			ordered = append(ordered, in)
		}
	}
	for i, in := range ordered {
		if i == maxListed {
			fmt.Fprintf(&b, "\t... and %d more\n", len(ordered)-maxListed)
			break
		}
		fmt.Fprintf(&b, "\t%s", in)
		if in.Line > 0 {
			fmt.Fprintf(&b, " (line %d, %s)", in.Line, in.Origin)
		}
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}
