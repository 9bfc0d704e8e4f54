package lsp

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/cmdt-dev/cmdt/parser"
)

// DocKind says how the server treats a document.
type DocKind int

// Document kinds.
const (
	DocOther      DocKind = iota // not ours: kept in sync, never analysed
	DocTranscript                // a .cmdt transcript
	DocDepfile                   // a depfile (spec §4)
)

func (k DocKind) String() string {
	return [...]string{"other", "transcript", "depfile"}[k]
}

// Language ids used by the VS Code extension.
const (
	LanguageTranscript = "cmdt"
	LanguageDepfile    = "cmdt-deps"
)

// classify picks a document's kind. The language id wins when it is one
// of ours; then the file name convention: *.cmdt is a transcript, and
// *.cmdtdeps or a file named exactly cmdt.deps is a depfile. Any other
// file is a depfile when an open transcript names it in `% depfile` or
// `% dep <` (referenced).
func classify(path, languageID string, referenced bool) DocKind {
	switch languageID {
	case LanguageTranscript:
		return DocTranscript
	case LanguageDepfile:
		return DocDepfile
	}
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(base, ".cmdt"):
		return DocTranscript
	case strings.HasSuffix(base, ".cmdtdeps"), base == "cmdt.deps":
		return DocDepfile
	case referenced:
		return DocDepfile
	}
	return DocOther
}

// uriPath returns the file system path of a file: URI. Other schemes
// (untitled:, vscode-notebook-cell:, ...) have none; uri.URI.Filename
// would panic on them (lsp-stack-notes.md trap 8).
func uriPath(u protocol.DocumentURI) (string, bool) {
	p, err := url.Parse(string(u))
	if err != nil || p.Scheme != "file" || p.Path == "" {
		return "", false
	}
	return filepath.Clean(filepath.FromSlash(p.Path)), true
}

// pathURI returns the file: URI of an absolute path.
func pathURI(path string) protocol.DocumentURI {
	return protocol.DocumentURI(uri.File(path))
}

// Snapshot is one immutable version of an open document. Everything
// derived from it (parse tree, analysis) is computed at most once, lazily,
// by whichever reader needs it first.
type Snapshot struct {
	URI        protocol.DocumentURI
	Path       string // file system path; "" for non-file URIs
	Version    int32
	LanguageID string
	Text       string
	Kind       DocKind
	Mapper     *Mapper

	parseMu sync.Mutex
	file    *parser.File
	depfile *parser.Depfile

	anMu sync.Mutex
	an   *Analysis

	// received is when the edit that made this snapshot arrived, for
	// latency measurements; written once before the snapshot is shared.
	received time.Time
}

func newSnapshot(u protocol.DocumentURI, path string, version int32, langID, text string, kind DocKind, enc Encoding) *Snapshot {
	return &Snapshot{URI: u, Path: path, Version: version, LanguageID: langID, Text: text, Kind: kind, Mapper: NewMapper(text, enc)}
}

// withKind returns a copy of s with another kind (same text and version).
func (s *Snapshot) withKind(k DocKind) *Snapshot {
	return &Snapshot{URI: s.URI, Path: s.Path, Version: s.Version, LanguageID: s.LanguageID, Text: s.Text, Kind: k, Mapper: s.Mapper, received: s.received}
}

// parse returns the parse tree, parsing on first use (again after
// release).
func (s *Snapshot) parse() (*parser.File, *parser.Depfile) {
	s.parseMu.Lock()
	defer s.parseMu.Unlock()
	switch {
	case s.Kind == DocTranscript && s.file == nil:
		s.file = parser.Parse(s.name(), []byte(s.Text))
	case s.Kind == DocDepfile && s.depfile == nil:
		s.depfile = parser.ParseDepfile(s.name(), []byte(s.Text))
	}
	return s.file, s.depfile
}

// release drops what can be recomputed from the text (parse tree,
// analysis), so that many open documents stay cheap. Readers that already
// hold them keep working; the next reader recomputes.
func (s *Snapshot) release() {
	s.anMu.Lock()
	s.an = nil
	s.anMu.Unlock()
	s.parseMu.Lock()
	s.file, s.depfile = nil, nil
	s.parseMu.Unlock()
}

func (s *Snapshot) name() string {
	if s.Path != "" {
		return s.Path
	}
	return string(s.URI)
}

// File returns the parsed transcript, or nil if s is not a transcript.
func (s *Snapshot) File() *parser.File { f, _ := s.parse(); return f }

// Depfile returns the parsed depfile, or nil if s is not a depfile.
func (s *Snapshot) Depfile() *parser.Depfile { _, d := s.parse(); return d }

// Dir is the directory a transcript's session starts in (its own), or a
// depfile's relative paths resolve against; "" for non-file documents.
func (s *Snapshot) Dir() string {
	if s.Path == "" {
		return ""
	}
	return filepath.Dir(s.Path)
}

// applyChanges returns the text after applying LSP content changes in
// order. A change without a range replaces the whole document. Ranges are
// resolved against the text as left by the previous change; out-of-range
// positions clamp (a reversed range is treated as empty at its start).
func applyChanges(text string, m *Mapper, enc Encoding, changes []TextDocumentContentChangeEvent) string {
	for i, c := range changes {
		if c.Range == nil {
			text = c.Text
			continue
		}
		if i > 0 || m == nil {
			m = NewMapper(text, enc) // the previous change moved things
		}
		start, end := m.PositionToOffset(c.Range.Start), m.PositionToOffset(c.Range.End)
		if end < start {
			end = start
		}
		text = text[:start] + c.Text + text[end:]
	}
	return text
}

