/*
 * stream.h - moving files between agents as they are written.
 *
 * The sender follows a directory that another process (CRIU) is filling and
 * sends every byte appended to any file there as FILE_DATA frames, so the
 * transfer overlaps the dump instead of following it.  CRIU writes each image
 * file front to back, once, which is what makes tailing exact; every file ends
 * with FILE_END carrying its size and an XXH3-64 digest of the bytes sent,
 * which the receiver checks against what it wrote.
 *
 * Files belong to a "space" (checkpoint images, rootfs layer, logs): the
 * receiver maps each space to its own directory and never writes outside it.
 * The logs space takes one file, "log": its directory is the container's,
 * which also holds the bundle and the rootfs layer.
 */
#ifndef FERRY_STREAM_H
#define FERRY_STREAM_H

#include <stdint.h>
#include <json-c/json.h>
#include "util/error.h"
#include "wire/frame.h"

enum stream_space { SPACE_IMAGES = 0, SPACE_ROOTFS = 1, SPACE_LOGS = 2, SPACE_COUNT };

struct stream_file;

struct stream_sender {
	struct wire_conn *conn;
	uint8_t space;
	char dir[4096];
	struct stream_file *files;
	size_t n_files, cap_files;
	uint64_t bytes_sent;
	uint64_t max_bytes_per_s;  /* 0: as fast as the link goes (--max-bandwidth) */
	double started_ms;
};

int stream_sender_init(struct stream_sender *s, struct wire_conn *conn, uint8_t space, const char *dir,
		       ferry_error_t *err);
/* Sends whatever was appended to the directory's files since the last call. */
int stream_sender_poll(struct stream_sender *s, ferry_error_t *err);
/* Final poll, then FILE_END for every file. */
int stream_sender_finish(struct stream_sender *s, ferry_error_t *err);
void stream_sender_release(struct stream_sender *s);
/* Sends one whole file (name relative to the space root) with FILE_END. */
int stream_send_file(struct wire_conn *conn, uint8_t space, const char *path, const char *name,
		     uint64_t *bytes, ferry_error_t *err);

struct stream_receiver {
	char roots[SPACE_COUNT][4096];
	struct stream_file *files;
	size_t n_files, cap_files;
	uint64_t bytes_received;
	uint64_t max_bytes;     /* refuse streams larger than this (0: unlimited) */
	int pipe[2];            /* splice buffer for data read from a plain socket */
	uint8_t *buf;           /* copy buffer for data read from a TLS session */
};

void stream_receiver_init(struct stream_receiver *r);
int stream_receiver_data(struct stream_receiver *r, const struct wire_frame *f,
			 ferry_error_t *err);
/* The same, reading the FILE_DATA frame (whose header is h) from the
 * connection itself, straight into the destination file. */
int stream_receiver_data_from(struct stream_receiver *r, struct wire_conn *conn,
			      const struct wire_header *h,
			      ferry_error_t *err);
int stream_receiver_end(struct stream_receiver *r, json_object *msg, ferry_error_t *err);
/* Every file that got data must have had its FILE_END. */
int stream_receiver_check_complete(const struct stream_receiver *r, ferry_error_t *err);
void stream_receiver_release(struct stream_receiver *r);

#endif
