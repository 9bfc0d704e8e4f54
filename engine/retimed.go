package engine

// This file holds what a tracer reports of the system calls that change a
// file's attributes only (utimensat, utimes, chmod, chown and their *at
// and descriptor forms): they move the file's change time without
// touching its content, so a file the run only re-timed or re-moded (go
// build setting an up-to-date binary's times, `touch src.c`, `chmod +x
// script`) is still what the run read. The result cache accepts such a
// change time only where these records explain it exactly (docs/caching.md,
// "Inputs changing during a run").

// FileStamp is what a stat says of a file that proves its content did
// not change: a write moves the size or the modification time, and always
// the change time. Times are nanoseconds since the epoch.
type FileStamp struct {
	Size  int64
	Mtime int64
	Ctime int64
}

// AttrChange is one successful attribute-only system call a traced
// program made, with the file's stamp just before it (at its entry) and
// just after it (at its exit, taken with stat, which on a multigrain file
// system makes any later change get a change time of its own). The file
// is named by device and inode: the stamps are of the inode the tracer
// held open across the call.
type AttrChange struct {
	Dev, Ino  uint64
	Pre, Post FileStamp
}

// AttrObserver is implemented by observers that take the attribute-only
// calls a launcher saw (AttrChanged, in the order the calls ended). It is
// optional: an observer without it only loses the result cache's
// acceptance of the change times those calls moved, never soundness.
type AttrObserver interface {
	AttrChanged(AttrChange)
}

// AttrChanged implements AttrObserver.
func (o *observer) AttrChanged(a AttrChange) {
	o.mu.Lock()
	o.attrs = append(o.attrs, a)
	o.mu.Unlock()
}

func (o *observer) attrChanges() []AttrChange {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]AttrChange(nil), o.attrs...)
}
