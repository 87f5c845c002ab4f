#!/usr/bin/env python3
"""Load driver of tests/bench/etcd.sh.

    etcd-bench.py ETCD_URL API_URL_1 API_URL_2

ETCD_URL is the etcd both API servers store in. Measures, in one run:
  - etcd's own floor: puts of a pod-sized value through its JSON gateway,
    one client on a keep-alive connection (p50/p99);
  - pod creates through API server 1, one client (p50/p99), and their ratio
    to the floor (target <= 3);
  - create throughput with 8 clients on server 1 alone, then with 8 clients
    spread over both servers, and their ratio (target >= 1.6).
Prints one row per measurement; exits 1 if a create is refused.
"""
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "", "labels": {"app": "bench"}},
    "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]},
}


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] * 1000


def etcd_floor(url, n):
    c = conn(url)
    value = base64.b64encode(json.dumps(POD).encode()).decode()
    lat = []
    for i in range(n):
        key = base64.b64encode(f"/bench-floor/{i}".encode()).decode()
        body = json.dumps({"key": key, "value": value})
        t = time.monotonic()
        c.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        lat.append(time.monotonic() - t)
        if r.status != 200:
            raise SystemExit(f"etcd put: HTTP {r.status}")
    return lat


def create_pods(urls, prefix, n, clients):
    """n pod creates by `clients` threads, client i on urls[i % len(urls)].
    Returns (latencies, seconds)."""
    lat, errors, lock = [], [], threading.Lock()

    def worker(w):
        c = conn(urls[w % len(urls)])
        mine = []
        for i in range(w, n, clients):
            pod = dict(POD, metadata={"name": f"{prefix}-{i}", "labels": {"app": "bench"}})
            t = time.monotonic()
            c.request("POST", "/api/v1/namespaces/default/pods", json.dumps(pod),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            mine.append(time.monotonic() - t)
            if r.status != 201:
                with lock:
                    errors.append(f"{prefix}-{i}: HTTP {r.status}")
        with lock:
            lat.extend(mine)

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.monotonic() - t0
    if errors:
        raise SystemExit("creates refused: " + "; ".join(errors[:5]))
    return lat, el


def row(name, value, unit, target=""):
    print(f"{name:<48} {value:>10.2f} {unit:<8} {target}")


def main():
    etcd_url, api1, api2 = sys.argv[1:4]
    floor = etcd_floor(etcd_url, 500)
    row("etcd put p50 (gateway, 1 client)", pct(floor, 0.5), "ms")
    row("etcd put p99 (gateway, 1 client)", pct(floor, 0.99), "ms")
    lat, _ = create_pods([api1], "one", 500, 1)
    ratio = pct(lat, 0.5) / pct(floor, 0.5)
    row("pod create p50 (1 client)", pct(lat, 0.5), "ms")
    row("pod create p99 (1 client)", pct(lat, 0.99), "ms")
    row("create p50 / etcd put p50", ratio, "x", "target <= 3: " + ("PASS" if ratio <= 3 else "MISS"))
    _, el1 = create_pods([api1], "solo", 2000, 8)
    row("creates/s, 8 clients, one server", 2000 / el1, "/s")
    _, el2 = create_pods([api1, api2], "pair", 2000, 8)
    row("creates/s, 8 clients, two servers", 2000 / el2, "/s")
    scale = el1 / el2
    row("two servers / one server", scale, "x", "target >= 1.6: " + ("PASS" if scale >= 1.6 else "MISS"))


if __name__ == "__main__":
    main()
