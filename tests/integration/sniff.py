#!/usr/bin/python3
"""sniff.py IFACE OUT STOPFILE - records the payload bytes of every frame seen
on IFACE (raw AF_PACKET socket) into OUT until STOPFILE exists, then prints
how many bytes it saw.  The security suite greps the capture for plaintext."""
import os, socket, sys

iface, out, stop = sys.argv[1:4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((iface, 0))
s.settimeout(0.2)
seen = 0
with open(out, "wb") as f:
    while not os.path.exists(stop):
        try:
            frame = s.recv(65536)
        except socket.timeout:
            continue
        f.write(frame)
        seen += len(frame)
print(seen)
