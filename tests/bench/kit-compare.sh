#!/usr/bin/env bash
# Compares the API server, kube-proxy and CNI benchmarks of this checkout with
# those of an earlier revision, in one run on this machine: both trees are
# built, then each round runs apiserver.sh, proxy.sh and cni.sh of one tree
# and of the other (the order alternating per round), so that the machine's
# load falls on both alike. Each tree runs its own scripts against its own
# binaries. Prints, per figure, the median over the rounds for both, the
# change in percent and whether it is within the tolerance (5 %); the load
# average is recorded before every run.
#
# usage: tests/bench/kit-compare.sh REV [ROUNDS]    (ROUNDS default 3)
#   KIT_BASE_TREE=DIR   an already built checkout of REV (no worktree is made)
#   KIT_BENCHES="apiserver proxy cni"   which benchmarks
#   KIT_OUT=DIR         keep every run's output there (default: a temp dir, removed)
#   PROXY_BENCH_SIZES, PROXY_BENCH_BIG, CNI_CYCLES   passed to the benchmarks
# Needs root (proxy and CNI benchmarks work in network namespaces).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -lt 1 ]; then
	# make bench runs every script without arguments
	echo "kit-compare: skipped (usage: tests/bench/kit-compare.sh REV [ROUNDS])"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "kit-compare: skipped (needs root)"; exit 0; }
rev=$1
rounds=${2:-3}
head_tree=$PWD
benches=${KIT_BENCHES:-apiserver proxy cni}
base=${KIT_BASE_TREE:-}
made_tree=
out=${KIT_OUT:-}
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"

cleanup() {
	if [ -n "$made_tree" ]; then
		git worktree remove --force "$made_tree" >/dev/null 2>&1 || rm -rf "$made_tree"
	fi
	[ -n "${KIT_OUT:-}" ] || rm -rf "$out"
}
trap cleanup EXIT

if [ -z "$base" ]; then
	git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "kit-compare: no revision $rev" >&2; exit 1; }
	made_tree=$(mktemp -d /var/tmp/kit-compare.XXXXXX)
	git worktree add --detach -f "$made_tree" "$rev" >/dev/null
	base=$made_tree
fi
echo "kit-compare: building $rev in $base and this checkout" >&2
# the API server's benchmark alone needs only its binary
targets=all
[ "$benches" = apiserver ] && targets="build/libmk.a bin/kube-apiserver"
# shellcheck disable=SC2086
make -C "$base" -s -j2 $targets >/dev/null
# shellcheck disable=SC2086
make -s -j2 $targets >/dev/null

# the benchmarks' own make calls: the packages are there (an apt run of
# someone else's would hold dpkg's lock and fail them)
export NODEPS=1
# run_one TREE LABEL BENCH ROUND: the bench's output into $out
run_one() {
	local tree=$1 label=$2 bench=$3 r=$4 f
	f=$out/$bench.$label.$r
	echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >"$f"
	case $bench in
	cni) (cd "$tree" && MK_ROOT=$tree MK_BIN=$tree/bin bash tests/bench/cni.sh "${CNI_CYCLES:-100}") >>"$f" 2>&1 ;;
	*) (cd "$tree" && MK_ROOT=$tree MK_BIN=$tree/bin bash "tests/bench/$bench.sh") >>"$f" 2>&1 ;;
	esac || echo "kit-compare: $bench ($label, round $r) failed: see $f" >&2
}

for r in $(seq 1 "$rounds"); do
	for bench in $benches; do
		if [ $((r % 2)) = 1 ]; then
			run_one "$base" base "$bench" "$r"
			run_one "$head_tree" head "$bench" "$r"
		else
			run_one "$head_tree" head "$bench" "$r"
			run_one "$base" base "$bench" "$r"
		fi
		echo "kit-compare: round $r $bench done" >&2
	done
done

python3 - "$out" "$rev" "$(git rev-parse --short HEAD)" <<'EOF'
import glob, os, re, statistics, sys

