//go:build !unix

package watch

import "io/fs"

func inodeOf(fs.FileInfo) uint64 { return 0 }
