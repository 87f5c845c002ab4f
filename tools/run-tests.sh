#!/usr/bin/env bash
# Runs every test program and bats suite, reading their TAP output, and ends
# with one line "N passed, N failed, N skipped". Exits non-zero on any failure.
# Optional arguments: substrings; only tests whose path contains one of them run.
set -u
cd "$(dirname "$0")/.."
export MK_ROOT=$PWD
export MK_BIN=$PWD/bin
filters=("$@")

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

run_unit() {
	local t=$1 out rc
	wanted "$t" || return 0
	echo "# unit $t"
	out=$(mktemp)
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" >"$out" 2>&1
	rc=$?
	count_tap "$t" <"$out"
	# Exit 77: the program cannot run here and said why (automake's skip).
	if [ $rc -eq 77 ]; then
		skip=$((skip + 1))
	# A crash or sanitizer report after the last TAP line still fails.
	elif [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
		fail=$((fail + 1))
		failed_names+=("$t: exited $rc")
	fi
	rm -f "$out"
}

for dir in build/tests build/san/tests; do
	[ -d "$dir" ] || continue
	while IFS= read -r t; do
		run_unit "$t"
	done < <(find "$dir" -type f -name 'test_*' -perm -u+x | sort)
done

run_bats() {
	local f=$1 label=$2 out rc
	wanted "$label" || return 0
	echo "# bats $label"
	out=$(mktemp)
	timeout 900 bats --tap "$f" >"$out" 2>&1
	rc=$?
	count_tap "$label" <"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then
		fail=$((fail + 1))
		failed_names+=("$label: exited $rc")
	fi
	rm -f "$out"
}

# A suite with a line "# backends: sqlite etcd" runs once per API server
# storage backend (MK_API_BACKEND, read by lib/apiserver.bash), labelled
# "<file> [<backend>]".
for suite in tests/integration tests/e2e; do
	for f in "$suite"/*.bats; do
		[ -e "$f" ] || continue
		backends=$(sed -n 's/^# backends: //p' "$f" | head -1)
		if [ -z "$backends" ]; then
			run_bats "$f" "$f"
			continue
		fi
		for b in $backends; do
			MK_API_BACKEND=$b run_bats "$f" "$f [$b]"
		done
	done
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failed_names[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
