// Package parser owns the syntax of `.cmdt` transcripts and depfiles
// (../shared/spec/cmdt-format.md §1, §3, §4).
//
// Parsing is lossless: a [File] keeps every byte of its input, and
// [File.Bytes] gives it back exactly, so tools that rewrite a transcript
// (update, the language server's edits) touch only the lines they mean to.
// Positions are 1-based lines and 0-based byte columns, as in go/token;
// editors convert columns to their own encodings.
//
// The parser never stops at the first error: each bad line yields one
// [Error] and parsing continues. It never touches the file system:
// dependency declarations are parsed into typed [Dep] values whose words
// are expanded and resolved later, by the engine.
package parser
