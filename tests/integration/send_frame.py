"""send_frame.py SOCKET KIND - sends one malformed frame to an agent's control
socket and prints the agent's answer (the error text of its ERROR frame)."""
import json
import socket
import struct
import sys

MAGIC = 0x46455259
REQUEST, ERROR = 3, 6


def frame(kind):
    if kind == "bad-magic":
        return struct.pack(">IBBHI", 0xDEADBEEF, 1, REQUEST, 0, 2) + b"{}"
    if kind == "oversize":
        return struct.pack(">IBBHI", MAGIC, 1, REQUEST, 0, 1 << 30)
    if kind == "not-json":
        body = b"\x00\x01binary"
        return struct.pack(">IBBHI", MAGIC, 1, REQUEST, 0, len(body)) + body
    raise SystemExit("unknown kind " + kind)


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(sys.argv[1])
    sock.sendall(frame(sys.argv[2]))
    header = sock.recv(12, socket.MSG_WAITALL)
    magic, _version, ftype, _flags, length = struct.unpack(">IBBHI", header)
    body = sock.recv(length, socket.MSG_WAITALL)
    assert magic == MAGIC and ftype == ERROR, (magic, ftype)
    print(json.loads(body)["error"])


main()
