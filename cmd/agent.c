/*
 * agent.c - `ferry agent --node NAME`: run a node agent in the foreground.
 */
#include "cmd/cmd.h"
#include "agent/server.h"

#include <getopt.h>
#include <stddef.h>

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = { { "node", required_argument, NULL, 'n' }, { 0 } };
	const char *node = NULL;
	ferry_error_t err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (c != 'n')
			return cmd_usage("ferry agent --node NAME");
		node = optarg;
	}
	if (!node)
		return cmd_usage("ferry agent --node NAME");
	return agent_run(node, &err) < 0 ? cmd_fail(&err) : 0;
}
