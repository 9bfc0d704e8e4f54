package cache

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cmdt-dev/cmdt/engine"
)

// decodeEntryStd is DecodeEntry with encoding/json, the reference the fast
// decoder is held to.
func decodeEntryStd(data []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	if e.Format != entryFormat {
		return nil, fmt.Errorf("format %d", e.Format)
	}
	for _, m := range e.Manifests {
		if m == nil || m.Source == "" {
			return nil, fmt.Errorf("incomplete manifest")
		}
	}
	return &e, nil
}

// sampleEntry is an entry with every field set, and strings that need
// escaping.
func sampleEntry() *Entry {
	at := time.Date(2026, 12, 4, 19, 47, 10, 59291737, time.UTC)
	return &Entry{Manifests: []*Manifest{{
		Project: "go:example.com/corpus", Transcript: "a b/t.cmdt", Dir: "a b",
		Source: "bbe767c2", Version: "0.1.0-dev", EnvScheme: "sha256", ObservedBy: "ebpf",
		EnvMode: engine.EnvDeclared, RecordedAt: at, Duration: 920396375,
		Commands: []CommandTiming{{Line: 1, Duration: 893709243}},
		Inputs: []InputRecord{
			{Kind: engine.InputEnv, Origin: engine.OriginEnvLookup, Name: "PATH", Line: 1, Hash: "8331"},
			{Kind: engine.InputExe, Origin: engine.OriginTraced, Path: "/usr/local/go/pkg/tool/linux_amd64/compile",
				Name: "compile", Line: 1, Via: "/usr/local/go/bin/go", Hash: "ef10"},
			{Kind: engine.InputGlob, Origin: engine.OriginDeclared, Path: "src/*.go \"quoted\" \\ é \u2028",
				Hash: "00", Matches: []MatchRecord{{Path: "src/a.go", Hash: "11"}}, Exclude: []string{"x"}, Ignore: []string{"y"}},
		},
	}}, NotCached: "d/ changed during the run", NotCachedAt: at}
}

// FuzzDecodeEntry: DecodeEntry (segmentio/encoding/json) accepts exactly
// the entries encoding/json accepts and decodes them to the same values.
func FuzzDecodeEntry(f *testing.F) {
	good, err := sampleEntry().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"manifests":[null]}`))
	f.Add([]byte(`{"format":1,"manifests":[{"source":"s","inputs":[{"kind":"file","origin":"traced","path":"\ud800"}]}]}`))
	f.Add([]byte(`{"FORMAT":1,"Manifests":[{"Source":"s","durationNs":1e3}]}`))
	f.Add([]byte(`{"format":1} trailing`))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := decodeEntryStd(data)
		got, gotErr := DecodeEntry(data)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("encoding/json: %v; DecodeEntry: %v", wantErr, gotErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded differently:\nencoding/json %+v\nDecodeEntry   %+v", want, got)
		}
	})
}

// TestDecodeEntryRoundTrip: what Encode writes, DecodeEntry reads back
// unchanged.
func TestDecodeEntryRoundTrip(t *testing.T) {
	e := sampleEntry()
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEntry(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
}
