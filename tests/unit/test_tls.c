/*
 * test_tls.c - the CA (lib/tls/pki.c) and mutual TLS (lib/tls/session.c):
 * certificates that verify, handshakes that succeed only between members
 * of one CA, identities read from certificates, and the image stream over a
 * TLS session (the receiver's decrypt-and-copy path).
 */
#include "testutil.h"
#include "openat2_shim.h"
#include "migrate/stream.h"
#include "tls/pki.h"
#include "tls/session.h"
#include "util/cleanup.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct pki_fixture {
	char *dir, *other;   /* our CA, and a stranger's */
};

static int setup(void **state)
{
	struct pki_fixture *p = calloc(1, sizeof(*p));
	ferry_error_t err = { 0 };
	p->dir = tu_mkdtemp();
	p->other = tu_mkdtemp();
	struct pki_subject n1 = { "node1", PKI_ROLE_AGENT, "10.0.0.1", 0 };
	struct pki_subject n2 = { "node2", PKI_ROLE_AGENT, "10.0.0.2", 0 };
	struct pki_subject ctl = { "controller", PKI_ROLE_CONTROLLER, NULL, 0 };
	if (pki_init(p->dir, &err) != 1 || pki_issue(p->dir, &n1, p->dir, &err) < 0 ||
	    pki_issue(p->dir, &n2, p->dir, &err) < 0 || pki_issue(p->dir, &ctl, p->dir, &err) < 0 ||
	    pki_init(p->other, &err) != 1 || pki_issue(p->other, &n2, p->other, &err) < 0)
		fail_msg("pki: %s", err.message);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pki_fixture *p = *state;
	tu_rm_rf(p->dir);
	tu_rm_rf(p->other);
	free(p);
	return 0;
}

static void test_pki_checks(void **state)
{
	struct pki_fixture *p = *state;
	ferry_error_t err = { 0 };
	struct pki_subject n1 = { "node1", PKI_ROLE_AGENT, "10.0.0.1", 0 };
	assert_int_equal(pki_init(p->dir, &err), 0); /* kept, not replaced */
	assert_true(pki_has_valid(p->dir, &n1));
	struct pki_subject other_ip = { "node1", PKI_ROLE_AGENT, "10.0.0.9", 0 };
	struct pki_subject other_role = { "node1", PKI_ROLE_CONTROLLER, NULL, 0 };
	struct pki_subject missing = { "node7", PKI_ROLE_AGENT, NULL, 0 };
	assert_false(pki_has_valid(p->dir, &other_ip));
	assert_false(pki_has_valid(p->dir, &other_role));
	assert_false(pki_has_valid(p->dir, &missing));
	/* signed by another CA: not valid here */
	struct pki_subject n2 = { "node2", PKI_ROLE_AGENT, "10.0.0.2", 0 };
	char path[PATH_MAX], cmd[3 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/strange", p->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(cmd, sizeof(cmd), "cp %s/ca.crt %s/node2.crt %s/node2.key %s/", p->dir, p->other,
		 p->other, path);
	assert_int_equal(system(cmd), 0);
	assert_false(pki_has_valid(path, &n2));
	struct pki_subject bad = { "a/b", PKI_ROLE_AGENT, NULL, 0 };
	assert_int_equal(pki_issue(p->dir, &bad, p->dir, &err), -1);
	struct pki_subject bad_role = { "x", "admin", NULL, 0 };
	assert_int_equal(pki_issue(p->dir, &bad_role, p->dir, &err), -1);
	assert_non_null(strstr(err.message, "unknown role"));
}

struct server_job {
	SSL_CTX *ctx;
	int fd;
	int rc;
	struct wire_conn conn;
	ferry_error_t err;
};

static void *server_main(void *arg)
{
	struct server_job *j = arg;
	j->rc = tls_accept(j->ctx, j->fd, &j->conn, &j->err);
	return NULL;
}

/* Runs a handshake between server identity (dir, name) and client identity;
 * returns the client's result, fills both connections. */
static int handshake(const char *sdir, const char *sname, const char *cdir, const char *cname,
		     const char *expect, struct server_job *srv, struct wire_conn *client,
		     ferry_error_t *err)
{
	int sv[2];
	tu_socketpair(sv);
	SSL_CTX *cctx = tls_context_new(cdir, cname, err);
	assert_non_null(cctx);
	*srv = (struct server_job){ .ctx = tls_context_new(sdir, sname, err), .fd = sv[1] };
	assert_non_null(srv->ctx);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, server_main, srv), 0);
	int rc = tls_connect(cctx, sv[0], expect, PKI_ROLE_AGENT, client, err);
	if (rc < 0)
		shutdown(sv[0], SHUT_RDWR); /* let the server's handshake end too */
	pthread_join(th, NULL);
	tls_context_free(cctx);
	tls_context_free(srv->ctx);
	if (rc < 0)
		close(sv[0]);
	if (srv->rc < 0)
		close(sv[1]);
	return rc;
}

