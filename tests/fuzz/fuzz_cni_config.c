/*
 * fuzz_cni_config.c - libFuzzer target for ferry-cni's stdin: the network
 * configuration containerd passes (lib/k8snode/cni.c cni_parse_config), with
 * the pod annotations of runtimeConfig.  For a configuration it accepts:
 * the node name has no '/', the subnet has no host bits, a requested
 * address parses, the ADD result serialises and parses back with that
 * cniVersion; and the allocator (lib/k8snode/cniipam.c), pointed at a
 * scratch dataDir, assigns an address (the requested one when there is one),
 * finds it again, and frees it.
 */
#include "fuzz.h"
#include "k8snode/cni.h"
#include "k8snode/cniipam.h"

#include <json-c/json.h>

static char data_dir[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(data_dir, sizeof(data_dir), "%s", fuzz_tempdir("cni"));
	return 0;
}

static void check_result(const struct cni_config *cfg, const char *ip)
{
	json_object *r = cni_result(cfg, "fc00000000", "eth0", "/run/netns/x", ip);
	const char *text = json_object_to_json_string(r);
	json_object *back = json_tokener_parse(text);
	FUZZ_CHECK(back != NULL);
	json_object *v = NULL;
	FUZZ_CHECK(json_object_object_get_ex(back, "cniVersion", &v));
	FUZZ_CHECK(!strcmp(json_object_get_string(v), cfg->version));
	json_object_put(back);
	json_object_put(r);
}

static void check_allocator(struct cni_config *cfg)
{
	ferry_error_t err = { 0 };
	char ip[16] = "", again[16] = "";
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", data_dir);
	if (cniipam_assign(cfg, "fuzzcontainer", "eth0", "ns/pod", ip, &err) < 0)
		return; /* a full or odd subnet: an error, not a crash */
	if (cfg->requested_ip[0])
		FUZZ_CHECK(!strcmp(ip, cfg->requested_ip));
	FUZZ_CHECK(cniipam_lookup(cfg, "fuzzcontainer", "eth0", again, &err) == 0);
	FUZZ_CHECK(!strcmp(ip, again));
	check_result(cfg, ip);
	FUZZ_CHECK(cniipam_release(cfg, "fuzzcontainer", "eth0", &err) == 0);
	FUZZ_CHECK(cniipam_lookup(cfg, "fuzzcontainer", "eth0", again, &err) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_config cfg;
	ferry_error_t err = { 0 };
	int code = cni_parse_config((const char *)data, size, &cfg, &err);
	if (code) {
		FUZZ_CHECK(code > 0 && err.message[0]);
		json_object_put(cni_error_result(cfg.version, code, err.message));
		return 0;
	}
	FUZZ_CHECK(cni_version_supported(cfg.version));
	FUZZ_CHECK(!strchr(cfg.node, '/') && cfg.node[0]);
	FUZZ_CHECK(cfg.prefix >= 8 && cfg.prefix <= 30);
	FUZZ_CHECK((cfg.subnet & ~(0xffffffffu << (32 - cfg.prefix))) == 0);
	uint32_t a;
	if (cfg.requested_ip[0])
		FUZZ_CHECK(cni_parse_ipv4(cfg.requested_ip, &a) == 0);
	check_allocator(&cfg);
	return 0;
}
