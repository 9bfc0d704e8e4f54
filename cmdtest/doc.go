// Package cmdtest runs `.cmdt` transcripts from Go tests
// (../shared/spec/cmdt-format.md) so that `go test`'s result cache stays
// correct.
//
// It owns three things:
//
//   - the test-facing API: [CheckFile], [CheckDir], [CheckReader] and
//     [CheckText] run transcripts through the engine and report every failed
//     command with t.Errorf at file:line, with a diff; [Check] and
//     [CheckString] are the origin tool's two functions
//     (github.com/deref/transcript/cmdtest), same signatures and behaviour,
//     so tests written for it migrate by changing the import path;
//   - update mode: with CMDT_UPDATE=1 in the environment or the
//     -cmdt.update test flag, failing transcripts are rewritten to match the
//     actual output instead of failing (golden-file style);
//   - cache visibility: `go test` caches a passing result keyed on the test
//     binary and on what the test process itself did through its testlog —
//     the environment variables it read, the paths it stat'ed or opened
//     inside the module root. Transcripts run subprocesses, which go test
//     cannot see. After each run, cmdtest replays every declared and
//     observed input in the test process: os.LookupEnv for variables,
//     os.Stat (never open, see below) for files, directories, glob matches
//     and the directories a glob searched, and programs. Inputs go test
//     cannot see (outside the module root) are named in a t.Log warning.
//
// Why stat and not open: for a path the test opened, go test refuses to
// cache the run when the file was modified less than two seconds earlier
// ("file used as input is too new"); for a stat'ed path it just hashes the
// size, mode and modification time. Both record the same metadata, so
// stat gives the same invalidation without disabling the cache for freshly
// written fixtures. See docs/go-test-cache.md for the measured behaviour.
package cmdtest
