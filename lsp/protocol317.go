package lsp

import "go.lsp.dev/protocol"

// This file holds the LSP 3.17 types that go.lsp.dev/protocol v0.12.0
// (LSP 3.16) lacks, written by hand from the 3.17 specification. Only the
// fields the server reads or writes are here.

// PositionEncodingKind names how character offsets are counted (3.17).
type PositionEncodingKind string

// Position encodings of LSP 3.17.
const (
	PositionEncodingUTF8  PositionEncodingKind = "utf-8"
	PositionEncodingUTF16 PositionEncodingKind = "utf-16"
	PositionEncodingUTF32 PositionEncodingKind = "utf-32"
)

// Methods of LSP 3.17 and of cmdt itself.
const (
	MethodTextDocumentInlayHint     = "textDocument/inlayHint"
	MethodWorkspaceInlayHintRefresh = "workspace/inlayHint/refresh"
	// MethodWorkspaceCodeLensRefresh is 3.16, but protocol v0.12.0 has no
	// constant for it.
	MethodWorkspaceCodeLensRefresh = "workspace/codeLens/refresh"
	MethodSemanticTokensFull       = "textDocument/semanticTokens/full"
	MethodSetTrace                 = "$/setTrace"
	// MethodCmdtStatus is cmdt's custom request for a transcript's run
	// status (see StatusParams).
	MethodCmdtStatus = "cmdt/status"
)

// ServerCapabilities317 extends the 3.16 capabilities with 3.17 fields.
// encoding/json promotes the embedded struct's fields, so the result is one
// flat JSON object as the specification requires.
type ServerCapabilities317 struct {
	protocol.ServerCapabilities
	// PositionEncoding is the encoding the server picked from the client's
	// general.positionEncodings; absent means utf-16.
	PositionEncoding PositionEncodingKind `json:"positionEncoding,omitempty"`
	// InlayHintProvider is bool | InlayHintOptions.
	InlayHintProvider interface{} `json:"inlayHintProvider,omitempty"`
}

// InitializeResult317 is InitializeResult with 3.17 capabilities.
type InitializeResult317 struct {
	Capabilities ServerCapabilities317 `json:"capabilities"`
	ServerInfo   *protocol.ServerInfo  `json:"serverInfo,omitempty"`
}

// SemanticTokensOptions317 is the semantic tokens capability with the
// legend and the full/range flags, which protocol v0.12.0's
// SemanticTokensOptions omits.
type SemanticTokensOptions317 struct {
	Legend protocol.SemanticTokensLegend `json:"legend"`
	Full   bool                          `json:"full,omitempty"`
	Range  bool                          `json:"range,omitempty"`
}

// InitializeParams317 is the part of the initialize request the server
// reads. It is decoded separately from protocol.InitializeParams so that a
// client sending unexpected types in fields the server ignores (a string
// processId, say) still gets initialized.
type InitializeParams317 struct {
	RootURI               protocol.DocumentURI       `json:"rootUri,omitempty"`
	RootPath              string                     `json:"rootPath,omitempty"`
	WorkspaceFolders      []protocol.WorkspaceFolder `json:"workspaceFolders,omitempty"`
	InitializationOptions *Settings                  `json:"initializationOptions,omitempty"`
	Capabilities          ClientCapabilities317      `json:"capabilities"`
}

// ClientCapabilities317 holds the client capabilities the server uses.
type ClientCapabilities317 struct {
	General *struct {
		// PositionEncodings lists the encodings the client supports, in
		// order of preference.
		PositionEncodings []PositionEncodingKind `json:"positionEncodings,omitempty"`
	} `json:"general,omitempty"`
	Workspace *struct {
		InlayHint *InlayHintWorkspaceClientCapabilities `json:"inlayHint,omitempty"`
		CodeLens  *struct {
			// RefreshSupport tells whether the client honours
			// workspace/codeLens/refresh.
			RefreshSupport bool `json:"refreshSupport,omitempty"`
		} `json:"codeLens,omitempty"`
		DidChangeWatchedFiles *struct {
			DynamicRegistration bool `json:"dynamicRegistration,omitempty"`
			// RelativePatternSupport (3.17): watchers may be
			// RelativePatterns, which also work outside the workspace.
			RelativePatternSupport bool `json:"relativePatternSupport,omitempty"`
		} `json:"didChangeWatchedFiles,omitempty"`
		WorkspaceEdit *struct {
			// DocumentChanges: the client takes versioned
			// TextDocumentEdits and refuses them when the version moved.
			DocumentChanges bool `json:"documentChanges,omitempty"`
		} `json:"workspaceEdit,omitempty"`
	} `json:"workspace,omitempty"`
	TextDocument *struct {
		InlayHint *InlayHintClientCapabilities `json:"inlayHint,omitempty"`
		Hover     *struct {
			ContentFormat []protocol.MarkupKind `json:"contentFormat,omitempty"`
		} `json:"hover,omitempty"`
	} `json:"textDocument,omitempty"`
	Window *struct {
		WorkDoneProgress bool `json:"workDoneProgress,omitempty"`
	} `json:"window,omitempty"`
}

