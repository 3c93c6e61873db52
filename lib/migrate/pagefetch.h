/*
 * pagefetch.h - the target's page server when pages must come from the
 * source: what the store holds from it, the rest fetched from CRIU's page
 * server on the source, in bulk.
 *
 * In hybrid mode the target's store holds most of the container's memory
 * when it restores; what changed after it was sent (and what was mapped
 * after tracking began) is listed by pagestore_check_images() as missing.
 * (Post-copy, where everything would be missing, was measured through this
 * loop too: its 1 GiB post-copy phase shrank from 12-16 s to 5-7 s, but the
 * client's longest gap doubled, 0.5 s to 1.05-1.28 s, as the bulk fetch
 * crowded the application's own faults; post-copy keeps CRIU's daemon
 * fetching from the source itself.)
 * This loop answers CRIU's lazy-pages daemon and fills the store at the
 * same time, over one connection to the source (pagestore.h's upstream),
 * from the moment it is forked (while the restore runs) on:
 *
 *  - every missing run is asked for, in requests of at most
 *    PAGEFETCH_MAX_PAGES pages with PAGEFETCH_DEPTH of them in flight (CRIU's
 *    page server answers in order; a round trip per page would cost a
 *    millisecond each), and each answer is written into the store;
 *  - a daemon request (a page fault, or its own background fetch) is
 *    answered from the store as soon as the store holds all of it; until
 *    then the runs it lacks are asked for ahead of the rest, and no other
 *    daemon request is read (the daemon's requests are answered in order);
 *  - the daemon's CLOSE is passed on once every answer in flight has been
 *    read, which lets the source's CRIU finish its dump and free the source.
 *
 * Answers are checked against what was asked (process, address, at most the
 * pages asked); CRIU may answer fewer pages (the end of a run in its pipes),
 * and the rest is asked for again.
 */
#ifndef FERRY_PAGEFETCH_H
#define FERRY_PAGEFETCH_H

#include "migrate/pagestore.h"

/* in flight: 16 MiB (a page fault's run waits behind at most that much; 4 MiB
 * halved the rate, 32 MiB did not raise it: 1 GiB in 2.0-2.3 s here) */
#define PAGEFETCH_DEPTH 16
#define PAGEFETCH_MAX_PAGES 256

/* Fetches from now on, accepts the daemon on the listening socket ls and
 * serves it until it closes; the page server child's exit status. */
int pagefetch_serve(struct pagestore *ps, int ls);

#endif
