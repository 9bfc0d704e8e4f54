package parser

import (
	"fmt"
	"strings"
	"testing"
)

func bigTranscript(lines int) []byte {
	var b strings.Builder
	for i := 0; b.Len() >= 0; i++ {
		fmt.Fprintf(&b, "# command %d\n$ echo line %d | tr a-z A-Z\n> && true\n1 LINE %d\n2 warning: something\n? 0\n%% dep file testdata/f%d.txt\n\n", i, i, i, i)
		if i*8 >= lines {
			break
		}
	}
	return []byte(b.String())
}

// BenchmarkParse100k parses a 100,000-line transcript (target ≤ 20 ms).
func BenchmarkParse100k(b *testing.B) {
	src := bigTranscript(100_000)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		f := Parse("big.cmdt", src)
		if len(f.Errors) > 0 {
			b.Fatal(f.Errors[0])
		}
	}
}
