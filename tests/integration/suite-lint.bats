#!/usr/bin/env bats
# Checks on the test suites themselves.

# bats runs tests under `set -e`, which ignores a command negated with `!`:
# a bare `! cmd` line passes whatever cmd does (unless it is a test's last
# line). Negations must read `! cmd || false`, or continue with `||`.
@test "no negated check in a bats suite is a bare '! cmd' line" {
	cd "${MK_ROOT:-$BATS_TEST_DIRNAME/../..}"
	run bash -c "grep -rnE '^[[:space:]]*! ' --include='*.bats' --include='*.bash' tests |
		grep -vE '(\|\| false|\|\|)[[:space:]]*$'"
	echo "$output"
	[ -z "$output" ]
}

# Every wait is a bounded poll on a condition through lib/wait.bash: a fixed
# sleep passes or fails with the machine's load. The finder leaves out what
# the shell does not run (quoted commands of containers, here-documents).
@test "no suite sleeps as a wait: only lib/wait.bash sleeps" {
	cd "${MK_ROOT:-$BATS_TEST_DIRNAME/../..}"
	run bash -c "find tests -name '*.bats' -o -name '*.bash' | grep -v '^tests/integration/lib/wait.bash$' |
		sort | xargs python3 tests/integration/lib/find-sleeps.py"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the sleep finder finds shell sleeps and leaves quoted and here-document ones" {
	f=$BATS_TEST_TMPDIR/sample.bats
	cat >"$f" <<-'SAMPLE'
	sample() {
		start_thing &
		sleep 2
		for i in $(seq 10); do check && break; sleep 0.1; done
		run sh -c 'echo a; sleep 5'
		rt_container c1 '["sh","-c","while :; do sleep 1; done"]'
		echo "sleep 3" # sleep 4
		cat >"$T/plugin" <<EOF
	sleep 60 &
	EOF
		python3 -c 'import time
	time.sleep(1)
	sleep 7'
		sleep 0.01 # a pace, not a wait
		x=1; sleep "$d"
		echo "at $(sleep 1; date)"
	}
	SAMPLE
	run python3 "${MK_ROOT:-$BATS_TEST_DIRNAME/../..}/tests/integration/lib/find-sleeps.py" "$f"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "$(printf '%s\n' "$f:3: sleep 2" \
		"$f:4: for i in \$(seq 10); do check && break; sleep 0.1; done" \
		"$f:15: x=1; sleep \"\$d\"" \
		"$f:16: echo \"at \$(sleep 1; date)\"")" ]
}

# One poll helper: suites do not grow their own.
@test "no suite defines a poll helper of its own beside lib/wait.bash" {
	cd "${MK_ROOT:-$BATS_TEST_DIRNAME/../..}"
	run grep -rnE '^[[:space:]]*(function[[:space:]]+)?(wait_for|wait_output|rt_wait|watch_for|wait_until|wait_eq)[[:space:]]*\(\)' \
		--include='*.bats' --include='*.bash' tests
	[ "$status" -eq 0 ]
	[ "$(grep -vc '^tests/integration/lib/wait.bash:' <<<"$output")" -eq 0 ] || { echo "$output"; false; }
}
