/*
 * grow.h - room for one more element at the end of a growable array.
 *
 * The arrays of ferry that grow one element at a time (spans, runs, pids)
 * keep a pointer, a count and a capacity; this doubles the capacity when the
 * count reaches it, so appending stays amortized O(1).
 */
#ifndef FERRY_UTIL_GROW_H
#define FERRY_UTIL_GROW_H

#include <stddef.h>

#define GROW_MIN 16

/* v (holding n of *cap elements of size elem) with room for n + 1: v itself
 * when there is room, else the reallocated array (*cap updated); NULL when
 * out of memory, v then untouched. */
void *grow_for_one(void *v, size_t *cap, size_t n, size_t elem);

#endif
