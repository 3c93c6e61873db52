/*
 * probe — measures the client-visible downtime of a service during migration.
 *
 *   probe --addr IP:PORT --proto redis|memhog
 *         [--interval-ms MS] [--op ping|incr] [--reply-timeout-ms MS]
 *         (--duration-s S | --until-file PATH)
 *
 * Connects ONCE and then, every MS milliseconds (default 5), sends one
 * request and waits for its reply:
 *   redis,  --op ping (default): RESP PING -> "+PONG"
 *   redis,  --op incr:  RESP INCR ferry:probe -> ":<n>", n must grow
 *   memhog: "PING\n" -> "PONG <seq>", seq must grow
 * It never reconnects: a connection that breaks (EOF, reset) is exactly the
 * failure we want to detect, and ends the run.  A reply not arriving within
 * the reply timeout (default 30000 ms) is an error and also ends the run.
 * Wrong replies count as errors and the run goes on.
 *
 * It stops after S seconds, when PATH exists (whichever comes first; both may
 * be given), or on SIGINT/SIGTERM, then prints one JSON line on stdout:
 *   {"requests":N,"replies":N,"errors":N,"max_gap_ms":X,
 *    "connection_broken":false,"reconnects":0,"elapsed_ms":X,"last_error":""}
 * max_gap_ms is the longest time between successive successful replies
 * (the first gap starts when the connection is established).
 * Exit status: 0 if no error and no break, 1 otherwise, 2 on bad usage.
 * A progress line goes to stderr, only when stderr is a terminal.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS   1000000LL
#define NS_PER_S    1000000000LL
#define CONNECT_TIMEOUT_MS 5000

enum proto { PROTO_REDIS, PROTO_MEMHOG };
enum op { OP_PING, OP_INCR };
enum outcome { RT_OK, RT_BAD, RT_TIMEOUT, RT_BROKEN, RT_STOPPED };

struct options {
    struct sockaddr_in addr;
    enum proto proto;
    enum op op;
    long interval_ms;
    long reply_timeout_ms;
    double duration_s;       /* < 0: none */
    const char *until_file;  /* NULL: none */
};

struct conn {
    int fd;
    size_t len;
    char buf[1024];
    long long last_value;    /* last PONG seq / INCR value; -1 before first */
};

struct stats {
    unsigned long long requests, replies, errors;
    long long start_ns, last_ok_ns, max_gap_ns, last_progress_ns;
    bool broken;
    char last_error[160];
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: probe --addr IP:PORT --proto redis|memhog [--interval-ms MS]\n"
            "             [--op ping|incr] [--reply-timeout-ms MS]\n"
            "             (--duration-s S | --until-file PATH)\n");
    exit(2);
}

/* ---------- arguments ---------- */

static long parse_long(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        usage();
    return v;
}

static struct sockaddr_in parse_addr(const char *s)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        usage();
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_port = htons((uint16_t)parse_long(colon + 1, 1, 65535));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        usage();
    return sa;
}

static void parse_option(struct options *o, const char *name, const char *val)
{
    if (!strcmp(name, "--addr"))
        o->addr = parse_addr(val);
    else if (!strcmp(name, "--proto") && !strcmp(val, "redis"))
        o->proto = PROTO_REDIS;
    else if (!strcmp(name, "--proto") && !strcmp(val, "memhog"))
        o->proto = PROTO_MEMHOG;
    else if (!strcmp(name, "--op") && !strcmp(val, "ping"))
        o->op = OP_PING;
    else if (!strcmp(name, "--op") && !strcmp(val, "incr"))
        o->op = OP_INCR;
    else if (!strcmp(name, "--interval-ms"))
        o->interval_ms = parse_long(val, 0, 3600000L);
    else if (!strcmp(name, "--reply-timeout-ms"))
        o->reply_timeout_ms = parse_long(val, 1, 3600000L);
    else if (!strcmp(name, "--duration-s")) {
        char *end;
        o->duration_s = strtod(val, &end);
        if (end == val || *end || !(o->duration_s >= 0))
            usage();
    } else if (!strcmp(name, "--until-file"))
        o->until_file = val;
    else
        usage();
}

