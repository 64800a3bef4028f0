#!/usr/bin/env python3
"""Forged VXLAN frames and marker counting for test_admission.sh.

  vxforge.py forge DST[:PORT] VNI DMAC SMAC SIP DIP DPORT TAG COUNT INTERVAL
      COUNT VXLAN packets (flags 0x08, VNI) to DST:PORT (4789) from a plain UDP
      socket; each carries an Ethernet frame DMAC <- SMAC with IPv4
      SIP -> DIP, UDP 40000 -> DPORT, payload "VXMESH-MARK:TAG:forged:SEQ".
  vxforge.py send DIP DPORT TAG COUNT INTERVAL
      COUNT ordinary UDP datagrams "VXMESH-MARK:TAG:member:SEQ" to DIP:DPORT
      (a member's container talking through the overlay).
  vxforge.py listen DPORT SECONDS TAG READYFILE
      Binds DPORT, creates READYFILE, counts distinct markers of TAG for
      SECONDS, prints {"forged": N, "member": M}.

Everything is bounded: at most 100 packets per call, at most 0.5 s between
them, at most 30 s of listening; DST must be in 192.0.2.0/24 (the tests'
underlay) and DIP in 10.0.0.0/8 (the tests' overlays).
"""
import ipaddress
import json
import socket
import struct
import sys
import time

VXLAN_PORT = 4789
MAX_COUNT = 100
MAX_INTERVAL = 0.5
MAX_LISTEN = 30.0
UNDERLAY = ipaddress.ip_network("192.0.2.0/24")
OVERLAY = ipaddress.ip_network("10.0.0.0/8")


def die(msg):
    sys.stderr.write("vxforge: %s\n" % msg)
    sys.exit(2)


def inside(addr, net):
    if ipaddress.ip_address(addr) not in net:
        die("%s is outside %s" % (addr, net))
    return addr


def bounded(count, interval):
    count, interval = int(count), float(interval)
    if not 0 < count <= MAX_COUNT or not 0 <= interval <= MAX_INTERVAL:
        die("count must be 1..%d, interval 0..%.1f s" % (MAX_COUNT, MAX_INTERVAL))
    return count, interval


def mac(text):
    b = bytes(int(x, 16) for x in text.split(":"))
    if len(b) != 6:
        die("bad MAC " + text)
    return b


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def marker(tag, kind, seq):
    return ("VXMESH-MARK:%s:%s:%d" % (tag, kind, seq)).encode()


def frame(vni, dmac, smac, sip, dip, dport, payload, ident):
    udp = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload  # checksum 0: none
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0x4000, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(sip), socket.inet_aton(dip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = mac(dmac) + mac(smac) + struct.pack("!H", 0x0800)
    vxlan = struct.pack("!B3xI", 0x08, (vni & 0xFFFFFF) << 8)  # flags I, VNI, reserved
    return vxlan + eth + ip + udp


def cmd_forge(dst, vni, dmac, smac, sip, dip, dport, tag, count, interval):
    dst, _, port = dst.partition(":")
    inside(dst, UNDERLAY)
    port = int(port or VXLAN_PORT)
    inside(dip, OVERLAY)
    count, interval = bounded(count, interval)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for seq in range(count):
        s.sendto(frame(int(vni), dmac, smac, sip, dip, int(dport), marker(tag, "forged", seq),
                       seq + 1), (dst, port))
        time.sleep(interval)
    s.close()


def cmd_send(dip, dport, tag, count, interval):
    inside(dip, OVERLAY)
    count, interval = bounded(count, interval)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for seq in range(count):
        s.sendto(marker(tag, "member", seq), (dip, int(dport)))
        time.sleep(interval)
    s.close()


def cmd_listen(dport, seconds, tag, ready):
    seconds = min(float(seconds), MAX_LISTEN)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(dport)))
    open(ready, "w").close()
    seen = {"forged": set(), "member": set()}
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data = s.recv(2048)
        except socket.timeout:
            break
        parts = data.decode(errors="replace").split(":")
        if len(parts) == 4 and parts[0] == "VXMESH-MARK" and parts[1] == tag \
                and parts[2] in seen:
            seen[parts[2]].add(parts[3])
    s.close()
    print(json.dumps({k: len(v) for k, v in seen.items()}))


CMDS = {"forge": (cmd_forge, 10), "send": (cmd_send, 5), "listen": (cmd_listen, 4)}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS or len(sys.argv) - 2 != CMDS[sys.argv[1]][1]:
        die("usage: see the docstring at the top of " + sys.argv[0])
    CMDS[sys.argv[1]][0](*sys.argv[2:])
