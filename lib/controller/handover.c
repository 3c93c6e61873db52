/*
 * handover.c - see handover.h.
 */
#include "controller/handover.h"

#include <pthread.h>
#include <string.h>

static struct {
	pthread_mutex_t lock;
	struct handover e[HANDOVER_MAX];
	bool used[HANDOVER_MAX];
} t = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int find(const char *ns, const char *pod)
{
	for (int i = 0; i < HANDOVER_MAX; i++)
		if (t.used[i] && !strcmp(t.e[i].ns, ns) && !strcmp(t.e[i].pod, pod))
			return i;
	return -1;
}

bool handover_put(const struct handover *h)
{
	pthread_mutex_lock(&t.lock);
	int i = find(h->ns, h->pod);
	for (int k = 0; i < 0 && k < HANDOVER_MAX; k++)
		if (!t.used[k])
			i = k;
	if (i >= 0) {
		t.e[i] = *h;
		t.used[i] = true;
	}
	pthread_mutex_unlock(&t.lock);
	return i >= 0;
}

bool handover_get(const char *ns, const char *pod, struct handover *out)
{
	pthread_mutex_lock(&t.lock);
	int i = ns && pod ? find(ns, pod) : -1;
	if (i >= 0)
		*out = t.e[i];
	pthread_mutex_unlock(&t.lock);
	return i >= 0;
}

void handover_drop(const char *ns, const char *pod, const char *migration)
{
	pthread_mutex_lock(&t.lock);
	int i = find(ns, pod);
	if (i >= 0 && (!migration || !strcmp(t.e[i].migration, migration)))
		t.used[i] = false;
	pthread_mutex_unlock(&t.lock);
}
