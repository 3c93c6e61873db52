/*
 * sslerr.c - see sslerr.h.
 */
#include "tls/sslerr.h"

#include <errno.h>
#include <openssl/err.h>

int ssl_error_set(ferry_error_t *err, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return ferry_error_set(err, e ? 0 : errno, "%s%s%s", what, e ? ": " : "", buf);
}
