/*
 * report.c - see report.h.
 */
#include "migrate/report.h"
#include "util/clock.h"
#include "wire/frame.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void report_init(struct migration_report *r, const char *name, const char *from, const char *to,
		 const char *mode, struct wire_conn *progress)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->from, sizeof(r->from), "%s", from);
	snprintf(r->to, sizeof(r->to), "%s", to);
	snprintf(r->mode, sizeof(r->mode), "%s", mode);
	r->t0 = clock_now_ms();
	r->progress = progress;
}

void report_phase_begin(struct migration_report *r, const char *phase)
{
	if (r->n_phases > 0 && r->phases[r->n_phases - 1].duration_ms < 0)
		report_phase_end(r);
	if (r->n_phases == REPORT_MAX_PHASES)
		return;
	struct report_phase *p = &r->phases[r->n_phases++];
	p->name = phase;
	p->start_ms = clock_now_ms() - r->t0;
	p->duration_ms = -1;
	report_progress(r);
}

void report_phase_end(struct migration_report *r)
{
	if (r->n_phases == 0)
		return;
	struct report_phase *p = &r->phases[r->n_phases - 1];
	if (p->duration_ms < 0)
		p->duration_ms = clock_now_ms() - r->t0 - p->start_ms;
}

void report_progress(struct migration_report *r)
{
	if (!r->progress || r->n_phases == 0)
		return;
	json_object *m = json_object_new_object();
	json_object_object_add(m, "phase", json_object_new_string(r->phases[r->n_phases - 1].name));
	json_object_object_add(m, "bytes_sent", json_object_new_int64((int64_t)r->bytes_sent));
	json_object_object_add(m, "elapsed_ms", json_object_new_double(clock_now_ms() - r->t0));
	if (r->precopy && r->pc.n_rounds > 0) {
		const struct report_round *last = &r->pc.rounds[r->pc.n_rounds - 1];
		json_object_object_add(m, "round", json_object_new_int(r->pc.n_rounds - 1));
		json_object_object_add(m, "round_bytes", json_object_new_int64((int64_t)last->bytes));
		json_object_object_add(m, "round_ms", json_object_new_double(last->ms));
	}
	if (wire_send_json(r->progress, WIRE_PROGRESS, m, NULL) < 0)
		r->progress = NULL; /* the CLI went away; the migration goes on */
	json_object_put(m);
}

void report_finish(struct migration_report *r, const char *error)
{
	report_phase_end(r);
	r->t_end = clock_now_ms();
	r->ok = error == NULL;
	if (error)
		snprintf(r->error, sizeof(r->error), "%s", error);
}

/* milliseconds with one decimal, serialised as written (no 0.1 artefacts) */
static json_object *ms(double v)
{
	char text[32];
	snprintf(text, sizeof(text), "%.1f", v);
	return json_object_new_double_s(round(v * 10) / 10, text);
}

json_object *report_to_json(const struct migration_report *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "from", json_object_new_string(r->from));
	json_object_object_add(o, "to", json_object_new_string(r->to));
	json_object_object_add(o, "mode", json_object_new_string(r->mode));
	json_object_object_add(o, "plan", json_object_new_string(r->plan));
	json_object_object_add(o, "memory_bytes", json_object_new_int64((int64_t)r->memory_bytes));
	json_object_object_add(o, "result", json_object_new_string(r->ok ? "ok" : "failed"));
	if (!r->ok)
		json_object_object_add(o, "error", json_object_new_string(r->error));
	if (r->freeze_at > 0 && r->running_at > 0)
		json_object_object_add(o, "downtime_ms", ms(r->running_at - r->freeze_at));
	else
		json_object_object_add(o, "downtime_ms", NULL);
	json_object_object_add(o, "total_ms", ms((r->t_end > 0 ? r->t_end : clock_now_ms()) - r->t0));
	json_object_object_add(o, "bytes_sent", json_object_new_int64((int64_t)r->bytes_sent));
	json_object_object_add(o, "held_packets", json_object_new_int64((int64_t)r->held_packets));
	json_object *phases = json_object_new_array();
	for (int i = 0; i < r->n_phases; i++) {
		json_object *p = json_object_new_object();
		json_object_object_add(p, "name", json_object_new_string(r->phases[i].name));
		json_object_object_add(p, "start_ms", ms(r->phases[i].start_ms));
		json_object_object_add(p, "duration_ms", ms(r->phases[i].duration_ms));
		json_object_array_add(phases, p);
	}
	json_object_object_add(o, "phases", phases);
	if (r->precopy) {
		const struct precopy_report *pc = &r->pc;
		json_object *p = json_object_new_object(), *rounds = json_object_new_array();
		for (int i = 0; i < pc->n_rounds; i++) {
			json_object *x = json_object_new_object();
			json_object_object_add(x, "bytes", json_object_new_int64((int64_t)pc->rounds[i].bytes));
			json_object_object_add(x, "pages", json_object_new_int64((int64_t)pc->rounds[i].pages));
			json_object_object_add(x, "ms", ms(pc->rounds[i].ms));
			json_object_array_add(rounds, x);
		}
		json_object_object_add(p, "rounds", rounds);
		json_object_object_add(p, "stop_reason", json_object_new_string(pc->stop_reason));
		json_object_object_add(p, "final_bytes", json_object_new_int64((int64_t)pc->final_bytes));
		json_object_object_add(p, "final_ms", ms(pc->final_ms));
		json_object_object_add(p, "late_bytes", json_object_new_int64((int64_t)pc->late_bytes));
		json_object_object_add(p, "late_ms", ms(pc->late_ms));
		json_object_object_add(p, "rest", json_object_new_string(pc->rest_postcopy ? "postcopy" : "frozen"));
		json_object_object_add(p, "rest_bytes", json_object_new_int64((int64_t)pc->rest_bytes));
		json_object_object_add(o, "precopy", p);
	}
	return o;
}
