/*
 * test_k8s_client.c - the pure parts of lib/k8s: kubeconfig parsing (inline
 * data, file references, tokens, errors), base64, YAML conversion bounds,
 * watch-stream line splitting and event parsing.
 */
#include "testutil.h"
#include "k8s/config.h"
#include "k8s/lines.h"
#include "k8s/watch.h"
#include "k8s/yaml.h"

static const char kubeconfig_inline[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"- name: other\n"
	"  cluster: {server: 'https://10.0.0.1:6443'}\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:16443/\n"
	"    certificate-authority-data: Q0EtUEVN\n" /* CA-PEM */
	"users:\n"
	"- name: admin\n"
	"  user:\n"
	"    client-certificate-data: Q0VSVA==\n" /* CERT */
	"    client-key-data: S0VZ\n"              /* KEY */
	"contexts:\n"
	"- name: ctx\n"
	"  context: {cluster: c1, user: admin, namespace: team-a}\n"
	"- name: other\n"
	"  context: {cluster: other, user: tok}\n"
	"- name: nouser\n"
	"  context: {cluster: other}\n"
	"current-context: ctx\n";

static void test_kubeconfig_inline(void **state)
{
	struct k8s_config c;
	ferry_error_t err = { 0 };
	assert_int_equal(k8s_config_parse_kubeconfig(&c, kubeconfig_inline, strlen(kubeconfig_inline),
						     "/nowhere", NULL, &err), 0);
	assert_string_equal(c.server, "https://127.0.0.1:16443");
	assert_string_equal(c.ca.data, "CA-PEM");
	assert_int_equal(c.ca.len, 6);
	assert_string_equal(c.cert.data, "CERT");
	assert_string_equal(c.key.data, "KEY");
	assert_string_equal(c.namespace, "team-a");
	assert_null(c.token);
	assert_false(c.insecure);
	k8s_config_free(&c);
	/* a context without a user and without a namespace */
	assert_int_equal(k8s_config_parse_kubeconfig(&c, kubeconfig_inline, strlen(kubeconfig_inline),
						     NULL, "nouser", &err), 0);
	assert_string_equal(c.server, "https://10.0.0.1:6443");
	assert_string_equal(c.namespace, "default");
	assert_null(c.cert.data);
	k8s_config_free(&c);
}

static void test_kubeconfig_files_and_token(void **state)
{
	char *dir = tu_mkdtemp(), path[512];
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	FILE *f = fopen(path, "w");
	fputs("FILE-CA\n", f);
	fclose(f);
	static const char text[] =
		"{\"clusters\":[{\"name\":\"c\",\"cluster\":{\"server\":\"https://h:1\","
		"\"certificate-authority\":\"ca.crt\",\"insecure-skip-tls-verify\":true}}],"
		"\"users\":[{\"name\":\"u\",\"user\":{\"token\":\"abc.def\",\"tokenFile\":\"/t\"}}],"
		"\"contexts\":[{\"name\":\"x\",\"context\":{\"cluster\":\"c\",\"user\":\"u\"}}],"
		"\"current-context\":\"x\"}";
	struct k8s_config c;
	ferry_error_t err = { 0 };
	assert_int_equal(k8s_config_parse_kubeconfig(&c, text, strlen(text), dir, NULL, &err), 0);
	assert_string_equal(c.ca.data, "FILE-CA\n");
	assert_string_equal(c.token, "abc.def");
	assert_string_equal(c.token_file, "/t");
	assert_true(c.insecure);
	k8s_config_free(&c);
	tu_rm_rf(dir);
}

static void expect_error(const char *text, const char *context, const char *needle)
{
	struct k8s_config c;
	ferry_error_t err = { 0 };
	assert_int_equal(k8s_config_parse_kubeconfig(&c, text, strlen(text), NULL, context, &err), -1);
	if (!strstr(err.message, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
}

static void test_kubeconfig_errors(void **state)
{
	expect_error("", NULL, "YAML");
	expect_error("[1, 2]", NULL, "not a mapping");
	expect_error("kind: Config\n", NULL, "no current-context");
	expect_error(kubeconfig_inline, "missing", "no contexts named 'missing'");
	expect_error("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		     "clusters: [{name: c, cluster: {server: 'http://plain:80'}}]\n",
		     NULL, "must be an https:// URL");
	expect_error("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		     "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		     "users: [{name: u, user: {exec: {command: aws}}}]\n",
		     NULL, "exec and auth-provider credentials are not supported");
	expect_error("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		     "clusters: [{name: c, cluster: {server: 'https://h', "
		     "certificate-authority-data: '!!!'}}]\n",
		     NULL, "certificate-authority-data: invalid base64");
	expect_error("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
		     "clusters: [{name: c, cluster: {server: 'https://h', "
		     "certificate-authority: /nonexistent/ca}}]\n",
		     NULL, "/nonexistent/ca");
	expect_error("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
		     "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
		     "users: [{name: u, user: {client-certificate-data: QQ==}}]\n",
		     NULL, "without a key");
	expect_error("a: [unclosed\n", NULL, "YAML syntax error at line");
}

static void test_base64(void **state)
{
	struct k8s_blob b;
	ferry_error_t err = { 0 };
	assert_int_equal(k8s_base64_decode("aGVs\nbG8=", 9, &b, &err), 0);
	assert_string_equal(b.data, "hello");
	free(b.data);
	assert_int_equal(k8s_base64_decode("", 0, &b, &err), 0);
	assert_int_equal(b.len, 0);
	free(b.data);
	assert_int_equal(k8s_base64_decode("AAEC/w==", 8, &b, &err), 0);
	assert_int_equal(b.len, 4);
	assert_int_equal((unsigned char)b.data[3], 0xff);
	free(b.data);
	assert_int_equal(k8s_base64_decode("ab=c", 4, &b, &err), -1);
	assert_int_equal(k8s_base64_decode("a*b", 3, &b, &err), -1);
}

static void test_yaml_scalars_and_bounds(void **state)
{
	ferry_error_t err = { 0 };
	const char *t = "a: 12\nb: '12'\nc: true\nd: ~\ne: 012\nf: [x, {g: h}]\n";
	json_object *o = yaml_to_json(t, strlen(t), &err);
	assert_non_null(o);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":12,\"b\":\"12\",\"c\":true,\"d\":null,\"e\":\"012\",\"f\":[\"x\",{\"g\":\"h\"}]}");
	json_object_put(o);
	/* alias expansion is bounded (a "billion laughs" document) */
	const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	assert_null(yaml_to_json(bomb, strlen(bomb), &err));
	assert_non_null(strstr(err.message, "nodes"));
	char deep[400];
	memset(deep, '[', 200);
	deep[200] = '\0';
	assert_null(yaml_to_json(deep, strlen(deep), &err));
	const char *nonscalar_key = "? [a]\n: b\n";
	assert_null(yaml_to_json(nonscalar_key, strlen(nonscalar_key), &err));
	assert_non_null(strstr(err.message, "not a scalar"));
}

struct collected {
	char lines[8][64];
	int n;
	int stop_after;
};

static int collect(const char *line, size_t len, void *data)
{
	struct collected *c = data;
	assert_int_equal(strlen(line), len);
	if (c->n < 8)
		snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
	c->n++;
	return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

static int feed(struct line_buf *b, const char *s, struct collected *c)
{
	return line_buf_feed(b, s, strlen(s), collect, c);
}

static void test_lines_split(void **state)
{
	struct line_buf b;
	struct collected c = { 0 };
	line_buf_init(&b, 32);
	/* one event over three reads, then two in one read, CRLF, blank lines */
	assert_int_equal(feed(&b, "{\"ty", &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(feed(&b, "pe\":1", &c), 0);
	assert_int_equal(feed(&b, "}\n{\"a\":2}\r\n\n{\"b\"", &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.lines[0], "{\"type\":1}");
	assert_string_equal(c.lines[1], "{\"a\":2}");
	assert_int_equal(feed(&b, ":3}\n", &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.lines[2], "{\"b\":3}");
	/* the callback stops the feed with its value */
	c.stop_after = 4;
	assert_int_equal(feed(&b, "x\ny\n", &c), 7);
	assert_string_equal(c.lines[3], "x");
	/* a line longer than max_line is refused, not buffered forever */
	line_buf_reset(&b);
	char big[40];
	memset(big, 'z', sizeof(big));
	assert_int_equal(line_buf_feed(&b, big, sizeof(big), collect, &c), -1);
	assert_true(b.overflow);
	line_buf_free(&b);
}

static void test_watch_event_parse(void **state)
{
	char type[16];
	ferry_error_t err = { 0 };
	const char *ok = "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"resourceVersion\":\"42\"}}}";
	json_object *o = k8s_watch_parse_event(ok, strlen(ok), type, &err);
	assert_non_null(o);
	assert_string_equal(type, "MODIFIED");
	assert_true(json_object_is_type(o, json_type_object));
	json_object_put(o);
	const char *bookmark = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"PodMigration\","
			       "\"metadata\":{\"resourceVersion\":\"77\"}}}";
	o = k8s_watch_parse_event(bookmark, strlen(bookmark), type, &err);
	assert_string_equal(type, "BOOKMARK");
	json_object_put(o);
	static const char *const bad[] = { "", "not json", "[1]", "{\"type\":\"ADDED\"}",
					   "{\"object\":{}}", "{\"type\":1,\"object\":{}}",
					   "{\"type\":\"ADDED\",\"object\":[]}",
					   "{\"type\":\"AAAAAAAAAAAAAAAAAAAA\",\"object\":{}}",
					   "{\"type\":\"ADDED\",\"object\":{}} trailing" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = k8s_watch_parse_event(bad[i], strlen(bad[i]), type, &err);
		if (o)
			fail_msg("accepted bad event %s", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeconfig_inline),
		cmocka_unit_test(test_kubeconfig_files_and_token),
		cmocka_unit_test(test_kubeconfig_errors),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_yaml_scalars_and_bounds),
		cmocka_unit_test(test_lines_split),
		cmocka_unit_test(test_watch_event_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
