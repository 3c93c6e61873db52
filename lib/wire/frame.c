/*
 * frame.c - see frame.h: encoding, decoding and validating frames.
 */
#include "wire/frame.h"
#include "util/fs.h"

#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *const type_names[WIRE_TYPE_MAX] = {
	[WIRE_HELLO] = "HELLO",         [WIRE_HELLO_OK] = "HELLO_OK",
	[WIRE_REQUEST] = "REQUEST",     [WIRE_PROGRESS] = "PROGRESS",
	[WIRE_RESULT] = "RESULT",       [WIRE_ERROR] = "ERROR",
	[WIRE_PREPARE] = "PREPARE",     [WIRE_PREPARED] = "PREPARED",
	[WIRE_FILE_DATA] = "FILE_DATA", [WIRE_FILE_END] = "FILE_END",
	[WIRE_ENTRY] = "ENTRY",         [WIRE_DUMP_DONE] = "DUMP_DONE",
	[WIRE_RESTORED] = "RESTORED",   [WIRE_COMMIT] = "COMMIT",
	[WIRE_ABORT] = "ABORT",         [WIRE_PAGE_DATA] = "PAGE_DATA",
	[WIRE_PAGE_DROP] = "PAGE_DROP",
};

const char *wire_type_name(uint8_t type)
{
	if (type == 0 || type >= WIRE_TYPE_MAX)
		return "UNKNOWN";
	return type_names[type];
}

void wire_encode_header(uint8_t out[WIRE_HEADER_SIZE], uint8_t type, uint32_t length)
{
	uint32_t magic = htobe32(WIRE_MAGIC);
	uint32_t len = htobe32(length);
	memcpy(out, &magic, 4);
	out[4] = WIRE_VERSION;
	out[5] = type;
	out[6] = 0;
	out[7] = 0;
	memcpy(out + 8, &len, 4);
}

int wire_decode_header(const uint8_t in[WIRE_HEADER_SIZE], struct wire_header *h,
		       ferry_error_t *err)
{
	uint32_t magic, len;
	memcpy(&magic, in, 4);
	memcpy(&len, in + 8, 4);
	if (be32toh(magic) != WIRE_MAGIC)
		return ferry_error_set(err, 0, "malformed frame: bad magic 0x%08x", be32toh(magic));
	if (in[4] != WIRE_VERSION)
		return ferry_error_set(err, 0, "unsupported protocol version %u (this is %u)",
				       in[4], WIRE_VERSION);
	if (in[5] == 0 || in[5] >= WIRE_TYPE_MAX)
		return ferry_error_set(err, 0, "malformed frame: unknown type %u", in[5]);
	if (in[6] != 0 || in[7] != 0)
		return ferry_error_set(err, 0, "malformed frame: reserved flags set");
	if (be32toh(len) > WIRE_MAX_PAYLOAD)
		return ferry_error_set(err, 0, "malformed frame: payload of %u bytes exceeds %u",
				       be32toh(len), WIRE_MAX_PAYLOAD);
	h->version = in[4];
	h->type = in[5];
	h->length = be32toh(len);
	return 0;
}

static int send_parts(struct wire_conn *c, uint8_t type, struct iovec *parts, int n_parts, ferry_error_t *err)
{
	uint8_t hdr[WIRE_HEADER_SIZE];
	struct iovec iov[4];
	size_t total = 0;
	for (int i = 0; i < n_parts; i++)
		total += parts[i].iov_len;
	if (total > WIRE_MAX_PAYLOAD)
		return ferry_error_set(err, EMSGSIZE, "send %s frame", wire_type_name(type));
	wire_encode_header(hdr, type, (uint32_t)total);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	for (int i = 0; i < n_parts; i++)
		iov[i + 1] = parts[i];
	if (wire_conn_writev_all(c, iov, n_parts + 1) < 0)
		return ferry_error_set(err, errno, "send %s frame", wire_type_name(type));
	return 0;
}

