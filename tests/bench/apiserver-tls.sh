#!/usr/bin/env bash
# kube-apiserver over TLS: GET p99 of one pod with keep-alive over the secure
# port (client certificate from tools/mk-certs' admin credentials) against
# the insecure port of the same server, in one run, interleaved; prints the
# ratio (target <= 1.3x). BENCH_TLS_GETS sets the GETs per side (default 3000).
set -euo pipefail
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_BIN=${MK_BIN:-$PWD/bin}
make -s "$MK_BIN/kube-apiserver" >/dev/null
# shellcheck source=tests/integration/lib/apiserver.bash
. tests/integration/lib/apiserver.bash

work=$(mktemp -d)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	apiserver_stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

${CC:-gcc} -std=gnu11 -O2 -Wall -Wextra -Werror -o "$work/tls-get" tests/bench/tls-get.c \
	$(pkg-config --cflags --libs libcurl)
tools/mk-certs "$work/k8s" --encryption-algorithm ECDSA-P256 >/dev/null
pki=$work/k8s/pki
# the admin's client certificate out of admin.conf
for f in client-certificate client-key; do
	grep "$f-data" "$work/k8s/admin.conf" | awk '{print $2}' | base64 -d >"$work/$f.pem"
done
sport=$(_apiserver_free_port)
apiserver_start --secure-port="$sport" --bind-address=127.0.0.1 \
	--tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
	--client-ca-file="$pki/ca.crt"
curl -fs -o /dev/null -H 'Content-Type: application/json' -X POST \
	"$MK_API_URL/api/v1/namespaces/default/pods" \
	-d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-tls"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}'
path=/api/v1/namespaces/default/pods/bench-tls
"$work/tls-get" "$MK_API_URL$path" "https://127.0.0.1:$sport$path" "$pki/ca.crt" \
	"$work/client-certificate.pem" "$work/client-key.pem" "${BENCH_TLS_GETS:-3000}"
