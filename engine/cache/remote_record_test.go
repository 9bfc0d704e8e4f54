package cache

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestACRecordRoundTrip(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	rec := encodeACRecord(digest, 300)
	// The exact bytes of ActionResult{output_files: [{path: "cmdt-manifest",
	// digest: {hash: digest, size_bytes: 300}}]}, as protoc would write them.
	want := "12" + "56" + // field 2 (output_files), len 86
		"0a0d" + hex.EncodeToString([]byte("cmdt-manifest")) + // path
		"1245" + // digest, len 69
		"0a40" + hex.EncodeToString([]byte(digest)) + // hash
		"10ac02" // size_bytes 300
	if got := hex.EncodeToString(rec); got != want {
		t.Fatalf("record =\n%s\nwant\n%s", got, want)
	}
	d, n, err := decodeACRecord(rec)
	if err != nil || d != digest || n != 300 {
		t.Fatalf("decode = %q, %d, %v", d, n, err)
	}
	// Unknown fields (exit_code 4, execution_metadata 9, another output)
	// are skipped.
	extra := append([]byte{4 << 3, 0}, rec...)
	extra = append(extra, appendBytesField(nil, 9, []byte{8, 1})...)
	extra = append(extra, appendBytesField(nil, 2, appendBytesField(nil, 1, []byte("other")))...)
	if d, n, err := decodeACRecord(extra); err != nil || d != digest || n != 300 {
		t.Fatalf("decode with extra fields = %q, %d, %v", d, n, err)
	}
	// Two manifests are ambiguous.
	if _, _, err := decodeACRecord(append(bytes.Clone(rec), rec...)); err == nil {
		t.Error("a record with two manifests was accepted")
	}
}

func FuzzDecodeACRecord(f *testing.F) {
	f.Add(encodeACRecord(strings.Repeat("0", 64), 0))
	f.Add(encodeACRecord(strings.Repeat("f", 64), 1<<20))
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, n, err := decodeACRecord(b)
		if err != nil {
			return
		}
		if !validKey(d) || n < 0 || n > maxBlobSize {
			t.Fatalf("accepted %q, %d", d, n)
		}
		// What decodes re-encodes to a record naming the same blob.
		if d2, n2, err := decodeACRecord(encodeACRecord(d, n)); err != nil || d2 != d || n2 != n {
			t.Fatalf("re-encode: %q %d %v", d2, n2, err)
		}
	})
}
