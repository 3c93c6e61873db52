/*
 * names.c - see names.h.
 */
#include "controller/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static void suffix(const unsigned char rnd[5], char out[6])
{
	for (int i = 0; i < 5; i++)
		out[i] = alphabet[rnd[i] % 36];
	out[5] = '\0';
}

int names_target_pod(const char *source, const unsigned char rnd[5], char out[64],
		     ferry_error_t *err)
{
	char sfx[6];
	size_t n = strlen(source);
	if (n == 0)
		return ferry_error_set(err, 0, "empty pod name");
	if (n > 57)
		n = 57;
	while (n > 0 && (source[n - 1] == '-' || source[n - 1] == '.'))
		n--;
	if (n == 0)
		return ferry_error_set(err, 0, "pod name '%s' has no usable prefix", source);
	suffix(rnd, sfx);
	snprintf(out, 64, "%.*s-%s", (int)n, source, sfx);
	return 0;
}

int names_held_label(const char *key, char *out, size_t size, ferry_error_t *err)
{
	const char *name = strchr(FERRY_HELD_PREFIX, '/') + 1;
	size_t name_len = strlen(name) + strlen(key);
	if (name_len > 63)
		return ferry_error_set(err, 0, "label key '%s' is too long to hold as '%s%s'", key,
				       FERRY_HELD_PREFIX, key);
	int n = snprintf(out, size, "%s%s", FERRY_HELD_PREFIX, key);
	if (n < 0 || (size_t)n >= size)
		return ferry_error_set(err, 0, "label key '%s' too long", key);
	for (char *p = out + strlen(FERRY_HELD_PREFIX); *p; p++)
		if (*p == '/')
			*p = '_';
	return 0;
}

int names_migration(const char *pod, const unsigned char rnd[5], char *out, size_t size)
{
	char sfx[6];
	suffix(rnd, sfx);
	int n = snprintf(out, size, "%.200s-%s", pod, sfx);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

void names_random(unsigned char rnd[5])
{
	if (getrandom(rnd, 5, 0) != 5)
		for (int i = 0; i < 5; i++)
			rnd[i] = (unsigned char)(rand() & 0xff);
}
