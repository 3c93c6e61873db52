/*
 * counter — trivial stateful workload for ferry's migration tests.
 *
 *   counter [--interval-ms MS]
 *
 * Prints 1, 2, 3, ... one number per line to stdout, flushing after each, one
 * every MS milliseconds (default 100).  After a correct migration the
 * sequence continues without a gap or a restart from 1.  Exits when stdout
 * goes away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
    fprintf(stderr, "usage: counter [--interval-ms MS]\n");
    exit(2);
}

static long parse_interval(int argc, char **argv)
{
    if (argc == 1)
        return 100;
    if (argc != 3 || strcmp(argv[1], "--interval-ms"))
        usage();
    char *end;
    errno = 0;
    long v = strtol(argv[2], &end, 10);
    if (errno || end == argv[2] || *end || v < 1 || v > 86400000L)
        usage();
    return v;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    long interval = parse_interval(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    for (uint64_t n = 1;; n++) {
        if (printf("%" PRIu64 "\n", n) < 0 || fflush(stdout) == EOF)
            return 1;
        sleep_ms(interval);
    }
}
