// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// The kernel half of the eBPF tracer (engine/trace, ModeEBPF). Raw
// tracepoints only: they need neither tracefs nor the kernel's BTF, so
// nothing is parsed or relocated at load time. Arguments come from the
// x86-64 struct pt_regs, whose layout is user ABI.
//
// The filter: a process is tracked when a tracked process (or the
// adopter, the cmdt process itself) forks it. sched_process_fork runs in
// the parent and knows the child only as a task pointer; the child's first
// event, the exit of the fork call in the child (ret_from_fork), looks
// that pointer up with bpf_get_current_task, so no field of task_struct
// is read and no CO-RE relocation is needed.
//
// What is lost (a full ring buffer, a full map, an unreadable path) is
// counted in lost[0]; user space makes the run uncacheable then.

#include <linux/bpf.h>
#include <asm/ptrace.h>

typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define SEC(name) __attribute__((section(name), used))
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)BPF_FUNC_map_update_elem;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_delete_elem;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static u64 (*bpf_get_current_task)(void) = (void *)BPF_FUNC_get_current_task;
static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)BPF_FUNC_probe_read_kernel;
static long (*bpf_probe_read_user)(void *dst, u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static long (*bpf_probe_read_user_str)(void *dst, u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user_str;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, u64 size, u64 flags) = (void *)BPF_FUNC_ringbuf_reserve;
static void (*bpf_ringbuf_submit)(void *data, u64 flags) = (void *)BPF_FUNC_ringbuf_submit;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, u64 size, u64 flags) = (void *)BPF_FUNC_ringbuf_output;
static u64 (*bpf_ringbuf_query)(void *ringbuf, u64 flags) = (void *)BPF_FUNC_ringbuf_query;
static long (*bpf_loop)(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags) = (void *)BPF_FUNC_loop;

#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

char __license[] SEC("license") = "Dual MIT/GPL";

// Event kinds; see ebpf_linux.go.
enum {
	EV_SYSCALL = 1, // a decoded call returned (or an exec failed): nr, args, ret, paths
	EV_EXEC_ENTER,  // an execve/execveat is entered: its path (the exec replaces the memory)
	EV_EXEC,        // an exec succeeded: aux is the thread id that called it
	EV_FORK,        // a tracked task forked: aux is the child's task pointer
	EV_BORN,        // a new task's first event: aux is its task pointer
	EV_EXIT,        // a tracked task exited
};

// What sys_exit does with a system call number (spec map, set from Go).
enum {
	SP_EMIT = 1,     // a path call: emit it
	SP_OPENAT2 = 2,  // arg 2 is struct open_how: copy its flags
	SP_EXEC = 4,     // execve/execveat: path read at entry
	SP_FORK = 8,     // fork, vfork, clone, clone3: returns 0 in the child
	SP_EMPTY_OK = 16, // an empty path is meaningful (execveat AT_EMPTY_PATH)
	SP_FCNTL = 32,    // fcntl: emit F_DUPFD and F_DUPFD_CLOEXEC only (descriptors are followed)
	SP_UNBIND = 64,   // unlink, rmdir, rename: count the last names of its paths (names map), in any process
	SP_MOUNT = 128,   // mount, umount, move_mount, pivot_root: count in names[0], in any process
};

struct sys_spec {
	u8 flags;
	u8 str0; // argument index + 1 of the first path, 0 for none
	u8 str1; // of the second path
	u8 pad;
};

struct event {
	u32 kind;
	u32 tid;
	u32 tgid;
	u32 root;
	u64 aux;
	s64 ret;
	u64 args[6];
	u32 nr;
	u16 len0; // bytes of the first path, with its NUL; 0 for none
	u16 len1;
	u64 how;
};

// A path call's record: the header, then its paths back to back, each
// with its NUL (len0 and len1 bytes), copied in a per-CPU scratch record
// and sent with only the bytes used: a cat's record takes 112 bytes of
// the ring, not 360 (a slot of 256 bytes for the path, mostly unused).
#define BIG 4096

