/*
 * watch.h - LIST + WATCH of one collection, kept alive forever.
 *
 * The informer pattern without the cache: list (every item is delivered as
 * ADDED), remember the list's resourceVersion, then watch from it with
 * allowWatchBookmarks=true.  Each event moves the resourceVersion forward
 * (BOOKMARK events only do that).  A watch that ends (server timeout) is
 * resumed from the last version; a broken connection is retried with
 * exponential backoff (250 ms .. 8 s); "410 Gone" (the version was
 * compacted away) triggers a fresh list.  Nothing is lost: every change after
 * the last delivered version is seen, either as an event or in the relist.
 */
#ifndef FERRY_K8S_WATCH_H
#define FERRY_K8S_WATCH_H

#include <stdatomic.h>
#include <json-c/json.h>
#include "k8s/client.h"

/* type is "ADDED", "MODIFIED" or "DELETED"; obj is borrowed. */
typedef void (*k8s_watch_fn)(const char *type, json_object *obj, void *data);

struct k8s_watch {
	struct k8s_client *client;
	const char *path;          /* collection, e.g. /apis/ferry.dev/v1alpha1/podmigrations */
	const char *query;         /* extra query (already escaped) or NULL, e.g. "labelSelector=a%3Db" */
	k8s_watch_fn on_event;
	void *data;
	atomic_int *stop;          /* set non-zero to end k8s_watch_run */
	int timeout_seconds;       /* server-side watch timeout, default 300 */
	/* state, readable by the caller (tests, metrics) */
	char rv[64];
	unsigned lists, reconnects, bookmarks, events;
};

/* Runs until *stop becomes non-zero; returns 0 then.  Errors are logged and
 * retried, never returned. */
int k8s_watch_run(struct k8s_watch *w);

/* Parses one watch line: fills type (<= 15 chars) and returns the object
 * (new reference) or NULL with err. Exposed for tests. */
json_object *k8s_watch_parse_event(const char *line, size_t len, char type[16],
				   ferry_error_t *err);

#endif