// InlayHintClientCapabilities is textDocument.inlayHint (3.17).
type InlayHintClientCapabilities struct {
	DynamicRegistration bool `json:"dynamicRegistration,omitempty"`
	ResolveSupport      *struct {
		Properties []string `json:"properties"`
	} `json:"resolveSupport,omitempty"`
}

// InlayHintWorkspaceClientCapabilities is workspace.inlayHint (3.17).
type InlayHintWorkspaceClientCapabilities struct {
	// RefreshSupport tells whether the client honours
	// workspace/inlayHint/refresh.
	RefreshSupport bool `json:"refreshSupport,omitempty"`
}

// InlayHintOptions is the server's inlayHintProvider (3.17).
type InlayHintOptions struct {
	ResolveProvider bool `json:"resolveProvider,omitempty"`
}

// InlayHintParams are the params of textDocument/inlayHint (3.17).
type InlayHintParams struct {
	TextDocument protocol.TextDocumentIdentifier `json:"textDocument"`
	Range        protocol.Range                  `json:"range"`
}

// InlayHintKind classifies an inlay hint (3.17).
type InlayHintKind int

// Inlay hint kinds.
const (
	InlayHintKindType      InlayHintKind = 1
	InlayHintKindParameter InlayHintKind = 2
)

// InlayHintLabelPart is one part of a composite inlay hint label (3.17).
type InlayHintLabelPart struct {
	Value    string             `json:"value"`
	Tooltip  interface{}        `json:"tooltip,omitempty"` // string | MarkupContent
	Location *protocol.Location `json:"location,omitempty"`
	Command  *protocol.Command  `json:"command,omitempty"`
}

// InlayHint is one inlay hint (3.17).
type InlayHint struct {
	Position     protocol.Position   `json:"position"`
	Label        interface{}         `json:"label"` // string | []InlayHintLabelPart
	Kind         InlayHintKind       `json:"kind,omitempty"`
	TextEdits    []protocol.TextEdit `json:"textEdits,omitempty"`
	Tooltip      interface{}         `json:"tooltip,omitempty"` // string | MarkupContent
	PaddingLeft  bool                `json:"paddingLeft,omitempty"`
	PaddingRight bool                `json:"paddingRight,omitempty"`
	Data         interface{}         `json:"data,omitempty"`
}

// TextDocumentContentChangeEvent is a didChange content change. Range is a
// pointer, unlike protocol v0.12.0's value field, so that a whole-document
// replacement (no range) is not mistaken for an insert at 0:0
// (lsp-stack-notes.md trap 7).
type TextDocumentContentChangeEvent struct {
	Range       *protocol.Range `json:"range,omitempty"`
	RangeLength uint32          `json:"rangeLength,omitempty"`
	Text        string          `json:"text"`
}

// DidChangeTextDocumentParams is didChange's params with the pointer-range
// change events above.
type DidChangeTextDocumentParams struct {
	TextDocument   protocol.VersionedTextDocumentIdentifier `json:"textDocument"`
	ContentChanges []TextDocumentContentChangeEvent         `json:"contentChanges"`
}

// StatusParams are the params of cmdt/status.
type StatusParams struct {
	URI protocol.DocumentURI `json:"uri"`
}

// Run statuses reported by cmdt/status (see status.go).
const (
	StatusFresh    = "fresh"
	StatusStale    = "stale"
	StatusNeverRun = "never-run"
	StatusFailed   = "failed"
	StatusUnknown  = "unknown"
)

// StatusResult is the result of cmdt/status: a status keyword and a human
// readable explanation (which inputs changed, when it last ran, ...).
type StatusResult struct {
	Status string `json:"status"`
	Text   string `json:"text"`
	// Reasons lists every change a stale status found (the text names the
	// first ones only).
	Reasons []string `json:"reasons,omitempty"`
}

// RelativePattern is a 3.17 glob pattern relative to a base directory;
// unlike a plain string pattern it can watch outside the workspace.
type RelativePattern struct {
	BaseURI protocol.DocumentURI `json:"baseUri"`
	Pattern string               `json:"pattern"`
}

// FileSystemWatcher317 is a watcher whose pattern is a string or a
// RelativePattern (protocol v0.12.0 allows strings only).
type FileSystemWatcher317 struct {
	GlobPattern interface{} `json:"globPattern"`
}