out, rev, head = sys.argv[1:4]
NUM = r"([-\d.]+)"
# (bench, figure, regex on one line, group, lower is better)
FIGURES = [
    ("apiserver", "create 1 client /s", r"^create pod, 1 client\s+" + NUM + r"/s", 1, False),
    ("apiserver", "create 1 client p50 ms", r"^create pod, 1 client\s+\S+, p50 " + NUM, 1, True),
    ("apiserver", "create 1 client CPU/op ms", r"^create pod, 1 client\s+.* ms\s+" + NUM + r" ms", 1, True),
    ("apiserver", "create 8 clients /s", r"^create pod, 8 clients\s+" + NUM + r"/s", 1, False),
    ("apiserver", "create 8 clients CPU/op ms", r"^create pod, 8 clients\s+.* ms\s+" + NUM + r" ms", 1, True),
    ("apiserver", "get p50 ms", r"^get pod, 1 client\s+p50 " + NUM, 1, True),
    ("apiserver", "get CPU/op ms", r"^get pod, 1 client\s+.* ms\s+" + NUM + r" ms", 1, True),
    ("apiserver", "list 3,000 p50 ms", r"^list 3,000 pods.*?p50 " + NUM, 1, True),
    ("apiserver", "list 3,000 CPU ms", r"^list 3,000 pods.*MB\)\s+" + NUM + r" ms", 1, True),
    ("apiserver", "list 10,000 p50 ms", r"^list 10,000 pods.*?p50 " + NUM, 1, True),
    ("apiserver", "list 10,000 CPU ms", r"^list 10,000 pods.*MB\)\s+" + NUM + r" ms", 1, True),
    ("apiserver", "RSS 10,000 pods MB", r"^RSS, 10,000 pods stored\s+" + NUM, 1, True),
    ("apiserver", "watch events/s p50", r"^watch: events/s to each watcher\s+min \S+ p50 " + NUM, 1, False),
    ("apiserver", "watch CPU/event ms", r"^watch: events/s to each watcher.*/s\s+" + NUM + r" ms", 1, True),
    ("proxy", "iptables 1st sync s (smallest)", r"^\(a\) iptables\s+\d+ services: first full sync " + NUM, 1, True),
    ("proxy", "nftables 1st sync s (smallest)", r"^\(a\) nftables\s+\d+ services: first full sync " + NUM, 1, True),
    ("proxy", "nftables resync s (smallest)", r"^\s+periodic full resync of the untouched table " + NUM, 1, True),
    ("proxy", "iptables change ms", r"^\(b\) iptables \d+ services: one EndpointSlice change -> rules written " + NUM, 1, True),
    ("proxy", "nftables change ms", r"^\(b\) nftables \d+ services: one EndpointSlice change -> rules written " + NUM, 1, True),
    ("proxy", "iptables peak RSS MB", r"^\(d\) iptables \d+ services: peak RSS " + NUM, 1, True),
    ("proxy", "nftables peak RSS MB", r"^\(d\) nftables \d+ services: peak RSS " + NUM, 1, True),
    ("cni", "ADD p50 ms", r"^ours\s+" + NUM + r"ms", 1, True),
    ("cni", "DEL p50 ms", r"^ours\s+\S+\s+\S+\s+" + NUM + r"ms", 1, True),
    ("cni", "ADD p50 / reference", r"^ratio\s+" + NUM, 1, True),
    ("cni", "DEL p50 / reference", r"^ratio\s+\S+\s+\S+\s+" + NUM, 1, True),
]


def first(path, rx, group):
    with open(path) as f:
        for line in f:
            m = re.search(rx, line)
            if m:
                return float(m.group(group))
    return None


def values(bench, label, rx, group):
    vals = []
    for p in sorted(glob.glob(os.path.join(out, f"{bench}.{label}.*"))):
        v = first(p, rx, group)
        if v is not None:
            vals.append(v)
    return vals


loads = []
for p in glob.glob(os.path.join(out, "*.*.*")):
    v = first(p, r"^load " + NUM, 1)
    if v is not None:
        loads.append(v)
print(f"kit-compare: base {rev} vs head {head}; load average (1 min) at the runs' starts: "
      f"min {min(loads):.1f} median {statistics.median(loads):.1f} max {max(loads):.1f}" if loads else "")
print(f"{'bench':9} {'figure':34} {'base':>10} {'head':>10} {'change':>8}  result")
worse = 0
for bench, name, rx, group, lower in FIGURES:
    b, h = values(bench, "base", rx, group), values(bench, "head", rx, group)
    if not b or not h:
        continue
    mb, mh = statistics.median(b), statistics.median(h)
    if mb == 0:
        continue
    change = (mh - mb) / mb * 100
    bad = change > 5 if lower else change < -5
    worse += bad
    print(f"{bench:9} {name:34} {mb:10.3f} {mh:10.3f} {change:+7.1f}%  "
          f"{'WORSE > 5 %' if bad else 'within 5 % or better'}  (n={len(b)}/{len(h)})")
print(f"kit-compare: {worse} figure(s) more than 5 % worse (medians)")
EOF
