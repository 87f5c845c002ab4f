#!/usr/bin/env python3
"""A registry proxy that breaks blob downloads on purpose, for pull tests.

    blobproxy.py UPSTREAM_PORT STATE_DIR

Listens on a free 127.0.0.1 port (written to STATE_DIR/port) and forwards
every request to 127.0.0.1:UPSTREAM_PORT. STATE_DIR/mode decides what
happens to a GET of a blob larger than 64 KiB that carries no Range header:
  pass   forward it whole
  cut    the first time for each blob: send half, then reset the connection
  stall  send half, log "stalled", hold the connection until STATE_DIR/release
         exists (at most 60 s), then close it
Every request is logged to STATE_DIR/log as "METHOD PATH range=VALUE"."""
import http.client
import http.server
import os
import socket
import socketserver
import struct
import sys
import time

UPSTREAM = int(sys.argv[1])
STATE = sys.argv[2]
CUT_DONE = set()


def log(line):
    with open(os.path.join(STATE, "log"), "a") as f:
        f.write(line + "\n")


def mode():
    try:
        with open(os.path.join(STATE, "mode")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return "pass"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        rng = self.headers.get("Range")
        log(f"{self.command} {self.path} range={rng}")
        body = None
        if self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        up = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = f"127.0.0.1:{UPSTREAM}"
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length"):
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        m = mode()
        if (self.command == "GET" and "/blobs/" in self.path and rng is None
                and resp.status == 200 and len(data) > 65536):
            if m == "cut" and self.path not in CUT_DONE:
                CUT_DONE.add(self.path)
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                log(f"cut {self.path} at {len(data) // 2}")
                # RST instead of FIN: a connection reset mid-body
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            if m == "stall":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                log(f"stalled {self.path}")
                deadline = time.time() + 60
                while (not os.path.exists(os.path.join(STATE, "release"))
                       and time.time() < deadline):
                    time.sleep(0.05)
                self.close_connection = True
                return
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = forward
    do_HEAD = forward
    do_POST = forward
    do_PUT = forward
    do_PATCH = forward


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
srv.serve_forever()
