#!/usr/bin/env bash
# Runs every test program and bats suite, reading their TAP output, and ends
# with one line "N passed, N failed, N skipped". Exits non-zero on any failure.
# Optional arguments: substrings; only tests whose path contains one of them run.
#
# MK_TEST_JOBS (default 3) tests run at once: the suites spend most of their
# time waiting on daemons and the kernel, not on the CPU, and each works in
# network namespaces, ports and directories of its own. Output is printed
# whole per test, in a fixed order, each with the seconds it took.
#
# MK_TEST_SAN=1 (make test) also builds the unit tests under ASan+UBSan into
# build/san while the first suites run, and runs them once built.
set -u
cd "$(dirname "$0")/.."
export MK_ROOT=$PWD
export MK_BIN=$PWD/bin
filters=("$@")
jobs=${MK_TEST_JOBS:-3}

pass=0 fail=0 skip=0
failed_names=()

wanted() {
	[ ${#filters[@]} -eq 0 ] && return 0
	local f
	for f in "${filters[@]}"; do
		case "$1" in *"$f"*) return 0 ;; esac
	done
	return 1
}

# Reads TAP on stdin, echoes it, adds to the counters.
count_tap() {
	local label=$1 line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case "$line" in
		"ok "*"# skip"* | "ok "*"# SKIP"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*)
			fail=$((fail + 1))
			failed_names+=("$label: ${line#not ok }")
			;;
		esac
	done
}

# The tests, longest first so that the slow suites do not end the run alone:
# bats suites (e2e, then by size), then the unit programs.
tasks=()
san_build=
if [ "${MK_TEST_SAN:-}" = 1 ]; then
	san_build=${#tasks[@]}
	tasks+=("build build/san")
fi
# A suite with a line "# backends: sqlite etcd" runs once per API server
# storage backend (MK_API_BACKEND, read by lib/apiserver.bash), labelled
# "<file> [<backend>]".
for f in $(ls -S tests/e2e/*.bats 2>/dev/null) $(ls -S tests/integration/*.bats 2>/dev/null); do
	wanted "$f" || continue
	backends=$(sed -n 's/^# backends: //p' "$f" | head -1)
	if [ -z "$backends" ]; then
		tasks+=("bats $f")
		continue
	fi
	for b in $backends; do
		tasks+=("bats $f [$b]")
	done
done
add_units() { # DIR
	[ -d "$1" ] || return 0
	local t
	while IFS= read -r t; do
		wanted "$t" && tasks+=("unit $t")
	done < <(find "$1" -type f -name 'test_*' -perm -u+x | sort)
}
for dir in build/san/tests build/tests; do
	[ -n "$san_build" ] && [ "$dir" = build/san/tests ] && continue
	[ -d "$dir" ] || continue
	add_units "$dir"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs task i: its TAP in $work/i.out, exit status in $work/i.rc (written
# last: its presence says the task is done), seconds in $work/i.time.
run_task() {
	local i=$1 kind=${2%% *} t=${2#* } start=$SECONDS rc
	if [ "$kind" = unit ]; then
		CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" >"$work/$i.out" 2>&1
	elif [ "$kind" = build ]; then
		make -j"$(nproc)" BUILD=build/san BIN=build/san/bin SAN=1 unit >"$work/$i.out" 2>&1
	else
		local backend=
		case $t in *" ["*"]") backend=${t##* [} backend=${backend%]} t=${t% \[*} ;; esac
		MK_API_BACKEND=$backend timeout 900 bats --tap --timing "$t" >"$work/$i.out" 2>&1
	fi
	rc=$?
	echo $((SECONDS - start)) >"$work/$i.time"
	echo "$rc" >"$work/$i.rc"
}

report_task() {
	local i=$1 kind=${2%% *} t=${2#* } rc
	rc=$(cat "$work/$i.rc")
	echo "# $kind $t"
	if [ "$kind" = build ]; then
		if [ "$rc" -ne 0 ]; then
			tail -n 40 "$work/$i.out"
			fail=$((fail + 1))
			failed_names+=("make SAN=1 unit: exited $rc")
		fi
	else
		count_tap "$t" <"$work/$i.out"
	fi
	if [ "$kind" = unit ] && [ "$rc" -eq 77 ]; then
		# exit 77: the program cannot run here and said why (automake's skip)
		skip=$((skip + 1))
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$work/$i.out"; then
		# a crash, a timeout or a sanitizer report after the last TAP line
		fail=$((fail + 1))
		failed_names+=("$t: exited $rc")
	fi
	echo "# $t: $(cat "$work/$i.time") s"
}

next=0 shown=0 running=0
while [ "$shown" -lt ${#tasks[@]} ]; do
	while [ "$running" -lt "$jobs" ] && [ "$next" -lt ${#tasks[@]} ]; do
		run_task "$next" "${tasks[$next]}" &
		next=$((next + 1)) running=$((running + 1))
	done
	wait -n
	running=$((running - 1))
	# the sanitizer build done: its tests join the queue
	if [ -n "$san_build" ] && [ -e "$work/$san_build.rc" ]; then
		[ "$(cat "$work/$san_build.rc")" = 0 ] && add_units build/san/tests
		san_build=
	fi
	while [ "$shown" -lt "$next" ] && [ -e "$work/$shown.rc" ]; do
		report_task "$shown" "${tasks[$shown]}"
		shown=$((shown + 1))
	done
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
