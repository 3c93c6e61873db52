/*
 * main.c - the `ferry` multi-call binary: dispatches to a subcommand, or, when
 * started under another name (a symlink), to that personality: `ferry-runc`
 * (the OCI runtime of RuntimeClass ferry), `ferry-cni` (the CNI plugin) and
 * `kubectl-migrate` (the kubectl plugin).
 */
#include "cmd/cmd.h"
#include "util/log.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "sandbox", cmd_sandbox, "up [--nodes N] | down | status [--json]: the local sandbox" },
	{ "run", cmd_run, "--node N --name C (--image I | --rootfs DIR) [-e K=V]... [-- ARGS]" },
	{ "ps", cmd_ps, "[--json]: list containers" },
	{ "logs", cmd_logs, "NAME: print a container's output" },
	{ "rm", cmd_rm, "NAME: remove a container" },
	{ "images", cmd_images, "[--json]: list local images" },
	{ "migrate", cmd_migrate, "NAME --to NODE [--json]: live-migrate a container" },
	{ "check", cmd_check, "[--json]: check runc, CRIU and kernel features" },
	{ "pki", cmd_pki, "init | issue --name N --role agent|controller [--ip A]: certificates" },
	{ "agent", cmd_agent, "--node N [--k8s --address IP]: run a node agent" },
	{ "pod-migrate", cmd_pod_migrate,
	  "--node SRC NS/POD --to-node N --to-address IP --target-pod NAME: migrate a pod" },
	{ "controller", cmd_controller, "[--kubeconfig F] [-n NS|-A]: the PodMigration controller" },
	{ "drain", cmd_drain, "NODE [--kubeconfig F]: migrate every ferry pod off a Kubernetes node" },
};

/* argv[0] personalities: called by containerd, not by people */
static const struct {
	const char *name;
	int (*fn)(int, char **);
} personalities[] = {
	{ "ferry-runc", cmd_runc_shim },
	{ "ferry-cni", cmd_cni },
};

static int usage(void)
{
	fprintf(stderr, "usage: ferry COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  %-8s %s\n", commands[i].name, commands[i].help);
	return 2;
}

int main(int argc, char **argv)
{
	char self[256];
	snprintf(self, sizeof(self), "%s", argv[0] ? argv[0] : "ferry");
	const char *base = basename(self);
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]); i++)
		if (!strcmp(base, personalities[i].name))
			return personalities[i].fn(argc, argv);
	log_init("ferry", LOG_WARN);
	/* installed as a kubectl plugin: a kubectl-migrate symlink to this binary */
	if (argc > 0 && !strcmp(basename(argv[0]), "kubectl-migrate"))
		return cmd_kubectl_migrate(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ferry: unknown command '%s'\n", argv[1]);
	return usage();
}
