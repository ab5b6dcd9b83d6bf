#!/bin/sh
# cli_errors.sh - `h4h` on bad input: every case must exit with its status
# (2: bad usage or bad input, a missing input file included; 1: an output
# that cannot be written, H4H_EIO), print exactly one line on stderr that starts
# with "h4h: sim: " and names the offending file, key or value, print nothing
# on stdout, and leave no --csv/--trace output behind.  Also: --help exits 0
# with usage on stdout, an unknown command exits 2.
#
# Needs H4H_BIN (the built h4h) and H4H_SRCDIR (the source root), as
# `make check` provides.  Prints "N passed, M failed"; exits 1 on failure.
CLI_NAME=cli_errors
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS="$H4H_SRCDIR/hwprofiles/system-npu-8cim.ini"
NET="$H4H_SRCDIR/nets/hybrid_example.json"

passed=0
failed=0

fail() {
	failed=$((failed + 1))
	echo "FAIL: $1: $2"
	if [ -s "$TMP/err" ]; then
		sed 's/^/  stderr: /' "$TMP/err"
	fi
	if [ -s "$TMP/out" ]; then
		head -n 5 "$TMP/out" | sed 's/^/  stdout: /'
	fi
}

# check_error NAME STATUS PREFIX "WORD|WORD..." -- h4h-args...
# Runs h4h with the arguments; each WORD (separated by '|') must appear in
# the one stderr line.
check_error() {
	name=$1
	want=$2
	prefix=$3
	words=$4
	shift 5
	rm -f "$TMP"/out.*
	"$H4H_BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, want $want"
		return
	fi
	if [ -s "$TMP/out" ]; then
		fail "$name" "stdout is not empty"
		return
	fi
	lines=$(wc -l <"$TMP/err" | tr -d ' ')
	if [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, want exactly 1"
		return
	fi
	line=$(cat "$TMP/err")
	case $line in
	"$prefix"*) ;;
	*)
		fail "$name" "stderr does not start with '$prefix'"
		return
		;;
	esac
	old_ifs=$IFS
	IFS='|'
	for w in $words; do
		case $line in
		*"$w"*) ;;
		*)
			IFS=$old_ifs
			fail "$name" "message does not mention '$w'"
			return
			;;
		esac
	done
	IFS=$old_ifs
	# With several systems the trace is out.<system>.trace.
	for f in "$TMP"/out.*; do
		if [ -e "$f" ]; then
			fail "$name" "a failed run wrote '${f##*/}'"
			return
		fi
	done
	passed=$((passed + 1))
}

# check_usage NAME -- h4h-args...: exit 0, usage on stdout, stderr empty.
check_usage() {
	name=$1
	shift 2
	"$H4H_BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name" "exit status $rc, want 0"
	elif ! grep -q '^usage: h4h' "$TMP/out"; then
		fail "$name" "no 'usage: h4h' line on stdout"
	elif [ -s "$TMP/err" ]; then
		fail "$name" "stderr is not empty"
	else
		passed=$((passed + 1))
	fi
}

# Output options that must not leave files behind when a run fails.
OUTS="--csv $TMP/out.csv --trace $TMP/out.trace"

# ---- profiles ---------------------------------------------------------------

printf '[noc]\nbandwdith_gbps = 4\n' >"$TMP/typo.ini"
# shellcheck disable=SC2086
check_error "unknown profile key" 2 "h4h: sim: " \
    "typo.ini|line 2|bandwdith_gbps" -- \
    sim --system "$TMP/typo.ini" --net "$NET" $OUTS

printf '[noc]\nbandwidth_gbps = -4\n' >"$TMP/neg.ini"
# shellcheck disable=SC2086
check_error "out-of-range value in a profile" 2 "h4h: sim: " \
    "neg.ini|line 2|noc.bandwidth_gbps|-4" -- \
    sim --system "$TMP/neg.ini" --net "$NET" $OUTS

printf '[npu]\nsoftmax_passes = 8\n' >"$TMP/retired.ini"
check_error "retired profile key" 2 "h4h: sim: " \
    "retired.ini|line 2|npu.softmax_passes|retired in model revision 2" -- \
    sim --system "$TMP/retired.ini" --net "$NET"

check_error "--set a memory mode that does not exist" 2 "h4h: sim: " \
    "npu.memory_mode|flash|sram_only, shared_sram" -- \
    sim --system "$SYS" --net "$NET" --set npu.memory_mode=flash

printf '[cim]\nifmp_read_bytes_per_cycle = 0\n' >"$TMP/port.ini"
check_error "zero IFMP read port" 2 "h4h: sim: " \
    "port.ini|line 2|cim.ifmp_read_bytes_per_cycle|0" -- \
    sim --system "$TMP/port.ini" --net "$NET"

printf '[nocc]\nbandwidth_gbps = 4\n' >"$TMP/sect.ini"
check_error "unknown profile section" 2 "h4h: sim: " "sect.ini|nocc" -- \
    sim --system "$TMP/sect.ini" --net "$NET"

# shellcheck disable=SC2086
check_error "--set bandwidth 0" 2 "h4h: sim: " \
    "noc.bandwidth_gbps|0" -- \
    sim --system "$SYS" --net "$NET" --set noc.bandwidth_gbps=0 $OUTS

check_error "--set npu.macs=100" 2 "h4h: sim: " "npu.macs|100" -- \
    sim --system "$SYS" --net "$NET" --set npu.macs=100

check_error "--set unknown key" 2 "h4h: sim: " "noc.bandwith_gbps" -- \
    sim --system "$SYS" --net "$NET" --set noc.bandwith_gbps=8

check_error "--set without =" 2 "h4h: sim: " "cim.macros" -- \
    sim --system "$SYS" --net "$NET" --set cim.macros

