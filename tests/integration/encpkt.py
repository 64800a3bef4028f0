#!/usr/bin/env python3
"""Captures, altered ciphertext and counted receipts for test_encrypted.sh.

  encpkt.py pcap-stats PCAP VNI MARKER...
      Reads a pcap (Ethernet link type) and prints one JSON object: packets,
      udp4789_vni (UDP/4789 packets whose VXLAN VNI is VNI), udp4790 (UDP
      packets to or from port 4794), fragments (IPv4 fragments), max_ip_len
      of UDP/4794 packets, and hits: for each MARKER, how often its bytes
      occur anywhere in the file (a MARKER "hex:..." is given in hex).
  encpkt.py pcap-dgrams PCAP SRC DST DPORT LEN OUTDIR
      Writes the UDP payloads SRC -> DST:DPORT of exactly LEN bytes (single,
      unsegmented datagrams) to OUTDIR/0, OUTDIR/1, ... in capture order;
      prints how many.
  encpkt.py inject SRC DST:PORT MODE FILE
      Sends the datagram in FILE once from SRC (an ephemeral port) to
      DST:PORT, after MODE: asis, flip (one ciphertext byte inverted),
      trunc1 (the last byte cut off), short (only the first 12 bytes),
      session (another sender session id in the header).
  encpkt.py send DIP DPORT PAYLOAD COUNT INTERVAL
      COUNT UDP datagrams PAYLOAD-SEQ to DIP:DPORT.
  encpkt.py listen DPORT SECONDS PREFIX READYFILE [STOPFILE]
      Binds UDP DPORT, creates READYFILE, counts every datagram starting
      with PREFIX for SECONDS, or until STOPFILE exists; prints
      {"total": N, "seqs": {"SEQ": count}} (SEQ: what follows the last "-"
      or ":"), duplicates counted.
  encpkt.py tcp-recv PORT SECONDS READYFILE
      Accepts one TCP connection, reads to EOF, prints {"bytes", "sha256"}.
  encpkt.py tcp-send DIP PORT FILE
      Connects and sends FILE.

Everything is bounded: at most 100 datagrams per call, at most 0.5 s apart,
at most 30 s of listening or receiving; DST must be in 192.0.2.0/24 (the
tests' underlay), DIP in 10.0.0.0/8 (the tests' overlays).
"""
import hashlib
import ipaddress
import json
import os
import socket
import struct
import sys
import time

MAX_COUNT = 100
MAX_INTERVAL = 0.5
MAX_WAIT = 30.0
UNDERLAY = ipaddress.ip_network("192.0.2.0/24")
OVERLAY = ipaddress.ip_network("10.0.0.0/8")
HDR_LEN = 24  # the encrypted datapath's header; the ciphertext follows


def die(msg):
    sys.stderr.write("encpkt: %s\n" % msg)
    sys.exit(2)


def inside(addr, net):
    if ipaddress.ip_address(addr) not in net:
        die("%s is outside %s" % (addr, net))
    return addr


