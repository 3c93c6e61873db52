/*
 * runcshim.h - `ferry-runc`, the OCI runtime binary that containerd's runc
 * shim (io.containerd.runc.v2) calls for pods of RuntimeClass `ferry`.
 *
 * It owns the decision "pass this runc call through, or act on it": every
 * call is parsed just enough to know the subcommand, runc's --root, the
 * bundle and the container id, and then handed to the real runc unchanged
 * (exec, same arguments).  Calls that concern a container of a pod being
 * migrated (the ferry.dev/... annotations that containerd copies into config.json)
 * are where ferry will act; the parsing lives here so that those decisions
 * stay in one place and the plain case costs one exec.
 */
#ifndef FERRY_K8SNODE_RUNCSHIM_H
#define FERRY_K8SNODE_RUNCSHIM_H

#include "util/error.h"

/* One runc invocation as containerd's shim makes it:
 *   runc [GLOBAL OPTS] COMMAND [COMMAND OPTS] [ID] */
struct runc_call {
	int argc;
	char **argv;            /* the original argv (argv[0] = ferry-runc) */
	int cmd_index;          /* index of COMMAND in argv, 0 if none */
	const char *command;    /* "create", "start", "delete", ... or NULL */
	const char *root;       /* --root, NULL if absent */
	const char *log;        /* --log: where containerd reads runc's errors */
	const char *bundle;     /* create/run/restore: --bundle or -b, NULL if absent */
	const char *pid_file;   /* --pid-file */
	const char *id;         /* the container id (last non-option argument) */
};

/* Parses argv; never fails on options it does not know (they pass through). */
int runcshim_parse(int argc, char **argv, struct runc_call *call, ferry_error_t *err);

/* The real runc: $FERRY_REAL_RUNC, else the first runc in /usr/sbin,
 * /usr/bin, /usr/local/sbin, /usr/local/bin that is not this binary. */
int runcshim_real_runc(char path[4096], ferry_error_t *err);

/* ferry-runc's main: returns an exit status (only when it does not exec). */
int runcshim_main(int argc, char **argv);

#endif
