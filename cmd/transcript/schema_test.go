package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaFile is the published schema every JSON document must follow.
const schemaFile = "../../docs/schema/cmdt-report.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	abs, err := filepath.Abs(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(abs)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// validate checks one document against the schema, and that it is the kind
// wanted with this schema version.
func validate(t *testing.T, s *jsonschema.Schema, what, kind string, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Errorf("%s: not JSON: %v\n%s", what, err, doc)
		return
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s: does not follow %s:\n%v\n%s", what, schemaFile, err, doc)
		return
	}
	m, _ := v.(map[string]any)
	if m["kind"] != kind || m["schemaVersion"] != json.Number("1") {
		t.Errorf("%s: kind %v, schemaVersion %v; want %s, 1", what, m["kind"], m["schemaVersion"], kind)
	}
}

// TestJSONFollowsSchema runs every command that prints JSON on the paths a
// CI meets (pass, fail, cached, timeout, syntax error, a binary file, an
// unreadable file, a missing path, unresolvable declarations) and validates
// each document against the published schema with a JSON Schema validator.
func TestJSONFollowsSchema(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	schema := compileSchema(t)
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/x\n")
	write("pass.cmdt", "% dep file in.txt\n% dep env HOME\n$ cat in.txt\n1 in\n")
	write("in.txt", "in\n")
	write("fail.cmdt", "$ echo a\n1 b\n\n$ exit 3\n")
	write("slow.cmdt", "$ sleep 5\n")
	write("syntax.cmdt", "$ echo a\n3 bad\n"+strings.Repeat("x\n", 30))
	write("binary.cmdt", "\x7fELF\x00\x00\x01")
	write("undeclared.cmdt", "% dep file missing/*.txt\n$ cat in.txt\n1 in\n")
	write("locked.cmdt", "$ true\n")
	if err := os.Chmod(filepath.Join(dir, "locked.cmdt"), 0); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "CMDT_CACHE_DIR="+filepath.Join(t.TempDir(), "cache"), "GITHUB_ACTIONS=")

	run := func(args ...string) []byte {
		cmd := exec.Command(filepath.Join(bin, "transcript"), args...)
		cmd.Dir, cmd.Env = dir, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("transcript %v: %v", args, err)
		}
		if stdout.Len() == 0 {
			t.Errorf("transcript %v: nothing on stdout (stderr %q)", args, stderr.String())
		}
		return stdout.Bytes()
	}
	for _, tc := range []struct {
		kind string
		args []string
	}{
		{"check", []string{"check", "--json", "pass.cmdt", "fail.cmdt"}},
		{"check", []string{"check", "--json", "pass.cmdt"}}, // cached now
		{"check", []string{"check", "--json", "--timeout", "100ms", "slow.cmdt"}},
		{"check", []string{"check", "--json", "pass.cmdt", "syntax.cmdt", "binary.cmdt"}},
		{"check", []string{"check", "--json", "locked.cmdt"}},
		{"check", []string{"check", "--json", "no-such-dir"}},
		{"check", []string{"check", "--json", "undeclared.cmdt"}},
		{"status", []string{"status", "--json", "pass.cmdt", "fail.cmdt", "locked.cmdt"}},
		{"deps", []string{"deps", "--json", "pass.cmdt"}},
		{"deps", []string{"deps", "--json", "undeclared.cmdt"}},
		{"deps", []string{"deps", "--json", "syntax.cmdt"}},
		{"depsObserved", []string{"deps", "--observed", "--json", "pass.cmdt"}},
	} {
		validate(t, schema, "transcript "+strings.Join(tc.args, " "), tc.kind, run(tc.args...))
	}
}

// TestSchemaDocExamples validates the examples in docs/json.md (the watch
// events among them) against the schema, so the documentation cannot drift
// from it.
func TestSchemaDocExamples(t *testing.T) {
	schema := compileSchema(t)
	doc, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 5 {
		t.Fatalf("docs/json.md has %d json examples, want one per kind at least", len(blocks))
	}
	kinds := map[string]bool{}
	for i, b := range blocks {
		// A block holds one document, or JSON lines (watch events).
		dec := json.NewDecoder(bytes.NewReader(b[1]))
		for n := 0; dec.More(); n++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatalf("docs/json.md example %d: %v", i+1, err)
			}
			var head struct{ Kind string }
			json.Unmarshal(raw, &head)
			kinds[head.Kind] = true
			validate(t, schema, "docs/json.md example "+string(rune('0'+i+1)), head.Kind, raw)
		}
	}
	for _, k := range []string{"check", "status", "deps", "depsObserved", "watch"} {
		if !kinds[k] {
			t.Errorf("docs/json.md has no example of kind %q", k)
		}
	}
}

// TestSchemaRejectsDrift: the schema is strict enough to catch the drift it
// exists to prevent (a snake_case key, a missing version, an unknown field).
func TestSchemaRejectsDrift(t *testing.T) {
	schema := compileSchema(t)
	good := `{"schemaVersion":1,"kind":"check","files":[],"summary":{"passed":0,"cached":0,"failed":0,"errors":0,"elapsedMs":1}}`
	for _, bad := range []string{
		strings.Replace(good, `"elapsedMs"`, `"elapsed_ms"`, 1),
		strings.Replace(good, `"schemaVersion":1,`, ``, 1),
		strings.Replace(good, `"schemaVersion":1`, `"schemaVersion":2`, 1),
		strings.Replace(good, `"files":[]`, `"files":[],"extra":true`, 1),
		strings.Replace(good, `"files":[]`, `"files":[{"path":"a","status":"pass","cached":false,"durationMs":1,"duration_ms":1}]`, 1),
		`{"schemaVersion":1,"kind":"watch","event":"run","time":"2026-01-01T00:00:00Z"}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(v) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(good))
	if err := schema.Validate(v); err != nil {
		t.Errorf("the schema rejects a good document: %v", err)
	}
}
