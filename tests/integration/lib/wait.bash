# Bounded polling for bats suites: never a fixed sleep.
#
#   load lib/wait
#   wait_until 10 test -s "$file"       # retries every 50 ms for up to 10 s
#
# wait_until SECONDS CMD...: returns 0 as soon as CMD succeeds, 1 (after
# printing what it waited for) when SECONDS have passed.
wait_until() {
	local secs=$1
	shift
	local deadline=$((SECONDS + secs))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if [ $SECONDS -ge $deadline ]; then
			echo "gave up after ${secs}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# wait_eq SECONDS WANT CMD...: as wait_until, until CMD's output is WANT;
# when it gives up it says what CMD gave last.
wait_eq() {
	local secs=$1 want=$2
	shift 2
	local deadline=$((SECONDS + secs)) got=
	while :; do
		got=$("$@" 2>/dev/null) && [ "$got" = "$want" ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			echo "gave up after ${secs}s: $* gave '$got', want '$want'" >&2
			return 1
		fi
		sleep 0.05
	done
}
