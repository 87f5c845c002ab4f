#!/usr/bin/env bash
# kube-apiserver RBAC: GET latency of one pod over TLS as a token user that a
# RoleBinding allows, on a server holding 1,000 other RoleBindings (100 in the
# pod's namespace, the rest in ten others, for other users, groups and
# ServiceAccounts) against a server holding none beside the bootstrap policy;
# both run at once, interleaved (tests/bench/rbac-get.c); prints the ratio
# (target <= 1.1x). BENCH_RBAC_GETS sets the GETs per side (default 3000).
set -euo pipefail
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_BIN=${MK_BIN:-$PWD/bin}
make -s "$MK_BIN/kube-apiserver" >/dev/null
# shellcheck source=tests/integration/lib/apiserver.bash
. tests/integration/lib/apiserver.bash
# shellcheck source=tests/integration/lib/wait.bash
. tests/integration/lib/wait.bash

work=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

${CC:-gcc} -std=gnu11 -O2 -Wall -Wextra -Werror -o "$work/rbac-get" tests/bench/rbac-get.c \
	$(pkg-config --cflags --libs libcurl)
tools/mk-certs "$work/k8s" --encryption-algorithm ECDSA-P256 >/dev/null
pki=$work/k8s/pki
printf 'tok-bench,bench,u-1\n' >"$work/tokens.csv"

# start NAME: a server with RBAC on a free secure and insecure port
start() {
	local sport port
	sport=$(_apiserver_free_port)
	port=$(_apiserver_free_port)
	"$MK_BIN/kube-apiserver" --data-dir="$work/$1" --secure-port="$sport" \
		--insecure-port="$port" --bind-address=127.0.0.1 --authorization-mode=RBAC \
		--tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
		--client-ca-file="$pki/ca.crt" --token-auth-file="$work/tokens.csv" \
		>"$work/$1.log" 2>&1 &
	pids+=($!)
	eval "${1}_sport=$sport ${1}_port=$port"
}
start base
start loaded
for p in "$base_port" "$loaded_port"; do
	wait_until 20 curl -fs -m 2 -o /dev/null "http://127.0.0.1:$p/healthz"
done

# what both servers hold: the bench user may read pods in "bench"
common='[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}},
{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"bench"}},
{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"pod-reader","namespace":"bench"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]},
{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"bench","namespace":"bench"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-reader"},"subjects":[{"kind":"User","name":"bench"}]},
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"bench"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}]'
# the loaded server's 1,000 others
python3 - "$work/others.json" <<'PY'
import json, sys
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns%d" % n}} for n in range(10)]
for i in range(1000):
    ns = "bench" if i < 100 else "ns%d" % (i % 10)
    kind = ("User", "Group", "ServiceAccount")[i % 3]
    subj = {"kind": kind, "name": "%s-%d" % (kind.lower(), i)}
    if kind == "ServiceAccount":
        subj["namespace"] = ns
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": {"name": "rb-%d" % i, "namespace": ns},
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": ("view", "edit", "admin")[i % 3]},
                  "subjects": [subj]})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"))
PY
printf '{"apiVersion":"v1","kind":"List","items":%s}' "$common" >"$work/common.json"
for p in "$base_port" "$loaded_port"; do
	kubectl -s "http://127.0.0.1:$p" create --validate=false -f "$work/common.json" >/dev/null
done
kubectl -s "http://127.0.0.1:$loaded_port" create --validate=false -f "$work/others.json" >/dev/null
n=$(kubectl -s "http://127.0.0.1:$loaded_port" get rolebindings -A --no-headers | wc -l)
echo "loaded server: $n RoleBindings"
path=/api/v1/namespaces/bench/pods/p
"$work/rbac-get" "https://127.0.0.1:$base_sport$path" "https://127.0.0.1:$loaded_sport$path" \
	"$pki/ca.crt" tok-bench "${BENCH_RBAC_GETS:-3000}"
