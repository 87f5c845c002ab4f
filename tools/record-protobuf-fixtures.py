#!/usr/bin/env python3
"""Records the protobuf bodies the real kubectl sends for `kubectl create ...`.

Test-fixture tool only: starts a throwaway HTTP server on a random loopback
port with just enough /version and discovery for kubectl to resolve kinds,
runs each command against it with a fresh cache directory, and writes
<outdir>/<name>.pb (the raw POST body) and <outdir>/<name>.dryrun.json (what
the same command prints with -o json --dry-run=client) for review.

usage: tools/record-protobuf-fixtures.py OUTDIR [KUBECTL]
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def res(name, kind, namespaced=True, short=None):
    r = {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
         "verbs": VERBS}
    if short:
        r["shortNames"] = short
    return r


RESOURCES = {
    "/api/v1": [res("pods", "Pod", short=["po"]), res("services", "Service", short=["svc"]),
                res("namespaces", "Namespace", False, ["ns"]),
                res("configmaps", "ConfigMap", short=["cm"]), res("secrets", "Secret"),
                res("serviceaccounts", "ServiceAccount", short=["sa"]),
                res("nodes", "Node", False, ["no"]),
                res("resourcequotas", "ResourceQuota", short=["quota"])],
    "/apis/apps/v1": [res("deployments", "Deployment", short=["deploy"])],
    "/apis/batch/v1": [res("jobs", "Job"), res("cronjobs", "CronJob", short=["cj"])],
    "/apis/policy/v1": [res("poddisruptionbudgets", "PodDisruptionBudget", short=["pdb"])],
    "/apis/rbac.authorization.k8s.io/v1": [
        res("roles", "Role"), res("rolebindings", "RoleBinding"),
        res("clusterroles", "ClusterRole", False), res("clusterrolebindings", "ClusterRoleBinding", False)],
    "/apis/scheduling.k8s.io/v1": [res("priorityclasses", "PriorityClass", False, ["pc"])],
    "/apis/networking.k8s.io/v1": [res("ingresses", "Ingress", short=["ing"])],
    "/apis/autoscaling/v1": [res("horizontalpodautoscalers", "HorizontalPodAutoscaler",
                                 short=["hpa"])],
}
RESOURCES["/api/v1"] += [
    {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy",
     "version": "v1", "kind": "Eviction", "verbs": ["create"]},
    {"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
     "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
     "verbs": ["create"]},
]
RESOURCES["/apis/apps/v1"] += [
    {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
     "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}]
GROUPS = ["apps", "batch", "policy", "rbac.authorization.k8s.io", "scheduling.k8s.io",
          "networking.k8s.io", "autoscaling"]

NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
        "spec": {}, "status": {}}

# A pod using most PodSpec features, served for `kubectl debug --copy-to`,
# whose protobuf copy then has a known JSON form.
RICH_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "rich", "namespace": "default", "labels": {"app": "rich", "empty": ""},
                 "annotations": {"note": "a b c"}},
    "spec": {
        "volumes": [
            {"name": "scratch", "emptyDir": {}},
            {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "cfg", "configMap": {"name": "c", "items": [{"key": "a", "path": "a.txt"}],
                                          "defaultMode": 420}},
            {"name": "sec", "secret": {"secretName": "s", "optional": False}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
        ],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
        "containers": [{
            "name": "app", "image": "nginx:1.27", "args": ["-c", ""], "workingDir": "/srv",
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                      {"containerPort": 53, "protocol": "UDP", "hostPort": 5353}],
            "envFrom": [{"configMapRef": {"name": "c"}, "prefix": "C_"}],
            "env": [{"name": "PLAIN", "value": "v"}, {"name": "EMPTY"},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k",
                                                                    "optional": True}}},
                    {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu",
                                                                       "divisor": "1m"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": "1", "memory": "1Gi"}},
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
                             {"name": "scratch", "mountPath": "/tmp", "subPath": "x"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http",
                                          "httpHeaders": [{"name": "X", "value": "1"}]},
                              "initialDelaySeconds": 3, "periodSeconds": 10},
            "readinessProbe": {"tcpSocket": {"port": 80}, "timeoutSeconds": 2},
            "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "failureThreshold": 30},
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
            "imagePullPolicy": "IfNotPresent",
            "securityContext": {"runAsUser": 0, "privileged": False,
                                "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}},
            "stdin": True, "tty": True,
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 0, "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"kubernetes.io/os": "linux"}, "serviceAccountName": "sa",
        "automountServiceAccountToken": False, "hostNetwork": True,
        "securityContext": {"runAsNonRoot": True, "fsGroup": 2000, "sysctls": [
            {"name": "net.ipv4.ip_forward", "value": "1"}]},
        "imagePullSecrets": [{"name": "reg"}], "hostname": "h", "subdomain": "sub",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}},
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 0},
                        {"operator": "Exists"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a", "b"]}],
        "priority": 0, "enableServiceLinks": True,
        "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]},
    },
}

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}

DRAIN_POD = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "web-1", "namespace": "default", "uid": "u2",
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                               "name": "web-1", "uid": "u3", "controller": True}]},
             "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "nginx"}]},
             "status": {"phase": "Running"}}
evicted = False

current = {"name": None, "outdir": None}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("  %s %s\n" % (self.command, self.path))

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0",
                                        "platform": "linux/amd64"})
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            groups = []
            for g in GROUPS:
                gv = {"groupVersion": g + "/v1", "version": "v1"}
                groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                        "groups": groups})
        if path in RESOURCES:
            gv = path[len("/apis/"):] if path.startswith("/apis/") else "v1"
            return self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                        "groupVersion": gv, "resources": RESOURCES[path]})
        if path.startswith("/api/v1/nodes/"):
            return self.send_json(200, NODE)
        if path == "/api/v1/namespaces/default/pods/rich":
            return self.send_json(200, RICH_POD)
        if path == "/apis/apps/v1/namespaces/default/deployments/web":
            return self.send_json(200, DEPLOYMENT)
        if path == "/api/v1/pods" and "spec.nodeName" in self.path:
            return self.send_json(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": "1"},
                                        "items": [DRAIN_POD] if not evicted else []})
        if path == "/api/v1/namespaces/default/pods/web-1" and not evicted:
            return self.send_json(200, DRAIN_POD)
        self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "NotFound", "code": 404, "message": "not found"})

    def do_PATCH(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.send_json(200, NODE)

    def do_POST(self):
        global evicted
        if self.path.endswith("/eviction"):
            evicted = True
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        ext = "pb" if "protobuf" in ctype else "posted.json"
        with open(os.path.join(current["outdir"], "%s.%s" % (current["name"], ext)), "wb") as f:
            f.write(body)
        # Enough of an object for kubectl to print "<kind>/<name> created";
        # `kubectl debug` also reads the created pod's containers.
        self.send_json(201, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                             "spec": {"containers": [{"name": "debugger", "image": "busybox"}]}})


COMMANDS = [
    ("deployment", ["create", "deployment", "web", "--image=nginx"]),
    ("deployment-full", ["create", "deployment", "api", "--image=nginx:1.27", "--replicas=3",
                         "--port=8080", "-n", "prod", "--", "nginx", "-g", "daemon off;"]),
    ("service-clusterip", ["create", "service", "clusterip", "s", "--tcp=80:8080",
                           "--tcp=443:https"]),
    ("service-nodeport", ["create", "service", "nodeport", "np", "--tcp=80:8080",
                          "--node-port=30080"]),
    ("service-headless", ["create", "service", "clusterip", "h", "--clusterip=None"]),
    ("service-externalname", ["create", "service", "externalname", "ext",
                              "--external-name=example.com"]),
    ("configmap", ["create", "configmap", "c", "--from-literal=a=b",
                   "--from-literal=long=hello world"]),
    ("secret", ["create", "secret", "generic", "s", "--from-literal=k=v",
                "--from-literal=bin=\u00e9\u00e8"]),
    ("secret-docker", ["create", "secret", "docker-registry", "reg", "--docker-server=r.io",
                       "--docker-username=u", "--docker-password=p"]),
    ("namespace", ["create", "namespace", "n"]),
    ("serviceaccount", ["create", "serviceaccount", "sa"]),
    ("job", ["create", "job", "j", "--image=busybox"]),
    ("job-command", ["create", "job", "jc", "--image=busybox", "--", "sh", "-c", "echo hi"]),
    ("cronjob", ["create", "cronjob", "cj", "--image=busybox", "--schedule=*/1 * * * *"]),
    ("cronjob-command", ["create", "cronjob", "cjc", "--image=busybox", "--schedule=0 0 * * *",
                         "--restart=Never", "--", "date"]),
    ("quota", ["create", "quota", "q", "--hard=cpu=1,memory=1Gi,pods=10",
               "--scopes=NotBestEffort"]),
    ("pod-debug-node", ["debug", "node/node1", "--image=busybox"]),
    ("role", ["create", "role", "r", "--verb=get,list", "--resource=pods,deployments.apps",
              "--resource-name=a"]),
    ("clusterrole", ["create", "clusterrole", "cr", "--verb=get", "--non-resource-url=/logs/*"]),
    ("rolebinding", ["create", "rolebinding", "rb", "--role=r", "--user=alice",
                     "--serviceaccount=default:sa", "--group=devs"]),
    ("clusterrolebinding", ["create", "clusterrolebinding", "crb", "--clusterrole=cr",
                            "--user=bob"]),
    ("priorityclass", ["create", "priorityclass", "high", "--value=1000",
                       "--description=important", "--preemption-policy=Never"]),
    ("pdb", ["create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"]),
    ("ingress", ["create", "ingress", "ing", "--class=nginx",
                 "--rule=foo.com/bar*=svc:8080,tls=secret1", "--default-backend=defsvc:http"]),
    ("hpa", ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80"]),
    ("token", ["create", "token", "sa", "--duration=10m", "--audience=api"]),
    ("eviction", ["drain", "node1", "--timeout=20s"]),
    ("pod-copy", ["debug", "rich", "--copy-to=rich-copy", "--image=busybox", "--container=dbg",
                  "--keep-labels=true", "--keep-annotations=true", "--keep-liveness=true",
                  "--keep-readiness=true", "--keep-startup=true", "--keep-init-containers=true"]),
]


def main():
    outdir = sys.argv[1]
    kubectl = sys.argv[2] if len(sys.argv) > 2 else "kubectl"
    os.makedirs(outdir, exist_ok=True)
    current["outdir"] = outdir
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        for name, args in COMMANDS:
            current["name"] = name
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, KUBECACHEDIR=cache, KUBECONFIG=os.path.join(cache, "none"))
                base = [kubectl, "-s", "http://127.0.0.1:%d" % port]
                print("%s: %s" % (name, " ".join(args)), file=sys.stderr)
                r = subprocess.run(base + args, env=env, capture_output=True, text=True,
                                   timeout=60)
                sys.stderr.write(r.stdout + r.stderr)
                r = subprocess.run(base + args[:2] + ["-o", "json", "--dry-run=client"]
                                   + args[2:], env=env, capture_output=True, text=True,
                                   timeout=60)
                if args[0] == "drain" or args[:2] == ["create", "token"]:
                    pass  # neither has --dry-run with -o json
                elif args[0] == "debug":
                    with open(os.path.join(outdir, name + ".served.json"), "w") as f:
                        json.dump(RICH_POD if name == "pod-copy" else NODE, f, indent=1)
                elif r.returncode == 0:
                    with open(os.path.join(outdir, name + ".dryrun.json"), "w") as f:
                        f.write(r.stdout)
                else:
                    sys.stderr.write("dry run: " + r.stderr)
    finally:
        srv.shutdown()


if __name__ == "__main__":
    main()
