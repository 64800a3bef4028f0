#!/usr/bin/env python3
"""Count datagrams carrying MARKER on ADDR:PORT for SECONDS (at most 30), print the count.

udp_count.py ADDR PORT SECONDS [MARKER]
"""
import socket
import sys
import time

if len(sys.argv) not in (4, 5):
    sys.exit(__doc__)
addr, port, secs = sys.argv[1], int(sys.argv[2]), min(float(sys.argv[3]), 30.0)
marker = (sys.argv[4] if len(sys.argv) == 5 else "vxmesh-forged").encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
end, n = time.monotonic() + secs, 0
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        if marker in s.recv(2048):
            n += 1
    except socket.timeout:
        break
print(n)
