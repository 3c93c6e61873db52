/*
 * watch.c - see watch.h.
 */
#include "k8s/watch.h"
#include "k8s/lines.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_EVENT_LINE (16u << 20)

enum stream_end { STREAM_DONE, STREAM_BROKEN, STREAM_GONE, STREAM_STOPPED };

struct stream {
	struct k8s_watch *w;
	CURL *curl;
	struct line_buf lines;
	long code;
	char errbody[512];
	size_t errlen;
	bool gone;
};

json_object *k8s_watch_parse_event(const char *line, size_t len, char type[16],
				   ferry_error_t *err)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *ev = json_tokener_parse_ex(tok, line, (int)len);
	/* the whole line must be one object: nothing after it */
	bool complete = json_tokener_get_error(tok) == json_tokener_success &&
			json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	json_object *t, *obj;
	if (!ev || !complete || !json_object_is_type(ev, json_type_object)) {
		json_object_put(ev);
		return ferry_error_set(err, 0, "watch event is not a JSON object"), NULL;
	}
	if (!json_object_object_get_ex(ev, "type", &t) || !json_object_is_type(t, json_type_string) ||
	    json_object_get_string_len(t) >= 16 || !json_object_object_get_ex(ev, "object", &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(ev);
		return ferry_error_set(err, 0, "watch event without type or object"), NULL;
	}
	snprintf(type, 16, "%s", json_object_get_string(t));
	json_object_get(obj);
	json_object_put(ev);
	return obj;
}

static const char *object_rv(json_object *obj)
{
	json_object *md, *rv;
	if (json_object_object_get_ex(obj, "metadata", &md) &&
	    json_object_object_get_ex(md, "resourceVersion", &rv))
		return json_object_get_string(rv);
	return NULL;
}

