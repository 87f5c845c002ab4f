#!/usr/bin/env python3
"""Plays the kubelet's part for controller tests: every pod of a namespace
that is not Running yet is given phase Running, a pod IP and Ready=True
through the pods/status subresource. Each round appends "<active> <ready>"
(pods not being deleted, and those of them Ready) to the state file, so a
test can check the bounds a rolling update must keep.

With --kubelet it keeps to pods bound to a node (spec.nodeName), as only a
kubelet of that node would report them, and finishes their graceful deletion
(DELETE with gracePeriodSeconds 0 once the server set deletionTimestamp).

usage: pod-ready.py SERVER NAMESPACE STATEFILE [--once] [--kubelet]
"""
import json
import sys
import time
import urllib.request

server, ns, state = sys.argv[1:4]
once = "--once" in sys.argv[4:]
kubelet = "--kubelet" in sys.argv[4:]


def call(method, path, body=None, ctype="application/merge-patch+json"):
    req = urllib.request.Request(server + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def ready(pod):
    for c in pod.get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


seq = 0
while True:
    try:
        pods = call("GET", "/api/v1/namespaces/%s/pods" % ns)["items"]
    except Exception as e:  # the server may be going away at the end of a test
        print("list: %s" % e, file=sys.stderr)
        time.sleep(0.2)
        continue
    if kubelet:
        pods = [p for p in pods if p.get("spec", {}).get("nodeName")]
        for p in pods:
            if p["metadata"].get("deletionTimestamp"):
                try:
                    call("DELETE", "/api/v1/namespaces/%s/pods/%s" % (ns, p["metadata"]["name"]),
                         {"gracePeriodSeconds": 0}, "application/json")
                except Exception as e:
                    print("delete %s: %s" % (p["metadata"]["name"], e), file=sys.stderr)
    active = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    n_ready = sum(1 for p in active if ready(p))
    with open(state, "a") as f:
        f.write("%d %d\n" % (len(active), n_ready))
    for p in active:
        if p.get("status", {}).get("phase") == "Running":
            continue
        seq += 1
        ip = "10.244.%d.%d" % (seq // 250, seq % 250 + 2)
        now = stamp()
        status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now,
                  "conditions": [
                      {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                      {"type": "Ready", "status": "True", "lastTransitionTime": now},
                      {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                      {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}],
                  "containerStatuses": [
                      {"name": c["name"], "image": c.get("image", ""), "imageID": "",
                       "ready": True, "started": True, "restartCount": 0,
                       "state": {"running": {"startedAt": now}}}
                      for c in p.get("spec", {}).get("containers", [])]}
        try:
            call("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (ns, p["metadata"]["name"]),
                 {"status": status})
        except Exception as e:  # deleted meanwhile
            print("patch %s: %s" % (p["metadata"]["name"], e), file=sys.stderr)
    if once:
        break
    time.sleep(0.05)
