#!/usr/bin/env python3
"""Load driver of tests/bench/apply.sh.

    apply-bench.py API_URL [N]

Two Deployments of the same shape (three containers with ports, env and
resources): one written by plain updates (PUT of the whole object, as
kubectl replace does), the other by server-side apply (PATCH
application/apply-patch+yaml with a field manager, as kubectl apply
--server-side does). Each write changes replicas and an annotation, so each
is stored; the two kinds of write alternate on one keep-alive connection
so that they share the machine's noise. Prints p50/p99 of both and the
ratio of the p99s (target <= 2); exits 1 if a write is refused.
"""
import copy
import http.client
import json
import sys
import time
import urllib.parse

NS = "default"
PATH = "/apis/apps/v1/namespaces/%s/deployments" % NS


def deployment(name, replicas, mark):
    containers = []
    for c in range(3):
        containers.append({
            "name": "c%d" % c,
            "image": "nginx:1.%d" % c,
            "ports": [{"containerPort": 8000 + c, "name": "http%d" % c}],
            "env": [{"name": "K%d" % k, "value": "v%d" % k} for k in range(5)],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                          "limits": {"cpu": "1", "memory": "256Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data%d" % c}],
        })
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name, "tier": "bench"},
                     "annotations": {"bench/mark": str(mark)}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "bench"}},
                "spec": {"containers": containers,
                         "volumes": [{"name": "data", "emptyDir": {}}]},
            },
        },
    }


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] * 1000


def call(c, method, path, body, ctype):
    c.request(method, path, json.dumps(body), {"Content-Type": ctype})
    r = c.getresponse()
    data = r.read()
    if r.status not in (200, 201):
        raise SystemExit("%s %s: HTTP %d: %s" % (method, path, r.status, data[:300]))
    return json.loads(data)


def row(name, value, unit, target=""):
    print(f"{name:<48} {value:>10.2f} {unit:<8} {target}")


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    call(c, "POST", PATH + "?fieldManager=bench-update", deployment("upd", 1, 0),
         "application/json")
    apply_path = PATH + "/ssa?fieldManager=bench-apply"
    call(c, "PATCH", apply_path, deployment("ssa", 1, 0), "application/apply-patch+yaml")
    upd, ssa = [], []
    for i in range(1, n + 1):
        body = deployment("upd", i % 5 + 1, i)
        t = time.monotonic()
        call(c, "PUT", PATH + "/upd?fieldManager=bench-update", body, "application/json")
        upd.append(time.monotonic() - t)
        t = time.monotonic()
        call(c, "PATCH", apply_path, deployment("ssa", i % 5 + 1, i),
             "application/apply-patch+yaml")
        ssa.append(time.monotonic() - t)
    row("update (PUT) p50", pct(upd, 0.5), "ms")
    row("update (PUT) p99", pct(upd, 0.99), "ms")
    row("server-side apply p50", pct(ssa, 0.5), "ms")
    row("server-side apply p99", pct(ssa, 0.99), "ms")
    ratio = pct(ssa, 0.99) / pct(upd, 0.99)
    row("apply p99 / update p99", ratio, "x", "target <= 2: " + ("PASS" if ratio <= 2 else "MISS"))


if __name__ == "__main__":
    main()
