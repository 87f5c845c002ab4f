#!/usr/bin/env python3
"""Pod start-up as an API client sees it, for tests/bench/kubelet.sh.

One watch on the namespace's pods (GET ...?watch=1) records, per pod, the
first moment it is seen Running with Ready=True, and every later moment it
is seen not Ready; the commands create pods bound to NODE and wait on it.

  kubelet-pods.py SERVER NODE seq N      creates N pods one after another, each
                                         once the previous one is Ready; prints
                                         one line "<name> <ms>" per pod
  kubelet-pods.py SERVER NODE burst N    creates N pods at once; prints
                                         "all <ms>" (first create to last Ready)
                                         then "<name> <ms>" per pod
  kubelet-pods.py SERVER NODE ready N T  waits until N pods of the namespace
                                         are Ready (at most T s); prints "ok"
  kubelet-pods.py SERVER NODE kready URL N T   prints "waiting", reads one
                                         line (sent once the kubelet was
                                         started), then polls the kubelet's
                                         own /pods at URL every 20 ms until N
                                         pods are Running and Ready there (at
                                         most T s); prints the wall clock time
                                         then
  kubelet-pods.py SERVER NODE ids        "<pod> <containerID> <restartCount>"
                                         of every pod, sorted
  kubelet-pods.py SERVER NODE delete     deletes every pod of the namespace and
                                         waits until none is left

Times are from just before the pod's POST to the watch event that shows it
Ready, on the monotonic clock. The namespace is "bench"; the pods run the
local nginx image (imagePullPolicy IfNotPresent, so nothing is pulled).
Errors: one line on stderr and exit 1.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

NS = "bench"


class Api:
    def __init__(self, server):
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port or 80

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        out = r.read()
        c.close()
        if r.status >= 300 and not (method == "POST" and r.status == 409):
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, out[:200].decode(errors="replace")))
        return json.loads(out) if out else None


def ready(pod):
    if pod.get("status", {}).get("phase") != "Running":
        return False
    for c in pod.get("status", {}).get("conditions", []) or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


class Watch(threading.Thread):
    """Follows the namespace's pods; ready_at[name] is the monotonic time a
    pod was first seen Ready, unready counts pods seen not Ready after that."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.cv = threading.Condition()
        self.ready_at = {}
        self.present = set()
        self.unready = 0
        self.error = None
        lst = api.call("GET", "/api/v1/namespaces/%s/pods" % NS)
        now = time.monotonic()
        for p in lst.get("items", []):
            n = p["metadata"]["name"]
            self.present.add(n)
            if ready(p):
                self.ready_at[n] = now
        self.rv = lst["metadata"].get("resourceVersion", "0")

    def run(self):
        try:
            c = http.client.HTTPConnection(self.api.host, self.api.port)
            c.request("GET", "/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s" % (NS, self.rv))
            r = c.getresponse()
            if r.status != 200:
                raise RuntimeError("watch: %d" % r.status)
            while True:
                line = r.readline()
                if not line:
                    raise RuntimeError("watch ended")
                ev = json.loads(line)
                now = time.monotonic()
                p = ev["object"]
                n = p.get("metadata", {}).get("name")
                with self.cv:
                    if ev["type"] == "DELETED":
                        self.present.discard(n)
                        self.ready_at.pop(n, None)
                    elif ev["type"] in ("ADDED", "MODIFIED"):
                        self.present.add(n)
                        if ready(p):
                            self.ready_at.setdefault(n, now)
                        elif n in self.ready_at and not p["metadata"].get("deletionTimestamp"):
                            self.unready += 1
                    self.cv.notify_all()
        except Exception as e:  # noqa: BLE001 - reported to the waiter
            with self.cv:
                self.error = str(e)
                self.cv.notify_all()

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cv:
            while not pred():
                if self.error:
                    raise RuntimeError(self.error)
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(left)
        return True


def pod(name, node):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 2,
                     "containers": [{"name": "web", "image": "nginx",
                                     "imagePullPolicy": "IfNotPresent"}]}}


def main():
    server, node, cmd = sys.argv[1:4]
    args = sys.argv[4:]
    api = Api(server)
    if cmd == "kready":
        url, n, secs = args[0], int(args[1]), float(args[2])
        u = urllib.parse.urlparse(url)
        k, got = Api(url), 0
        print("waiting", flush=True)
        sys.stdin.readline()
        end = time.monotonic() + secs
        while time.monotonic() < end:
            try:
                items = k.call("GET", u.path)["items"]
                got = sum(1 for p in items if ready(p))
                if got >= n:
                    print("%.6f" % time.time(), flush=True)
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass  # not listening yet
            time.sleep(0.02)
        raise RuntimeError("%d of %d pods Ready at the kubelet after %g s" % (got, n, secs))
    if cmd == "ids":
        for p in sorted(api.call("GET", "/api/v1/namespaces/%s/pods" % NS)["items"],
                        key=lambda p: p["metadata"]["name"]):
            for cs in p.get("status", {}).get("containerStatuses", []) or []:
                print(p["metadata"]["name"], cs.get("containerID"), cs.get("restartCount"))
        return
    api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": NS}})
    w = Watch(api)
    w.start()
    path = "/api/v1/namespaces/%s/pods" % NS
    if cmd == "seq":
        for i in range(int(args[0])):
            name = "seq-%d" % i
            t0 = time.monotonic()
            api.call("POST", path, pod(name, node))
            if not w.wait(lambda: name in w.ready_at, 60):
                raise RuntimeError("%s not Ready after 60 s" % name)
            print("%s %.1f" % (name, (w.ready_at[name] - t0) * 1000), flush=True)
    elif cmd == "burst":
        n = int(args[0])
        names = ["burst-%d" % i for i in range(n)]
        t0 = {}
        for name in names:
            t0[name] = time.monotonic()
            api.call("POST", path, pod(name, node))
        if not w.wait(lambda: all(x in w.ready_at for x in names), 120):
            raise RuntimeError("%d of %d pods Ready after 120 s" % (
                sum(x in w.ready_at for x in names), n))
        first = min(t0.values())
        print("all %.1f" % ((max(w.ready_at[x] for x in names) - first) * 1000))
        for name in names:
            print("%s %.1f" % (name, (w.ready_at[name] - t0[name]) * 1000))
    elif cmd == "ready":
        n, secs = int(args[0]), float(args[1])
        if not w.wait(lambda: len(w.ready_at) >= n, secs):
            raise RuntimeError("%d of %d pods Ready after %g s" % (len(w.ready_at), n, secs))
        print("ok")
    elif cmd == "delete":
        for name in sorted(w.present):
            api.call("DELETE", "%s/%s" % (path, name))
        if not w.wait(lambda: not w.present, 120):
            raise RuntimeError("%d pods still there after 120 s" % len(w.present))
        print("ok")
    else:
        raise RuntimeError("unknown command " + cmd)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        print("kubelet-pods: %s" % e, file=sys.stderr)
        sys.exit(1)