static void test_handshake_identities(void **state)
{
	struct pki_fixture *p = *state;
	struct server_job srv;
	struct wire_conn c;
	ferry_error_t err = { 0 };
	assert_int_equal(handshake(p->dir, "node1", p->dir, "controller", "node1", &srv, &c, &err), 0);
	assert_int_equal(srv.rc, 0);
	assert_string_equal(c.peer_name, "node1");
	assert_string_equal(c.peer_role, PKI_ROLE_AGENT);
	assert_string_equal(srv.conn.peer_name, "controller");
	assert_string_equal(srv.conn.peer_role, PKI_ROLE_CONTROLLER);
	/* frames cross the session */
	_cleanup_json_ json_object *hello = json_object_new_object();
	json_object_object_add(hello, "node", json_object_new_string("controller"));
	assert_int_equal(wire_send_json(&c, WIRE_HELLO, hello, &err), 0);
	struct wire_frame f = { 0 };
	assert_int_equal(wire_expect(&srv.conn, &f, WIRE_HELLO, &err), 0);
	assert_non_null(strstr((char *)f.payload, "controller"));
	wire_frame_release(&f);
	wire_conn_close(&c);
	wire_conn_close(&srv.conn);
}

static void test_handshake_refusals(void **state)
{
	struct pki_fixture *p = *state;
	struct server_job srv;
	struct wire_conn c;
	ferry_error_t err = { 0 };
	/* the server is node1, the client expected node2 */
	assert_int_equal(handshake(p->dir, "node1", p->dir, "node2", "node2", &srv, &c, &err), -1);
	assert_non_null(strstr(err.message, "not agent 'node2'"));
	if (srv.rc == 0)
		wire_conn_close(&srv.conn);
	/* a client of another CA is refused by the server, and refuses it */
	memset(&err, 0, sizeof(err));
	assert_int_equal(handshake(p->dir, "node1", p->other, "node2", "node1", &srv, &c, &err), -1);
	assert_int_equal(srv.rc, -1);
	assert_non_null(strstr(srv.err.message, "TLS handshake"));
}

struct stream_job {
	struct wire_conn *conn;
	const char *path;
	int rc;
	ferry_error_t err;
};

static void *send_main(void *arg)
{
	struct stream_job *j = arg;
	uint64_t bytes = 0;
	j->rc = stream_send_file(j->conn, SPACE_IMAGES, j->path, "pages-1.img", &bytes, &j->err);
	return NULL;
}

/* A file of several TLS records arrives whole and checked over TLS. */
static void test_stream_over_tls(void **state)
{
	struct pki_fixture *p = *state;
	struct server_job srv;
	struct wire_conn c;
	ferry_error_t err = { 0 };
	assert_int_equal(handshake(p->dir, "node2", p->dir, "node1", "node2", &srv, &c, &err), 0);
	char *src = tu_mkdtemp(), *dst = tu_mkdtemp(), path[PATH_MAX];
	size_t size = (5u << 20) + 12345;
	uint8_t *data = malloc(size);
	tu_fill(data, size, 7);
	snprintf(path, sizeof(path), "%s/pages-1.img", src);
	tu_write(path, data, size, 0);
	struct stream_job job = { .conn = &c, .path = path };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, send_main, &job), 0);

	struct stream_receiver r;
	stream_receiver_init(&r);
	snprintf(r.roots[SPACE_IMAGES], sizeof(r.roots[0]), "%s", dst);
	struct wire_frame f = { 0 };
	struct wire_header h;
	for (;;) {
		assert_int_equal(wire_recv_header(&srv.conn, &h, &err), 0);
		if (h.type == WIRE_FILE_DATA) {
			assert_int_equal(stream_receiver_data_from(&r, &srv.conn, &h, &err), 0);
			continue;
		}
		assert_int_equal(wire_recv_payload(&srv.conn, &h, &f, &err), 0);
		assert_int_equal(f.type, WIRE_FILE_END);
		json_object *m = wire_frame_json(&f, &err);
		assert_int_equal(stream_receiver_end(&r, m, &err), 0);
		json_object_put(m);
		break;
	}
	pthread_join(th, NULL);
	assert_int_equal(job.rc, 0);
	assert_int_equal(stream_receiver_check_complete(&r, &err), 0);
	stream_receiver_release(&r);
	wire_frame_release(&f);
	snprintf(path, sizeof(path), "%s/pages-1.img", dst);
	size_t len;
	char *got = tu_read(path, &len);
	assert_int_equal(len, size);
	assert_memory_equal(got, data, size);
	free(got);
	free(data);
	wire_conn_close(&c);
	wire_conn_close(&srv.conn);
	tu_rm_rf(src);
	tu_rm_rf(dst);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as in the agent: a peer gone is an error, not a signal */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pki_checks),
		cmocka_unit_test(test_handshake_identities),
		cmocka_unit_test(test_handshake_refusals),
		cmocka_unit_test(test_stream_over_tls),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
