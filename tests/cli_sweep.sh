#!/bin/sh
# cli_sweep.sh - the cost database through the CLI: `h4h sim --db`
# memoization, `h4h sweep` (resume, kill -9, concurrent writers, --jobs)
# and `h4h db`.  Needs $H4H_BIN and $H4H_SRCDIR; python3 (for integrity
# checks through its sqlite3 module) is optional.
CLI_NAME=cli_sweep
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS8=$SRC/hwprofiles/system-npu-8cim.ini
SYS0=$SRC/hwprofiles/system-npu-only.ini
NET=$SRC/nets/hybrid_example.json
DB=$TMP/costs.db

have_py() { command -v python3 >/dev/null 2>&1; }
sql() {	# sql DB 'SELECT ...' -> first column of first row
	python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
row = con.execute(sys.argv[2]).fetchone()
print(row[0] if row else "")
EOF
}

# ---- sim --db: the second run simulates nothing, prints the same bytes ----
"$H4H" sim --system "$SYS8" --net "$NET" --json --db "$DB" \
    >"$TMP/a.json" 2>"$TMP/a.err"
check "first sim --db exits 0" '[ $? -eq 0 ]'
check "first run simulates" 'grep -q "reused, [1-9][0-9]* simulated" "$TMP/a.err"'
"$H4H" sim --system "$SYS8" --net "$NET" --json --db "$DB" \
    >"$TMP/b.json" 2>"$TMP/b.err"
check "second run simulates nothing" 'grep -q " 0 simulated" "$TMP/b.err"'
check "second run is byte-identical" 'cmp -s "$TMP/a.json" "$TMP/b.json"'
"$H4H" sim --system "$SYS8" --net "$NET" --json >"$TMP/c.json" 2>/dev/null
check "db run equals a plain run" 'cmp -s "$TMP/a.json" "$TMP/c.json"'
"$H4H" sim --system "$SYS8" --net "$NET" --json --db "$DB" \
    --set noc.bandwidth_gbps=8 >/dev/null 2>"$TMP/d.err"
check "a changed value is a new system" \
    'grep -q "reused, [1-9][0-9]* simulated" "$TMP/d.err"'

# ---- sweep: points, resume without duplicates --------------------------------
SW="--system $SYS0 --net $NET --vary noc.bandwidth_gbps=4,8 \
--vary cim.macros=0,1,4 --db $DB --quiet"
# shellcheck disable=SC2086
"$H4H" sweep $SW >"$TMP/s1.out" 2>"$TMP/s1.err"
check "sweep exits 0" '[ $? -eq 0 ]'
check "summary lists 6 points" \
    '[ "$(grep -c "objective=latency net=" "$TMP/s1.out")" -eq 6 ]'
check "summary says done" '! grep -q pending "$TMP/s1.out"'
# shellcheck disable=SC2086
"$H4H" sweep $SW >"$TMP/s2.out" 2>&1
check "resumed sweep exits 0" '[ $? -eq 0 ]'
check "resumed sweep prints the same summary" \
    'cmp -s "$TMP/s1.out" "$TMP/s2.out"'
if have_py; then
	check "no duplicate runs" \
	    '[ "$(sql "$DB" "SELECT COUNT(*) FROM runs")" -eq 6 ]'
fi

# ---- kill -9 mid-sweep, then rerun: everything exactly once ------------------
KDB=$TMP/kill.db
SK="--system $SYS0 --arch $SRC/nets/h4h-max.json --net $NET \
--vary noc.bandwidth_gbps=2,4,6,8 --vary cim.macros=0,1,2,4,8 --db $KDB --quiet"
# shellcheck disable=SC2086
"$H4H" sweep $SK >/dev/null 2>&1 &
pid=$!
killed_mid=0
if have_py; then
	# Kill once some points are committed and some are not.
	i=0
	while [ $i -lt 400 ]; do
		n=$(sql "$KDB" "SELECT COUNT(*) FROM runs WHERE status = 'done'" \
		    2>/dev/null || echo 0)
		if [ "${n:-0}" -ge 2 ]; then
			break
		fi
		sleep 0.05
		i=$((i + 1))
	done
else
	sleep 1
fi
kill -9 "$pid" 2>/dev/null && killed_mid=1
wait "$pid" 2>/dev/null
check "the sweep was killed while running" '[ "$killed_mid" -eq 1 ]'
if have_py; then
	check "killed before the end" \
	    '[ "$(sql "$KDB" "SELECT COUNT(*) FROM runs WHERE status = '"'"'done'"'"'")" -lt 40 ]'
fi
# shellcheck disable=SC2086
"$H4H" sweep $SK >"$TMP/k.out" 2>&1
check "sweep after kill -9 completes" '[ $? -eq 0 ]'
check "all 40 points listed" \
    '[ "$(grep -c "objective=latency net=" "$TMP/k.out")" -eq 40 ]'
if have_py; then
	check "integrity_check ok after kill -9" \
	    '[ "$(sql "$KDB" "PRAGMA integrity_check")" = ok ]'
	check "every point exactly once" \
	    '[ "$(sql "$KDB" "SELECT COUNT(*) FROM runs WHERE status = '"'"'done'"'"'")" -eq 40 ]'
	check "one network cost per point" \
	    '[ "$(sql "$KDB" "SELECT COUNT(*) FROM (SELECT DISTINCT system_id, network_id FROM runs)")" -eq "$(sql "$KDB" "SELECT COUNT(*) FROM network_costs")" ]'
