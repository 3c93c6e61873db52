/*
 * webhookserver.h - serves the pod admission webhook (webhook.h) over HTTPS
 * and registers it with the API server.
 *
 * At start the controller makes an in-memory CA and a serving certificate
 * for its own address (tls/servingcert.h; the address is its pod IP from
 * the downward API, POD_IP, or --webhook-ip), serves POST /mutate-pods on
 * that address's port with libmicrohttpd (TLS through GnuTLS), and, once it
 * leads, writes the MutatingWebhookConfiguration ferry-controller with
 * clientConfig.url = https://IP:PORT/mutate-pods and the CA as caBundle
 * (create, or replace what a previous leader wrote).  A URL rather than a
 * Service: the API server reaches the leader itself, whose hand-over table
 * is the one that counts, and no kube-proxy is needed.
 */
#ifndef FERRY_CONTROLLER_WEBHOOKSERVER_H
#define FERRY_CONTROLLER_WEBHOOKSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include "k8s/client.h"
#include "util/error.h"

/* Makes the certificate for ip and serves on 0.0.0.0:port (or [::]). */
int webhook_server_start(const char *ip, int port, ferry_error_t *err);
void webhook_server_stop(void);
/* Creates or replaces the MutatingWebhookConfiguration with this server's
 * URL and CA.  Needs webhook_server_start first. */
int webhook_register(struct k8s_client *c, ferry_error_t *err);
/* True once webhook_register succeeded; otherwise why holds the reason. */
bool webhook_ready(char *why, size_t size);

#endif
