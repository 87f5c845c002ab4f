#!/usr/bin/env bats
# tools/gen-protobuf: the committed lib/protobuf-tables.inc is exactly what
# the generator writes from tools/protobuf-fields.txt; a kind added to the
# list decodes once the tables are regenerated (lib/protobuf.c built against
# them, fed a hand-encoded body); a bad list is refused with one FILE:LINE
# line per problem and leaves the output file as it was.

setup() {
	ROOT=${MK_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	GEN=$ROOT/tools/gen-protobuf
	command -v python3 >/dev/null || skip "python3 is not installed (tools/install-deps.sh)"
	cd "$BATS_TEST_TMPDIR" || return
}

# Builds tests/integration/protobuf-probe.c with the lib/protobuf.c found in
# $1 (beside the protobuf-tables.inc it includes) into the file $2.
build_probe() {
	# shellcheck disable=SC2046
	cc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wformat=2 \
		-Wno-format-nonliteral -D_GNU_SOURCE -I"$ROOT/lib" $(pkg-config --cflags jansson) \
		-O1 -o "$2" "$ROOT/tests/integration/protobuf-probe.c" "$1/protobuf.c" \
		"$ROOT/lib/err.c" "$ROOT/lib/xalloc.c" "$ROOT/lib/buf.c" "$ROOT/lib/base64.c" \
		$(pkg-config --libs jansson) -lresolv
}

@test "lib/protobuf-tables.inc is what tools/gen-protobuf writes from the committed list" {
	run "$GEN" -o tables.inc
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	if ! cmp tables.inc "$ROOT/lib/protobuf-tables.inc"; then
		echo "lib/protobuf-tables.inc is stale: run tools/gen-protobuf and commit the result"
		diff -u "$ROOT/lib/protobuf-tables.inc" tables.inc | head -40
		false
	fi
	# -o - prints the same text
	run "$GEN" -o -
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat tables.inc)" ]
}

