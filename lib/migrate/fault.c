/*
 * fault.c - see fault.h.
 */
#include "migrate/fault.h"
#include "util/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	enum fault_kind kind;
	bool at_phase;
} kinds[] = {
	{ "cut-transfer", FAULT_CUT_TRANSFER, false },
	{ "kill-criu", FAULT_KILL_CRIU, false },
	{ "fill-source-disk", FAULT_FILL_SOURCE_DISK, false },
	{ "fill-target-disk", FAULT_FILL_TARGET_DISK, false },
	{ "fail-restore", FAULT_FAIL_RESTORE, false },
	{ "stall-target", FAULT_STALL_TARGET, false },
	{ "cut", FAULT_CUT_AT, true },
	{ "kill-source", FAULT_KILL_SOURCE_AT, true },
	{ "kill-target", FAULT_KILL_TARGET_AT, true },
};

static const char *const source_phases[] = { "prepare", "precopy", "freeze", "dump", "rootfs",
					      "restore", "commit", "postcopy" };

static bool phase_allowed(enum fault_kind kind, const char *phase)
{
	if (kind == FAULT_KILL_TARGET_AT && !strcmp(phase, "freeze"))
		return false; /* the target does not see the freeze */
	for (size_t i = 0; i < sizeof(source_phases) / sizeof(source_phases[0]); i++)
		if (!strcmp(phase, source_phases[i]))
			return true;
	return false;
}

int fault_parse(const char *spec, struct fault *f, ferry_error_t *err)
{
	memset(f, 0, sizeof(*f));
	if (!spec || !*spec)
		return 0;
	if (strlen(spec) >= sizeof(f->spec))
		return ferry_error_set(err, 0, "unknown fault '%.40s...'", spec);
	snprintf(f->spec, sizeof(f->spec), "%s", spec);
	const char *at = strchr(spec, '@');
	size_t name_len = at ? (size_t)(at - spec) : strlen(spec);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strlen(kinds[i].name) != name_len || strncmp(spec, kinds[i].name, name_len) ||
		    kinds[i].at_phase != (at != NULL))
			continue;
		if (at && (strlen(at + 1) >= sizeof(f->phase) || !phase_allowed(kinds[i].kind, at + 1)))
			return ferry_error_set(err, 0, "fault '%s': no such phase '%s'", spec, at + 1);
		f->kind = kinds[i].kind;
		if (at)
			snprintf(f->phase, sizeof(f->phase), "%s", at + 1);
		return 0;
	}
	return ferry_error_set(err, 0, "unknown fault '%s'", spec);
}

bool fault_is(const struct fault *f, enum fault_kind kind)
{
	return f->kind == kind;
}

bool fault_at(struct fault *f, enum fault_kind kind, const char *phase)
{
	if (f->kind != kind || strcmp(f->phase, phase))
		return false;
	f->kind = FAULT_NONE;
	return true;
}

void fault_kill_own_agent(void)
{
	log_warn("fault injection: killing this agent (process group %d)", (int)getpgrp());
	kill(0, SIGKILL);
	pause();
}
