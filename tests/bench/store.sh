#!/usr/bin/env bash
# Store benchmark (apiserver/store-sqlite.c): SQLite commit floor, store
# create/update p50/p99 and their ratio to the floor, group commit with 8
# writer threads, list times and RSS with 10,000 pod-sized objects.
set -eu
cd "${MK_ROOT:-$(dirname "$0")/../..}"
make -s build/apiserver/store.o build/apiserver/store-sqlite.o build/libmk.a >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -D_GNU_SOURCE -Ilib -I. -o "$tmp/store-bench" tests/bench/store-bench.c \
	build/apiserver/store-sqlite.o build/apiserver/store.o build/libmk.a \
	$(pkg-config --libs sqlite3 jansson) -lpthread -lresolv
mkdir "$tmp/data"
"$tmp/store-bench" "$tmp/data"
