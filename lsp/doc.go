// Package lsp is the cmdt language server: diagnostics, hover, completion,
// navigation, symbols, folding and semantic tokens for `.cmdt` transcripts
// and depfiles, spoken over LSP (JSON-RPC 2.0 with Content-Length framing).
//
// The server is built on go.lsp.dev/protocol v0.12.0 (types) and
// go.lsp.dev/jsonrpc2 v0.10.0 (framing), both pinned; the traps in that
// stack are described in shared/design/lsp-stack-notes.md and each has a
// regression test here. LSP 3.17 additions the protocol package lacks
// (position encodings, inlay hints) live in protocol317.go.
//
// Concurrency model, as in gopls: every open document is an immutable
// [Snapshot] (text, version, lazily parsed tree and analysis). Messages are
// handled one at a time in arrival order, so a request that follows a
// didChange sees the edit; handlers read a snapshot and never mutate shared
// state other than the document store. Diagnostics are computed off the
// request queue by a background worker that always works on the newest
// snapshot of a document.
//
// Use [Serve] to run the server on any io.ReadWriteCloser (stdio in
// cmd/cmdt-lsp and `transcript lsp`, a net.Pipe in tests).
package lsp
