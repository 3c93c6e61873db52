"""agent_peer.py PORT MODE OUTDIR CONNECTIONS PKI NODE - a scripted stand-in for
the source node's ferry agent on its TCP control port, for the controller
tests that run without kubelets (the real agent needs a node: tests/e2e
covers it).

Mutual TLS 1.3 as the agents do it: it presents PKI/NODE.crt, requires a
client certificate signed by PKI/ca.crt and records its subject.  Then it
speaks the wire protocol of lib/wire/frame.h: reads HELLO, answers
HELLO_OK, reads the REQUEST and saves it as OUTDIR/request-N.json, then:
  ok      PROGRESS prepare, freeze, dump, rootfs, restore, commit (waiting
          for OUTDIR/go before `restore` when OUTDIR/gate exists), then
          RESULT {downtime_ms: 123, bytes: 4567890}
  error   PROGRESS prepare, freeze, then ERROR {error: "criu dump: test failure"}
  lost    as ok up to PROGRESS commit, then closes without a RESULT
  notready as ok, but the target pod never becomes Ready (in the other modes
          the peer, standing in for the target's kubelet too, sets the target
          pod's Ready condition with $PEER_KUBECTL before PROGRESS commit)
  silent  says nothing after the REQUEST (timeout tests)
  sts     a StatefulSet pod's deferred target: PROGRESS prepare, freeze, dump,
          rootfs, staged; then it stands in for the StatefulSet controller
          and the target kubelet: waits until the source pod is deleted,
          creates OUTDIR/successor.yaml (the same name; the controller's
          webhook mutates it), saves what the API server made of it as
          OUTDIR/successor.json, sets it Running and Ready, then PROGRESS
          commit, cleanup and RESULT
  sts-fail as sts up to the successor's creation, then ERROR {error:
          "restore of container app failed: test failure"}
Serves CONNECTIONS connections (default 1) one after the other, then exits."""
import json
import subprocess
import os
import socket
import ssl
import struct
import sys
import time

MAGIC, VERSION = 0x46455259, 1
HELLO, HELLO_OK, REQUEST, PROGRESS, RESULT, ERROR = 1, 2, 3, 4, 5, 6


def send(sock, ftype, obj):
    body = json.dumps(obj).encode()
    sock.sendall(struct.pack(">IBBHI", MAGIC, VERSION, ftype, 0, len(body)) + body)


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("peer closed")
        data += chunk
    return data


def recv(sock):
    magic, _version, ftype, _flags, length = struct.unpack(">IBBHI", read_exact(sock, 12))
    assert magic == MAGIC, hex(magic)
    body = read_exact(sock, length) if length else b""
    return ftype, json.loads(body) if body else {}


def ready(request):
    """What the target node's kubelet does once the restored containers run:
    the target pod's Ready condition (through the status subresource, with
    $KUBECONFIG, the test's admin)."""
    kubectl = os.environ.get("PEER_KUBECTL")
    if not kubectl:
        return
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {"conditions": [{"type": "Ready", "status": "True",
                                         "lastTransitionTime": now}]}}
    subprocess.run([kubectl, "-n", request["namespace"], "patch", "pod", request["targetPod"],
                    "--subresource=status", "--type=merge", "-p", json.dumps(status)],
                   stdout=subprocess.DEVNULL, check=False)


def kubectl(*args, **kw):
    return subprocess.run([os.environ["PEER_KUBECTL"], *args], capture_output=True, text=True,
                          check=False, **kw)


def successor(request, outdir):
    """The StatefulSet controller re-creates the pod once the source is gone."""
    ns, name = request["namespace"], request["pod"]
    for _ in range(150):
        r = kubectl("-n", ns, "get", "pod", name, "-o", "jsonpath={.metadata.uid}")
        if r.returncode != 0 or r.stdout != request["podUID"]:
            break
        time.sleep(0.1)
    r = kubectl("-n", ns, "create", "-f", os.path.join(outdir, "successor.yaml"), "-o", "json")
    with open(os.path.join(outdir, "successor.json"), "w") as f:
        f.write(r.stdout or "{}")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"status": {"phase": "Running", "podIP": request["podIP"],
                         "conditions": [{"type": "Ready", "status": "True",
                                         "lastTransitionTime": now}]}}
    kubectl("-n", ns, "patch", "pod", name, "--subresource=status", "--type=merge", "-p",
            json.dumps(status))


def serve_sts(conn, mode, outdir, request):
    sent = 0
    for phase in ["prepare", "freeze", "dump", "rootfs", "staged"]:
        sent += 1000000
        send(conn, PROGRESS, {"phase": phase, "bytes_sent": sent, "elapsed_ms": 10})
        time.sleep(0.2)
    successor(request, outdir)
    if mode == "sts-fail":
        send(conn, ERROR, {"error": "restore of container app failed: test failure"})
        return
    for phase in ["commit", "cleanup"]:
        send(conn, PROGRESS, {"phase": phase, "bytes_sent": sent, "elapsed_ms": 10})
        time.sleep(0.2)
    send(conn, RESULT, {"result": "ok", "downtime_ms": 321, "bytes": sent})


def serve(conn, mode, outdir, n):
    ftype, hello = recv(conn)
    assert ftype == HELLO, ftype
    send(conn, HELLO_OK, {"node": "peer"})
    ftype, request = recv(conn)
    assert ftype == REQUEST, ftype
    subject = dict(x[0] for x in conn.getpeercert()["subject"])
    with open(os.path.join(outdir, "request-%d.json" % n), "w") as f:
        json.dump({"hello": hello, "request": request,
                   "peer": {"cn": subject.get("commonName"),
                            "ou": subject.get("organizationalUnitName")}}, f)
    if mode == "silent":
        time.sleep(60)
        return
    if mode.startswith("sts"):
        serve_sts(conn, mode, outdir, request)
        return
    sent = 0
    for phase in ["prepare", "freeze", "dump", "rootfs", "restore", "commit"]:
        if mode == "error" and phase == "dump":
            send(conn, ERROR, {"error": "criu dump: test failure"})
            return
        if phase == "restore" and os.path.exists(os.path.join(outdir, "gate")):
            for _ in range(300):
                if os.path.exists(os.path.join(outdir, "go")):
                    break
                time.sleep(0.1)
        if phase == "commit" and mode != "notready":
            ready(request)
        sent += 1000000
        send(conn, PROGRESS, {"phase": phase, "bytes_sent": sent, "elapsed_ms": 10})
        time.sleep(0.2)
    if mode == "lost":
        return  # committed, then the connection ends without a RESULT
    send(conn, RESULT, {"result": "ok", "downtime_ms": 123, "bytes": 4567890,
                        "phases": {"dump": 50, "restore": 60}})


def main():
    port, mode, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    count, pki, node = int(sys.argv[4]), sys.argv[5], sys.argv[6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(pki, node + ".crt"), os.path.join(pki, node + ".key"))
    ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    open(os.path.join(outdir, "listening"), "w").close()
    for n in range(count):
        raw, _ = srv.accept()
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("TLS handshake refused:", e, flush=True)
            raw.close()
            continue
        try:
            serve(conn, mode, outdir, n)
        except (EOFError, ConnectionError):
            pass
        finally:
            conn.close()


main()