struct event_buf {
	struct event h;
	char s[2 * BIG];
	u64 sent; // bytes this CPU sent since it last woke the readers (not sent)
};

struct tracked_val {
	u32 root;
	u32 threads;
	// fresh: a root that has not exec'd yet, running the Go runtime's
	// code between fork and exec. Its descriptor copies (dup2 of the
	// standard streams) copy descriptors user space knows nothing of, and
	// are not sent: three records of a traced echo's eleven.
	u32 fresh;
	u32 pad;
};

struct pending_val {
	u32 root; // 0: a child of the adopter, a new root
	u32 ptid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, struct tracked_val);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, struct pending_val);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, u32);
	__type(value, struct sys_spec);
} spec SEC(".maps");

// config[0]: the adopter's tgid, whose children become roots.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} config SEC(".maps");

// lost[0]: events not delivered. Memory-mapped by user space, which
// reads it twice per command without a system call.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

// ctl, written by user space through shared memory: ctl[0] is the number
// of readers waiting in epoll for the end of a tree; ctl[1] the number of
// commands being started, outside of which the adopter's children are
// not its commands (nothing of theirs is sent).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, u32);
	__type(value, u64);
} ctl SEC(".maps");

static __always_inline u64 ctl_get(u32 k)
{
	u64 *v = bpf_map_lookup_elem(&ctl, &k);
	return v ? *v : 0;
}

// names: how often a name was unbound (unlinked, removed, renamed from
// or over) by any process while the programs are loaded, by hash of the
// name: names[1 + (fnv1a64(name) & (NAMES - 1))]; names[0] counts mount
// table changes. User space memory-maps it and keeps its link resolutions
// (engine/trace linkcache_linux.go) only while the counts of every name of
// the path are unchanged: a path that named something goes on naming it
// until one of its names is unbound.
#define NAMES 65536
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NAMES + 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, u32);
	__type(value, u64);
} names SEC(".maps");

// A path's copy, per CPU (the stack is too small).
#define NAME_PATH 256
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[NAME_PATH]);
} name_buf SEC(".maps");

// The record being made, per CPU: a record's size must be known when it
// is reserved, its paths' lengths only once they are copied. Programs run
// with preemption off: nothing else on the CPU uses it meanwhile.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct event_buf);
} scratch SEC(".maps");

// The events the type generator should know about.
const struct event *unused_event __attribute__((unused));

static __always_inline void count_lost(void)
{
	u32 k = 0;
	u64 *n = bpf_map_lookup_elem(&lost, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void fill(struct event *e, u32 kind, u64 id, u32 root)
{
	e->kind = kind;
	e->tid = (u32)id;
	e->tgid = id >> 32;
	e->root = root;
	e->aux = 0;
	e->ret = 0;
	e->nr = 0;
	e->len0 = 0;
	e->len1 = 0;
	e->how = 0;
	for (int i = 0; i < 6; i++)
		e->args[i] = 0;
}

// A reader waits in epoll only for the end of a tree whose root has
// exited (the root's own events are in the ring before its parent can
// reap it; it reads them first), and the pump sleeps until the ring fills:
// so an event wakes readers only when it is the exit of another process
// while a reader waits, or when its CPU has sent WAKE_AT bytes since it
// last woke them (some 2,300 records of short paths) and at least half as
// much is still unread (a short command's events wake no one: its run
// reads them; a long command's are decoded while it runs). A wake-up is
// an interrupt raised by the traced program (irq_work), an exit of the
// hypervisor on a virtual machine, and then the pump's thread is woken:
// once per reading, not once per record. At 64 KiB, a cat over 1,000
// files (112 KiB) woke the pump once, which cost the cat about what the
// pump's decoding while it ran saved at its end. Counted per CPU, in the
// scratch record, so that a record does not ask the ring how much is
// unread: that reads the consumer's position, a line the reader writes.
#define WAKE_AT (256 << 10)

static __always_inline u64 submit_flags(int exit, u64 size)
{
	if (exit && ctl_get(0))
		return BPF_RB_FORCE_WAKEUP; // events before it did not wake the reader
	u32 k = 0;
	struct event_buf *b = bpf_map_lookup_elem(&scratch, &k);
	if (!b)
		return BPF_RB_FORCE_WAKEUP;
	b->sent += size + 8; // with the ring's header
	if (b->sent < WAKE_AT)
		return BPF_RB_NO_WAKEUP;
	b->sent = 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < WAKE_AT / 2)
		return BPF_RB_NO_WAKEUP; // read meanwhile
	return BPF_RB_FORCE_WAKEUP;
}

// emit sends an event without paths.
static __always_inline void emit(u32 kind, u64 id, u32 root, u64 aux, int wake)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return;
	}
	fill(e, kind, id, root);
	e->aux = aux;
	bpf_ringbuf_submit(e, submit_flags(wake, sizeof(*e)));
}

