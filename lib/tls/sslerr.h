/*
 * sslerr.h - OpenSSL's error queue into a ferry_error_t, for lib/tls.
 */
#ifndef FERRY_TLS_SSLERR_H
#define FERRY_TLS_SSLERR_H

#include "util/error.h"

/* Sets err to "what: <first queued OpenSSL error>" (or errno's text when the
 * queue is empty), clears the queue, returns -1. */
int ssl_error_set(ferry_error_t *err, const char *what);

#endif
