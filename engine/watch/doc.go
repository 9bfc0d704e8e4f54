// Package watch follows a tree of transcripts and, after each batch of
// file changes, says exactly which transcripts are stale and why: the
// "stale set" that `transcript check --watch` runs and that the language
// server offers its clients (continuous test runs).
//
// Nothing is re-run on suspicion. A change is first matched against an
// index of every transcript's inputs (declared and observed, from the
// cache's manifests or from the runs this process saw: files, declared
// directories, globs and traced directory listings); only the
// transcripts it can affect are looked up in the result cache
// (engine/cache Lookup), which re-hashes their inputs and gives the
// reasons. Directories are watched, never single files (fsnotify, one
// inotify watch per directory of the module); inputs outside the
// watched tree (a tool in /usr/bin) are checked by one stat per round.
package watch
