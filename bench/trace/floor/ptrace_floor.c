// ptrace_floor: the least a ptrace+seccomp tracer can cost on this machine.
//
// It runs a command N times untraced and N times traced, alternately, and
// prints the median wall time of each and the number of tracer stops per
// traced run. "Traced" is the minimum any tracer built on ptrace and a
// seccomp filter pays: the child installs the given filter itself before
// its execve (no injection), and the tracer, at each stop, only reads the
// call's registers and its first path argument, then resumes it. Nothing
// is decoded, checked, resolved or recorded. bench/trace runs it with the
// filter engine/trace installs, so the ratio it prints is the floor under
// engine/trace's ptrace backend on the same workload.
//
// Usage: ptrace_floor RUNS FILTER DIR PROGRAM [ARG...]
// FILTER is a file of struct sock_filter, as Go's []unix.SockFilter lays
// them out.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sock_fprog prog;
static const char *dir;
static char **argv0;
static long stops;

static long long now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
	perror(what);
	exit(2);
}

static void child(int traced) {
	int null = open("/dev/null", O_WRONLY);
	if (null < 0 || dup2(null, 1) < 0 || chdir(dir) < 0)
		_exit(126);
	if (traced) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 || raise(SIGSTOP) < 0)
			_exit(126);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog) < 0)
			_exit(125);
	}
	execvp(argv0[0], argv0);
	_exit(127);
}

// pathArg is the index of a call's first path argument: the *at calls take
// a directory descriptor first.
static int pathArg(long nr) {
	switch (nr) {
	case SYS_openat: case SYS_newfstatat: case SYS_statx: case SYS_faccessat:
	case SYS_faccessat2: case SYS_readlinkat: case SYS_execveat: case SYS_openat2:
	case SYS_mkdirat: case SYS_unlinkat: case SYS_renameat: case SYS_renameat2:
	case SYS_fchmodat: case SYS_fchownat: case SYS_utimensat: case SYS_mknodat:
	case SYS_linkat: case SYS_symlinkat: case SYS_name_to_handle_at:
		return 1;
	}
	return 0;
}

static void run(int traced) {
	pid_t root = fork();
	if (root < 0)
		die("fork");
	if (root == 0)
		child(traced);
	int st;
	if (!traced) {
		if (waitpid(root, &st, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "ptrace_floor: %s failed (status %#x)\n", argv0[0], st);
			exit(1);
		}
		return;
	}
	if (waitpid(root, &st, 0) < 0)
		die("waitpid");
	if (ptrace(PTRACE_SETOPTIONS, root, 0,
	           PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC |
	               PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE) < 0)
		die("PTRACE_SETOPTIONS");
	ptrace(PTRACE_CONT, root, 0, 0);
	for (;;) {
		pid_t pid = waitpid(-1, &st, __WALL);
		if (pid < 0) {
			if (errno == ECHILD)
				return;
			die("waitpid");
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (pid == root && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
				fprintf(stderr, "ptrace_floor: traced %s failed (status %#x)\n", argv0[0], st);
				exit(1);
			}
			continue;
		}
		int sig = 0;
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
			stops++;
			struct __ptrace_syscall_info si;
			if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof si, &si) > 0) {
				char buf[256];
				struct iovec local = {buf, sizeof buf};
				struct iovec remote = {(void *)(uintptr_t)si.seccomp.args[pathArg(si.seccomp.nr)], sizeof buf};
				process_vm_readv(pid, &local, 1, &remote, 1, 0);
			}
		} else if (WSTOPSIG(st) != SIGTRAP && WSTOPSIG(st) != SIGSTOP) {
			sig = WSTOPSIG(st); // a signal for the tracee: deliver it
		}
		ptrace(PTRACE_CONT, pid, 0, sig);
	}
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: ptrace_floor RUNS FILTER DIR PROGRAM [ARG...]\n");
		return 2;
	}
	int runs = atoi(argv[1]);
	FILE *f = fopen(argv[2], "rb");
	if (!f)
		die(argv[2]);
	static struct sock_filter insns[4096];
	size_t n = fread(insns, sizeof insns[0], 4096, f);
	fclose(f);
	prog.len = n;
	prog.filter = insns;
	dir = argv[3];
	argv0 = argv + 4;
	long long *times[2] = {calloc(runs, sizeof(long long)), calloc(runs, sizeof(long long))};
	run(0); // warm up
	run(1);
	stops = 0;
	for (int i = 0; i < runs; i++) {
		for (int k = 0; k < 2; k++) {
			int traced = (i + k) % 2;
			long long t = now_ns();
			run(traced);
			times[traced][i] = now_ns() - t;
		}
	}
	qsort(times[0], runs, sizeof(long long), cmp);
	qsort(times[1], runs, sizeof(long long), cmp);
	printf("%lld %lld %.1f\n", times[0][runs / 2], times[1][runs / 2], (double)stops / runs);
	return 0;
}