@test "a kind added to the field list decodes after regenerating" {
	# coordination.k8s.io/v1 Lease as upstream numbers it; renewTime is a
	# MicroTime, a type no committed kind uses.
	python3 - >lease.pb <<'EOF'
import sys

def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out

def vi(num, v):
    return varint(num << 3) + varint(v)

def ld(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload

meta = ld(1, b"node1") + ld(3, b"kube-node-lease")
renew = vi(1, 1718000000) + vi(2, 123456789)
spec = ld(1, b"node1") + vi(2, 40) + ld(4, renew) + vi(5, 0)
typemeta = ld(1, b"coordination.k8s.io/v1") + ld(2, b"Lease")
sys.stdout.buffer.write(b"k8s\0" + ld(1, typemeta) + ld(2, ld(1, meta) + ld(2, spec)))
EOF

	# the committed tables do not know the kind
	build_probe "$ROOT/lib" stock
	run ./stock lease.pb
	[ "$status" -eq 1 ]
	[ "$output" = "error 9: no protobuf schema for coordination.k8s.io/v1, Kind=Lease; send JSON instead" ]

	cp "$ROOT/tools/protobuf-fields.txt" fields.txt
	cat >>fields.txt <<'EOF'

kind coordination.k8s.io/v1 Lease coordination.Lease

message coordination.Lease
	1 metadata meta.ObjectMeta
	2 spec     coordination.LeaseSpec

message coordination.LeaseSpec
	1 holderIdentity       *string
	2 leaseDurationSeconds *int32
	3 acquireTime          *meta.MicroTime
	4 renewTime            *meta.MicroTime
	5 leaseTransitions     *int32
EOF
	mkdir src
	cp "$ROOT/lib/protobuf.c" src/
	run "$GEN" -o src/protobuf-tables.inc fields.txt
	echo "$output"
	[ "$status" -eq 0 ]
	build_probe src extended
	run ./extended lease.pb
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"node1","leaseDurationSeconds":40,"renewTime":"2024-06-10T06:13:20.123456Z","leaseTransitions":0}}' ]

	# and the kinds already listed decode as before
	for pb in "$ROOT"/tests/fixtures/protobuf/*.pb; do
		[ "$(./extended "$pb")" = "$(./stock "$pb")" ] || {
			echo "$pb decodes differently"
			false
		}
	done
}

# Runs the generator on list.txt (written from stdin) with an existing output
# file; it must exit 1 printing exactly the lines in $1 and leave the file.
refused() {
	cat >list.txt
	echo "previous tables" >out.inc
	run "$GEN" -o out.inc list.txt
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$output" = "$1" ]
	[ "$(cat out.inc)" = "previous tables" ]
	[ -z "$(find . -name '.gen-protobuf.*')" ]
}

@test "a valid small list generates, and each defect of a list is refused by line" {
	cat >list.txt <<'EOF'
kind v1 ConfigMap core.ConfigMap   # a comment
message core.ConfigMap
	1 metadata meta.ObjectMeta
	2 data     map[string]string
message meta.ObjectMeta
	1 name string
EOF
	run "$GEN" -o - list.txt
	[ "$status" -eq 0 ]
	[[ "$output" == *$'static const struct pb_field f_core_ConfigMap[] = {\n\t{1, "metadata", PB_MSG, 0, &m_meta_ObjectMeta},\n\t{2, "data", PB_STRING, PB_MAP, NULL},\n};\nPB_DEFINE(core, ConfigMap);\n'* ]]
	[[ "$output" == *$'\t{"v1", "ConfigMap", &m_core_ConfigMap},\n'* ]]

	refused 'list.txt:4: unknown type "strng"' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
	2 data     map[string]strng
message meta.ObjectMeta
	1 name string
EOF
	refused 'list.txt:4: map keys must be string in "map[int32]string"' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
	2 data     map[int32]string
message meta.ObjectMeta
	1 name string
EOF
	refused 'list.txt:3: message meta.ObjectMta is not defined' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMta
	2 data     map[string]string
message meta.ObjectMeta
	1 name string
EOF
	refused 'list.txt:4: core.ConfigMap: field number 1 is already used on line 3' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
	1 data     map[string]string
message meta.ObjectMeta
	1 name string
EOF
	refused 'list.txt:4: core.ConfigMap: field metadata is already defined on line 3' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
	2 metadata map[string]string
message meta.ObjectMeta
	1 name string
EOF
	refused 'list.txt:7: message core.Unused is not used by any kind' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
	2 data     map[string]string
message meta.ObjectMeta
	1 name string
message core.Unused
	1 name string
EOF
	refused 'list.txt:4: ",inline" needs a plain message type, not "*meta.ObjectMeta"' <<'EOF'
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
	2 meta     *meta.ObjectMeta,inline
message meta.ObjectMeta
	1 name string
EOF
	refused 'list.txt:2: kind v1 ConfigMap is already listed on line 1' <<'EOF'
kind v1 ConfigMap core.ConfigMap
kind v1 ConfigMap core.ConfigMap
message core.ConfigMap
	1 metadata meta.ObjectMeta
message meta.ObjectMeta
	1 name string
EOF
	# several defects: every one is reported, in line order
	refused $'list.txt:2: field outside a message\nlist.txt:5: field number "0" is not in 1..536870911\nlist.txt:6: field number 19500 is reserved by protobuf\nlist.txt:7: "data()" is not a JSON field name' <<'EOF'
kind v1 ConfigMap core.ConfigMap
	7 orphan string
message core.ConfigMap
	1 name string
	0 metadata string
	19500 other string
	2 data() string
EOF
}

@test "the generator refuses a bad command line or a missing list" {
	run "$GEN" -x
	[ "$status" -eq 2 ]
	[[ "$output" == *"unrecognized arguments: -x"* ]]
	echo "previous tables" >out.inc
	run "$GEN" -o out.inc missing.txt
	[ "$status" -eq 1 ]
	[ "$output" = "missing.txt: cannot read: No such file or directory" ]
	[ "$(cat out.inc)" = "previous tables" ]
}
