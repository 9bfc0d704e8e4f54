//go:build linux && amd64

#include "textflag.h"

// func startGuard(stackTop uintptr, epfd, relayfd, selfpid int32) (tid int64)
//
// startGuard clones a thread of this process that runs no Go code: it
// starts on the stack at stackTop and loops forever in guardLoop below.
// The caller blocks every signal first: the thread inherits that mask and
// keeps it, so that no Go signal handler ever runs on it.
TEXT ·startGuard(SB),NOSPLIT|NOFRAME,$0-32
	MOVQ	stackTop+0(FP), SI
	MOVL	epfd+8(FP), R12
	MOVL	relayfd+12(FP), R13
	MOVL	selfpid+16(FP), BX
	LEAQ	·guardShared(SB), R9
	// CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM
	MOVQ	$0x50f00, DI
	XORQ	DX, DX
	XORQ	R10, R10
	XORQ	R8, R8
	MOVQ	$56, AX // SYS_clone
	SYSCALL
	CMPQ	AX, $0
	JEQ	guard
	MOVQ	AX, tid+24(FP)
	RET

guard:
	// On the new stack. R12 epfd, R13 relayfd, BX our pid, R9 &guardShared.
	// Layout from SP: 0 epoll_event (packed: u32 events, u64 data);
	// 32 the relay message: u64 listener fd, then struct seccomp_notif
	// (80 bytes: id @40, pid @48, data.nr @56, ...); 128 struct
	// seccomp_notif_resp (id, val, error, flags); 160 the epoll_event that
	// re-arms the listener.
	SUBQ	$256, SP
	ANDQ	$~15, SP

loop:
	// epoll_wait(epfd, &ev, 1, -1)
	MOVQ	R12, DI
	LEAQ	0(SP), SI
	MOVQ	$1, DX
	MOVQ	$-1, R10
	MOVQ	$232, AX // SYS_epoll_wait
	SYSCALL
	CMPQ	AX, $1
	JNE	loop
	MOVQ	4(SP), R15
	// Claim the listener (guardShared.busy = its key), then check that
	// the Go side has not taken it back (guardShared.owner[fd] == its
	// generation). XCHG is a full barrier, and the Go side stores with
	// XCHG too before it reads busy: one of the two sees the other's store.
	MOVQ	R15, AX
	XCHGQ	AX, 0(R9)
	MOVL	R15, AX // the fd, zero-extended
	CMPQ	AX, $65536
	JAE	owned // beyond the table: never taken back
	MOVQ	R15, DX
	SHRQ	$32, DX
	MOVL	8(R9)(AX*4), CX
	CMPL	CX, DX
	JEQ	owned
	JMP	done // taken back: leave it (disarmed) to the Go side

owned:
	MOVQ	R15, 32(SP)
	// The kernel wants the notification zeroed; a zeroed one (pid 0) also
	// tells the Go side that the listener hung up.
	XORQ	AX, AX
	MOVQ	AX, 40(SP)
	MOVQ	AX, 48(SP)
	MOVQ	AX, 56(SP)
	MOVQ	AX, 64(SP)
	MOVQ	AX, 72(SP)
	MOVQ	AX, 80(SP)
	MOVQ	AX, 88(SP)
	MOVQ	AX, 96(SP)
	MOVQ	AX, 104(SP)
	MOVQ	AX, 112(SP)
	MOVL	0(SP), AX
	TESTL	$1, AX // EPOLLIN: a notification waits
	JEQ	hangup   // EPOLLHUP alone: every task of the filter is gone

	// ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &notif)
	MOVQ	R15, DI
	MOVQ	$0xc0502100, SI
	LEAQ	40(SP), DX
	MOVQ	$16, AX // SYS_ioctl
	SYSCALL
	CMPQ	AX, $0
	JNE	rearm // ENOENT: the caller was interrupted meanwhile

	// kcmp(notif.pid, selfpid, KCMP_VM, 0, 0) == 0: the caller shares
	// our memory, so it is the vfork child of a spawner thread, before
	// its execve. Let it go on; anything else is for the Go side.
	MOVL	48(SP), DI
	MOVQ	BX, SI
	MOVQ	$1, DX
	XORQ	R10, R10
	XORQ	R8, R8
	MOVQ	$312, AX // SYS_kcmp
	SYSCALL
	CMPQ	AX, $0
	JNE	relay

	// ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, {id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE})
	MOVQ	40(SP), AX
	MOVQ	AX, 128(SP)
	MOVQ	$0, 136(SP)
	MOVQ	$0x100000000, AX
	MOVQ	AX, 144(SP)
	MOVQ	R15, DI
	MOVQ	$0xc0182101, SI
	LEAQ	128(SP), DX
	MOVQ	$16, AX
	SYSCALL
	JMP	rearm

relay:
	// write(relayfd, msg, 88): atomic on a pipe (at most PIPE_BUF bytes).
	MOVQ	R13, DI
	LEAQ	32(SP), SI
	MOVQ	$88, DX
	MOVQ	$1, AX // SYS_write
	SYSCALL

rearm:
	// epoll_ctl(epfd, EPOLL_CTL_MOD, fd, {EPOLLIN|EPOLLONESHOT, fd})
	MOVL	$0x40000001, 160(SP)
	MOVQ	R15, 164(SP)
	MOVQ	R12, DI
	MOVQ	$3, SI
	MOVQ	R15, DX
	LEAQ	160(SP), R10
	MOVQ	$233, AX // SYS_epoll_ctl
	SYSCALL

done:
	MOVQ	$0, 0(R9)
	JMP	loop

hangup:
	// Relay the zeroed notification, and do not re-arm: the Go side
	// closes the listener.
	MOVQ	R13, DI
	LEAQ	32(SP), SI
	MOVQ	$88, DX
	MOVQ	$1, AX
	SYSCALL
	JMP	done
