#!/usr/bin/env python3
"""Load driver of tests/bench/etcd.sh.

    etcd-bench.py ETCD_URL API_URL_1 API_URL_2 [ETCD_PID API_PID_1 API_PID_2]

ETCD_URL is the etcd both API servers store in. Measures, in one run:
  - etcd's own floor: puts of a pod-sized value through its JSON gateway,
    one client on a keep-alive connection (p50/p99);
  - pod creates through API server 1, one client (p50/p99), and their ratio
    to the floor (target <= 3);
  - create throughput with 8 clients on server 1 alone, then with 8 clients
    spread over both servers, and their ratio (target >= 1.6);
  - the ceilings that ratio meets on this machine: etcd's own put
    throughput through its gateway with 8 clients (every create is one etcd
    write; the etcd calls per create are shown too), and (given the PIDs) the
    CPU time one create costs the API server, etcd and this driver, against
    the machine's cores: creates/s cannot pass cores / CPU per create.
Prints one row per measurement; exits 1 if a create is refused.
"""
import base64
import http.client
import json
import os
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


def run_clients(worker, clients):
    """Runs worker(0..clients-1) on as many threads; seconds until all end."""
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.monotonic() - t0


def etcd_put_rate(url, n, clients):
    """n puts by `clients` threads, one keep-alive connection each; puts/s."""
    value = base64.b64encode(json.dumps(POD).encode()).decode()

    def worker(w):
        c = conn(url)
        for i in range(w, n, clients):
            key = base64.b64encode(f"/bench-rate/{i}".encode()).decode()
            c.request("POST", "/v3/kv/put", json.dumps({"key": key, "value": value}),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()

    return n / run_clients(worker, clients)


def etcd_calls(url):
    """Unary gRPC calls etcd has answered so far (its /metrics)."""
    c = conn(url)
    c.request("GET", "/metrics")
    r = c.getresponse()
    total = 0
    for line in r.read().decode().splitlines():
        if line.startswith("grpc_server_handled_total{") and 'grpc_type="unary"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

    el = run_clients(worker, clients)
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
    pids = [int(p) for p in sys.argv[4:7]]
    before = [cpu_s(p) for p in pids]
    me = os.times()
    calls = etcd_calls(etcd_url)
    _, el1 = create_pods([api1], "solo", 2000, 8)
    calls = (etcd_calls(etcd_url) - calls) / 2000
    me2 = os.times()
    row("creates/s, 8 clients, one server", 2000 / el1, "/s")
    _, el2 = create_pods([api1, api2], "pair", 2000, 8)
    row("creates/s, 8 clients, two servers", 2000 / el2, "/s")
    scale = el1 / el2
    row("two servers / one server", scale, "x", "target >= 1.6: " + ("PASS" if scale >= 1.6 else "MISS"))
    etcd_before = cpu_s(pids[0]) if pids else 0
    puts = etcd_put_rate(etcd_url, 2000, 8)
    put_ms = (cpu_s(pids[0]) - etcd_before) * 1000 / 2000 if pids else 0
    # each create is one etcd write (plus a cheaper read txn): no number of
    # API servers creates faster than etcd puts
    row("etcd puts/s, 8 clients (gateway)", puts, "/s")
    row("one server's creates/s / etcd puts/s", (2000 / el1) / puts, "x")
    row("etcd calls per create", calls, "")
    if pids:
        etcd_ms, api_ms = [(cpu_s(p) - b) * 1000 / 2000 for p, b in zip(pids, before)][:2]
        drv_ms = (me2.user + me2.system - me.user - me.system) * 1000 / 2000
        cores = os.cpu_count()
        row("CPU per create: API server", api_ms, "ms")
        row("CPU per create: etcd", etcd_ms, "ms")
        row("CPU per bare etcd put (gateway, 8 clients)", put_ms, "ms")
        row("CPU per create: this driver", drv_ms, "ms")
        ceiling = cores * 1000 / (api_ms + etcd_ms + drv_ms)
        row(f"creates/s ceiling, {cores} cores / CPU per create", ceiling, "/s")
        row("one server's creates/s / that ceiling", (2000 / el1) / ceiling, "x")
        with open("/proc/loadavg") as f:
            print(f"(load average at the end: {f.read().split()[0]})")


if __name__ == "__main__":
    main()
