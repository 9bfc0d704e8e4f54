//go:build linux && amd64

package trace

import (
	"encoding/binary"
	"testing"
)

// fakeRing is a ringReader over memory laid out as the kernel lays out
// a ring buffer (the data twice, so that a record that wraps reads
// whole), with put writing records as the kernel does.
func fakeRing(size int) (*ringReader, *uint64, func(hdr uint32, body []byte)) {
	ring := make([]byte, 2*size)
	var cons, prod uint64
	r := &ringReader{cons: &cons, prod: &prod, ring: ring, mask: uint64(size - 1), wait: -1}
	put := func(hdr uint32, body []byte) {
		for i := range 8 + len(body) {
			var b byte
			if i < 4 {
				b = byte(hdr >> (8 * i))
			} else if i >= 8 {
				b = body[i-8]
			}
			at := (prod + uint64(i)) & r.mask
			ring[at], ring[at+uint64(size)] = b, b
		}
		prod += uint64(8+len(body)+7) &^ 7
	}
	return r, &prod, put
}

// TestRingReaderReadsWhatTheKernelWrote: records in order, in place,
// discarded ones skipped, one that wraps read whole; a record still
// being written stops the reading there; a length past what was produced
// is counted as bad (lost), not read.
func TestRingReaderReadsWhatTheKernelWrote(t *testing.T) {
	r, prod, put := fakeRing(64)
	put(3, []byte("abc"))
	put(ringDiscard|5, []byte("xxxxx"))
	put(4, []byte("defg"))
	for _, want := range []string{"abc", "defg"} {
		got, ok := r.next()
		if !ok || string(got) != want {
			t.Fatalf("next = %q, %v; want %q", got, ok, want)
		}
	}
	if got, ok := r.next(); ok {
		t.Fatalf("next = %q past the end", got)
	}
	r.commit()
	if *r.cons != *prod {
		t.Fatalf("consumer at %d after commit, want %d", *r.cons, *prod)
	}
	// 40 bytes from position 40 of a 64-byte ring: wraps.
	put(20, []byte("0123456789abcdefghij"))
	if got, ok := r.next(); !ok || string(got) != "0123456789abcdefghij" {
		t.Fatalf("wrapped record = %q, %v", got, ok)
	}
	put(ringBusy|2, []byte("zz"))
	if got, ok := r.next(); ok {
		t.Fatalf("read %q, a record still being written", got)
	}
	at := r.pos
	binary.LittleEndian.PutUint32(r.ring[at&r.mask:], 2)
	binary.LittleEndian.PutUint32(r.ring[at&r.mask+64:], 2)
	if got, ok := r.next(); !ok || string(got) != "zz" {
		t.Fatalf("once submitted: %q, %v", got, ok)
	}
	put(4, []byte("last"))
	*prod -= 8 // the kernel said less was produced than the record claims
	if got, ok := r.next(); ok || r.bad.Load() != 1 {
		t.Fatalf("a record past the producer: %q, %v, bad %d", got, ok, r.bad.Load())
	}
}