static struct options parse_args(int argc, char **argv)
{
    struct options o = { .proto = -1, .op = OP_PING, .interval_ms = 5,
                         .reply_timeout_ms = 30000, .duration_s = -1 };
    bool have_addr = false;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            usage();
        parse_option(&o, argv[i], argv[i + 1]);
        have_addr |= !strcmp(argv[i], "--addr");
    }
    if (!have_addr || (int)o.proto < 0 || (o.duration_s < 0 && !o.until_file))
        usage();
    if (o.proto == PROTO_MEMHOG && o.op != OP_PING)
        usage();
    return o;
}

/* ---------- bookkeeping ---------- */

static void set_error(struct stats *st, const char *what, const char *detail)
{
    snprintf(st->last_error, sizeof(st->last_error), "%s%s%s", what,
             detail ? ": " : "", detail ? detail : "");
}

static bool should_stop(const struct options *o, const struct stats *st)
{
    if (got_signal)
        return true;
    if (o->duration_s >= 0 &&
        now_ns() - st->start_ns >= (long long)(o->duration_s * NS_PER_S))
        return true;
    struct stat sb;
    return o->until_file && stat(o->until_file, &sb) == 0;
}

static void progress(struct stats *st, bool final)
{
    long long now = now_ns();
    if (!final && now - st->last_progress_ns < NS_PER_S / 2)
        return;
    st->last_progress_ns = now;
    fprintf(stderr, "\rprobe: %llu requests, %llu errors, max gap %.1f ms%s",
            st->requests, st->errors, (double)st->max_gap_ns / NS_PER_MS,
            final ? "\n" : "   ");
}

/* Prints the JSON result with last_error made safe for a JSON string. */
static void report(const struct stats *st)
{
    char err[sizeof(st->last_error)];
    size_t i;
    for (i = 0; st->last_error[i]; i++) {
        char ch = st->last_error[i];
        err[i] = (ch < 0x20 || ch == '"' || ch == '\\' || ch == 0x7f) ? '?' : ch;
    }
    err[i] = '\0';
    printf("{\"requests\":%llu,\"replies\":%llu,\"errors\":%llu,"
           "\"max_gap_ms\":%.3f,\"connection_broken\":%s,\"reconnects\":0,"
           "\"elapsed_ms\":%.3f,\"last_error\":\"%s\"}\n",
           st->requests, st->replies, st->errors,
           (double)st->max_gap_ns / NS_PER_MS, st->broken ? "true" : "false",
           (double)(now_ns() - st->start_ns) / NS_PER_MS, err);
    fflush(stdout);
}

/* ---------- network ---------- */

static int wait_fd(int fd, short events, long long timeout_ns)
{
    struct pollfd p = { .fd = fd, .events = events };
    struct timespec ts = { timeout_ns / NS_PER_S, timeout_ns % NS_PER_S };
    return ppoll(&p, 1, &ts, NULL);
}

/* Connects with a timeout; returns the fd or -1 with st->last_error set. */
static int connect_once(const struct options *o, struct stats *st)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_error(st, "socket", strerror(errno));
        return -1;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (connect(fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) < 0) {
        if (errno != EINPROGRESS)
            err = errno;
        else if (wait_fd(fd, POLLOUT, CONNECT_TIMEOUT_MS * NS_PER_MS) <= 0)
            err = ETIMEDOUT;
        else
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err) {
        set_error(st, "connect", strerror(err));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static const char *request_text(const struct options *o)
{
    if (o->proto == PROTO_MEMHOG)
        return "PING\n";
    if (o->op == OP_INCR)
        return "*2\r\n$4\r\nINCR\r\n$11\r\nferry:probe\r\n";
    return "*1\r\n$4\r\nPING\r\n";
}

/* Takes one complete line (without CR/LF) out of the buffer, if there is one. */
static bool take_line(struct conn *c, char *line, size_t cap)
{
    char *nl = memchr(c->buf, '\n', c->len);
    if (!nl)
        return false;
    size_t n = (size_t)(nl - c->buf);
    size_t copy = n < cap - 1 ? n : cap - 1;
    memcpy(line, c->buf, copy);
    line[copy] = '\0';
    if (copy && line[copy - 1] == '\r')
        line[copy - 1] = '\0';
    c->len -= n + 1;
    memmove(c->buf, nl + 1, c->len);
    return true;
}

/* Reads until a full line arrives, the deadline passes, or the peer is gone. */
static enum outcome read_line(struct conn *c, long long deadline, char *line,
                              size_t cap, struct stats *st)
{
    while (!take_line(c, line, cap)) {
        if (c->len == sizeof(c->buf))
            c->len = 0;  /* absurdly long line: drop it, keep waiting */
        long long left = deadline - now_ns();
        if (got_signal)
            return RT_STOPPED;
        if (left <= 0)
            return RT_TIMEOUT;
        if (wait_fd(c->fd, POLLIN, left) <= 0)
            continue;  /* timeout or EINTR: re-check above */
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            set_error(st, "recv", n == 0 ? "connection closed by peer"
                                         : strerror(errno));
            return RT_BROKEN;
        }
    }
    return RT_OK;
}

