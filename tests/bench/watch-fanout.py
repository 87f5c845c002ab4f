#!/usr/bin/env python3
"""Watch fan-out memory of the API server at URL (process PID): opens W
watches of ConfigMaps in namespace "default", creates N ConfigMaps of SIZE KiB
each, closes the watches and reports the server's memory, read from
/proc/PID/status, as one JSON line:

    {"watchers": W, "creates": N, "size_kib": SIZE, "rss_before_mib": ...,
     "rss_peak_mib": ..., "hwm_mib": ..., "rss_after_mib": ...,
     "events_read": ..., "seconds": ...}

rss_peak_mib is the highest VmRSS sampled (every 20 ms) from the first
create until the watches were closed; hwm_mib the kernel's VmHWM at that
point; rss_after_mib the VmRSS once every watch has left the server (its
apiserver_longrunning_requests gauge is back to what it was, at most
--leave-timeout seconds; watchers_left says whether they did) and the RSS
has stopped falling for a second (bounded: at most --settle seconds).

    watch-fanout.py URL PID [--watchers 200] [--creates 30] [--size-kib 900]
                    [--selector metadata.name=nomatch | --selector ""]
                    [--read] [--settle 10] [--leave-timeout 30]

The watches start from the resourceVersion of a list, as informers start
theirs. By default they carry a fieldSelector no object matches and never
read their sockets (the worst case for a server that queues per watcher);
--selector "" watches everything, --read drains every stream while the
creates run.
"""
import argparse
import http.client
import json
import re
import select
import socket
import sys
import threading
import time
import urllib.parse


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s for pid %d" % (field, pid))


def watchers_gauge(host, port):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = re.search(r'^apiserver_longrunning_requests\{verb="WATCH"\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def wait_for(what, cond, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit("gave up after %ds waiting for %s" % (secs, what))


def list_rv(host, port):
    c = http.client.HTTPConnection(host, port, timeout=60)
    c.request("GET", "/api/v1/namespaces/default/configmaps?limit=1")
    rv = json.loads(c.getresponse().read())["metadata"]["resourceVersion"]
    c.close()
    return rv


def open_watch(host, port, selector, rv):
    # from a list's resourceVersion, as informers start theirs
    q = {"watch": "1", "resourceVersion": rv}
    if selector:
        q["fieldSelector"] = selector
    path = "/api/v1/namespaces/default/configmaps?" + urllib.parse.urlencode(q)
    s = socket.create_connection((host, port), timeout=30)
    # a small receive buffer, so that a watch that does not read backs up
    # into the server rather than into this process
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: application/json\r\n\r\n"
               % (path, host, port)).encode())
    return s


class Stream:
    """The body of one watch answer (HTTP/1.1, chunked), decoded as it
    arrives; counts the event lines in it."""

    def __init__(self):
        self.raw = b""
        self.headers_done = False
        self.chunk_left = 0  # bytes of the current chunk still to come
        self.events = 0

    def feed(self, data):
        if not self.headers_done or (self.chunk_left == 0 and self.raw):
            data = self.raw + data
            self.raw = b""
        pos = 0
        if not self.headers_done:
            i = data.find(b"\r\n\r\n")
            if i < 0:
                self.raw = data
                return
            pos = i + 4
            self.headers_done = True
        n = len(data)
        while pos < n:
            if self.chunk_left == 0:
                i = data.find(b"\r\n", pos)
                if i < 0:
                    self.raw = data[pos:]  # a chunk size line cut in two
                    return
                line = data[pos:i]
                pos = i + 2
                if not line:  # the CRLF after a chunk's data
                    continue
                self.chunk_left = int(line.split(b";")[0], 16)
                if self.chunk_left == 0:
                    return
            end = min(n, pos + self.chunk_left)
            # events are compact JSON, one per line
            self.events += data.count(b"\n", pos, end)
            self.chunk_left -= end - pos
            pos = end


class Reader(threading.Thread):
    """Drains every socket, counting event lines."""

    def __init__(self, socks):
        super().__init__(daemon=True)
        self.socks = list(socks)
        self.streams = {s: Stream() for s in socks}
        self.stop = False

    @property
    def events(self):
        return sum(st.events for st in self.streams.values())

    def run(self):
        while not self.stop and self.socks:
            r, _, _ = select.select(self.socks, [], [], 0.1)
            for s in r:
                try:
                    data = s.recv(1 << 20)
                except OSError:
                    data = b""
                if not data:
                    self.socks.remove(s)
                    continue
                self.streams[s].feed(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pid", type=int)
    ap.add_argument("--watchers", type=int, default=200)
    ap.add_argument("--creates", type=int, default=30)
    ap.add_argument("--size-kib", type=int, default=900)
    ap.add_argument("--selector", default="metadata.name=nomatch")
    ap.add_argument("--read", action="store_true")
    ap.add_argument("--settle", type=float, default=10)
    ap.add_argument("--leave-timeout", type=float, default=30)
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    host, port = u.hostname, u.port

    base_watchers = watchers_gauge(host, port)
    rss_before = rss_kib(a.pid)
    rv = list_rv(host, port)
    socks = [open_watch(host, port, a.selector, rv) for _ in range(a.watchers)]
    wait_for("%d watches" % a.watchers,
             lambda: watchers_gauge(host, port) >= base_watchers + a.watchers, 60)
    reader = None
    if a.read:
        reader = Reader(socks)
        reader.start()

    peak = [rss_kib(a.pid)]
    sampling = [True]

    def sample():
        while sampling[0]:
            try:
                peak[0] = max(peak[0], rss_kib(a.pid))
            except (OSError, RuntimeError):
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.time()
    payload = "x" * (a.size_kib * 1024)
    tag = "%x" % int(time.time() * 1000)
    c = http.client.HTTPConnection(host, port, timeout=120)
    for i in range(a.creates):
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "fanout-%s-%d" % (tag, i)},
                           "data": {"blob": payload}})
        c.request("POST", "/api/v1/namespaces/default/configmaps", body,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise SystemExit("create %d: HTTP %d" % (i, r.status))
    c.close()
    if reader:
        want = a.creates * a.watchers
        wait_for("%d events read" % want, lambda: reader.events >= want, 120)
    seconds = time.time() - t0
    sampling[0] = False
    sampler.join()
    hwm = rss_kib(a.pid, "VmHWM")
    if reader:
        reader.stop = True
        reader.join()
    for s in socks:
        s.close()
    left = True
    try:
        wait_for("the watches to leave the server",
                 lambda: watchers_gauge(host, port) <= base_watchers, a.leave_timeout)
    except SystemExit:
        left = False
    # settle: the RSS a server keeps, not one caught mid-free
    after = rss_kib(a.pid)
    deadline = time.time() + a.settle
    last_drop = time.time()
    while time.time() < deadline and time.time() - last_drop < 1.0:
        time.sleep(0.1)
        now = rss_kib(a.pid)
        if now < after:
            after = now
            last_drop = time.time()
    print(json.dumps({
        "watchers": a.watchers, "creates": a.creates, "size_kib": a.size_kib,
        "selector": a.selector, "read": a.read,
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_peak_mib": round(peak[0] / 1024, 1),
        "hwm_mib": round(hwm / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "events_read": reader.events if reader else 0,
        "watchers_left": left,
        "seconds": round(seconds, 2),
    }))


if __name__ == "__main__":
    sys.exit(main())
