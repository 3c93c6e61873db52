/*
 * fuzz_kubeconfig.c - libFuzzer target for the controller's parsers of
 * text it does not control: kubeconfig files (YAML through libyaml,
 * lib/k8s/yaml.c, resolved by lib/k8s/config.c, base64 included) and the
 * line splitter of watch streams (lib/k8s/lines.c).
 *
 * Input: any bytes.  The whole input is parsed as a kubeconfig (no file
 * references resolve: base_dir is a fresh empty temp dir); an accepted one
 * must have an https:// server, a namespace, and a certificate only with its
 * key.  Then the input is fed to a line splitter in pieces whose sizes come
 * from the input itself; every line delivered must be shorter than the limit
 * and contain no newline, and each is also run through yaml_to_json.
 */
#include "fuzz.h"
#include "k8s/config.h"
#include "k8s/lines.h"
#include "k8s/yaml.h"

static char base_dir[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(base_dir, sizeof(base_dir), "%s", fuzz_tempdir("kubeconfig"));
	return 0;
}

static int on_line(const char *line, size_t len, void *data)
{
	size_t *count = data;
	ferry_error_t err = { 0 };
	FUZZ_CHECK(len > 0 && len <= 256);
	FUZZ_CHECK(strlen(line) <= len);
	FUZZ_CHECK(!memchr(line, '\n', len));
	json_object *o = yaml_to_json(line, len, &err);
	FUZZ_CHECK(o || ferry_error_is_set(&err));
	json_object_put(o);
	(*count)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_config c;
	ferry_error_t err = { 0 };
	if (k8s_config_parse_kubeconfig(&c, (const char *)data, size, base_dir, NULL, &err) == 0) {
		FUZZ_CHECK(c.server && !strncmp(c.server, "https://", 8));
		FUZZ_CHECK(c.namespace && *c.namespace);
		FUZZ_CHECK(!c.cert.data == !c.key.data);
		k8s_config_free(&c);
	} else {
		FUZZ_CHECK(ferry_error_is_set(&err));
	}
	struct line_buf b;
	size_t lines = 0, off = 0;
	line_buf_init(&b, 256);
	while (off < size) {
		size_t piece = 1 + data[off] % 64;
		if (piece > size - off)
			piece = size - off;
		if (line_buf_feed(&b, (const char *)data + off, piece, on_line, &lines) < 0) {
			FUZZ_CHECK(b.overflow);
			line_buf_reset(&b);
		}
		off += piece;
	}
	line_buf_free(&b);
	return 0;
}
