/*
 * object.c - see object.h.
 */
#include "k8s/object.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *k8s_at(json_object *obj, const char *dotted)
{
	char key[256];
	while (obj && *dotted) {
		size_t n = strcspn(dotted, ".");
		if (n >= sizeof(key) || !json_object_is_type(obj, json_type_object))
			return NULL;
		memcpy(key, dotted, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(obj, key, &obj))
			return NULL;
		dotted += n + (dotted[n] == '.');
	}
	return obj;
}

static const char *map_get(json_object *obj, const char *map, const char *key)
{
	json_object *m = k8s_at(obj, map), *v;
	if (!m || !json_object_is_type(m, json_type_object) || !json_object_object_get_ex(m, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *k8s_annotation(json_object *obj, const char *key)
{
	return map_get(obj, "metadata.annotations", key);
}

const char *k8s_label(json_object *obj, const char *key)
{
	return map_get(obj, "metadata.labels", key);
}

const char *k8s_str(json_object *obj, const char *dotted)
{
	json_object *v = k8s_at(obj, dotted);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t k8s_int(json_object *obj, const char *dotted, int64_t def)
{
	json_object *v = k8s_at(obj, dotted);
	if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return def;
	return json_object_get_int64(v);
}

json_object *k8s_ensure(json_object *obj, const char *dotted)
{
	char key[256];
	while (*dotted) {
		size_t n = strcspn(dotted, ".");
		json_object *next;
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, dotted, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(obj, key, &next) ||
		    !json_object_is_type(next, json_type_object)) {
			next = json_object_new_object();
			json_object_object_add(obj, key, next);
		}
		obj = next;
		dotted += n + (dotted[n] == '.');
	}
	return obj;
}

void k8s_set_str(json_object *obj, const char *dotted, const char *value)
{
	char parent[512];
	const char *dot = strrchr(dotted, '.');
	json_object *p = obj;
	if (dot) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(dot - dotted), dotted);
		p = k8s_ensure(obj, parent);
	}
	if (p)
		json_object_object_add(p, dot ? dot + 1 : dotted,
				       value ? json_object_new_string(value) : NULL);
}

static const struct {
	const char *suffix;
	double factor;
} suffixes[] = {
	{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
	{ "Ti", 1099511627776.0 }, { "Pi", 1125899906842624.0 }, { "Ei", 1152921504606846976.0 },
	{ "n", 1e-9 }, { "u", 1e-6 }, { "m", 1e-3 }, { "", 1.0 }, { "k", 1e3 }, { "M", 1e6 },
	{ "G", 1e9 }, { "T", 1e12 }, { "P", 1e15 }, { "E", 1e18 },
};

int k8s_quantity_milli(const char *q, int64_t *out)
{
	if (!q || !*q || strlen(q) > 64)
		return -1;
	const char *p = q;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p) && *p != '.')
		return -1;
	char *end;
	double v = strtod(q, &end);
	if (end == q)
		return -1;
	/* strtod also eats an exponent ("1e3") and hex/inf/nan, which we refuse */
	for (const char *c = q; c < end; c++)
		if (!(isdigit((unsigned char)*c) || *c == '.' || *c == '+' || *c == '-' || *c == 'e' ||
		      *c == 'E'))
			return -1;
	/* "1E" parses as 1 with suffix "E" only if strtod stopped before E */
	double factor = -1;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (!strcmp(end, suffixes[i].suffix))
			factor = suffixes[i].factor;
	if (factor < 0)
		return -1;
	double milli = v * factor * 1000.0;
	if (milli != milli || milli > 9.2e18 || milli < -9.2e18)
		return -1;
	/* Kubernetes rounds up to the next milli-unit */
	int64_t r = (int64_t)milli;
	if ((double)r < milli)
		r++;
	*out = r;
	return 0;
}

static bool value_in(json_object *values, const char *v)
{
	if (!values || !json_object_is_type(values, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(values); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(values, i));
		if (s && v && !strcmp(s, v))
			return true;
	}
	return false;
}

static bool expression_matches(json_object *e, json_object *labels)
{
	const char *key = k8s_str(e, "key"), *op = k8s_str(e, "operator");
	if (!key || !op)
		return false;
	json_object *lv = NULL;
	bool has = labels && json_object_object_get_ex(labels, key, &lv);
	const char *v = has ? json_object_get_string(lv) : NULL;
	json_object *values = k8s_at(e, "values");
	if (!strcmp(op, "In"))
		return has && value_in(values, v);
	if (!strcmp(op, "NotIn"))
		return !has || !value_in(values, v);
	if (!strcmp(op, "Exists"))
		return has;
	if (!strcmp(op, "DoesNotExist"))
		return !has;
	return false;
}

bool k8s_selector_matches(json_object *selector, json_object *labels)
{
	json_object *ml = k8s_at(selector, "matchLabels"), *me = k8s_at(selector, "matchExpressions");
	if (ml) {
		if (!json_object_is_type(ml, json_type_object))
			return false;
		json_object_object_foreach(ml, k, want)
		{
			json_object *have;
			if (!labels || !json_object_object_get_ex(labels, k, &have) ||
			    strcmp(json_object_get_string(have), json_object_get_string(want)))
				return false;
		}
	}
	if (me) {
		if (!json_object_is_type(me, json_type_array))
			return false;
		for (size_t i = 0; i < json_object_array_length(me); i++)
			if (!expression_matches(json_object_array_get_idx(me, i), labels))
				return false;
	}
	return true;
}

bool k8s_is_dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

bool k8s_is_dns_subdomain(const char *s)
{
	char label[254];
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s;;) {
		size_t l = strcspn(p, ".");
		if (l == 0 || l > 63)
			return false;
		memcpy(label, p, l);
		label[l] = '\0';
		if (!k8s_is_dns_label(label))
			return false;
		if (!p[l])
			return true;
		p += l + 1;
	}
}
