#!/usr/bin/python3
"""tlspeer.py - a hand-driven peer for the agent's TCP port, for the security suite.

Connects to ADDR:PORT, optionally with TLS (client certificate optional), sends
HELLO naming --hello and then one frame (--request JSON -> REQUEST, --prepare
JSON -> PREPARE) or --garbage bytes, and prints what came back:
  REFUSED <reason>        the TLS handshake or the connection failed
  CLOSED                  the agent closed without answering
  <TYPE> <json>           the first frame after HELLO_OK (or instead of it)
"""
import argparse, json, socket, ssl, struct, sys

TYPES = {1: "HELLO", 2: "HELLO_OK", 3: "REQUEST", 4: "PROGRESS", 5: "RESULT", 6: "ERROR",
         7: "PREPARE", 8: "PREPARED"}

def frame(ftype, obj):
    body = json.dumps(obj).encode()
    return b"FERY" + bytes([1, ftype, 0, 0]) + struct.pack(">I", len(body)) + body

def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

def read_frame(s):
    hdr = read_exact(s, 12)
    if hdr is None:
        return None
    length = struct.unpack(">I", hdr[8:12])[0]
    body = read_exact(s, length) if length else b""
    return TYPES.get(hdr[5], str(hdr[5])), (body or b"").decode(errors="replace")

def main():
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("--ca"); p.add_argument("--cert"); p.add_argument("--key")
    p.add_argument("--plain", action="store_true")
    p.add_argument("--hello", default="node1")
    p.add_argument("--request"); p.add_argument("--prepare")
    p.add_argument("--garbage", action="store_true", help="raw bytes instead of a frame")
    a = p.parse_args()
    host, port = a.addr.rsplit(":", 1)
    try:
        s = socket.create_connection((host, int(port)), timeout=10)
        if not a.plain:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.load_verify_locations(a.ca)
            if a.cert:
                ctx.load_cert_chain(a.cert, a.key)
            s = ctx.wrap_socket(s)
        s.sendall(frame(1, {"version": 1, "node": a.hello}))
        reply = read_frame(s)
        if reply and reply[0] == "HELLO_OK":
            if a.request:
                s.sendall(frame(3, json.loads(a.request)))
            elif a.prepare:
                s.sendall(frame(7, json.loads(a.prepare)))
            elif a.garbage:
                s.sendall(b"GARBAGE-NOT-A-FRAME")
            else:
                print("HELLO_OK", reply[1]); return
            reply = read_frame(s)
    except (OSError, ssl.SSLError) as e:
        print("REFUSED", e); return
    print("CLOSED" if reply is None else "%s %s" % reply)

main()
