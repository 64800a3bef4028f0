#!/usr/bin/env python3
"""Send forged VXLAN frames, as a host that is not a member would.

vxlan_forge.py DST_IP DST_PORT VNI INNER_DST_MAC INNER_SRC_IP INNER_DST_IP UDP_PORT COUNT [MARKER]

Each UDP datagram to DST_IP:DST_PORT carries a VXLAN header (flags 0x08,
VNI), an Ethernet frame to INNER_DST_MAC from a made-up unicast MAC, and an
IPv4/UDP datagram INNER_SRC_IP -> INNER_DST_IP:UDP_PORT whose payload is
MARKER.  For the demo and the tests, inside namespaces they made: COUNT is
capped at 1000, and one frame is sent every 10 ms.
"""
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(vni, dst_mac, src_ip, dst_ip, port, marker):
    payload = marker.encode()
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex("020000000099") + b"\x08\x00"
    vxlan = struct.pack("!II", 0x08000000, vni << 8)
    return vxlan + eth + ip + udp


def main():
    if len(sys.argv) not in (9, 10):
        sys.exit(__doc__)
    dst, dport, vni, mac, sip, dip, port, count = sys.argv[1:9]
    marker = sys.argv[9] if len(sys.argv) == 10 else "vxmesh-forged"
    pkt = frame(int(vni), mac, sip, dip, int(port), marker)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(min(int(count), 1000)):
        s.sendto(pkt, (dst, int(dport)))
        time.sleep(0.01)


if __name__ == "__main__":
    main()
