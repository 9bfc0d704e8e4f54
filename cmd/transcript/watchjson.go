package main

import (
	"encoding/json"
	"io"
	"time"
)

// watchEvent is one line of `check --watch --json` (schema: watchEvent in
// docs/schema/cmdt-report.schema.json; docs/json.md):
//
//   - start: the transcripts watched, and how many directories;
//   - change: a round begins: the files changed, the transcripts they made
//     stale (each with its reasons in stale), the ones deleted;
//   - result: one transcript's outcome in the round (a checkFile whose
//     rerunReasons say why it ran);
//   - run: the round's end: the check document of what ran, and how many
//     transcripts are failing now (from any round);
//   - stop: watching ended.
type watchEvent struct {
	docHeader
	Event       string       `json:"event"`
	Time        string       `json:"time"`
	Round       *int         `json:"round,omitempty"`
	Transcripts *[]string    `json:"transcripts,omitempty"`
	Directories *int         `json:"directories,omitempty"`
	Changed     *[]string    `json:"changed,omitempty"`
	Stale       []staleEntry `json:"stale,omitempty"`
	Removed     []string     `json:"removed,omitempty"`
	File        *jsonFile    `json:"file,omitempty"`
	Report      *checkDoc    `json:"report,omitempty"`
	Failing     *int         `json:"failing,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// staleEntry is one transcript a change made stale, and why.
type staleEntry struct {
	Path    string   `json:"path"`
	Reasons []string `json:"reasons"`
}

func newWatchEvent(event string) watchEvent {
	return watchEvent{docHeader: header("watch"), Event: event, Time: time.Now().UTC().Format(time.RFC3339Nano)}
}

func intp(n int) *int { return &n }

// writeEvent prints one event as one line of compact JSON.
func writeEvent(w io.Writer, ev watchEvent) {
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}