int wire_send(struct wire_conn *c, uint8_t type, const void *payload, uint32_t length, ferry_error_t *err)
{
	struct iovec part = { (void *)payload, length };
	return send_parts(c, type, &part, length ? 1 : 0, err);
}

int wire_send_json(struct wire_conn *c, uint8_t type, json_object *obj, ferry_error_t *err)
{
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	return wire_send(c, type, text, (uint32_t)strlen(text), err);
}

int wire_send_error(struct wire_conn *c, const char *message)
{
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "error", json_object_new_string(message));
	int rc = wire_send_json(c, WIRE_ERROR, obj, NULL);
	json_object_put(obj);
	return rc;
}

int wire_send_file_data(struct wire_conn *c, uint8_t space, const char *name, uint64_t offset,
			const void *data, size_t len, ferry_error_t *err)
{
	uint8_t meta[3 + WIRE_MAX_NAME + 8];
	size_t name_len = strlen(name);
	if (name_len > WIRE_MAX_NAME)
		return ferry_error_set(err, ENAMETOOLONG, "send %s", name);
	uint16_t nl = htobe16((uint16_t)name_len);
	uint64_t off = htobe64(offset);
	meta[0] = space;
	memcpy(meta + 1, &nl, 2);
	memcpy(meta + 3, name, name_len);
	memcpy(meta + 3 + name_len, &off, 8);
	struct iovec parts[2] = { { meta, 3 + name_len + 8 }, { (void *)data, len } };
	return send_parts(c, WIRE_FILE_DATA, parts, 2, err);
}

int wire_read_exact(struct wire_conn *c, void *buf, size_t len, const char *what, ferry_error_t *err)
{
	ssize_t n = wire_conn_read_full(c, buf, len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return ferry_error_set(err, 0, "peer timed out while sending %s", what);
		return ferry_error_set(err, errno, "receive %s", what);
	}
	if ((size_t)n < len)
		return ferry_error_set(err, 0, "connection closed by peer%s%s",
				       n > 0 ? " in the middle of " : "", n > 0 ? what : "");
	return 0;
}

int wire_recv_header(struct wire_conn *c, struct wire_header *h, ferry_error_t *err)
{
	uint8_t hdr[WIRE_HEADER_SIZE];
	if (wire_read_exact(c, hdr, sizeof(hdr), "a frame header", err) < 0)
		return -1;
	return wire_decode_header(hdr, h, err);
}

int wire_recv_payload(struct wire_conn *c, const struct wire_header *h, struct wire_frame *f,
		      ferry_error_t *err)
{
	if (h->length + 1 > f->capacity) {
		uint8_t *grown = realloc(f->payload, h->length + 1);
		if (!grown)
			return ferry_error_set(err, ENOMEM, "receive frame");
		f->payload = grown;
		f->capacity = h->length + 1;
	}
	if (h->length &&
	    wire_read_exact(c, f->payload, h->length, wire_type_name(h->type), err) < 0)
		return -1;
	f->payload[h->length] = '\0';
	f->type = h->type;
	f->length = h->length;
	return 0;
}

int wire_recv(struct wire_conn *c, struct wire_frame *f, ferry_error_t *err)
{
	struct wire_header h;
	if (wire_recv_header(c, &h, err) < 0)
		return -1;
	return wire_recv_payload(c, &h, f, err);
}

/* Validates a FILE_DATA prefix (space, name length, name, offset) of which
 * `avail` bytes are at p, in a frame of frame_len bytes; fills out except
 * for the data pointer.  Shared by the in-memory and the socket paths. */