// sys_args is the part of struct pt_regs from r10 to rdi: the six
// argument registers (and rax, rcx between them), 64 bytes to copy
// instead of the whole 168.
struct sys_args {
	u64 r10, r9, r8, rax, rcx, rdx, rsi, rdi;
};

static __always_inline long read_args(struct sys_args *a, struct pt_regs *regs)
{
	return bpf_probe_read_kernel(a, sizeof(*a), &regs->r10);
}

static __always_inline u64 arg(struct sys_args *r, int i)
{
	switch (i) {
	case 0: return r->rdi;
	case 1: return r->rsi;
	case 2: return r->rdx;
	case 3: return r->r10;
	case 4: return r->r8;
	default: return r->r9;
	}
}

// read_path copies the path at user address p to dst (BIG bytes of room)
// and returns its length with the NUL, 0 if it could not be read (which
// counts as lost unless the call itself failed with EFAULT).
static __always_inline u32 read_path(char *dst, u64 p, s64 ret)
{
	long n = bpf_probe_read_user_str(dst, BIG, (void *)p);
	if (n < 0) {
		if (ret != -14) // EFAULT: the call read nothing either
			count_lost();
		return 0;
	}
	return n > BIG ? BIG : n;
}

// emit_call sends a system call with its paths, read from the caller's
// memory, in a record as long as they are.
static __always_inline void emit_call(u32 kind, u64 id, u32 root, u32 nr, struct sys_args *r, s64 ret, struct sys_spec *sp)
{
	u64 a[6];
	for (int i = 0; i < 6; i++)
		a[i] = arg(r, i);
	u64 p0 = 0;
	if (sp->str0 == 1) p0 = a[0];
	if (sp->str0 == 2) p0 = a[1];
	if (sp->str0 == 3) p0 = a[2];
	u64 p1 = 0;
	if (sp->str1 == 2) p1 = a[1];
	if (sp->str1 == 4) p1 = a[3];
	u32 k = 0;
	struct event_buf *e = bpf_map_lookup_elem(&scratch, &k);
	if (!e) {
		count_lost();
		return;
	}
	u32 n0 = 0, n1 = 0;
	if (p0) {
		n0 = read_path(e->s, p0, ret);
		// fstat by AT_EMPTY_PATH (what glibc's fstat is): no path,
		// and no record.
		if (n0 == 1 && !p1 && !(sp->flags & SP_EMPTY_OK))
			return;
	}
	if (p1)
		n1 = read_path(e->s + n0, p1, ret);
	u64 how = 0;
	if ((sp->flags & SP_OPENAT2) && bpf_probe_read_user(&how, sizeof(how), (void *)a[2]) < 0 && ret != -14)
		count_lost();
	fill(&e->h, kind, id, root);
	e->h.nr = nr;
	e->h.ret = ret;
	e->h.how = how;
	e->h.len0 = n0;
	e->h.len1 = n1;
	for (int i = 0; i < 6; i++)
		e->h.args[i] = a[i];
	u64 size = sizeof(struct event) + n0 + n1;
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, submit_flags(0, size)) < 0)
		count_lost();
}

