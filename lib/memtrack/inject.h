/*
 * inject.h - running one system call inside another process, with ptrace.
 *
 * Some kernel objects can only be created by the process they are for: a
 * userfaultfd belongs to the memory of the task that calls userfaultfd(2).
 * ferry needs one for a container's process without its cooperation, so it
 * stops the task (PTRACE_SEIZE + PTRACE_INTERRUPT), makes it execute a single
 * `syscall` instruction with chosen registers, and puts everything back:
 * the two instruction bytes it borrowed and every register, including the
 * state of a system call the task was blocked in (orig_rax -1 while
 * injecting keeps the kernel from "restarting" ours; restoring the saved
 * registers lets the task restart its own).  x86-64 only.
 */
#ifndef FERRY_MEMTRACK_INJECT_H
#define FERRY_MEMTRACK_INJECT_H

#include <sys/types.h>
#include "util/error.h"

/* Stops pid under ptrace; inject_syscall may then be called; inject_detach
 * lets it run on, exactly where it was. */
int inject_attach(pid_t pid, ferry_error_t *err);
/* The raw return value of syscall nr(a1, a2, a3) run by pid (-errno on
 * failure), or -1 with err if the injection itself failed. */
int inject_syscall(pid_t pid, long nr, long a1, long a2, long a3, long *ret, ferry_error_t *err);
void inject_detach(pid_t pid);

#endif