/* Checks that the reply is the expected one; numbers must keep growing. */
static bool reply_ok(const struct options *o, struct conn *c, const char *line)
{
    const char *num;
    if (o->proto == PROTO_REDIS && o->op == OP_PING)
        return !strcmp(line, "+PONG");
    if (o->proto == PROTO_REDIS)
        num = line[0] == ':' ? line + 1 : NULL;
    else
        num = !strncmp(line, "PONG ", 5) ? line + 5 : NULL;
    if (!num)
        return false;
    char *end;
    long long v = strtoll(num, &end, 10);
    if (end == num || *end || v <= c->last_value)
        return false;
    c->last_value = v;
    return true;
}

/* One request/reply round trip. */
static enum outcome round_trip(const struct options *o, struct conn *c,
                               struct stats *st)
{
    const char *req = request_text(o);
    size_t len = strlen(req);
    ssize_t w = send(c->fd, req, len, MSG_NOSIGNAL);
    if (w != (ssize_t)len) {
        set_error(st, "send", w < 0 ? strerror(errno) : "short write");
        return RT_BROKEN;
    }
    st->requests++;
    char line[128];
    long long deadline = now_ns() + o->reply_timeout_ms * NS_PER_MS;
    enum outcome r = read_line(c, deadline, line, sizeof(line), st);
    if (r == RT_TIMEOUT)
        set_error(st, "reply timeout", NULL);
    if (r != RT_OK)
        return r;
    if (!reply_ok(o, c, line)) {
        set_error(st, "unexpected reply", line);
        return RT_BAD;
    }
    return RT_OK;
}

/* ---------- main loop ---------- */

static void sleep_until(long long t_ns, const struct options *o,
                        const struct stats *st)
{
    long long left;
    while ((left = t_ns - now_ns()) > 0 && !should_stop(o, st)) {
        long long slice = left < 50 * NS_PER_MS ? left : 50 * NS_PER_MS;
        struct timespec ts = { slice / NS_PER_S, slice % NS_PER_S };
        nanosleep(&ts, NULL);
    }
}

static void record_success(struct stats *st)
{
    long long now = now_ns();
    if (now - st->last_ok_ns > st->max_gap_ns)
        st->max_gap_ns = now - st->last_ok_ns;
    st->last_ok_ns = now;
    st->replies++;
}

static void run(const struct options *o, struct conn *c, struct stats *st)
{
    bool tty = isatty(STDERR_FILENO);
    long long next_send = now_ns();
    while (!should_stop(o, st)) {
        long long sent_at = now_ns();
        enum outcome r = round_trip(o, c, st);
        if (r == RT_OK)
            record_success(st);
        else if (r == RT_BAD || r == RT_TIMEOUT)
            st->errors++;
        st->broken |= r == RT_BROKEN;
        if (r == RT_BROKEN || r == RT_TIMEOUT || r == RT_STOPPED)
            break;
        if (tty)
            progress(st, false);
        next_send = sent_at + o->interval_ms * NS_PER_MS;
        sleep_until(next_send, o, st);
    }
    if (tty)
        progress(st, true);
}

int main(int argc, char **argv)
{
    struct options o = parse_args(argc, argv);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct stats st;
    static struct conn c = { .last_value = -1 };
    st.start_ns = now_ns();
    c.fd = connect_once(&o, &st);
    if (c.fd < 0) {
        st.errors++;
        report(&st);
        return 1;
    }
    st.last_ok_ns = now_ns();
    run(&o, &c, &st);
    close(c.fd);
    report(&st);
    return st.errors || st.broken ? 1 : 0;
}
