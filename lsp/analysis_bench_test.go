package lsp

import (
	"path/filepath"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/cmdt-dev/cmdt/parser"
)

func BenchmarkAnalyze10k(b *testing.B) {
	dir := benchWorkspace(b)
	s := newServer(Options{})
	src := genTranscript(10000)
	u := pathURI(filepath.Join(dir, "big.cmdt"))
	b.Run("parse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			parser.Parse("x", []byte(src))
		}
	})
	b.Run("mapper", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			NewMapper(src, UTF16)
		}
	})
	b.Run("analysis-after-parse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			snap := s.store.Open(protocol.TextDocumentItem{URI: u, LanguageID: "cmdt", Version: 1, Text: src}, time.Time{})
			snap.File()
			b.StartTimer()
			s.analysis(snap)
		}
	})
	b.Run("toProtocol", func(b *testing.B) {
		snap := s.store.Open(protocol.TextDocumentItem{URI: u, LanguageID: "cmdt", Version: 1, Text: src}, time.Time{})
		a := s.analysis(snap)
		for i := 0; i < b.N; i++ {
			for _, d := range a.Diagnostics {
				d.toProtocol(snap.Mapper)
			}
		}
	})
}
