// Package engine runs, checks and updates parsed transcripts
// (../shared/spec/cmdt-format.md §2) and knows every input a run used.
//
// A transcript runs in one in-process shell session (mvdan.cc/sh/v3/interp).
// The interpreter's hooks are where observation happens: environment
// lookups, files opened by redirections and the programs executed are
// recorded as observed [Input]s, beside the declared ones resolved from
// "% dep" directives and depfiles (§3, §4). Callers — the CLI, cmdtest,
// the language server and the result cache — consume both lists from a
// [Result].
package engine