def packets(path):
    """(ts, frame bytes) of every record of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        die("%s: not a pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    if linktype != 1:
        die("%s: link type %d, want Ethernet (1)" % (path, linktype))
    out, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append(data[off:off + incl])
        off += incl
    return out


def ipv4_udp(frame):
    """(src, dst, ip total length, fragment?, UDP (sport, dport, payload)
    or None) of an IPv4 frame, else None."""
    off = 14
    etype = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
    while etype == 0x8100 and len(frame) >= off + 4:
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if etype != 0x0800 or len(frame) < off + 20:
        return None
    ihl = (frame[off] & 0x0F) * 4
    tot = struct.unpack("!H", frame[off + 2:off + 4])[0]
    frag = struct.unpack("!H", frame[off + 6:off + 8])[0]
    is_frag = bool(frag & 0x2000) or (frag & 0x1FFF) != 0
    src = socket.inet_ntoa(frame[off + 12:off + 16])
    dst = socket.inet_ntoa(frame[off + 16:off + 20])
    udp = None
    if frame[off + 9] == socket.IPPROTO_UDP and not (frag & 0x1FFF):
        u = off + ihl
        if len(frame) >= u + 8:
            sport, dport, ulen = struct.unpack("!HHH", frame[u:u + 6])
            udp = (sport, dport, frame[u + 8:u + ulen] if ulen >= 8 else b"", ulen)
    return src, dst, tot, is_frag, udp


def cmd_pcap_stats(path, vni, *markers):
    vni = int(vni)
    st = {"packets": 0, "udp4789_vni": 0, "udp4789": 0, "udp4790": 0, "fragments": 0,
          "max_ip_len": 0}
    for fr in packets(path):
        st["packets"] += 1
        ip = ipv4_udp(fr)
        if not ip:
            continue
        _, _, tot, is_frag, udp = ip
        st["fragments"] += is_frag
        if not udp:
            continue
        sport, dport, payload, _ = udp
        if 4789 in (sport, dport):
            st["udp4789"] += 1
            if len(payload) >= 8 and struct.unpack("!I", payload[4:8])[0] >> 8 == vni:
                st["udp4789_vni"] += 1
        if 4794 in (sport, dport):
            st["udp4790"] += 1
            st["max_ip_len"] = max(st["max_ip_len"], tot)
    with open(path, "rb") as f:
        raw = f.read()
    hits = {}
    for m in markers:
        b = bytes.fromhex(m[4:]) if m.startswith("hex:") else m.encode()
        hits[m] = raw.count(b)
    st["hits"] = hits
    print(json.dumps(st))


def cmd_pcap_dgrams(path, src, dst, dport, length, outdir):
    n = 0
    for fr in packets(path):
        ip = ipv4_udp(fr)
        if not ip or ip[0] != src or ip[1] != dst or not ip[4]:
            continue
        _, dp, payload, ulen = ip[4]
        if dp != int(dport) or ulen - 8 != int(length) or len(payload) != int(length):
            continue
        with open(os.path.join(outdir, str(n)), "wb") as f:
            f.write(payload)
        n += 1
    print(n)


def cmd_inject(src, dst, mode, path):
    dst, _, port = dst.partition(":")
    inside(dst, UNDERLAY)
    inside(src, UNDERLAY)
    with open(path, "rb") as f:
        d = bytearray(f.read())
    if len(d) < HDR_LEN + 16 + 1:
        die("%s: too short for an encrypted datagram" % path)
    if mode == "flip":
        d[HDR_LEN + 20] ^= 0xFF  # inside the sealed inner frame
    elif mode == "trunc1":
        d = d[:-1]
    elif mode == "short":
        d = d[:12]
    elif mode == "session":
        d[8:16] = bytes(b ^ 0x5A for b in d[8:16])
    elif mode != "asis":
        die("unknown mode " + mode)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.sendto(bytes(d), (dst, int(port)))
    s.close()


def cmd_send(dip, dport, payload, count, interval):
    inside(dip, OVERLAY)
    count, interval = int(count), float(interval)
    if not 0 < count <= MAX_COUNT or not 0 <= interval <= MAX_INTERVAL:
        die("count must be 1..%d, interval 0..%.1f s" % (MAX_COUNT, MAX_INTERVAL))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for seq in range(count):
        s.sendto(("%s-%d" % (payload, seq)).encode(), (dip, int(dport)))
        time.sleep(interval)
    s.close()


def cmd_listen(dport, seconds, prefix, ready, stop=None):
    seconds = min(float(seconds), MAX_WAIT)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(dport)))
    open(ready, "w").close()
    seqs, total = {}, 0
    deadline = time.monotonic() + seconds
    pre = prefix.encode()
    draining = False
    while True:
        left = deadline - time.monotonic()
        if not draining and (left <= 0 or (stop and os.path.exists(stop))):
            draining = True  # what is queued still counts
            s.setblocking(False)
        if not draining:
            s.settimeout(min(left, 0.1))
        try:
            data = s.recv(2048)
        except (socket.timeout, BlockingIOError):
            if draining:
                break
            continue
        if not data.startswith(pre):
            continue
        total += 1
        txt = data.decode(errors="replace")
        seq = txt[max(txt.rfind("-"), txt.rfind(":")) + 1:]
        seqs[seq] = seqs.get(seq, 0) + 1
    s.close()
    print(json.dumps({"total": total, "seqs": seqs}))


def cmd_tcp_recv(port, seconds, ready):
    seconds = min(float(seconds), MAX_WAIT)
    deadline = time.monotonic() + seconds
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    ls.settimeout(seconds)
    open(ready, "w").close()
    c, _ = ls.accept()
    h, n = hashlib.sha256(), 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            die("receive timed out after %d bytes" % n)
        c.settimeout(left)
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    ls.close()
    print(json.dumps({"bytes": n, "sha256": h.hexdigest()}))


def cmd_tcp_send(dip, port, path):
    inside(dip, OVERLAY)
    with open(path, "rb") as f:
        data = f.read()
    s = socket.create_connection((dip, int(port)), timeout=10)
    s.settimeout(MAX_WAIT)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # until the receiver closes: everything was read
    s.close()


CMDS = {"pcap-stats": (cmd_pcap_stats, -2), "pcap-dgrams": (cmd_pcap_dgrams, 6),
        "inject": (cmd_inject, 4), "send": (cmd_send, 5), "listen": (cmd_listen, -4),
        "tcp-recv": (cmd_tcp_recv, 3), "tcp-send": (cmd_tcp_send, 3)}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        die("usage: see the docstring at the top of " + sys.argv[0])
    fn, nargs = CMDS[sys.argv[1]]
    got = len(sys.argv) - 2
    if (nargs >= 0 and got != nargs) or (nargs < 0 and got < -nargs):
        die("usage: see the docstring at the top of " + sys.argv[0])
    fn(*sys.argv[2:])
