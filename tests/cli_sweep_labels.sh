#!/bin/sh
# cli_sweep_labels.sh - sweeps that cannot mislabel their points: a varied
# objective, a key varied twice and empty list entries are refused; `db
# export sweep:ID` gives one row per point when other objectives' costs of
# the same systems are stored; an empty profile and a network given twice
# are errors.  Needs $H4H_BIN and $H4H_SRCDIR.
CLI_NAME=cli_sweep_labels
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

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

# ---- points are named after the sweep that ran them --------------------------
"$H4H" sweep --system "$SYS" --net "$NET" --db "$TMP/n.db" --quiet \
    --vary cim.macros=1,2 >/dev/null 2>&1
"$H4H" sweep --system "$SYS" --net "$NET" --db "$TMP/n.db" --quiet \
    --set system.name=other --vary cim.macros=1,2 >/dev/null 2>&1
"$H4H" db export --db "$TMP/n.db" sweep:2 >"$TMP/n2.csv"
check "a second sweep over the same systems is a new sweep" \
    '[ "$(wc -l <"$TMP/n2.csv")" -eq 3 ]'
check "its points carry its own names" \
    'grep -q ",other:macros=1,hybrid-example$" "$TMP/n2.csv" && grep -q ",other:macros=2,hybrid-example$" "$TMP/n2.csv"'
check "the systems keep the first sweep's names" \
    '"$H4H" db export --db "$TMP/n.db" table:systems | grep -q ",npu-8cim:macros=1,"'

# ---- whole-component sweeps: a U55-32 point is a U55-32 -------------------------
"$H4H" sweep --system "$SYS" --net "$NET" --db "$TMP/inc.db" --quiet \
    --vary system.include=npu/u55-32.ini,npu/u55-256.ini >"$TMP/inc.out" 2>&1
check "system.include sweep exits 0" '[ $? -eq 0 ]'
check "... with 2 points" '[ "$(grep -c "system.include=npu/u55-" "$TMP/inc.out")" -eq 2 ]'
# The same system by hand: npu-8cim with the U55-32 file loaded last.
printf '[system]\nname = by-hand\ninclude = %s, %s\n' "$SYS" \
    "$SRC/hwprofiles/npu/u55-32.ini" >"$TMP/u32.ini"
"$H4H" system "$TMP/u32.ini" >"$TMP/u32.sys"
check "by hand, npu.static_mw is the U55-32's 1.5 mW" \
    'grep -E "^npu.static_mw +1.5 " "$TMP/u32.sys" >/dev/null'
"$H4H" sim --system "$TMP/u32.ini" --net "$NET" --json >"$TMP/u32.json"
e_hand=$(sed -n 's/^  "energy_j": \(.*\),$/\1/p' "$TMP/u32.json" | head -1)
"$H4H" db export --db "$TMP/inc.db" sweep:1 >"$TMP/inc.csv"
e_sweep=$(grep "u55-32" "$TMP/inc.csv" | cut -d, -f8)
check "the U55-32 point costs what the U55-32 system costs" \
    'python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(abs(a-b) > 1e-9*b)" "$e_hand" "$e_sweep"'
e_256=$(grep "u55-256" "$TMP/inc.csv" | cut -d, -f8)
check "... and not what the U55-256 costs" '[ "$e_sweep" != "$e_256" ]'
refuse "missing component file" "--vary system.include=npu/nope.ini" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" \
    --vary system.include=npu/nope.ini
# A good file before the bad one: under make check-sanitize, LeakSanitizer
# fails this if the good one's strings leak (issue 19).
refuse "good then missing component file" "--vary system.include=npu/nope.ini" -- \
    sweep --system "$SYS" --net "$NET" --db "$TMP/x.db" \
    --vary system.include=npu/u55-32.ini,npu/nope.ini

# ---- sim: empty profile, network twice ------------------------------------------
: >"$TMP/empty.ini"
refuse "empty profile" "profile '$TMP/empty.ini' is empty" -- \
    sim --system "$TMP/empty.ini" --net "$NET"
printf '; only a comment\n\n' >"$TMP/comment.ini"
refuse "comment-only profile" "is empty" -- \
    sim --system "$TMP/comment.ini" --net "$NET"
refuse "--net twice" "give exactly one of --net, --arch and --onnx (got 2)" -- \
    sim --system "$SYS" --net "$NET" --net "$NET"

cli_done
