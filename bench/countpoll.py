#!/usr/bin/python3
"""countpoll.py - is the application making progress during a migration?

    countpoll.py poll IP --out SAMPLES.json --until-file STOP [--interval-ms 100]
                         [--timeout-s 10] [--port 7000]
    countpoll.py summarize SAMPLES.json --t0 MS --t-end MS [--report REPORT.json]

poll: every interval, one new TCP connection to memhog that sends "COUNT" and
reads one reply line (memhog's completed sweeps).  Each request runs in its own
thread, so a request held up by the freeze (its SYN dropped or held until the
commit) does not delay the next samples; at most 100 are outstanding (a
connection takes one of memhog's 128 client slots only once accepted).  When STOP exists (or on SIGTERM), it waits up to
--timeout-s for outstanding requests and writes
    {"interval_ms": N, "samples": [[t_send_ms, t_reply_ms|null, count|null, error|null], ...]}
with wall-clock times in ms (the same clock as bash's EPOCHREALTIME).

summarize: prints one JSON object; t0/t-end are when `ferry migrate` started
and returned (wall clock, ms).  Replies are ordered by arrival:
  count_start       COUNT of the last reply that arrived before t0
  count_end         COUNT of the first reply to a request sent after t-end
  sweeps_during_migration  count_end - count_start
  max_no_reply_ms   longest time between consecutive replies, from the last
                    reply before t0 to the first reply to a request sent after t-end
With --report of a post-copy migration, the "postcopy" phase (offsets from t0)
gives the window [ws, we] and:
  postcopy_count_start / _end   first reply that arrived at or after ws / last
                    reply that arrived at or before we
  sweeps_during_postcopy        their difference (sweeps completed inside the
                    window, a lower bound)
  postcopy_max_no_reply_ms      longest time without a reply inside the window
                    (window edges included)
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

MAX_OUTSTANDING = 100


def now_ms():
    return time.time() * 1000.0


def one_request(ip, port, timeout_s, sample, lock):
    err = None
    value = None
    try:
        with socket.create_connection((ip, port), timeout=timeout_s) as s:
            s.settimeout(max(0.1, timeout_s - (now_ms() - sample[0]) / 1000.0))
            s.sendall(b"COUNT\n")
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(256)
                if not chunk:
                    raise ConnectionError("EOF before reply")
                buf += chunk
            line = buf.split(b"\n", 1)[0].strip().decode(errors="replace")
            value = int(line)
    except Exception as e:  # noqa: BLE001 - every failure is just a sample
        err = f"{type(e).__name__}: {e}"[:120]
    t = now_ms()
    with lock:
        if err is None:
            sample[1], sample[2] = round(t, 3), value
        else:
            sample[3] = err


def poll(a):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lock = threading.Lock()
    samples, threads = [], []
    interval = a.interval_ms / 1000.0
    nxt = time.monotonic()
    while not stop.is_set() and not os.path.exists(a.until_file):
        threads = [t for t in threads if t.is_alive()]
        if len(threads) < MAX_OUTSTANDING:
            sample = [round(now_ms(), 3), None, None, None]
            samples.append(sample)
            t = threading.Thread(target=one_request, daemon=True,
                                 args=(a.ip, a.port, a.timeout_s, sample, lock))
            t.start()
            threads.append(t)
        nxt += interval
        delay = nxt - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            nxt = time.monotonic()
    deadline = time.monotonic() + a.timeout_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        for s in samples:
            if s[1] is None and s[3] is None:
                s[3] = "unanswered when polling stopped"
        out = {"interval_ms": a.interval_ms, "samples": samples}
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, separators=(",", ":"))
        os.replace(tmp, a.out)


def max_interval(times):
    return max((b - a for a, b in zip(times, times[1:])), default=None)


def r1(x):
    return None if x is None else round(x, 1)


def summarize(a):
    try:
        with open(a.samples) as f:
            samples = json.load(f)["samples"]
    except (OSError, ValueError, KeyError) as e:
        print(json.dumps({"error": f"no COUNT samples: {e}"}))
        return
    ok = sorted((s for s in samples if s[1] is not None), key=lambda s: s[1])
    t0, tend = a.t0, a.t_end
    out = {"samples": len(samples), "replies": len(ok),
           "failed": sum(1 for s in samples if s[3] is not None)}
    before = [s for s in ok if s[1] < t0]
    after = [s for s in ok if s[0] >= tend]
    first_after = min(after, key=lambda s: s[1]) if after else None
    out["count_start"] = before[-1][2] if before else None
    out["count_end"] = first_after[2] if first_after else None
    out["sweeps_during_migration"] = (out["count_end"] - out["count_start"]
                                      if before and first_after else None)
    lo = before[-1][1] if before else t0
    hi = first_after[1] if first_after else None
    times = [lo] + [s[1] for s in ok if lo < s[1] and (hi is None or s[1] <= hi)]
    out["max_no_reply_ms"] = r1(max_interval(times))
    out["max_no_reply_unbounded"] = hi is None   # no reply after the migration at all
    if a.report:
        try:
            with open(a.report) as f:
                rep = json.load(f)
            pc = next((p for p in rep.get("phases", []) if p.get("name") == "postcopy"), None)
        except (OSError, ValueError):
            pc = None
        if pc is not None:
            ws = t0 + pc["start_ms"]
            we = ws + pc["duration_ms"]
            inside = [s for s in ok if ws <= s[1] <= we]
            out["postcopy_window_ms"] = r1(we - ws)
            out["postcopy_replies"] = len(inside)
            out["postcopy_count_start"] = inside[0][2] if inside else None
            out["postcopy_count_end"] = inside[-1][2] if inside else None
            out["sweeps_during_postcopy"] = (inside[-1][2] - inside[0][2]) if inside else None
            out["postcopy_max_no_reply_ms"] = r1(max_interval([ws] + [s[1] for s in inside] + [we]))
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("poll")
    p.add_argument("ip")
    p.add_argument("--port", type=int, default=7000)
    p.add_argument("--out", required=True)
    p.add_argument("--until-file", required=True)
    p.add_argument("--interval-ms", type=float, default=100)
    p.add_argument("--timeout-s", type=float, default=10)
    s = sub.add_parser("summarize")
    s.add_argument("samples")
    s.add_argument("--t0", type=float, required=True)
    s.add_argument("--t-end", type=float, required=True)
    s.add_argument("--report")
    a = ap.parse_args()
    poll(a) if a.cmd == "poll" else summarize(a)


if __name__ == "__main__":
    sys.exit(main())