fi

# ---- two sweeps writing one database at once, and --jobs -------------------
CDB=$TMP/conc.db
"$H4H" sweep --system "$SYS0" --net "$NET" --vary cim.macros=0,1,2,4,8 \
    --vary cim.cus_per_macro=1,2 --db "$CDB" --quiet >/dev/null 2>&1 &
p1=$!
"$H4H" sweep --system "$SYS0" --net "$NET" --vary noc.bandwidth_gbps=2,4,8 \
    --vary cim.macros=1,4 --db "$CDB" --quiet --jobs 2 >/dev/null 2>&1 &
p2=$!
wait "$p1"
r1=$?
wait "$p2"
r2=$?
check "concurrent sweep 1 exits 0" '[ "$r1" -eq 0 ]'
check "concurrent sweep 2 (--jobs 2) exits 0" '[ "$r2" -eq 0 ]'
if have_py; then
	check "concurrent sweeps lose nothing" \
	    '[ "$(sql "$CDB" "SELECT COUNT(*) FROM runs WHERE status = '"'"'done'"'"'")" -eq 16 ]'
	check "integrity_check ok after concurrent sweeps" \
	    '[ "$(sql "$CDB" "PRAGMA integrity_check")" = ok ]'
fi

# ---- h4h db ------------------------------------------------------------------
"$H4H" db summary --db "$DB" >"$TMP/sum.out" 2>&1
check "db summary exits 0" '[ $? -eq 0 ]'
check "db summary names the sweep" 'grep -qi "sweep" "$TMP/sum.out"'
"$H4H" db export --db "$DB" --format csv sweep:1 >"$TMP/exp.csv" 2>&1
check "export csv has a header and 6 rows" \
    '[ "$(wc -l <"$TMP/exp.csv")" -eq 7 ]'
"$H4H" db export --db "$DB" --format json table:systems >"$TMP/exp.json"
if have_py; then
	check "export json parses" \
	    'python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$TMP/exp.json"'
fi
# An older file: read-only commands name the upgrade, which migrates it
# once and keeps its networks (and their architectures' labels).
cp "$SRC/tests/fixtures/cost-v5.db" "$TMP/v5.db"
"$H4H" db summary --db "$TMP/v5.db" >"$TMP/v5.out" 2>"$TMP/v5.err"
check "db summary of a version-5 file exits 2 naming db upgrade" \
    '[ $? -eq 2 ] && grep -q "h4h db upgrade" "$TMP/v5.err"'
"$H4H" db upgrade --db "$TMP/v5.db" >"$TMP/up.out" 2>&1
check "db upgrade migrates it" \
    '[ $? -eq 0 ] && grep -q "schema version 6" "$TMP/up.out"'
"$H4H" db export --db "$TMP/v5.db" --format csv table:networks \
    >"$TMP/nets.csv" 2>&1
check "its networks export with their labels as text" \
    '[ "$(grep -c "\"\"stages\"\"" "$TMP/nets.csv")" -eq 8 ]'
"$H4H" db upgrade --db "$TMP/absent.db" >/dev/null 2>"$TMP/abs.err"
check "db upgrade of a missing file exits 2 and creates nothing" \
    '[ $? -eq 2 ] && [ ! -e "$TMP/absent.db" ]'
"$H4H" db query --db "$DB" "SELECT COUNT(*) AS n FROM layers" \
    >"$TMP/q.out" 2>&1
check "db query prints a header and a count" \
    'head -1 "$TMP/q.out" | grep -q "^n$" && [ "$(sed -n 2p "$TMP/q.out")" -gt 0 ]'
"$H4H" db query --db "$DB" "DELETE FROM layers" >"$TMP/w.out" 2>"$TMP/w.err"
check "db query refuses writes (exit 2)" '[ $? -eq 2 ]'
check "db query refusal is one line" '[ "$(wc -l <"$TMP/w.err")" -eq 1 ]'

# ---- bad input: nothing written, one line, exit 2 -------------------------
printf 'not a database\n' >"$TMP/text.db"
cp "$TMP/text.db" "$TMP/text.orig"
"$H4H" sim --system "$SYS0" --net "$NET" --db "$TMP/text.db" \
    >"$TMP/t.out" 2>"$TMP/t.err"
check "a text file as --db: exit 2" '[ $? -eq 2 ]'
check "a text file as --db: one line naming it" \
    '[ "$(wc -l <"$TMP/t.err")" -eq 1 ] && grep -q "text.db" "$TMP/t.err"'
check "a text file as --db is left untouched" \
    'cmp -s "$TMP/text.db" "$TMP/text.orig"'
"$H4H" sweep --system "$SYS0" --net "$NET" --vary noc.bandwdith_gbps=4 \
    --db "$TMP/new.db" >"$TMP/v.out" 2>"$TMP/v.err"
check "bad --vary key: exit 2" '[ $? -eq 2 ]'
check "bad --vary key: one line naming it" \
    '[ "$(wc -l <"$TMP/v.err")" -eq 1 ] && grep -q "bandwdith" "$TMP/v.err"'
check "bad --vary key: no database created" '[ ! -e "$TMP/new.db" ]'
"$H4H" sweep --system "$SYS0" --net "$NET" --vary cim.macros=1,-2 \
    --db "$TMP/new.db" >/dev/null 2>"$TMP/v2.err"
check "out-of-range --vary value: exit 2" '[ $? -eq 2 ]'

cli_done
