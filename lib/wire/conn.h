/*
 * conn.h - one connection to a peer: a socket and, between agents, the TLS
 * session over it.
 *
 * Every frame goes through wire_conn_read/wire_conn_writev, so the protocol
 * code (frame.c, the image stream) never cares whether its bytes are
 * encrypted.  The agent's unix control socket is plain (its peer is checked
 * with SO_PEERCRED instead); agent-to-agent and controller-to-agent TCP is
 * always mutual TLS (lib/tls).  The peer's identity, taken from its verified
 * certificate, travels with the connection.
 */
#ifndef FERRY_WIRE_CONN_H
#define FERRY_WIRE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <openssl/ssl.h>

struct wire_conn {
	int fd;
	SSL *ssl;            /* NULL on a plain connection */
	char peer_name[64];  /* certificate CN: a node name or "controller"; "" if plain */
	char peer_role[16];  /* certificate OU: "agent" or "controller"; "" if plain */
};

/* A plain connection over fd (not owned twice: wire_conn_close closes it). */
void wire_conn_init_plain(struct wire_conn *c, int fd);
/* Like read(2): bytes read, 0 at a clean end of stream, -1 with errno. */
ssize_t wire_conn_read(struct wire_conn *c, void *buf, size_t len);
/* Writes every byte of iov; -1 with errno.  May modify iov. */
int wire_conn_writev_all(struct wire_conn *c, struct iovec *iov, int n);
/* Reads exactly len bytes: len, fewer at end of stream, -1 with errno. */
ssize_t wire_conn_read_full(struct wire_conn *c, void *buf, size_t len);
bool wire_conn_is_tls(const struct wire_conn *c);
/* Bytes already received and decrypted, waiting to be read (poll cannot see them). */
bool wire_conn_pending(const struct wire_conn *c);
/* Releases this process's copy of c without ending the session: after a
 * fork, the child that carries on with it is the only user. */
void wire_conn_forget(struct wire_conn *c);
/* Ends the TLS session (if any) and closes the socket; safe to call twice. */
void wire_conn_close(struct wire_conn *c);

#endif
