/*
 * inject.c - see inject.h.
 */
#include "memtrack/inject.h"

#include <errno.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#define SYSCALL_INSN 0x050fL /* 0f 05, little endian */

int inject_attach(pid_t pid, ferry_error_t *err)
{
	int status;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return ferry_error_set(err, errno, "ptrace seize %d", (int)pid);
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &status, __WALL) != pid ||
	    !WIFSTOPPED(status)) {
		int e = errno;
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return ferry_error_set(err, e, "stop %d", (int)pid);
	}
	return 0;
}

/* Executes the borrowed instruction: one single-step, the trap reported. */
static int step_once(pid_t pid, ferry_error_t *err)
{
	int status;
	if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) < 0 || waitpid(pid, &status, __WALL) != pid)
		return ferry_error_set(err, errno, "single-step %d", (int)pid);
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP)
		return ferry_error_set(err, 0, "task %d did not stop after the injected call", (int)pid);
	return 0;
}

int inject_syscall(pid_t pid, long nr, long a1, long a2, long a3, long *ret, ferry_error_t *err)
{
	struct user_regs_struct saved, regs;
	if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0)
		return ferry_error_set(err, errno, "read registers of %d", (int)pid);
	errno = 0;
	long word = ptrace(PTRACE_PEEKTEXT, pid, saved.rip, 0);
	if (errno)
		return ferry_error_set(err, errno, "read code of %d", (int)pid);
	if (ptrace(PTRACE_POKETEXT, pid, saved.rip, (word & ~0xffffL) | SYSCALL_INSN) < 0)
		return ferry_error_set(err, errno, "patch code of %d", (int)pid);
	regs = saved;
	regs.rax = (unsigned long long)nr;
	regs.rdi = (unsigned long long)a1;
	regs.rsi = (unsigned long long)a2;
	regs.rdx = (unsigned long long)a3;
	regs.orig_rax = (unsigned long long)-1;
	int rc = ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0 ?
			 ferry_error_set(err, errno, "set registers of %d", (int)pid) :
			 step_once(pid, err);
	if (rc == 0 && ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		rc = ferry_error_set(err, errno, "read the result in %d", (int)pid);
	/* put back what was borrowed, whatever happened */
	ptrace(PTRACE_POKETEXT, pid, saved.rip, word);
	ptrace(PTRACE_SETREGS, pid, 0, &saved);
	if (rc == 0)
		*ret = (long)regs.rax;
	return rc;
}

void inject_detach(pid_t pid)
{
	ptrace(PTRACE_DETACH, pid, 0, 0);
}
