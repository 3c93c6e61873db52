/*
 * shaper.c - see shaper.h.  Drives iproute2's tc, as netns.c drives ip.
 */
#include "net/shaper.h"
#include "util/proc.h"

#include <stdio.h>
#include <stdlib.h>

/* HTB class minor ids and filter priorities are 16-bit and non-zero: both
 * are derived from the port, which is unique among the node's live page
 * servers. */
static unsigned slot_of(int port)
{
	return (unsigned)port % 0xfffe + 1;
}

int shaper_cap_sport(const char *dev, int port, uint64_t bytes_per_s, ferry_error_t *err)
{
	char classid[16], prio[8], rate[32], sport[8];
	snprintf(classid, sizeof(classid), "1:%x", slot_of(port));
	snprintf(prio, sizeof(prio), "%u", slot_of(port));
	snprintf(rate, sizeof(rate), "%llubit", (unsigned long long)bytes_per_s * 8);
	snprintf(sport, sizeof(sport), "%d", port);
	/* the root may exist already (another migration's cap): not an error */
	const char *root[] = { "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", NULL };
	proc_run_quiet(root);
	const char *cls[] = { "tc", "class", "replace", "dev", dev, "parent", "1:", "classid",
			      classid, "htb", "rate", rate, "ceil", rate, NULL };
	const char *filter[] = { "tc", "filter", "replace", "dev", dev, "parent", "1:", "protocol",
				 "ip", "prio", prio, "u32", "match", "ip", "sport", sport, "0xffff",
				 "flowid", classid, NULL };
	if (proc_run(cls, NULL, err) < 0 || proc_run(filter, NULL, err) < 0) {
		shaper_uncap_sport(dev, port);
		return ferry_error_prefix(err, "cap port %d on %s", port, dev);
	}
	return 0;
}

void shaper_uncap_sport(const char *dev, int port)
{
	char classid[16], prio[8];
	snprintf(classid, sizeof(classid), "1:%x", slot_of(port));
	snprintf(prio, sizeof(prio), "%u", slot_of(port));
	const char *filter[] = { "tc", "filter", "del", "dev", dev, "parent", "1:", "protocol", "ip",
				 "prio", prio, NULL };
	const char *cls[] = { "tc", "class", "del", "dev", dev, "classid", classid, NULL };
	proc_run_quiet(filter);
	proc_run_quiet(cls);
}
