# Bounded polling for bats suites: never a fixed sleep. A condition is polled
# until it holds or a deadline passes, and a check that something did NOT
# happen first waits for an event showing the component has caught up (a
# status it writes, a log line, a sync count).
#
#   load lib/wait            (../integration/lib/wait from tests/e2e)
#   wait_until 10 test -s "$file"       # retries every 0.1 s for up to 10 s
#
# wait_until SECONDS CMD...: returns 0 as soon as CMD succeeds. When SECONDS
# have passed it prints what it waited for, runs CMD once more with its
# output shown (so that the failure explains itself) and returns that status.
#
# wait_eq SECONDS WANT CMD...: returns 0 as soon as CMD prints WANT; 1 (after
# printing what CMD last printed) when SECONDS have passed.
#
# hold_for SECONDS CMD...: the opposite of a wait, for a state a test keeps
# on purpose (a link down for 10 s): CMD is checked every poll for SECONDS
# and must hold throughout; returns 1 (with CMD's output) the first time it
# does not.
#
# SECONDS may have a fraction (0.5). The deadline is measured on the wall
# clock, however long CMD takes to run; CMD must end by itself (curl
# --max-time when a peer may accept and never answer).
#
# A suite may define wait_diagnose, called on every timeout (to show a
# component's log, say).

# The pause between two tries. Three suites share two cores in make test, and
# a try is often a kubectl run (tens of ms of CPU): 0.1 s keeps the polls'
# share of the machine small and costs a wait 50 ms on average.
_wait_poll=${MK_WAIT_POLL:-0.1}

# Sets _wait_deadline to now + $1 seconds, in microseconds.
_wait_set_deadline() {
	local secs=$1 whole frac=000000
	if ! [[ $secs =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		echo "wait: '$secs' is no number of seconds" >&2
		return 2
	fi
	whole=${secs%%.*}
	if [[ $secs == *.* ]]; then
		frac=${secs#*.}000000
		frac=${frac:0:6}
	fi
	_wait_deadline=$((${EPOCHREALTIME//[!0-9]/} + 10#${whole:-0} * 1000000 + 10#$frac))
}

_wait_expired() {
	[ "${EPOCHREALTIME//[!0-9]/}" -ge "$_wait_deadline" ]
}

_wait_diagnose() {
	if declare -F wait_diagnose >/dev/null; then
		wait_diagnose >&2 || true
	fi
}

wait_until() {
	local secs=$1 _wait_deadline
	shift
	_wait_set_deadline "$secs" || return
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if _wait_expired; then
			echo "gave up after ${secs}s waiting for: $*" >&2
			_wait_diagnose
			"$@"
			return
		fi
		sleep "$_wait_poll"
	done
}

wait_eq() {
	local secs=$1 want=$2 got= _wait_deadline
	shift 2
	_wait_set_deadline "$secs" || return
	while :; do
		got=$("$@" 2>/dev/null) && [ "$got" = "$want" ] && return 0
		if _wait_expired; then
			echo "gave up after ${secs}s: $* gives '$got', want '$want'" >&2
			_wait_diagnose
			return 1
		fi
		sleep "$_wait_poll"
	done
}

# The same bounded poll for a shell inside a container, which cannot load
# this file: a sh snippet that waits (10 s at most) until its terminal is 40
# rows by 132 columns. A tty's size comes with or just after the exec; on a
# slow machine the command may start first and get the size by SIGWINCH.
# shellcheck disable=SC2034 # used by the suites that load this file
WAIT_TTY_40x132='i=0; while [ "$(stty size)" != "40 132" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done'

hold_for() {
	local secs=$1 _wait_deadline
	shift
	_wait_set_deadline "$secs" || return
	while ! _wait_expired; do
		if ! "$@" >/dev/null 2>&1; then
			echo "stopped holding within ${secs}s: $*" >&2
			_wait_diagnose
			"$@"
			return 1
		fi
		sleep "$_wait_poll"
	done
}
