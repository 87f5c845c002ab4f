#!/usr/bin/env python3
"""Creates N ClusterIP Services with one EndpointSlice of 5 endpoints each in
namespace "default" of the API server at URL, over a few keep-alive
connections in parallel. The objects look like the endpointslice
controller's (labels, owner reference, trigger-time annotation, target refs),
so the informers see realistic sizes.

    proxy-rss-load.py URL N [connections]
"""
import http.client
import json
import sys
import threading
import urllib.parse

EPS = 5


def service(i):
    # 10.96.0.1 is the kubernetes Service's
    ip = "10.96.%d.%d" % (1 + i // 250, i % 250 + 1)
    return "/api/v1/namespaces/default/services", {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc-%d" % i, "labels": {"app": "svc-%d" % i}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "selector": {"app": "svc-%d" % i},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
        },
    }


def endpoint_slice(i):
    eps = []
    for e in range(EPS):
        k = i * EPS + e
        eps.append({
            "addresses": ["10.%d.%d.%d" % (100 + k // 62500, k // 250 % 250, k % 250 + 1)],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": "node-%d" % (k % 100),
            "zone": "zone-%d" % (k % 3),
            "targetRef": {"kind": "Pod", "namespace": "default",
                          "name": "svc-%d-pod-%d" % (i, e),
                          "uid": "%08x-0000-4000-8000-%012x" % (i, e)},
        })
    return "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "svc-%d-abcde" % i,
            "labels": {"kubernetes.io/service-name": "svc-%d" % i,
                       "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time":
                            "2026-01-01T00:00:00Z"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "svc-%d" % i,
                                 "uid": "%08x-0000-4000-8000-000000000000" % i,
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": eps,
    }


def worker(url, items, errors):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    for path, obj in items:
        body = json.dumps(obj)
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.status not in (200, 201, 409):
            errors.append("%s %s: %d %s" % (path, obj["metadata"]["name"], r.status, data[:200]))
            return
    conn.close()


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    errors = []
    # services first, so that no slice arrives before its service
    for make in (service, endpoint_slice):
        objs = [make(i) for i in range(n)]
        threads = [threading.Thread(target=worker, args=(url, objs[c::conns], errors))
                   for c in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            sys.exit("load failed: " + errors[0])


if __name__ == "__main__":
    main()
