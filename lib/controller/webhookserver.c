/*
 * webhookserver.c - see webhookserver.h.
 */
#include "controller/webhookserver.h"
#include "controller/webhook.h"
#include "k8s/object.h"
#include "tls/servingcert.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (4u << 20)
#define MWC_PATH "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"

static struct {
	pthread_mutex_t lock;
	struct MHD_Daemon *daemon;
	struct serving_cert cert;  /* lives as long as the daemon */
	char url[128];
	bool registered;
	char why[256];
} s = { .lock = PTHREAD_MUTEX_INITIALIZER, .why = "the webhook server is not running "
							 "(no --webhook-ip and no POD_IP)" };

struct body {
	char *data;
	size_t len;
	bool too_big;
};

static bool lookup(const char *ns, const char *pod, struct handover *out, void *data)
{
	(void)data;
	return handover_get(ns, pod, out);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *text,
			     const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								  MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result review(struct MHD_Connection *conn, struct body *b)
{
	ferry_error_t err = { 0 };
	char what[700];
	if (b->too_big)
		return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request too large\n", "text/plain");
	_cleanup_json_ json_object *in = b->data ? json_tokener_parse(b->data) : NULL;
	_cleanup_json_ json_object *out =
		in ? webhook_review(in, lookup, NULL, what, sizeof(what), &err) : NULL;
	if (!out) {
		log_warn("webhook: bad request: %s", in ? err.message : "not JSON");
		return reply(conn, MHD_HTTP_BAD_REQUEST, "expected an AdmissionReview v1 request\n",
			     "text/plain");
	}
	if (what[0])
		log_info("webhook: %s", what);
	return reply(conn, MHD_HTTP_OK,
		     json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE),
		     "application/json");
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct body *b = *state;
	if (!b) {
		if (strcmp(method, "POST"))
			return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n", "text/plain");
		if (strcmp(url, WEBHOOK_PATH))
			return reply(conn, MHD_HTTP_NOT_FOUND, "not found: POST " WEBHOOK_PATH "\n",
				     "text/plain");
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*state = b;
		return MHD_YES;
	}
	if (*upload_len) {
		if (b->len + *upload_len > BODY_MAX || b->too_big) {
			b->too_big = true;
		} else {
			char *grown = realloc(b->data, b->len + *upload_len + 1);
			if (!grown)
				return MHD_NO;
			memcpy(grown + b->len, upload, *upload_len);
			b->data = grown;
			b->len += *upload_len;
			b->data[b->len] = 0;
		}
		*upload_len = 0;
		return MHD_YES;
	}
	return review(conn, b);
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
		      enum MHD_RequestTerminationCode code)
{
	struct body *b = *state;
	if (b) {
		free(b->data);
		free(b);
	}
	*state = NULL;
}

int webhook_server_start(const char *ip, int port, ferry_error_t *err)
{
	char url[128];
	unsigned char bin[16];
	if (webhook_url(ip, port, url, sizeof(url), err) < 0)
		return -1;
	bool v6 = inet_pton(AF_INET6, ip, bin) == 1;
	if (serving_cert_make(ip, 3650, &s.cert, err) < 0)
		return ferry_error_prefix(err, "webhook certificate");
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TLS |
			 (v6 ? MHD_USE_IPv6 : 0);
	s.daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, NULL,
				    MHD_OPTION_HTTPS_MEM_KEY, s.cert.key_pem,
				    MHD_OPTION_HTTPS_MEM_CERT, s.cert.cert_pem,
				    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!s.daemon) {
		serving_cert_free(&s.cert);
		ferry_error_set(err, 0, "cannot serve the webhook on port %d (in use? TLS support in "
					"libmicrohttpd?)", port);
		pthread_mutex_lock(&s.lock);
		snprintf(s.why, sizeof(s.why), "%s", err->message);
		pthread_mutex_unlock(&s.lock);
		return -1;
	}
	pthread_mutex_lock(&s.lock);
	snprintf(s.url, sizeof(s.url), "%s", url);
	snprintf(s.why, sizeof(s.why), "the MutatingWebhookConfiguration %s is not written yet",
		 WEBHOOK_CONFIG_NAME);
	pthread_mutex_unlock(&s.lock);
	log_info("webhook: serving %s", url);
	return 0;
}

void webhook_server_stop(void)
{
	if (s.daemon)
		MHD_stop_daemon(s.daemon);
	s.daemon = NULL;
	serving_cert_free(&s.cert);
}

int webhook_register(struct k8s_client *c, ferry_error_t *err)
{
	char path[256];
	long status = 0;
	if (!s.daemon)
		return ferry_error_set(err, 0, "%s", s.why);
	_cleanup_json_ json_object *want = webhook_configuration(s.url, s.cert.ca_pem);
	snprintf(path, sizeof(path), "%s/%s", MWC_PATH, WEBHOOK_CONFIG_NAME);
	_cleanup_json_ json_object *have = k8s_get(c, path, &status, err);
	_cleanup_json_ json_object *r = NULL;
	if (!have && status == 404) {
		ferry_error_clear(err);
		r = k8s_create(c, MWC_PATH, want, NULL, err);
	} else if (have) {
		json_object_object_add(k8s_ensure(want, "metadata"), "resourceVersion",
				       json_object_new_string(
					       k8s_str(have, "metadata.resourceVersion") ?: ""));
		r = k8s_replace(c, path, want, NULL, err);
	}
	pthread_mutex_lock(&s.lock);
	s.registered = r != NULL;
	if (!r)
		snprintf(s.why, sizeof(s.why), "the MutatingWebhookConfiguration %s could not be "
					       "written: %s", WEBHOOK_CONFIG_NAME, err->message);
	pthread_mutex_unlock(&s.lock);
	if (!r)
		return ferry_error_prefix(err, "MutatingWebhookConfiguration %s", WEBHOOK_CONFIG_NAME);
	log_info("webhook: MutatingWebhookConfiguration %s points at %s", WEBHOOK_CONFIG_NAME, s.url);
	return 0;
}

bool webhook_ready(char *why, size_t size)
{
	pthread_mutex_lock(&s.lock);
	bool ok = s.registered;
	if (!ok && size)
		snprintf(why, size, "%s", s.why);
	pthread_mutex_unlock(&s.lock);
	return ok;
}
