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