static __always_inline void count_name(u32 slot)
{
	u64 *n = bpf_map_lookup_elem(&names, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
}

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

// name_hash is the state of hashing a path's names, one byte per step.
struct name_hash {
	u64 h, last;
	u32 in_name;
};

// hash_step hashes byte i of this CPU's name_buf. It runs under bpf_loop,
// so the verifier checks it once: as an unrolled or bounded loop, the two
// hashes in sys_exit took the verifier 21 ms at every load (the whole
// load: 4 ms before), paid by each check that traces a program.
static long hash_step(u64 i, struct name_hash *s)
{
	u32 k = 0;
	char *buf = bpf_map_lookup_elem(&name_buf, &k);
	if (!buf || i >= NAME_PATH)
		return 1;
	u8 c = buf[i & (NAME_PATH - 1)];
	if (c == '/') {
		if (s->in_name)
			s->last = s->h;
		s->h = FNV_OFFSET;
		s->in_name = 0;
		return 0;
	}
	s->h = (s->h ^ c) * FNV_PRIME;
	s->in_name = 1;
	return 0;
}

// unbind counts the last name of the path at user address p (trailing
// slashes ignored). A path that cannot be read, or is longer than the
// copy, counts as a mount change: every resolution is dropped.
static __always_inline void unbind(u64 p)
{
	u32 k = 0;
	char *buf = bpf_map_lookup_elem(&name_buf, &k);
	if (!buf) {
		count_name(0);
		return;
	}
	long n = bpf_probe_read_user_str(buf, NAME_PATH, (void *)p);
	if (n <= 0 || n >= NAME_PATH) {
		count_name(0);
		return;
	}
	struct name_hash s = {.h = FNV_OFFSET, .last = FNV_OFFSET, .in_name = 0};
	if (bpf_loop((u32)n - 1, hash_step, &s, 0) < 0) {
		count_name(0);
		return;
	}
	if (s.in_name)
		s.last = s.h;
	count_name(1 + (u32)(s.last & (NAMES - 1)));
}

static __always_inline struct sys_spec *spec_of(u64 nr)
{
	if (nr >= 512)
		return 0;
	u32 k = nr;
	struct sys_spec *sp = bpf_map_lookup_elem(&spec, &k);
	if (!sp || !sp->flags)
		return 0;
	return sp;
}

// sys_enter(struct pt_regs *regs, long id): only execs, whose path is
// gone once they succeed.
SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct sys_spec *sp = spec_of(ctx->args[1]);
	if (!sp || !(sp->flags & SP_EXEC))
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	struct tracked_val *t = bpf_map_lookup_elem(&tracked, &tgid);
	if (!t)
		return 0;
	struct sys_args r;
	if (read_args(&r, (struct pt_regs *)ctx->args[0]) < 0) {
		count_lost();
		return 0;
	}
	emit_call(EV_EXEC_ENTER, id, t->root, ctx->args[1], &r, 0, sp);
	return 0;
}

