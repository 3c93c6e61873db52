/*
 * conn.c - see conn.h.
 */
#include "wire/conn.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>

/* TLS records carry at most 16 KiB; header-sized parts are gathered into one
 * record with the start of the data instead of costing a record each. */
#define TLS_GATHER 16384

void wire_conn_init_plain(struct wire_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
}

bool wire_conn_is_tls(const struct wire_conn *c)
{
	return c->ssl != NULL;
}

/* Maps an OpenSSL I/O failure to errno: a socket timeout stays EAGAIN. */
static int tls_errno(SSL *ssl, int rc)
{
	int e = SSL_get_error(ssl, rc);
	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && errno)
		return errno;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return EAGAIN;
	return EPROTO;
}

ssize_t wire_conn_read(struct wire_conn *c, void *buf, size_t len)
{
	if (!c->ssl) {
		ssize_t n;
		do
			n = read(c->fd, buf, len);
		while (n < 0 && errno == EINTR);
		return n;
	}
	size_t got = 0;
	errno = 0;
	int rc = SSL_read_ex(c->ssl, buf, len, &got);
	if (rc > 0)
		return (ssize_t)got;
	int e = tls_errno(c->ssl, rc);
	if (e == 0)
		return 0;
	errno = e;
	return -1;
}

ssize_t wire_conn_read_full(struct wire_conn *c, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = wire_conn_read(c, (char *)buf + done, len - done);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int tls_write_all(SSL *ssl, const void *buf, size_t len)
{
	while (len > 0) {
		size_t w = 0;
		errno = 0;
		int rc = SSL_write_ex(ssl, buf, len, &w);
		if (rc <= 0) {
			int e = tls_errno(ssl, rc);
			errno = e ? e : EPIPE;
			return -1;
		}
		buf = (const char *)buf + w;
		len -= w;
	}
	return 0;
}

/* TLS: small leading parts are copied into one buffer together with the
 * first bytes of the next part, so a frame header is not a record of its own. */
static int tls_writev_all(SSL *ssl, const struct iovec *iov, int n)
{
	char gather[TLS_GATHER];
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		size_t take = len < sizeof(gather) - used ? len : sizeof(gather) - used;
		memcpy(gather + used, p, take);
		used += take;
		if (take == len && i + 1 < n)
			continue;
		if (tls_write_all(ssl, gather, used) < 0)
			return -1;
		used = 0;
		if (len > take && tls_write_all(ssl, p + take, len - take) < 0)
			return -1;
	}
	return used ? tls_write_all(ssl, gather, used) : 0;
}

static int plain_writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int wire_conn_writev_all(struct wire_conn *c, struct iovec *iov, int n)
{
	return c->ssl ? tls_writev_all(c->ssl, iov, n) : plain_writev_all(c->fd, iov, n);
}

bool wire_conn_pending(const struct wire_conn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

void wire_conn_forget(struct wire_conn *c)
{
	SSL_free(c->ssl); /* no close_notify: the session goes on in another process */
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void wire_conn_close(struct wire_conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