static int parse_file_meta(const uint8_t *p, size_t avail, size_t frame_len,
			   struct wire_file_data *out, ferry_error_t *err)
{
	uint16_t nl;
	uint64_t off;
	if (avail < 3 || frame_len < 3 + 8)
		return ferry_error_set(err, 0, "malformed FILE_DATA frame: too short");
	memcpy(&nl, p + 1, 2);
	nl = be16toh(nl);
	if (nl > WIRE_MAX_NAME || frame_len < 3u + nl + 8u)
		return ferry_error_set(err, 0, "malformed FILE_DATA frame: truncated name or offset");
	if (avail < 3u + nl + 8u)
		return 1; /* valid so far; the caller must read the rest of the prefix */
	if (!wire_name_is_safe((const char *)p + 3, nl))
		return ferry_error_set(err, 0, "malformed FILE_DATA frame: unsafe file name");
	memcpy(&off, p + 3 + nl, 8);
	out->space = p[0];
	out->name = (const char *)p + 3;
	out->name_len = nl;
	out->offset = be64toh(off);
	out->data = NULL;
	out->data_len = frame_len - 3u - nl - 8u;
	if (out->offset > (UINT64_MAX >> 1) - out->data_len)
		return ferry_error_set(err, 0, "malformed FILE_DATA frame: offset out of range");
	return 0;
}

int wire_recv_file_meta(struct wire_conn *c, const struct wire_header *h, char name[WIRE_MAX_NAME + 1],
			struct wire_file_data *out, ferry_error_t *err)
{
	uint8_t meta[3 + WIRE_MAX_NAME + 8];
	if (wire_read_exact(c, meta, 3, "FILE_DATA", err) < 0)
		return -1;
	if (parse_file_meta(meta, 3, h->length, out, err) < 0)
		return -1;
	uint16_t nl;
	memcpy(&nl, meta + 1, 2);
	nl = be16toh(nl);
	if (wire_read_exact(c, meta + 3, nl + 8u, "FILE_DATA", err) < 0 ||
	    parse_file_meta(meta, 3u + nl + 8u, h->length, out, err) < 0)
		return -1;
	memcpy(name, out->name, nl);
	name[nl] = '\0';
	out->name = name;
	return 0;
}

int wire_frame_error(const struct wire_frame *f, ferry_error_t *err)
{
	json_object *obj = wire_frame_json(f, NULL);
	json_object *msg = NULL;
	if (obj && json_object_object_get_ex(obj, "error", &msg))
		ferry_error_set(err, 0, "%s", json_object_get_string(msg));
	else
		ferry_error_set(err, 0, "peer sent a malformed error frame");
	json_object_put(obj);
	return -1;
}

int wire_expect(struct wire_conn *c, struct wire_frame *f, uint8_t type, ferry_error_t *err)
{
	if (wire_recv(c, f, err) < 0)
		return -1;
	if (f->type == type)
		return 0;
	if (f->type == WIRE_ERROR || f->type == WIRE_ABORT)
		return wire_frame_error(f, err);
	return ferry_error_set(err, 0, "protocol error: expected %s, got %s", wire_type_name(type),
			       wire_type_name(f->type));
}

void wire_frame_release(struct wire_frame *f)
{
	free(f->payload);
	f->payload = NULL;
	f->capacity = 0;
}

json_object *wire_frame_json(const struct wire_frame *f, ferry_error_t *err)
{
	if (f->length == 0 || memchr(f->payload, '\0', f->length)) {
		ferry_error_set(err, 0, "malformed %s frame: not JSON text", wire_type_name(f->type));
		return NULL;
	}
	enum json_tokener_error jerr;
	json_object *obj = json_tokener_parse_verbose((const char *)f->payload, &jerr);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		ferry_error_set(err, 0, "malformed %s frame: payload is not a JSON object",
				wire_type_name(f->type));
		return NULL;
	}
	return obj;
}

int wire_parse_file_data(const uint8_t *p, size_t len, struct wire_file_data *out,
			 ferry_error_t *err)
{
	/* the whole frame is here, so "read more" (1) cannot come back */
	if (parse_file_meta(p, len, len, out, err) != 0)
		return -1;
	out->data = p + 3 + out->name_len + 8;
	return 0;
}

