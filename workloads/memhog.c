/*
 * memhog — the memory-dirtying workload used to test ferry's live migration.
 *
 *   memhog [--mib N] [--port P] [--rate-mib-s R]
 *
 * Allocates N MiB (default 64) of anonymous memory and treats it as 4 KiB
 * pages.  Page p at generation g holds a deterministic pattern derived from
 * (p, g); word 0 is literally (p << 32 | g) to make hexdumps readable.  A
 * per-page generation array records what every page must contain, so the
 * whole region can be verified at any moment.
 *
 * The main loop rewrites pages (bumping their generation) sweep after sweep,
 * at most R MiB/s (default 256; R = 0 means "never rewrite", memory stays
 * still), with a short pause after every sweep so the machine is not
 * saturated.  Between chunks of work it serves a line-based TCP protocol on
 * 0.0.0.0:P (default 7000), any number of clients at once via ppoll():
 *
 *   PING   -> "PONG <seq>"                 seq counts PINGs, process-wide
 *   VERIFY -> "OK <pages> <generation-sum>" or "BAD <first bad page index>"
 *   COUNT  -> "<number of completed sweeps>"
 *
 * Unknown commands get "ERR ...".  Client errors never stop the process;
 * SIGPIPE is ignored.  Everything is single-threaded, so a page's content and
 * its generation are always consistent whenever a request is served.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAGE_BYTES       4096u
#define WORDS_PER_PAGE   (PAGE_BYTES / sizeof(uint64_t))
#define PAGES_PER_MIB    ((1u << 20) / PAGE_BYTES)
#define CHUNK_PAGES      256u          /* 1 MiB rewritten between polls */
#define DEFAULT_RATE     256L          /* MiB/s */
#define SWEEP_PAUSE_NS   10000000LL    /* 10 ms rest after each sweep */
#define MAX_CLIENTS      128
#define LINE_BYTES       256
#define NS_PER_S         1000000000LL

struct options {
    size_t mib;
    int port;
    long rate_mib_s;
};

struct hog {
    uint64_t *mem;
    uint32_t *gen;
    size_t pages;
    size_t cursor;      /* next page to rewrite */
    uint64_t sweeps;    /* completed sweeps */
};

struct pacer {
    long long rate_bytes_s;  /* 0: never rewrite */
    long long next_due_ns;   /* monotonic time the next chunk may run */
};

struct client {
    int fd;
    size_t len;
    char buf[LINE_BYTES];
};

struct server {
    int listen_fd;
    size_t nclients;
    struct client clients[MAX_CLIENTS];
    uint64_t pings;
};

/* ---------- helpers ---------- */

static void die(const char *what)
{
    fprintf(stderr, "memhog: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: memhog [--mib N] [--port P] [--rate-mib-s R]\n");
    exit(2);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static long parse_num(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        usage();
    return v;
}

static struct options parse_args(int argc, char **argv)
{
    struct options o = { .mib = 64, .port = 7000, .rate_mib_s = DEFAULT_RATE };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        if (!strcmp(a, "--mib"))
            o.mib = (size_t)parse_num(argv[++i], 1, 1L << 20);
        else if (!strcmp(a, "--port"))
            o.port = (int)parse_num(argv[++i], 1, 65535);
        else if (!strcmp(a, "--rate-mib-s"))
            o.rate_mib_s = parse_num(argv[++i], 0, 1L << 30);
        else
            usage();
    }
    return o;
}

/* ---------- memory pattern ---------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t pattern_word(size_t page, uint32_t gen, uint64_t seed, size_t i)
{
    if (i == 0)
        return ((uint64_t)page << 32) | gen;
    return seed ^ (i * 0x9e3779b97f4a7c15ULL);
}

static uint64_t page_seed(size_t page, uint32_t gen)
{
    return mix64(((uint64_t)page << 32) ^ gen ^ 0x6665727279ULL);
}

static void fill_page(struct hog *h, size_t page, uint32_t gen)
{
    uint64_t *w = h->mem + page * WORDS_PER_PAGE;
    uint64_t seed = page_seed(page, gen);
    for (size_t i = 0; i < WORDS_PER_PAGE; i++)
        w[i] = pattern_word(page, gen, seed, i);
    h->gen[page] = gen;
}

static bool page_ok(const struct hog *h, size_t page)
{
    const uint64_t *w = h->mem + page * WORDS_PER_PAGE;
    uint32_t gen = h->gen[page];
    uint64_t seed = page_seed(page, gen);
    for (size_t i = 0; i < WORDS_PER_PAGE; i++)
        if (w[i] != pattern_word(page, gen, seed, i))
            return false;
    return true;
}

/* Returns the index of the first bad page, or -1; *gensum gets the sum. */
static long long verify_all(const struct hog *h, uint64_t *gensum)
{
    uint64_t sum = 0;
    for (size_t p = 0; p < h->pages; p++) {
        if (!page_ok(h, p))
            return (long long)p;
        sum += h->gen[p];
    }
    *gensum = sum;
    return -1;
}

static void hog_init(struct hog *h, size_t mib)
{
    h->pages = mib * PAGES_PER_MIB;
    h->mem = mmap(NULL, h->pages * PAGE_BYTES, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h->mem == MAP_FAILED)
        die("mmap");
    h->gen = calloc(h->pages, sizeof(*h->gen));
    if (!h->gen)
        die("calloc");
    for (size_t p = 0; p < h->pages; p++)
        fill_page(h, p, 0);
    h->cursor = 0;
    h->sweeps = 0;
}

