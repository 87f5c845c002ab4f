#!/usr/bin/env python3
"""CR vs ConfigMap p99 of create, GET and LIST (see crd.sh).

Usage: crd-bench.py PORT N

Creates a CRD (a schema with a defaulted field, an enum, bounds and a
pattern), then N ConfigMaps and N CRs of the same payload size alternately
on one keep-alive connection each, GETs every object alternately, LISTs
each collection 40 times alternately, and prints p50/p99 per operation
with the CR/ConfigMap ratio and PASS/MISS against 1.2."""
import http.client
import json
import sys
import time

TARGET = 1.2
PAYLOAD = "x" * 1024

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "benchitems.bench.example.com"},
    "spec": {
        "group": "bench.example.com",
        "scope": "Namespaced",
        "names": {"plural": "benchitems", "kind": "BenchItem"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {
                    "type": "object",
                    "required": ["payload"],
                    "properties": {
                        "payload": {"type": "string", "maxLength": 4096},
                        "color": {"type": "string", "enum": ["red", "green"]},
                        "replicas": {"type": "integer", "minimum": 0,
                                     "maximum": 100, "default": 1},
                        "name": {"type": "string", "pattern": "^[a-z]+$"},
                    }}}}},
        }],
    },
}


def request(conn, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    t0 = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    out = resp.read()
    dt = time.perf_counter() - t0
    if resp.status >= 300:
        sys.exit(f"crd bench: {method} {path}: {resp.status} {out[:300]!r}")
    return dt


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))] * 1000.0


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    cm_conn = http.client.HTTPConnection("127.0.0.1", port)
    cr_conn = http.client.HTTPConnection("127.0.0.1", port)
    request(cm_conn, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
    cm_path = "/api/v1/namespaces/default/configmaps"
    cr_path = "/apis/bench.example.com/v1/namespaces/default/benchitems"
    times = {k: [] for k in ("create-cm", "create-cr", "get-cm", "get-cr",
                             "list-cm", "list-cr")}
    for i in range(n):
        name = f"o-{i}"
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
              "data": {"payload": PAYLOAD, "color": "red", "name": "abc"}}
        cr = {"apiVersion": "bench.example.com/v1", "kind": "BenchItem",
              "metadata": {"name": name},
              "spec": {"payload": PAYLOAD, "color": "red", "name": "abc"}}
        # alternate which goes first, so neither always follows the other
        pair = [("cm", cm_conn, cm_path, cm), ("cr", cr_conn, cr_path, cr)]
        if i % 2:
            pair.reverse()
        for kind, conn, path, obj in pair:
            times["create-" + kind].append(request(conn, "POST", path, obj))
    for i in range(n):
        pair = [("cm", cm_conn, cm_path), ("cr", cr_conn, cr_path)]
        if i % 2:
            pair.reverse()
        for kind, conn, path in pair:
            times["get-" + kind].append(request(conn, "GET", f"{path}/o-{i}"))
    for i in range(40):
        pair = [("cm", cm_conn, cm_path), ("cr", cr_conn, cr_path)]
        if i % 2:
            pair.reverse()
        for kind, conn, path in pair:
            times["list-" + kind].append(request(conn, "GET", path))
    rc = 0
    print(f"{'operation (' + str(n) + ' objects, 1 KiB payload)':<44} {'CM p50':>8} {'CM p99':>8} "
          f"{'CR p50':>8} {'CR p99':>8} {'ratio':>6}  target")
    for op in ("create", "get", "list"):
        cm, cr = times[op + "-cm"], times[op + "-cr"]
        ratio = pct(cr, 99) / pct(cm, 99)
        verdict = "PASS" if ratio <= TARGET else "MISS"
        if ratio > TARGET:
            rc = 1
        print(f"{op + ' p99 (ms)':<44} {pct(cm, 50):8.2f} {pct(cm, 99):8.2f} "
              f"{pct(cr, 50):8.2f} {pct(cr, 99):8.2f} {ratio:6.2f}  <= {TARGET} {verdict}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
