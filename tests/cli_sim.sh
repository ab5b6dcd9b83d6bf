#!/bin/sh
# cli_sim.sh - `h4h sim` on good input: the JSON report (its fields, that
# the layers' latencies add up to the total, determinism), no SystemC banner
# anywhere, the Chrome trace (valid JSON, the expected tracks, spans), the
# CSV (one line per layer), the side-by-side comparison of two systems, an
# H4H architecture as input, the energy objective never costing more
# energy than the latency one, and a global pool over a large map.
#
# Needs H4H_BIN (the built h4h) and H4H_SRCDIR (the source root), as
# `make check` provides.  JSON checks need python3 and are skipped (counted
# neither passed nor failed) without it.  Prints "N passed, M failed";
# exits 1 on failure.
CLI_NAME=cli_sim
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS="$H4H_SRCDIR/hwprofiles/system-npu-8cim.ini"
SYS0="$H4H_SRCDIR/hwprofiles/system-npu-only.ini"
NET="$H4H_SRCDIR/nets/hybrid_example.json"
ARCH="$H4H_SRCDIR/nets/h4h-min.json"

passed=0
failed=0
skipped=0
PY=
if command -v python3 >/dev/null 2>&1; then
	PY=python3
fi

pass() {
	passed=$((passed + 1))
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $1: $2"
	if [ $# -gt 2 ] && [ -s "$3" ]; then
		head -n 5 "$3" | sed 's/^/  /'
	fi
}

# run NAME OUT ERR -- h4h-args...: h4h must exit 0.  Returns 1 otherwise.
run() {
	name=$1
	out=$2
	err=$3
	shift 4
	"$H4H_BIN" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name" "exit status $rc" "$err"
		return 1
	fi
	return 0
}

# pycheck NAME FILE SCRIPT [ARGS...]: python3 SCRIPT reads FILE on stdin
# and exits non-zero (with a message) if a check fails.
pycheck() {
	name=$1
	file=$2
	script=$3
	shift 3
	if [ -z "$PY" ]; then
		skipped=$((skipped + 1))
		return
	fi
	if "$PY" -c "$script" "$@" <"$file" >"$TMP/py" 2>&1; then
		pass
	else
		fail "$name" "python check failed" "$TMP/py"
	fi
}

no_banner() {
	name=$1
	shift
	if grep -q -i -e 'SystemC' -e 'Copyright' "$@"; then
		fail "$name" "SystemC banner or report in the output" "$1"
	else
		pass
	fi
}

# ---- the JSON report ------------------------------------------------------

if run "json" "$TMP/a.json" "$TMP/a.err" -- \
    sim --system "$SYS" --net "$NET" --json; then
	pass
	no_banner "json: no banner" "$TMP/a.json" "$TMP/a.err"
	pycheck "json: fields and sums" "$TMP/a.json" '
import json, sys
d = json.load(sys.stdin)
def ok(c, msg):
    if not c:
        sys.exit(msg)
ok(d["latency_s"] > 0, "latency_s must be > 0")
ok(d["energy_j"] > 0, "energy_j must be > 0")
ok(d["system"] == "npu-8cim", "system name %r" % d["system"])
L = d["layers"]
ok(len(L) > 0, "layers[] is empty")
for l in L:
    for k in ("name", "op", "cycles", "latency_s", "energy_j",
              "npu_fraction"):
        ok(k in l, "layer %r lacks %r" % (l.get("name"), k))
    ok(isinstance(l["name"], str) and l["name"], "bad name")
    ok(0 <= l["npu_fraction"] <= 1, "%s: npu_fraction %r" %
       (l["name"], l["npu_fraction"]))
    ok(l["latency_s"] > 0, "%s: latency_s %r" % (l["name"], l["latency_s"]))
    ok(l["energy_j"] > 0, "%s: energy_j %r" % (l["name"], l["energy_j"]))
    ok(l["cycles"] > 0, "%s: cycles %r" % (l["name"], l["cycles"]))
s = sum(l["latency_s"] for l in L)
ok(abs(s - d["latency_s"]) <= 1e-9 * d["latency_s"],
   "sum of layer latencies %r != latency_s %r" % (s, d["latency_s"]))
e = sum(l["energy_j"] for l in L)
ok(abs(e - d["energy_j"]) <= 1e-9 * d["energy_j"],
   "sum of layer energies %r != energy_j %r" % (e, d["energy_j"]))
# The 8-macro system does use its macros for some layer.
ok(any(l["npu_fraction"] < 1 for l in L), "no layer uses the CIM macros")
ok(any(l["npu_fraction"] == 1 for l in L), "softmax etc. must stay on NPU")
'
	# Same input, same bytes.
	if run "json again" "$TMP/b.json" "$TMP/b.err" -- \
	    sim --system "$SYS" --net "$NET" --json; then
		if cmp -s "$TMP/a.json" "$TMP/b.json"; then
			pass
		else
			fail "determinism" "two runs printed different JSON"
		fi
	fi
fi

# ---- the table, trace and CSV ------------------------------------------------

if run "trace+csv" "$TMP/t.out" "$TMP/t.err" -- \
    sim --system "$SYS" --net "$NET" --trace "$TMP/trace.json" \
    --csv "$TMP/layers.csv"; then
	pass
	no_banner "table: no banner" "$TMP/t.out" "$TMP/t.err"
	if grep -q 'npu-8cim' "$TMP/t.out" && grep -q '^total' "$TMP/t.out"
	then
		pass
	else
		fail "table" "no system name or total line on stdout" "$TMP/t.out"
	fi
	if [ -s "$TMP/trace.json" ]; then
		pass
		pycheck "trace: tracks and spans" "$TMP/trace.json" '
import json, sys
d = json.load(sys.stdin)
ev = d["traceEvents"]
names = set(e["args"]["name"] for e in ev
            if e.get("ph") == "M" and e.get("name") == "thread_name")
for want in ("npu mac stage", "noc", "cim0", "cim0 cu0"):
    if want not in names:
        sys.exit("no thread_name %r in %r" % (want, sorted(names)))
x = [e for e in ev if e.get("ph") == "X"]
if not x:
    sys.exit("no X events")
for e in x:
    if e["dur"] < 0 or e["ts"] < 0:
        sys.exit("bad span %r" % e)
'
	else
		fail "trace" "no trace file written"
	fi
	if [ -s "$TMP/layers.csv" ]; then
		lines=$(wc -l <"$TMP/layers.csv" | tr -d ' ')
		# Layers in the JSON report: only layers have a "name" key.
		n=$(grep -c '^ *"name":' "$TMP/a.json")
		if [ "$lines" -eq $((n + 1)) ] && [ "$n" -gt 0 ] &&
		    head -n 1 "$TMP/layers.csv" | grep -q '^system,.*layer'; then
			pass
		else
			fail "csv" "$lines lines for $n layers, want a header + one per layer" \
			    "$TMP/layers.csv"
		fi
	else
		fail "csv" "no CSV written"
	fi
fi

# ---- two systems side by side -------------------------------------------------

if run "compare" "$TMP/c.out" "$TMP/c.err" -- \
    sim --system "$SYS0" --system "$SYS" --net "$NET"; then
	if grep -q 'npu-only' "$TMP/c.out" && grep -q 'npu-8cim' "$TMP/c.out"
	then
		pass
	else
		fail "compare" "both system names must appear" "$TMP/c.out"
	fi
	no_banner "compare: no banner" "$TMP/c.out" "$TMP/c.err"
fi

# ---- an H4H architecture -------------------------------------------------------

if run "arch" "$TMP/arch.json" "$TMP/arch.err" -- \
    sim --system "$SYS" --arch "$ARCH" --json; then
	pass
	pycheck "arch: report" "$TMP/arch.json" '
import json, sys
d = json.load(sys.stdin)
if not (d["latency_s"] > 0 and d["energy_j"] > 0 and len(d["layers"]) > 0):
    sys.exit("empty or zero report")
'
fi

# ---- the energy objective ------------------------------------------------------

if run "energy objective" "$TMP/e.json" "$TMP/e.err" -- \
    sim --system "$SYS" --net "$NET" --json --objective energy; then
	pass
	if [ -n "$PY" ]; then
		if "$PY" -c '
import json, sys
e = json.load(open(sys.argv[1]))
l = json.load(open(sys.argv[2]))
if e["objective"] != "energy":
    sys.exit("objective %r" % e["objective"])
if not e["energy_j"] <= l["energy_j"] * 1.0001:
    sys.exit("energy objective %r J > latency objective %r J" %
             (e["energy_j"], l["energy_j"]))
if not l["latency_s"] <= e["latency_s"] * 1.0001:
    sys.exit("latency objective %r s > energy objective %r s" %
             (l["latency_s"], e["latency_s"]))
' "$TMP/e.json" "$TMP/a.json" >"$TMP/py" 2>&1; then
			pass
		else
			fail "energy objective" "python check failed" "$TMP/py"
		fi
	else
		skipped=$((skipped + 1))
	fi
fi

# A global pool over a 56x56 map: strided pools first, as for ONNX (issue
# 19: it failed "no block configuration fits SHRAM").
cat >"$TMP/gp.json" <<'EOF2'
{"name": "gp", "input": [56, 56, 16], "layers": [
 {"name": "c1", "op": "conv", "kernel": 3, "out": 32},
 {"name": "gap", "op": "avgpool", "global": true},
 {"name": "fc", "op": "fc", "out": 10}]}
EOF2
if run "large global pool" "$TMP/gp.out" "$TMP/gp.err" -- \
    sim --system "$SYS" --net "$TMP/gp.json"; then
	pass
	if grep -q "^gap~pre1 *avgpool *56x56x32>14x14x32 " "$TMP/gp.out" &&
	    grep -q "^gap *avgpool *14x14x32>1x1x32 " "$TMP/gp.out"; then
		pass
	else
		fail "large global pool" "no 56x56 -> 14x14 pre-pool" "$TMP/gp.out"
	fi
fi

if [ "$skipped" -gt 0 ]; then
	echo "($skipped JSON checks skipped: no python3)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
