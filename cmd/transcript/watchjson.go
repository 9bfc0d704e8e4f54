package main

import "encoding/json"

// watchSchemaVersion versions the --watch --json events. Each line is
// one event object with "schemaVersion" and "event"; fields are
// camelCase, durations in milliseconds. Documented in docs/watch.md.
const watchSchemaVersion = 1

// watchResult is the "result" event: one transcript's outcome in a round,
// with the reasons it ran.
type watchResult struct {
	SchemaVersion int            `json:"schemaVersion"`
	Event         string         `json:"event"`
	Round         int            `json:"round"`
	Path          string         `json:"path"`
	Status        string         `json:"status"` // pass, fail, error
	Cached        bool           `json:"cached"`
	Reasons       []string       `json:"reasons"`
	DurationMS    float64        `json:"durationMs"`
	Error         string         `json:"error,omitempty"`
	Commands      []watchCommand `json:"commands,omitempty"`
}

// watchCommand is one command block of a result.
type watchCommand struct {
	Line         int     `json:"line"`
	Command      string  `json:"command"`
	Status       string  `json:"status"`
	DurationMS   float64 `json:"durationMs"`
	ExitCode     int     `json:"exitCode"`
	WantExitCode int     `json:"wantExitCode"`
	Diff         string  `json:"diff,omitempty"`
	Error        string  `json:"error,omitempty"`
	TimedOut     bool    `json:"timedOut,omitempty"`
}

func resultEvent(round int, o *fileOutcome) map[string]any {
	r := watchResult{Event: "result", Round: round, Path: o.path, Status: o.status, Cached: o.cached,
		Reasons: nonNil(o.reasons), DurationMS: ms(o.duration)}
	if o.err != nil {
		r.Error = o.err.Error()
	}
	if o.result != nil {
		for _, c := range o.result.Commands {
			jc := watchCommand{Line: c.Block.Command.Num, Command: c.Block.Text(), Status: "pass", DurationMS: ms(c.Duration),
				ExitCode: c.ExitCode, WantExitCode: c.Block.ExitCode, TimedOut: c.TimedOut}
			if c.Failure != nil {
				jc.Status, jc.Diff = "fail", c.Failure.Diff
				if c.Failure.Err != nil {
					jc.Error = c.Failure.Err.Error()
				}
			}
			r.Commands = append(r.Commands, jc)
		}
	}
	// Through a map so that event() can stamp it like the others.
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// jsonLine encodes one event on one line, keys sorted (Go maps), with
// "event" and "schemaVersion" readable first by moving them to the front.
func jsonLine(fields map[string]any) ([]byte, error) {
	head, err := json.Marshal(struct {
		SchemaVersion any `json:"schemaVersion"`
		Event         any `json:"event"`
	}{fields["schemaVersion"], fields["event"]})
	if err != nil {
		return nil, err
	}
	rest := make(map[string]any, len(fields))
	for k, v := range fields {
		if k != "schemaVersion" && k != "event" {
			rest[k] = v
		}
	}
	body, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	if len(body) > 2 {
		head = append(head[:len(head)-1], ',')
		head = append(head, body[1:]...)
	}
	return append(head, '\n'), nil
}
