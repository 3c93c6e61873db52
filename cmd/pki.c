/*
 * pki.c - `ferry pki init [--dir D]` and `ferry pki issue --name N --role R
 * [--ip A] [--dir D] [--out O] [--days N]`: the certificates agents and the
 * controller use for mutual TLS (see lib/tls/pki.h).  `sandbox up` does this
 * by itself; a cluster install runs it once and stores the files in Secrets.
 */
#include "cmd/cmd.h"
#include "sandbox/config.h"
#include "tls/pki.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE "ferry pki init [--dir DIR] | issue --name NAME --role agent|controller " \
	      "[--ip ADDR] [--dir DIR] [--out DIR] [--days N]"

static int pki_init_cmd(const char *dir)
{
	ferry_error_t err = { 0 };
	int rc = pki_init(dir, &err);
	if (rc < 0)
		return cmd_fail(&err);
	printf("%s CA in %s\n", rc ? "created" : "kept the existing", dir);
	return 0;
}

static int pki_issue_cmd(const char *dir, const char *out, const struct pki_subject *s)
{
	ferry_error_t err = { 0 };
	if (!s->name || !s->role)
		return cmd_usage(USAGE);
	if (pki_issue(dir, s, out, &err) < 0)
		return cmd_fail(&err);
	printf("issued %s/%s.crt (%s)\n", out, s->name, s->role);
	return 0;
}

int cmd_pki(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "out", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' }, { "role", required_argument, NULL, 'r' },
		{ "ip", required_argument, NULL, 'i' },  { "days", required_argument, NULL, 'D' },
		{ 0 }
	};
	char def[PATH_MAX];
	const char *dir = config_pki_dir(def, sizeof(def)), *out = NULL;
	struct pki_subject s = { 0 };
	if (argc < 2)
		return cmd_usage(USAGE);
	const char *action = argv[1];
	optind = 2;
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case 'n': s.name = optarg; break;
		case 'r': s.role = optarg; break;
		case 'i': s.ip = optarg; break;
		case 'D': s.valid_days = atoi(optarg); break;
		default: return cmd_usage(USAGE);
		}
	}
	if (optind != argc)
		return cmd_usage(USAGE);
	if (!strcmp(action, "init"))
		return pki_init_cmd(dir);
	if (!strcmp(action, "issue"))
		return pki_issue_cmd(dir, out ? out : dir, &s);
	return cmd_usage(USAGE);
}
