//go:build linux && amd64

package trace

// The BPF objects are generated and committed, so that building needs no
// clang; `go generate ./engine/trace` rebuilds them (clang and the
// kernel headers: Debian's clang, linux-libc-dev).
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target amd64 -type event -type sys_spec bpf bpf/trace.c -- -I/usr/include/x86_64-linux-gnu -mcpu=v3 -O2 -Wall
