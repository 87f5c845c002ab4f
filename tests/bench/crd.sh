#!/usr/bin/env bash
# Custom resources against ConfigMaps: create, GET and LIST p99 of objects of
# the same size (a 1 KiB string field, plus a small nested spec for the CR's
# schema to prune, default and validate), measured in one run on one server
# with the two kinds interleaved, so that both see the same machine. Target:
# each CR p99 within 1.2x the ConfigMap p99 of the same operation.
set -euo pipefail
root=${MK_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
export MK_BIN=${MK_BIN:-$root/bin}
make -s "$MK_BIN/kube-apiserver" >/dev/null
# shellcheck source=tests/integration/lib/apiserver.bash
. tests/integration/lib/apiserver.bash
trap 'apiserver_stop >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC2119 # no arguments: default flags
apiserver_start
python3 tests/bench/crd-bench.py "$MK_API_PORT" "${BENCH_CRD_OBJECTS:-1000}"