/* The PAGE_DATA/PAGE_DROP header and the range it names (len bytes from vaddr). */
static int parse_page_range(const uint8_t *p, uint64_t len, const char *what, uint32_t *pid_out,
			    uint64_t *vaddr_out, ferry_error_t *err)
{
	uint32_t pid, zero;
	uint64_t vaddr;
	memcpy(&pid, p, 4);
	memcpy(&zero, p + 4, 4);
	memcpy(&vaddr, p + 8, 8);
	*pid_out = be32toh(pid);
	*vaddr_out = be64toh(vaddr);
	if (*pid_out == 0 || *pid_out > (1u << 22) || zero != 0)
		return ferry_error_set(err, 0, "malformed %s: pid %u", what, *pid_out);
	if (len == 0 || len % WIRE_PAGE_SIZE)
		return ferry_error_set(err, 0, "malformed %s: %llu bytes of pages", what,
				       (unsigned long long)len);
	if (*vaddr_out % WIRE_PAGE_SIZE || *vaddr_out >= WIRE_MAX_VADDR ||
	    len > WIRE_MAX_VADDR - *vaddr_out)
		return ferry_error_set(err, 0, "malformed %s: address 0x%llx", what,
				       (unsigned long long)*vaddr_out);
	return 0;
}

int wire_parse_page_data(const uint8_t *p, size_t len, struct wire_page_data *out,
			 ferry_error_t *err)
{
	if (len < WIRE_PAGE_HEADER + WIRE_PAGE_SIZE)
		return ferry_error_set(err, 0, "malformed PAGE_DATA: %zu bytes", len);
	out->data = p + WIRE_PAGE_HEADER;
	out->len = len - WIRE_PAGE_HEADER;
	return parse_page_range(p, out->len, "PAGE_DATA", &out->pid, &out->vaddr, err);
}

int wire_parse_page_drop(const uint8_t *p, size_t len, struct wire_page_drop *out,
			 ferry_error_t *err)
{
	uint64_t n;
	if (len != WIRE_PAGE_DROP_SIZE)
		return ferry_error_set(err, 0, "malformed PAGE_DROP: %zu bytes", len);
	memcpy(&n, p + WIRE_PAGE_HEADER, 8);
	out->len = be64toh(n);
	return parse_page_range(p, out->len, "PAGE_DROP", &out->pid, &out->vaddr, err);
}

void wire_encode_page_drop(uint8_t out[WIRE_PAGE_DROP_SIZE], uint32_t pid, uint64_t vaddr,
			   uint64_t len)
{
	uint64_t n = htobe64(len);
	wire_encode_page_header(out, pid, vaddr);
	memcpy(out + WIRE_PAGE_HEADER, &n, 8);
}

void wire_encode_page_header(uint8_t out[WIRE_PAGE_HEADER], uint32_t pid, uint64_t vaddr)
{
	uint32_t p = htobe32(pid), zero = 0;
	uint64_t v = htobe64(vaddr);
	memcpy(out, &p, 4);
	memcpy(out + 4, &zero, 4);
	memcpy(out + 8, &v, 8);
}

bool wire_name_is_safe(const char *name, size_t len)
{
	if (len == 0 || name[0] == '/')
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] == '\0')
			return false;
		if (i < len && name[i] != '/')
			continue;
		size_t seg = i - start;
		if (seg == 0 || (seg == 1 && name[start] == '.') ||
		    (seg == 2 && name[start] == '.' && name[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

int wire_set_timeouts(int fd, int timeout_ms, ferry_error_t *err)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int one = 1, idle = 5, intvl = 2, cnt = 3;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return ferry_error_set(err, errno, "set socket timeouts");
	/* keepalive only applies to TCP; unix sockets ignore the TCP options */
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	return 0;
}
