package cache

import "github.com/cmdt-dev/cmdt/engine"

// onlyRetimed reports whether the change time of a file (whose stat, as it
// was hashed after the run, is st) moved during the run only through the
// run's own attribute-only calls (engine.AttrChange: go build re-timing an
// up-to-date binary, `touch`, `chmod +x`), so that its content is still
// what the run saw. It holds when, for the calls on st's inode in the order
// they ended:
//
//   - before the first call the file had not changed during the run (its
//     times are before since);
//   - each call found the file exactly as the one before left it (size,
//     mtime and ctime): nothing else changed it in between;
//   - the file is now exactly as the last call left it;
//   - each call's after-state was taken by a stat on a multigrain file
//     system (Linux 6.13+ on ext4, xfs, btrfs, tmpfs): a change after a
//     stat then always gets a change time of its own. On a file system
//     stamping changes with a coarse clock only, a write in the same clock
//     tick as the call would leave every time as the call set it, so the
//     move is not accepted there;
//   - the file system keeps times finer than a second.
//
// What it cannot tell apart is another process writing the file while the
// call itself runs (between the tracer's stat at its entry and at its
// exit): the tracer sees the call's effect and the write's as one.
func (ev *evaluator) onlyRetimed(st fileStat, since int64) bool {
	if st.ino == 0 || (st.mtime%1e9 == 0 && st.ctime%1e9 == 0) {
		return false
	}
	var prev *engine.FileStamp
	for i := range ev.attrs {
		a := &ev.attrs[i]
		if a.Dev != st.dev || a.Ino != st.ino {
			continue
		}
		if prev == nil {
			if max(a.Pre.Mtime, a.Pre.Ctime) >= since {
				return false
			}
		} else if a.Pre != *prev {
			return false
		}
		prev = &a.Post
	}
	if prev == nil || *prev != (engine.FileStamp{Size: st.size, Mtime: st.mtime, Ctime: st.ctime}) {
		return false
	}
	return ev.c.multigrain(st.dev)
}
