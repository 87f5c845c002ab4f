#!/usr/bin/env bash
# Server-side apply against a plain update, one run (tests/bench/apply-bench.py):
# p50/p99 of PUTs of a Deployment and of server-side applies of one of the
# same shape, alternating, and the ratio of the p99s (target <= 2).
# APPLY_BENCH_N sets the writes of each kind (default 300).
set -euo pipefail
cd "${MK_ROOT:-$(dirname "$0")/../..}"
export MK_BIN=${MK_BIN:-$PWD/bin}
make -s "$MK_BIN/kube-apiserver" >/dev/null
# shellcheck source=tests/integration/lib/apiserver.bash
. tests/integration/lib/apiserver.bash
trap 'apiserver_stop >/dev/null 2>&1 || true' EXIT
apiserver_start --endpoint-reconciler-type=none
python3 tests/bench/apply-bench.py "$MK_API_URL" "${APPLY_BENCH_N:-300}"