// Store holds the current snapshot of every open document, plus what
// analyses learned about documents' relations (which files transcripts
// name as depfiles). It is the only mutable shared state of the server.
type Store struct {
	mu   sync.Mutex
	enc  Encoding
	docs map[protocol.DocumentURI]*Snapshot
	// refs maps each transcript to the depfile paths it names.
	refs map[protocol.DocumentURI]map[string]bool
	// recent lists documents by last use, most recent last; only the last
	// keepDerived keep their parse trees and analyses between uses.
	recent []protocol.DocumentURI
}

// keepDerived is how many documents keep parse trees and analyses in
// memory. The rest keep their text and recompute on demand (a 2,000-line
// transcript parses and analyses in about a millisecond), which keeps 100
// open documents well under 100 MB.
const keepDerived = 12

// touchLocked moves u to the most-recent end of the use list.
func (st *Store) touchLocked(u protocol.DocumentURI) {
	for i, r := range st.recent {
		if r == u {
			st.recent = append(st.recent[:i], st.recent[i+1:]...)
			break
		}
	}
	st.recent = append(st.recent, u)
}

// Trim releases derived data of the documents not among the keepDerived
// most recently used.
func (st *Store) Trim() {
	st.mu.Lock()
	var cold []*Snapshot
	if n := len(st.recent) - keepDerived; n > 0 {
		for _, u := range st.recent[:n] {
			if s, ok := st.docs[u]; ok {
				cold = append(cold, s)
			}
		}
	}
	st.mu.Unlock()
	for _, s := range cold {
		s.release()
	}
}

func newStore(enc Encoding) *Store {
	return &Store{enc: enc, docs: map[protocol.DocumentURI]*Snapshot{}, refs: map[protocol.DocumentURI]map[string]bool{}}
}

func (st *Store) referencedLocked(path string) bool {
	if path == "" {
		return false
	}
	for _, paths := range st.refs {
		if paths[path] {
			return true
		}
	}
	return false
}

// Open records a newly opened document and returns its snapshot.
func (st *Store) Open(item protocol.TextDocumentItem, received time.Time) *Snapshot {
	path, _ := uriPath(item.URI)
	st.mu.Lock()
	defer st.mu.Unlock()
	kind := classify(path, string(item.LanguageID), st.referencedLocked(path))
	s := newSnapshot(item.URI, path, item.Version, string(item.LanguageID), item.Text, kind, st.enc)
	s.received = received
	st.docs[item.URI] = s
	st.touchLocked(item.URI)
	return s
}

// Change applies edits to an open document and returns the new snapshot.
func (st *Store) Change(p *DidChangeTextDocumentParams, received time.Time) (*Snapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	old, ok := st.docs[p.TextDocument.URI]
	if !ok {
		return nil, fmt.Errorf("didChange for %s, which is not open", p.TextDocument.URI)
	}
	text := applyChanges(old.Text, old.Mapper, st.enc, p.ContentChanges)
	s := newSnapshot(old.URI, old.Path, p.TextDocument.Version, old.LanguageID, text, old.Kind, st.enc)
	s.received = received
	st.docs[old.URI] = s
	st.touchLocked(old.URI)
	return s, nil
}

// Close forgets a document. It returns the documents whose kind changed
// because the closed transcript no longer names them as depfiles.
func (st *Store) Close(u protocol.DocumentURI) []*Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.docs, u)
	for i, r := range st.recent {
		if r == u {
			st.recent = append(st.recent[:i], st.recent[i+1:]...)
			break
		}
	}
	if _, ok := st.refs[u]; !ok {
		return nil
	}
	delete(st.refs, u)
	return st.reclassifyLocked()
}

// Get returns the current snapshot of a document, or nil.
func (st *Store) Get(u protocol.DocumentURI) *Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.docs[u]
}

// Use returns the current snapshot of a document for a request, marking
// it recently used.
func (st *Store) Use(u protocol.DocumentURI) *Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.docs[u]
	if s != nil {
		st.touchLocked(u)
	}
	return s
}

// IsCurrent reports whether s is still the document's current snapshot.
func (st *Store) IsCurrent(s *Snapshot) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.docs[s.URI] == s
}

// All returns every open document, sorted by URI.
func (st *Store) All() []*Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	all := make([]*Snapshot, 0, len(st.docs))
	for _, s := range st.docs {
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].URI < all[j].URI })
	return all
}

// OpenText returns the editor's text for a path when that file is open, so
// analyses see unsaved edits of depfiles rather than the disk.
func (st *Store) OpenText(path string) (string, bool) {
	u := pathURI(path)
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.docs[u]; ok {
		return s.Text, true
	}
	return "", false
}

// SetRefs records the depfiles a transcript names and returns the open
// documents whose kind changed as a result (newly depfiles, or no longer).
func (st *Store) SetRefs(transcript protocol.DocumentURI, paths []string) []*Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, open := st.docs[transcript]; !open {
		return nil // analysis of a document closed meanwhile
	}
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	old := st.refs[transcript]
	if len(old) == len(set) {
		same := true
		for p := range set {
			if !old[p] {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	if len(set) == 0 {
		delete(st.refs, transcript)
	} else {
		st.refs[transcript] = set
	}
	return st.reclassifyLocked()
}

func (st *Store) reclassifyLocked() []*Snapshot {
	var changed []*Snapshot
	for u, s := range st.docs {
		k := classify(s.Path, s.LanguageID, st.referencedLocked(s.Path))
		if k != s.Kind {
			ns := s.withKind(k)
			st.docs[u] = ns
			changed = append(changed, ns)
		}
	}
	return changed
}
