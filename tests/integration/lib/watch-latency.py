#!/usr/bin/env python3
"""Watch latency between two API servers.

    watch-latency.py WATCH_URL WRITE_URL N NAMESPACE PREFIX

Lists ConfigMaps of NAMESPACE on WATCH_URL, watches them from that list's
resourceVersion, then N times creates a ConfigMap PREFIX-<i> through
WRITE_URL and waits for its ADDED event on the watch. Prints one line per
write, "<i> <ms from the create's answer to the event> <resourceVersion in
the answer> <resourceVersion in the event>", and exits 1 if an event is
missing (10 s), carries another resourceVersion, or comes twice.
"""
import http.client
import json
import sys
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def main():
    watch_url, write_url, n, ns, prefix = sys.argv[1:6]
    n = int(n)
    base = f"/api/v1/namespaces/{ns}/configmaps"
    c = conn(watch_url)
    c.request("GET", base)
    rv = json.load(c.getresponse())["metadata"]["resourceVersion"]
    w = conn(watch_url)
    w.request("GET", f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=60")
    stream = w.getresponse()
    assert stream.status == 200, stream.status
    wr = conn(write_url)
    seen = set()
    rc = 0
    for i in range(n):
        name = f"{prefix}-{i}"
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
        wr.request("POST", base, body, {"Content-Type": "application/json"})
        resp = wr.getresponse()
        answer = json.load(resp)
        acked = time.monotonic()
        if resp.status != 201:
            print(f"create {name}: HTTP {resp.status}: {answer}", file=sys.stderr)
            return 1
        want_rv = answer["metadata"]["resourceVersion"]
        deadline = acked + 10
        while True:
            if time.monotonic() > deadline:
                print(f"{name}: no event within 10 s", file=sys.stderr)
                return 1
            line = stream.readline()
            if not line:
                print(f"{name}: the watch ended", file=sys.stderr)
                return 1
            ev = json.loads(line)
            got = ev["object"]["metadata"].get("name")
            if got in seen:
                print(f"{got}: a second event", file=sys.stderr)
                rc = 1
            if ev["type"] == "ADDED" and got == name:
                seen.add(got)
                ms = (time.monotonic() - acked) * 1000
                ev_rv = ev["object"]["metadata"]["resourceVersion"]
                print(f"{i} {ms:.2f} {want_rv} {ev_rv}")
                if ev_rv != want_rv:
                    rc = 1
                break
    return rc


if __name__ == "__main__":
    sys.exit(main())
