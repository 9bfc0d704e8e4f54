package cache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cmdt-dev/cmdt/engine/cache"
)

func key(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLocalRoundTripAndDamage(t *testing.T) {
	ctx := context.Background()
	l, err := cache.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := key("a")
	if _, err := l.Get(ctx, k); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	data := bytes.Repeat([]byte("manifest "), 100)
	if err := l.Put(ctx, k, data); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(ctx, k)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
	p := filepath.Join(l.Dir(), "v1", "ac", k[:2], k)
	raw, _ := os.ReadFile(p)
	for name, bad := range map[string][]byte{
		"truncated":  raw[:len(raw)-1],
		"header":     raw[:20],
		"bit flip":   append(append([]byte{}, raw[:len(raw)-1]...), raw[len(raw)-1]^1),
		"extra byte": append(append([]byte{}, raw...), '\n'),
		"empty":      {},
	} {
		os.WriteFile(p, bad, 0o644)
		if _, err := l.Get(ctx, k); !errors.Is(err, cache.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	for _, bad := range []string{"", "../../etc/passwd", key("x")[:63] + "G", "ABCDEF"} {
		if err := l.Put(ctx, bad, data); err == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
	}
}
