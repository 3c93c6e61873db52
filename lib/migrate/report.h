/*
 * report.h - what a migration did and how long each part took.
 *
 * The source agent keeps one report per migration: phases with their start
 * (ms since the migration began) and duration, the bytes sent, the downtime
 * (freeze until the target reported the restored process running) and the
 * outcome.  It is streamed to the CLI as PROGRESS frames while the migration
 * runs and returned whole at the end; `ferry migrate --json` prints it.
 */
#ifndef FERRY_REPORT_H
#define FERRY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "wire/conn.h"

#define REPORT_MAX_PHASES 16

struct report_phase {
	const char *name;
	double start_ms;
	double duration_ms;
};

#define REPORT_MAX_ROUNDS 16

/* One pre-copy round: what was sent while the container ran (round 0: all
 * its memory; round k: what it wrote during round k-1). */
struct report_round {
	uint64_t bytes, pages;
	double ms;
};

struct precopy_report {
	struct report_round rounds[REPORT_MAX_ROUNDS];
	int n_rounds;
	char stop_reason[96];
	uint64_t final_bytes;   /* dirty at the freeze, sent while frozen */
	double final_ms;
	uint64_t late_bytes;    /* lazy pages of the dump never sent before (new mappings) */
	double late_ms;
	bool rest_postcopy;     /* hybrid: the last dirty set and the late pages left to post-copy */
	uint64_t rest_bytes;    /* hybrid: lazy pages the target must fetch from the source */
	uint64_t dirty_bytes_per_s; /* measured by auto's sample, 0 if none */
};

struct migration_report {
	char name[48], from[48], to[48], mode[16];
	char plan[200];          /* why this mode */
	uint64_t memory_bytes;   /* resident memory when the migration began */
	bool ok;
	char error[1024];
	double t0, t_end, freeze_at, running_at;
	uint64_t bytes_sent;
	size_t held_packets;   /* client packets kept during the move, then delivered */
	struct report_phase phases[REPORT_MAX_PHASES];
	int n_phases;
	struct wire_conn *progress; /* CLI connection for PROGRESS frames, or NULL */
	bool precopy;
	struct precopy_report pc;
};

void report_init(struct migration_report *r, const char *name, const char *from, const char *to,
		 const char *mode, struct wire_conn *progress);
void report_phase_begin(struct migration_report *r, const char *phase);
void report_phase_end(struct migration_report *r);
/* Sends a PROGRESS frame (current phase, bytes) if a CLI is listening. */
void report_progress(struct migration_report *r);
/* Ends the open phase and records the outcome (error NULL on success). */
void report_finish(struct migration_report *r, const char *error);
json_object *report_to_json(const struct migration_report *r);

#endif
