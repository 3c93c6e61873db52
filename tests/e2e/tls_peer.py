"""tls_peer.py ADDR PORT CERT_NAME FRAME - connects to a Kubernetes-mode agent's TCP port with
mutual TLS as CERT_NAME (/var/lib/ferry/pki/CERT_NAME.{crt,key}; "none": no client certificate),
sends HELLO naming CERT_NAME, then one frame (FRAME = request | prepare) and prints the frame
type and message of the agent's answer ("handshake failed: ..." if TLS refuses us)."""
import json
import socket
import ssl
import struct
import sys

MAGIC, PKI = 0x46455259, "/var/lib/ferry/pki"
HELLO, HELLO_OK, REQUEST, ERROR, PREPARE = 1, 2, 3, 6, 7
NAMES = {1: "HELLO", 2: "HELLO_OK", 3: "REQUEST", 4: "PROGRESS", 5: "RESULT", 6: "ERROR", 8: "PREPARED"}


def send(s, ftype, obj):
    body = json.dumps(obj).encode()
    s.sendall(struct.pack(">IBBHI", MAGIC, 1, ftype, 0, len(body)) + body)


def recv(s):
    header = b""
    while len(header) < 12:
        chunk = s.recv(12 - len(header))
        if not chunk:
            return "closed", ""
        header += chunk
    _magic, _v, ftype, _f, length = struct.unpack(">IBBHI", header)
    body = b""
    while len(body) < length:
        body += s.recv(length - len(body))
    return NAMES.get(ftype, str(ftype)), body.decode(errors="replace")


def main():
    addr, port, name, what = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(PKI + "/ca.crt")
    ctx.check_hostname = False
    if name != "none":
        ctx.load_cert_chain(PKI + "/" + name + ".crt", PKI + "/" + name + ".key")
    raw = socket.create_connection((addr, port), timeout=10)
    try:
        s = ctx.wrap_socket(raw)
        send(s, HELLO, {"version": 1, "node": name})
        kind, body = recv(s)
        if kind != "HELLO_OK":
            print(kind, body)
            return
        if what == "request":
            send(s, REQUEST, {"op": "migrate-pod", "namespace": "default", "pod": "x",
                              "targetPod": "y", "target": {"node": "k8s-node2", "address": "10.97.0.12"}})
        else:
            send(s, PREPARE, {"kind": "pod", "namespace": "default", "targetPod": "y",
                              "containers": ["c"]})
        print(*recv(s))
    except (ssl.SSLError, ConnectionResetError, OSError) as e:
        print("handshake failed:", e)


main()