static void set_rv(struct k8s_watch *w, const char *rv)
{
	if (rv && *rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
}

static int on_line(const char *line, size_t len, void *data)
{
	struct stream *s = data;
	struct k8s_watch *w = s->w;
	char type[16];
	ferry_error_t err = { 0 };
	_cleanup_json_ json_object *obj = k8s_watch_parse_event(line, len, type, &err);
	if (!obj) {
		log_warn("watch %s: %s", w->path, err.message);
		return 0;
	}
	if (!strcmp(type, "ERROR")) {
		json_object *code = NULL;
		json_object_object_get_ex(obj, "code", &code);
		if (json_object_get_int(code) == 410) {
			s->gone = true;
			return 1;
		}
		log_warn("watch %s: error event %s", w->path,
			 json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		return 1;
	}
	set_rv(w, object_rv(obj));
	if (!strcmp(type, "BOOKMARK")) {
		w->bookmarks++;
		log_info("watch %s: bookmark at resourceVersion %s", w->path, w->rv);
		return 0;
	}
	w->events++;
	w->on_event(type, obj, w->data);
	return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct stream *s = data;
	size_t n = size * nmemb;
	if (!s->code)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->code);
	if (s->code != 200) {
		size_t room = sizeof(s->errbody) - 1 - s->errlen;
		size_t take = n < room ? n : room;
		memcpy(s->errbody + s->errlen, ptr, take);
		s->errlen += take;
		s->errbody[s->errlen] = '\0';
		return n;
	}
	if (atomic_load(s->w->stop))
		return 0;
	int rc = line_buf_feed(&s->lines, ptr, n, on_line, s);
	return rc == 0 ? n : 0;
}

static int on_progress(void *data, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct stream *s = data;
	return atomic_load(s->w->stop) ? 1 : 0;
}

static enum stream_end watch_once(struct k8s_watch *w)
{
	struct stream s = { .w = w };
	struct curl_slist *headers = NULL;
	ferry_error_t err = { 0 };
	char url[4096];
	enum stream_end end = STREAM_BROKEN;
	line_buf_init(&s.lines, MAX_EVENT_LINE);
	s.curl = curl_easy_init();
	if (!s.curl || k8s_setup_handle(w->client, s.curl, &headers, &err) < 0)
		goto out;
	snprintf(url, sizeof(url), "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
		 "&timeoutSeconds=%d%s%s", w->client->cfg.server, w->path, w->rv, w->timeout_seconds,
		 w->query ? "&" : "", w->query ? w->query : "");
	curl_easy_setopt(s.curl, CURLOPT_URL, url);
	curl_easy_setopt(s.curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s.curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(s.curl, CURLOPT_XFERINFODATA, &s);
	curl_easy_setopt(s.curl, CURLOPT_TIMEOUT, (long)w->timeout_seconds + 30);
	curl_easy_setopt(s.curl, CURLOPT_TCP_KEEPALIVE, 1L);
	CURLcode rc = curl_easy_perform(s.curl);
	if (!s.code) /* a quiet watch that timed out sent no byte: on_data never ran */
		curl_easy_getinfo(s.curl, CURLINFO_RESPONSE_CODE, &s.code);
	if (atomic_load(w->stop))
		end = STREAM_STOPPED;
	else if (s.gone || s.code == 410)
		end = STREAM_GONE;
	else if (rc == CURLE_OK && s.code == 200)
		end = STREAM_DONE;
	else if (rc != CURLE_OK && s.code == 200 && rc == CURLE_WRITE_ERROR)
		end = STREAM_BROKEN; /* error event or bad line: reconnect */
	else
		log_warn("watch %s: %s", w->path,
			 rc != CURLE_OK ? curl_easy_strerror(rc) : s.errbody);
out:
	if (err.message[0])
		log_warn("watch %s: %s", w->path, err.message);
	line_buf_free(&s.lines);
	curl_slist_free_all(headers);
	if (s.curl)
		curl_easy_cleanup(s.curl);
	return end;
}

static int list_all(struct k8s_watch *w)
{
	ferry_error_t err = { 0 };
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", w->path, w->query ? "?" : "", w->query ? w->query : "");
	_cleanup_json_ json_object *list = k8s_get(w->client, path, NULL, &err);
	json_object *items;
	if (!list) {
		log_warn("list %s: %s", w->path, err.message);
		return -1;
	}
	w->lists++;
	w->rv[0] = '\0';
	set_rv(w, object_rv(list));
	if (json_object_object_get_ex(list, "items", &items))
		for (size_t i = 0; i < json_object_array_length(items); i++)
			w->on_event("ADDED", json_object_array_get_idx(items, i), w->data);
	log_info("list %s: %zu items at resourceVersion %s", w->path,
		 items ? json_object_array_length(items) : 0, w->rv);
	return 0;
}

static void sleep_ms(struct k8s_watch *w, long ms)
{
	for (long t = 0; t < ms && !atomic_load(w->stop); t += 50)
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
}

int k8s_watch_run(struct k8s_watch *w)
{
	long backoff = 250;
	if (w->timeout_seconds <= 0)
		w->timeout_seconds = 300;
	w->rv[0] = '\0';
	while (!atomic_load(w->stop)) {
		if (!w->rv[0] && list_all(w) < 0) {
			sleep_ms(w, backoff);
			backoff = backoff < 8000 ? backoff * 2 : 8000;
			continue;
		}
		switch (watch_once(w)) {
		case STREAM_STOPPED:
			return 0;
		case STREAM_DONE:
			backoff = 250;
			break;
		case STREAM_GONE:
			log_info("watch %s: resourceVersion %s is gone (410): relisting", w->path, w->rv);
			w->rv[0] = '\0';
			break;
		case STREAM_BROKEN:
			w->reconnects++;
			log_info("watch %s: reconnecting in %ld ms from resourceVersion %s", w->path,
				 backoff, w->rv);
			sleep_ms(w, backoff);
			backoff = backoff < 8000 ? backoff * 2 : 8000;
			break;
		}
	}
	return 0;
}
