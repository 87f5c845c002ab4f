#!/usr/bin/env bash
# Runs every benchmark script tests/bench/*.sh (or those whose name contains one
# of the arguments). Each prints its measurements and ratios to its anchor.
set -u
cd "$(dirname "$0")/.."
export MK_ROOT=$PWD
export MK_BIN=$PWD/bin
rc=0
for b in tests/bench/*.sh; do
	[ -e "$b" ] || continue
	if [ $# -gt 0 ]; then
		hit=0
		for f in "$@"; do case "$b" in *"$f"*) hit=1 ;; esac; done
		[ $hit -eq 1 ] || continue
	fi
	echo "== $b"
	bash "$b" || { echo "bench $b failed"; rc=1; }
done
exit $rc
