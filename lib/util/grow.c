/*
 * grow.c - see grow.h.
 */
#include "util/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *grow_for_one(void *v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return v;
	size_t want = *cap ? *cap * 2 : GROW_MIN;
	if (want > SIZE_MAX / elem)
		return NULL;
	void *grown = realloc(v, want * elem);
	if (grown)
		*cap = want;
	return grown;
}
