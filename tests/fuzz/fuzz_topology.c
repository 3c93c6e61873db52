/*
 * fuzz_topology.c - libFuzzer target for topology_load (lib/sandbox/topology.c),
 * which every agent and command runs on FERRY_STATE/sandbox.json.
 *
 * Input: the file's contents.  FERRY_STATE points at a per-process temp dir
 * (set before the first config_get()).  A topology that loads must be
 * well-formed (node count in range, every name found by topology_find) and
 * survive topology_save + topology_load unchanged.
 */
#include "fuzz.h"
#include "sandbox/config.h"
#include "sandbox/topology.h"

#include <fcntl.h>

static char sandbox_json[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_tempdir("topology");
	FUZZ_CHECK(setenv("FERRY_STATE", dir, 1) == 0);
	FUZZ_CHECK(strcmp(config_get()->state_dir, dir) == 0);
	config_topology_file(sandbox_json, sizeof(sandbox_json));
	return 0;
}

static void check_node(const struct node_info *n)
{
	FUZZ_CHECK(memchr(n->name, '\0', sizeof(n->name)));
	FUZZ_CHECK(memchr(n->address, '\0', sizeof(n->address)));
	FUZZ_CHECK(memchr(n->netns, '\0', sizeof(n->netns)));
}

static bool same_node(const struct node_info *a, const struct node_info *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->address, b->address) &&
	       !strcmp(a->netns, b->netns) && a->migration_port == b->migration_port &&
	       a->agent_pid == b->agent_pid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(sandbox_json, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);

	struct topology t, again;
	ferry_error_t err = { 0 };
	if (topology_load(&t, &err) < 0) {
		FUZZ_CHECK(ferry_error_is_set(&err));
		return 0;
	}
	FUZZ_CHECK(t.n_nodes >= 0 && t.n_nodes <= TOPOLOGY_MAX_NODES);
	for (int i = 0; i < t.n_nodes; i++) {
		check_node(&t.nodes[i]);
		const struct node_info *found = topology_find(&t, t.nodes[i].name);
		FUZZ_CHECK(found && !strcmp(found->name, t.nodes[i].name));
	}
	FUZZ_CHECK(topology_save(&t, &err) == 0);
	FUZZ_CHECK(topology_load(&again, &err) == 0);
	FUZZ_CHECK(again.n_nodes == t.n_nodes);
	for (int i = 0; i < t.n_nodes; i++)
		FUZZ_CHECK(same_node(&t.nodes[i], &again.nodes[i]));
	return 0;
}
