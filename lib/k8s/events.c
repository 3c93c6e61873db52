/*
 * events.c - see events.h.
 */
#include "k8s/events.h"
#include "k8s/lease.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *get_str(json_object *o, const char *a, const char *b)
{
	json_object *v;
	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

static json_object *str_or_empty(const char *s)
{
	return json_object_new_string(s ? s : "");
}

void k8s_event(struct k8s_client *c, json_object *obj, const char *type, const char *reason,
	       const char *fmt, ...)
{
	char msg[1024], now[32], gen[300], path[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *ns = get_str(obj, "metadata", "namespace"), *name = get_str(obj, "metadata", "name");
	if (!ns || !name)
		return;
	k8s_time(now);
	_cleanup_json_ json_object *ev = json_object_new_object();
	json_object *md = json_object_new_object(), *inv = json_object_new_object(),
		    *src = json_object_new_object();
	snprintf(gen, sizeof(gen), "%.240s.", name);
	json_object_object_add(md, "generateName", json_object_new_string(gen));
	json_object_object_add(md, "namespace", json_object_new_string(ns));
	json_object_object_add(ev, "metadata", md);
	json_object_object_add(inv, "kind", str_or_empty(get_str(obj, "kind", NULL)));
	json_object_object_add(inv, "apiVersion", str_or_empty(get_str(obj, "apiVersion", NULL)));
	json_object_object_add(inv, "namespace", json_object_new_string(ns));
	json_object_object_add(inv, "name", json_object_new_string(name));
	json_object_object_add(inv, "uid", str_or_empty(get_str(obj, "metadata", "uid")));
	json_object_object_add(ev, "involvedObject", inv);
	json_object_object_add(ev, "type", json_object_new_string(type));
	json_object_object_add(ev, "reason", json_object_new_string(reason));
	json_object_object_add(ev, "message", json_object_new_string(msg));
	json_object_object_add(src, "component", json_object_new_string("ferry-controller"));
	json_object_object_add(ev, "source", src);
	json_object_object_add(ev, "reportingComponent", json_object_new_string("ferry.dev/controller"));
	json_object_object_add(ev, "reportingInstance", json_object_new_string("ferry-controller"));
	json_object_object_add(ev, "firstTimestamp", json_object_new_string(now));
	json_object_object_add(ev, "lastTimestamp", json_object_new_string(now));
	json_object_object_add(ev, "count", json_object_new_int(1));
	ferry_error_t err = { 0 };
	k8s_path(path, sizeof(path), "v1", ns, "events", NULL);
	_cleanup_json_ json_object *r = k8s_create(c, path, ev, NULL, &err);
	if (!r)
		log_warn("event %s on %s/%s: %s", reason, ns, name, err.message);
}
