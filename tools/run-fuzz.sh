#!/usr/bin/env bash
# Runs libFuzzer harnesses built by `make fuzz` (build/fuzz/fuzz/fuzz_<name>),
# one at a time under nice, each for SECONDS seconds.
# Usage: tools/run-fuzz.sh SECONDS NAME...
# Each starts from its committed seeds (tests/fuzz/corpus/<name>, read only)
# and a working corpus of its own (build/fuzz/corpus/<name>, kept between
# runs); a crashing input is written to build/fuzz/crashes/<name>/. Ends with
# one line per harness and exits non-zero if any found a crash.
set -u
cd "$(dirname "$0")/.."
secs=${1:?usage: run-fuzz.sh SECONDS NAME...}
shift
failed=()
summary=()
for name in "$@"; do
	bin=build/fuzz/fuzz/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	work=build/fuzz/corpus/$name
	crashes=build/fuzz/crashes/$name
	log=build/fuzz/logs/$name.log
	mkdir -p "$work" "$crashes" "$(dirname "$log")"
	[ -x "$bin" ] || { echo "run-fuzz: $bin missing (make fuzz builds it)" >&2; exit 1; }
	[ -d "$seeds" ] || { echo "run-fuzz: no seed corpus $seeds" >&2; exit 1; }
	echo "# fuzz_$name: ${secs}s"
	# -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a blow-up
	nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ "$rc" -ne 0 ]; then
		failed+=("$name")
		summary+=("fuzz_$name: FAILED (exit $rc), ${execs:-?} runs, $cov; see $log and $crashes/")
		grep -m 3 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/#   /'
	else
		summary+=("fuzz_$name: ok, ${execs:-?} runs, $cov")
	fi
done
printf '%s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ]