check_error "--set not a number" 2 "h4h: sim: " "cim.macros|four" -- \
    sim --system "$SYS" --net "$NET" --set cim.macros=four

# The second system is bad: nothing at all must be printed or written.
# shellcheck disable=SC2086
check_error "second system bad" 2 "h4h: sim: " "typo.ini|bandwdith_gbps" -- \
    sim --system "$SYS" --system "$TMP/typo.ini" --net "$NET" $OUTS

# ---- nets -------------------------------------------------------------------

printf '{"name": "x", "input": [8, 8, 3], "layers": [\n  {"name": "a", "op": "conv" "kernel": 3, "out": 8}]}\n' \
    >"$TMP/syntax.json"
# shellcheck disable=SC2086
check_error "malformed JSON" 2 "h4h: sim: " "syntax.json|line 2|column" -- \
    sim --system "$SYS" --net "$TMP/syntax.json" $OUTS

printf '{"name": "x", "input": [8, 8, 3], "layers": [{"name": "a", "op": "frobnicate"}]}\n' \
    >"$TMP/op.json"
check_error "unknown op" 2 "h4h: sim: " "op.json|'a'|frobnicate" -- \
    sim --system "$SYS" --net "$TMP/op.json"

printf '{"name": "x", "input": [8, 8, 3], "layers": [%s, %s]}\n' \
    '{"name": "a", "op": "conv", "kernel": 1, "out": 8}' \
    '{"name": "b", "op": "add", "inputs": ["input", "a"]}' \
    >"$TMP/shape.json"
# shellcheck disable=SC2086
check_error "shapes do not chain" 2 "h4h: sim: " \
    "shape.json|'b'|8x8x3|8x8x8" -- \
    sim --system "$SYS" --net "$TMP/shape.json" $OUTS

printf '{"name": "x", "input": [8, 8, 3], "layers": [{"name": "a", "op": "conv", "kernel": 1, "out": 0}]}\n' \
    >"$TMP/zero.json"
check_error "zero output channels" 2 "h4h: sim: " "zero.json|'a'|out" -- \
    sim --system "$SYS" --net "$TMP/zero.json"

printf '{"name": "x", "input": [8, 8, 3], "layers": [{"name": "a", "op": "conv", "kernal": 3, "out": 8}]}\n' \
    >"$TMP/key.json"
check_error "unknown layer key" 2 "h4h: sim: " "key.json|kernal" -- \
    sim --system "$SYS" --net "$TMP/key.json"

# ---- input files that cannot be read: bad input, exit 2 --------------------

# shellcheck disable=SC2086
check_error "missing net file" 2 "h4h: sim: " "$TMP/nonexistent.json" -- \
    sim --system "$SYS" --net "$TMP/nonexistent.json" $OUTS

# shellcheck disable=SC2086
check_error "missing profile file" 2 "h4h: sim: " "$TMP/nonexistent.ini" -- \
    sim --system "$TMP/nonexistent.ini" --net "$NET" $OUTS

check_error "missing arch file" 2 "h4h: sim: " "$TMP/nonexistent-arch.json" -- \
    sim --system "$SYS" --arch "$TMP/nonexistent-arch.json"

# An output that cannot be written fails the run (exit 1) and the other
# output is not written either.
check_error "unwritable CSV" 1 "h4h: sim: " "$TMP/nodir/x.csv" -- \
    sim --system "$SYS" --net "$NET" --csv "$TMP/nodir/x.csv" \
    --trace "$TMP/out.trace"

check_error "unwritable trace" 1 "h4h: sim: " "$TMP/nodir/x.json" -- \
    sim --system "$SYS" --net "$NET" --trace "$TMP/nodir/x.json" \
    --csv "$TMP/out.csv"

# ---- usage --------------------------------------------------------------------

check_error "unknown option" 2 "h4h: sim: " "--frobnicate" -- \
    sim --system "$SYS" --net "$NET" --frobnicate

check_error "missing --system" 2 "h4h: sim: " "--system" -- \
    sim --net "$NET"

check_error "both --net and --arch" 2 "h4h: sim: " "--net|--arch" -- \
    sim --system "$SYS" --net "$NET" \
    --arch "$H4H_SRCDIR/nets/h4h-min.json"

check_error "neither --net nor --arch" 2 "h4h: sim: " "--net|--arch" -- \
    sim --system "$SYS"

check_error "bad objective" 2 "h4h: sim: " "--objective|speed" -- \
    sim --system "$SYS" --net "$NET" --objective speed

check_error "stray argument" 2 "h4h: sim: " "extra" -- \
    sim --system "$SYS" --net "$NET" extra

check_error "unknown command" 2 "h4h: " "nosuchcmd" -- nosuchcmd

check_error "reproduce fig8 with one checkpoint" 2 "h4h: reproduce fig8: " \
    "at least two|cnn=FILE|vanilla=FILE|tpi=FILE" -- \
    reproduce fig8 --out "$TMP/fig8" --ckpt tpi="$TMP/none.ckpt"
check_error "reproduce fig8, a checkpoint key it does not know" 2 \
    "h4h: reproduce fig8: " "big=x.ckpt" -- \
    reproduce fig8 --out "$TMP/fig8" --ckpt big=x.ckpt

check_usage "h4h --help" -- --help
check_usage "h4h sim --help" -- sim --help

"$H4H_BIN" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -ne 2 ]; then
	fail "no command" "exit status $rc, want 2"
elif [ -s "$TMP/out" ] || ! grep -q '^usage: h4h' "$TMP/err"; then
	fail "no command" "usage must go to stderr, nothing to stdout"
else
	passed=$((passed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
