//go:build !linux

package engine

import "syscall"

// Elsewhere the engine kills each command's process group only (see
// reap_linux.go for what Linux adds).

// AdoptOrphans has no effect here.
func AdoptOrphans() {}

func reaperStart() uint64 { return 0 }

func reaperEnd(uint64) {}

func reaperAddGroup(int) {}

func killCommandTree(root, pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
