package engine

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// A command's output is the same whether it stays in memory (builtins
// only), spills to the output file, or is shared with programs part-way
// through the command; and a session that handed its files to programs
// keeps capturing builtin output after that.
func TestOutputStreams(t *testing.T) {

	// n a's and echo's newline, written by the builtin in one call.
	sized := func(n int) string {
		return "x=$(head -c " + strconv.Itoa(n) + " /dev/zero 2>/dev/null | tr '\\0' a); echo \"$x\""
	}
	cmds := []struct {
		cmd            string
		stdout, stderr string // "" means no output; a leading '#' means "this many a's and a newline"
	}{
		{cmd: "echo a; echo b >&2; printf 'c\\n'", stdout: "a\nc\n", stderr: "b\n"},
		{cmd: sized(outSpill + 10), stdout: "#" + strconv.Itoa(outSpill+10)}, // spills
		{cmd: sized(outSpill * 3), stdout: "#" + strconv.Itoa(outSpill*3)},   // the file passes outputRecycleSize
		{cmd: "echo small", stdout: "small\n"},                               // recycled, back in memory
		{cmd: sized(outSpill + 1), stdout: "#" + strconv.Itoa(outSpill+1)},   // spills again
		{cmd: "true", stdout: ""},
		{cmd: "echo a; /bin/echo b; echo c", stdout: "a\nb\nc\n"}, // handed to a program mid-command
		{cmd: "echo x >&2; /bin/sh -c 'echo y >&2'; echo z >&2", stderr: "x\ny\nz\n"},
		{cmd: "echo after", stdout: "after\n"}, // shared from now on
		{cmd: sized(outSpill+5) + " >&2", stderr: "#" + strconv.Itoa(outSpill+5)},
		{cmd: "echo last; /bin/echo prog", stdout: "last\nprog\n"},
	}
	var src strings.Builder
	for _, c := range cmds {
		src.WriteString("$ " + c.cmd + "\n\n")
	}
	f, _ := writeTranscript(t, "o.cmdt", src.String())
	res := run(t, f, Options{})
	if len(res.Commands) != len(cmds) {
		t.Fatalf("ran %d commands, want %d", len(res.Commands), len(cmds))
	}
	want := func(s string) string {
		if strings.HasPrefix(s, "#") {
			return strings.Repeat("a", mustAtoi(s[1:])) + "\n"
		}
		return s
	}
	for i, c := range cmds {
		cr := res.Commands[i]
		if got := string(cr.Stdout); got != want(c.stdout) {
			t.Errorf("command %d (%s): stdout %d bytes %.40q, want %d bytes %.40q", i+1, c.cmd, len(got), got, len(want(c.stdout)), want(c.stdout))
		}
		if got := string(cr.Stderr); got != want(c.stderr) {
			t.Errorf("command %d (%s): stderr %d bytes %.40q, want %d bytes %.40q", i+1, c.cmd, len(got), got, len(want(c.stderr)), want(c.stderr))
		}
	}
}

// A builtin printing more than BigOutput is checked from the file, as a
// program's big output is.
func TestBigBuiltinOutput(t *testing.T) {
	f, _ := writeTranscript(t, "b.cmdt", "$ x=$(head -c 9000000 /dev/zero | tr '\\0' a); echo \"$x\"\n1 short\n")
	res := run(t, f, Options{})
	cr := res.Commands[0]
	if cr.StdoutPath != "" {
		defer os.Remove(cr.StdoutPath)
	}
	if !cr.BigOutputs() || cr.Stdout != nil {
		t.Fatalf("big=%v, %d bytes in memory", cr.BigOutputs(), len(cr.Stdout))
	}
	if st, err := os.Stat(cr.StdoutPath); err != nil || st.Size() != 9000001 {
		t.Fatalf("kept output %q: %v %v", cr.StdoutPath, st, err)
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
