package lsp

// Settings are the user-facing options, read from initializationOptions
// and from workspace/didChangeConfiguration ({"settings": {"cmdt": {...}}}).
// Pointer fields distinguish "not given" from false, so partial updates
// keep defaults.
type Settings struct {
	// UndeclaredDependencies turns the undeclared-dependency heuristic on
	// or off (default on).
	UndeclaredDependencies *bool `json:"undeclaredDependencies,omitempty"`
	// ShellSyntax reports command blocks that do not parse as shell
	// (default on).
	ShellSyntax *bool `json:"shellSyntax,omitempty"`
	// RunOnSave runs a transcript (as cmdt.run: the cache first) each time
	// it is saved (default off: nothing runs unless asked).
	RunOnSave *bool `json:"runOnSave,omitempty"`
}

func defaultSettings() Settings {
	t := true
	return Settings{UndeclaredDependencies: &t, ShellSyntax: &t}
}

// merge returns s with every field o sets overriding it.
func (s Settings) merge(o Settings) Settings {
	if o.UndeclaredDependencies != nil {
		s.UndeclaredDependencies = o.UndeclaredDependencies
	}
	if o.ShellSyntax != nil {
		s.ShellSyntax = o.ShellSyntax
	}
	if o.RunOnSave != nil {
		s.RunOnSave = o.RunOnSave
	}
	return s
}

func (s Settings) undeclared() bool {
	return s.UndeclaredDependencies == nil || *s.UndeclaredDependencies
}
func (s Settings) shellSyntax() bool { return s.ShellSyntax == nil || *s.ShellSyntax }
func (s Settings) runOnSave() bool   { return s.RunOnSave != nil && *s.RunOnSave }

// configurationParams accepts both {"settings": {"cmdt": {...}}} (VS Code)
// and {"settings": {...}} (clients that send the section itself).
type configurationParams struct {
	Settings struct {
		Cmdt *Settings `json:"cmdt,omitempty"`
		Settings
	} `json:"settings"`
}
