#!/bin/sh
# cli_sweep_labels.sh - sweeps that cannot mislabel their points: a varied
# objective, a key varied twice and empty list entries are refused; `db
# export sweep:ID` gives one row per point when other objectives' costs of
# the same systems are stored; an empty profile and a network given twice
# are errors.  Needs $H4H_BIN and $H4H_SRCDIR.
set -u

H4H=${H4H_BIN:?H4H_BIN must name the h4h binary}
SRC=${H4H_SRCDIR:?H4H_SRCDIR must name the source tree}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }

SYS=$SRC/hwprofiles/system-npu-8cim.ini
NET=$SRC/nets/hybrid_example.json
DB=$TMP/c.db

# refuse NAME MESSAGE -- ARGS: exit 2, one line containing MESSAGE, no db.
refuse() {
	name=$1 msg=$2
	shift 3
	"$H4H" "$@" >/dev/null 2>"$TMP/err"
	rc=$?
	check "$name: exit 2" '[ $rc -eq 2 ]'
	check "$name: one line" '[ "$(wc -l <"$TMP/err")" -eq 1 ]'
	check "$name: says '$msg'" 'grep -qF -- "$msg" "$TMP/err"'
}

refuse "varied objective" "the objective cannot vary within a sweep" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" \
    --vary partition.objective=latency,energy,edp
refuse "key varied twice" "--vary cim.macros is given twice" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" \
    --vary cim.macros=1,2 --vary cim.macros=4
refuse "empty entry" "--vary 'cim.macros=1,,2': empty value" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" \
    --vary cim.macros=1,,2
refuse "trailing comma" "empty value" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" --vary cim.macros=1,
refuse "empty list" "empty value" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" --vary cim.macros=
check "refused sweeps leave no database" '[ ! -e "$TMP/x.db" ]'

# ---- export: one row per point, the sweep's own objective ------------------
"$H4H" sweep --system "$SYS" --net "$NET" --db "$DB" --quiet \
    --vary cim.macros=1,2 >/dev/null 2>&1
check "latency sweep exits 0" '[ $? -eq 0 ]'
"$H4H" sweep --system "$SYS" --net "$NET" --db "$DB" --quiet \
    --vary cim.macros=1,2 --objective energy >/dev/null 2>&1
check "energy sweep of the same systems exits 0" '[ $? -eq 0 ]'
"$H4H" db export --db "$DB" sweep:1 >"$TMP/e1.csv"
check "sweep 1 exports 2 points, not 4" '[ "$(wc -l <"$TMP/e1.csv")" -eq 3 ]'
check "sweep 1 rows are latency costs" \
    '[ "$(grep -c ",latency," "$TMP/e1.csv")" -eq 2 ]'
"$H4H" db export --db "$DB" sweep:2 >"$TMP/e2.csv"
check "sweep 2 rows are energy costs" \
    '[ "$(grep -c ",energy," "$TMP/e2.csv")" -eq 2 ] && [ "$(wc -l <"$TMP/e2.csv")" -eq 3 ]'

# ---- sim: empty profile, network twice ------------------------------------------
: >"$TMP/empty.ini"
refuse "empty profile" "profile '$TMP/empty.ini' is empty" -- \
    sim --system "$TMP/empty.ini" --net "$NET"
printf '; only a comment\n\n' >"$TMP/comment.ini"
refuse "comment-only profile" "is empty" -- \
    sim --system "$TMP/comment.ini" --net "$NET"
refuse "--net twice" "give exactly one of --net, --arch and --onnx (got 2)" -- \
    sim --system "$SYS" --net "$NET" --net "$NET"

echo "cli_sweep_labels: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
