#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test-only HTTP/1.1 file server on 127.0.0.1 that injects faults by path.

    httpd.py --root DIR --port-file FILE --log FILE [--lifetime SECONDS]

Listens on a port the OS picks and writes it to --port-file (atomically)
once it accepts connections.  Serves DIR/NAME under these prefixes:

    /ok/NAME        the file, with Range support
    /404/NAME       404 Not Found
    /500once/NAME   500 on the first request for NAME, then like /ok/
    /cut/NAME       first request: half the body, then the connection closes;
                    later requests like /ok/ (so a Range resume works)
    /stall/NAME     headers and a little body, then 60 s of silence
    /norange/NAME   the whole file with 200, whatever Range says
    /m1/NAME, ...   any other first segment: like /ok/ (mirror trees)

Every request is logged as "METHOD PATH RANGE" ("-" when there is no
Range header), one line each, flushed at once.  Exits by itself after
--lifetime seconds (default 300) and on SIGTERM.  Never shipped.
"""

import argparse
import http.server
import os
import re
import signal
import socketserver
import sys
import threading
import time

STALL_SECONDS = 60


class State:
    def __init__(self, root, log):
        self.root = root
        self.log = log
        self.lock = threading.Lock()
        self.seen = set()  # (fault, name) already served once

    def first(self, fault, name):
        with self.lock:
            if (fault, name) in self.seen:
                return False
            self.seen.add((fault, name))
            return True

    def record(self, line):
        with self.lock:
            self.log.write(line + "\n")
            self.log.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dy-test-httpd"

    def log_message(self, fmt, *args):  # quiet: the request log is ours
        pass

    def do_GET(self):
        state = self.server.state
        rng = self.headers.get("Range")
        state.record("%s %s %s" % (self.command, self.path, rng or "-"))
        m = re.fullmatch(r"/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", self.path)
        if m is None:
            return self.error(404)
        fault, name = m.group(1), m.group(2)
        try:
            with open(os.path.join(state.root, name), "rb") as f:
                body = f.read()
        except OSError:
            return self.error(404)
        if fault == "404":
            return self.error(404)
        if fault == "500once" and state.first(fault, name):
            return self.error(500)
        if fault == "stall":
            return self.stall(body)
        if fault == "norange":
            rng = None
        cut = fault == "cut" and state.first(fault, name)
        self.send_file(body, rng, cut)

    def error(self, code):
        body = b"fault injected\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_file(self, body, rng, cut):
        size = len(body)
        start, end = 0, size - 1
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if rng is not None and m is not None:
            start = int(m.group(1))
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        else:
            self.send_response(200)
        part = body[start : end + 1]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if cut:
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)

    def stall(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:16])
        self.wfile.flush()
        time.sleep(STALL_SECONDS)
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients hang up on purpose (timeouts, aborted error pages).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    args = ap.parse_args()

    # Never outlive the test, however it ends.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(max(1, int(args.lifetime)))

    log = open(args.log, "a", encoding="utf-8")
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(args.root, log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
