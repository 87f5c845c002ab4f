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
STATE_DIR/auth "bearer" makes the proxy a registry with a token server: every
/v2/ request needs "Authorization: Bearer good-token", else 401 with a Bearer
challenge naming STATE_DIR's /token endpoint, which hands the token out for
basic credentials tester:secret (and forwards upstream with those).
STATE_DIR/fail "429" answers every manifest request 429 TOOMANYREQUESTS;
"503once" answers the first one 503, then forwards.
Every request is logged to STATE_DIR/log as "METHOD PATH range=VALUE"."""
import base64
import json
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


def setting(name, default):
    try:
        with open(os.path.join(STATE, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return default


def mode():
    return setting("mode", "pass")


FAILED_ONCE = set()
BASIC = "Basic " + base64.b64encode(b"tester:secret").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward(self):
        rng = self.headers.get("Range")
        log(f"{self.command} {self.path} range={rng} auth={self.headers.get('Authorization', '-').split(' ')[0]}")
        bearer = setting("auth", "") == "bearer"
        if bearer and self.path.startswith("/token"):
            if self.headers.get("Authorization") != BASIC:
                return self.answer(401, {"details": "incorrect username or password"})
            return self.answer(200, {"token": "good-token", "expires_in": 300})
        if bearer:
            if self.headers.get("Authorization") != "Bearer good-token":
                port = self.server.server_address[1]
                chal = (f'Bearer realm="http://127.0.0.1:{port}/token",'
                        f'service="mink8s-test",scope="repository:library/nginx:pull"')
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "authentication required"}]},
                                   [("WWW-Authenticate", chal)])
            self.headers.replace_header("Authorization", BASIC)
        fail = setting("fail", "")
        if "/manifests/" in self.path and fail == "429":
            return self.answer(429, {"errors": [{"code": "TOOMANYREQUESTS",
                                                 "message": "too many requests"}]},
                               [("Retry-After", "0")])
        if "/manifests/" in self.path and fail == "503once" and self.path not in FAILED_ONCE:
            FAILED_ONCE.add(self.path)
            return self.answer(503, {"errors": [{"code": "UNAVAILABLE",
                                                 "message": "service unavailable"}]})
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
