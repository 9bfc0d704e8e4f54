package trace

// Classify returns the accesses that are inputs of the traced command: what
// it read, stat'ed, listed or executed that existed (or was absent) before
// the command ran. It drops every OpWrite access, and every access to a
// path that follows a successful write to that path: a file the command
// created and then read is an output, not an input. An access before the
// first write stays (a config file read, then rewritten, is an input; so is
// "out.txt is absent" checked before creating it).
//
// accesses must be in the order they happened, as Report.Accesses is.
// Classify does not modify its argument.
func Classify(accesses []Access) []Access {
	written := make(map[string]bool)
	inputs := make([]Access, 0, len(accesses))
	for _, a := range accesses {
		if a.Op == OpWrite {
			// A failed write (missing directory, permission) changed
			// nothing, so later reads still see the old state.
			if a.Exists {
				written[a.Path] = true
				if a.Resolved != "" {
					written[a.Resolved] = true
				}
			}
			continue
		}
		if written[a.Path] || (a.Resolved != "" && written[a.Resolved]) {
			continue
		}
		inputs = append(inputs, a)
	}
	return inputs
}