// sys_exit(struct pt_regs *regs, long ret): runs after every system call
// of every process while the programs are loaded, so what is not traced
// is turned away first, before the registers are copied.
SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	u64 nr;
	if (bpf_probe_read_kernel(&nr, sizeof(nr), &regs->orig_rax) < 0)
		return 0;
	struct sys_spec *sp = spec_of(nr);
	if (!sp)
		return 0;
	s64 ret = ctx->args[1];
	struct sys_args r;
	int have_regs = 0;
	if (sp->flags & (SP_UNBIND | SP_MOUNT)) {
		// Counted after the call, whoever made it and whatever it
		// returned: a resolution made before this count may be stale.
		if (sp->flags & SP_MOUNT) {
			count_name(0);
		} else if (read_args(&r, regs) < 0) {
			count_name(0);
		} else {
			have_regs = 1;
			if (sp->str0 > 0)
				unbind(arg(&r, sp->str0 - 1));
			if (sp->str1 > 0)
				unbind(arg(&r, sp->str1 - 1));
		}
		if (!(sp->flags & SP_EMIT))
			return 0;
	}
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	if (sp->flags & SP_FORK) {
		if (ret != 0)
			return 0; // the parent: sched_process_fork did the work
		u64 task = bpf_get_current_task();
		struct pending_val *p = bpf_map_lookup_elem(&pending, &task);
		if (!p)
			return 0;
		u32 root = p->root;
		bpf_map_delete_elem(&pending, &task);
		struct tracked_val *t = bpf_map_lookup_elem(&tracked, &tgid);
		u32 fresh = 0;
		if (root == 0) {
			u32 k = 0;
			u32 *adopter = bpf_map_lookup_elem(&config, &k);
			if (adopter && *adopter == tgid)
				return 0; // a thread of the adopter itself
			root = tgid;
			fresh = 1;
		}
		if (t) {
			__sync_fetch_and_add(&t->threads, 1);
		} else {
			struct tracked_val v = {.root = root, .threads = 1, .fresh = fresh};
			if (bpf_map_update_elem(&tracked, &tgid, &v, BPF_NOEXIST) < 0) {
				count_lost();
				return 0;
			}
		}
		emit(EV_BORN, id, root, task, 0);
		return 0;
	}
	struct tracked_val *t = bpf_map_lookup_elem(&tracked, &tgid);
	if (!t)
		return 0;
	// dup, dup2, dup3, fcntl of a root before its exec (see fresh).
	if (t->fresh && (nr == 32 || nr == 33 || nr == 292 || nr == 72))
		return 0;
	if (!have_regs && read_args(&r, regs) < 0) {
		count_lost();
		return 0;
	}
	if ((sp->flags & SP_FCNTL) && r.rsi != 0 && r.rsi != 1030)
		return 0;
	if (sp->flags & SP_EXEC) {
		if (ret < 0) {
			struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
			if (!e) {
				count_lost();
				return 0;
			}
			fill(e, EV_SYSCALL, id, t->root);
			e->nr = nr;
			e->ret = ret;
			bpf_ringbuf_submit(e, submit_flags(0, sizeof(*e)));
		}
		return 0;
	}
	emit_call(EV_SYSCALL, id, t->root, nr, &r, ret, sp);
	return 0;
}

// sched_process_fork(struct task_struct *parent, struct task_struct *child)
SEC("raw_tracepoint/sched_process_fork")
int sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	struct pending_val p = {.ptid = (u32)id};
	struct tracked_val *t = bpf_map_lookup_elem(&tracked, &tgid);
	if (t) {
		p.root = t->root;
	} else {
		u32 k = 0;
		u32 *adopter = bpf_map_lookup_elem(&config, &k);
		if (!adopter || *adopter != tgid || !ctl_get(1))
			return 0;
	}
	u64 child = ctx->args[1];
	if (bpf_map_update_elem(&pending, &child, &p, BPF_ANY) < 0) {
		count_lost();
		return 0;
	}
	if (t)
		emit(EV_FORK, id, t->root, child, 0);
	return 0;
}

// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
SEC("raw_tracepoint/sched_process_exec")
int sched_process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	struct tracked_val *t = bpf_map_lookup_elem(&tracked, &tgid);
	if (t) {
		t->fresh = 0;
		emit(EV_EXEC, id, t->root, (u32)ctx->args[1], 0);
	}
	return 0;
}

// sched_process_exit(struct task_struct *p): one per thread. aux is the
// task pointer, so that user space forgets the fork of a task killed
// before it ever ran (then it was never born, and is not tracked yet).
SEC("raw_tracepoint/sched_process_exit")
int sched_process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	u64 task = bpf_get_current_task();
	struct pending_val *p = bpf_map_lookup_elem(&pending, &task);
	struct tracked_val *t = bpf_map_lookup_elem(&tracked, &tgid);
	if (p) {
		u32 root = p->root ? p->root : tgid;
		bpf_map_delete_elem(&pending, &task);
		if (t)
			root = t->root;
		emit(EV_EXIT, id, root, task, tgid != root);
		return 0; // never born: not counted among the threads
	}
	if (!t)
		return 0;
	// The root's exits wake no one: its parent, which waits for it, reads
	// the ring only once it has reaped it.
	emit(EV_EXIT, id, t->root, task, tgid != t->root);
	if (__sync_fetch_and_add(&t->threads, -1) == 1)
		bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}
