#!/usr/bin/env python3
"""A tiny FastCGI client for tests: connects to a unix socket, optionally
waits before sending (to land a signal between accept and the request),
sends one GET and prints the raw response (CGI headers and body)."""
import socket
import struct
import sys
import time


def record(rtype, content, request_id=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack("!BBHHBx", 1, rtype, request_id, len(content), pad) + \
        content + b"\0" * pad


def pair(name, value):
    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def main():
    path, uri, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    print("connected", flush=True)
    time.sleep(delay)
    params = b"".join(pair(k.encode(), v.encode()) for k, v in [
        ("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri),
        ("REMOTE_ADDR", "127.0.0.1"), ("REQUEST_ID", "fcgiclient")])
    s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, params) +
              record(4, b"") + record(5, b""))
    out = b""
    while True:
        head = s.recv(8, socket.MSG_WAITALL)
        if len(head) < 8:
            break
        _, rtype, _, clen, pad = struct.unpack("!BBHHBx", head)
        body = s.recv(clen + pad, socket.MSG_WAITALL)[:clen] if clen + pad else b""
        if rtype == 6:
            out += body
        elif rtype == 3:
            break
    sys.stdout.write(out.decode("utf-8", "replace"))


main()