/* Rewrites up to CHUNK_PAGES pages; returns bytes written, sets *sweep_done. */
static size_t rewrite_chunk(struct hog *h, bool *sweep_done)
{
    size_t n = 0;
    *sweep_done = false;
    while (n < CHUNK_PAGES && h->cursor < h->pages) {
        fill_page(h, h->cursor, h->gen[h->cursor] + 1);
        h->cursor++;
        n++;
    }
    if (h->cursor == h->pages) {
        h->cursor = 0;
        h->sweeps++;
        *sweep_done = true;
    }
    return n * PAGE_BYTES;
}

/* ---------- pacing ---------- */

/* Nanoseconds until the next chunk may run; -1 means "never". */
static long long pacer_wait_ns(struct pacer *pc)
{
    if (pc->rate_bytes_s == 0)
        return -1;
    long long now = now_ns();
    /* A clock jump (e.g. after restore on another node) must not stall us. */
    if (pc->next_due_ns > now + 2 * NS_PER_S)
        pc->next_due_ns = now;
    return pc->next_due_ns > now ? pc->next_due_ns - now : 0;
}

static void pacer_account(struct pacer *pc, size_t bytes, bool sweep_done)
{
    long long now = now_ns();
    /* Don't bank credit for time spent idle or frozen: no bursts after. */
    if (pc->next_due_ns < now - NS_PER_S / 10)
        pc->next_due_ns = now;
    pc->next_due_ns += (long long)bytes * NS_PER_S / pc->rate_bytes_s;
    if (sweep_done)
        pc->next_due_ns += SWEEP_PAUSE_NS;
}

/* ---------- server ---------- */

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_ANY) };
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");
    if (listen(fd, 64) < 0)
        die("listen");
    return fd;
}

static void drop_client(struct server *s, size_t i)
{
    close(s->clients[i].fd);
    s->clients[i] = s->clients[--s->nclients];
}

/* Sends a reply; false if the client must be dropped (gone or not reading). */
static bool reply(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool reply(struct client *c, const char *fmt, ...)
{
    char out[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, sizeof(out), fmt, ap);
    va_end(ap);
    ssize_t w = send(c->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    return w == n;
}

static bool handle_line(struct server *s, struct client *c, char *line,
                        const struct hog *h)
{
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        line[--len] = '\0';
    if (!strcmp(line, "PING"))
        return reply(c, "PONG %" PRIu64 "\n", ++s->pings);
    if (!strcmp(line, "COUNT"))
        return reply(c, "%" PRIu64 "\n", h->sweeps);
    if (!strcmp(line, "VERIFY")) {
        uint64_t sum = 0;
        long long bad = verify_all(h, &sum);
        if (bad >= 0)
            return reply(c, "BAD %lld\n", bad);
        return reply(c, "OK %zu %" PRIu64 "\n", h->pages, sum);
    }
    if (len == 0)
        return true;
    return reply(c, "ERR unknown command\n");
}

/* Splits the client's buffer into lines; false if the client must go. */
static bool process_input(struct server *s, struct client *c,
                          const struct hog *h)
{
    char *start = c->buf, *nl;
    while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
        *nl = '\0';
        if (!handle_line(s, c, start, h))
            return false;
        start = nl + 1;
    }
    c->len -= (size_t)(start - c->buf);
    memmove(c->buf, start, c->len);
    if (c->len == sizeof(c->buf)) {
        c->len = 0;
        return reply(c, "ERR line too long\n");
    }
    return true;
}

static bool read_client(struct server *s, struct client *c, const struct hog *h)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    c->len += (size_t)n;
    return process_input(s, c, h);
}

static void accept_clients(struct server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;  /* EAGAIN, or a transient error: try again later */
        if (s->nclients == MAX_CLIENTS) {
            close(fd);
            continue;
        }
        s->clients[s->nclients++] = (struct client){ .fd = fd };
    }
}

/* Waits up to wait_ns (-1: forever) for network events and serves them. */
static void serve(struct server *s, const struct hog *h, long long wait_ns)
{
    struct pollfd pfd[MAX_CLIENTS + 1];
    size_t n = s->nclients;
    pfd[0] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
    for (size_t i = 0; i < n; i++)
        pfd[i + 1] = (struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
    struct timespec ts = { wait_ns / NS_PER_S, wait_ns % NS_PER_S };
    if (ppoll(pfd, n + 1, wait_ns < 0 ? NULL : &ts, NULL) <= 0)
        return;
    /* Walk backwards: drop_client() moves the last client into slot i. */
    for (size_t i = n; i-- > 0;) {
        if (pfd[i + 1].revents && !read_client(s, &s->clients[i], h))
            drop_client(s, i);
    }
    if (pfd[0].revents)
        accept_clients(s);
}

/* ---------- main ---------- */

int main(int argc, char **argv)
{
    struct options o = parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    static struct hog h;
    static struct server s;
    hog_init(&h, o.mib);
    s.listen_fd = listen_on(o.port);
    struct pacer pc = { .rate_bytes_s = (long long)o.rate_mib_s << 20,
                        .next_due_ns = now_ns() };

    printf("memhog: %zu MiB (%zu pages), rate %ld MiB/s, listening on 0.0.0.0:%d\n",
           o.mib, h.pages, o.rate_mib_s, o.port);
    fflush(stdout);

    for (;;) {
        long long wait = pacer_wait_ns(&pc);
        serve(&s, &h, wait);
        if (wait < 0 || pacer_wait_ns(&pc) > 0)
            continue;
        bool sweep_done;
        size_t bytes = rewrite_chunk(&h, &sweep_done);
        pacer_account(&pc, bytes, sweep_done);
    }
}
