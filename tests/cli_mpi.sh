#!/bin/sh
# cli_mpi.sh - scale-out (doc/scale.md): `h4h sweep --shard K/N` and
# `h4h db merge` give the rows of a one-process sweep; merge refuses two
# values for one key and leaves its output as it was; under
# `mpirun --allow-run-as-root --oversubscribe -np 2`, `h4h sweep` gives
# the same rows, a SIGKILLed rank makes the run exit non-zero with the
# launcher's line naming the rank, and a rerun resumes to the same rows.
# The MPI cases skip (77 when nothing else ran) without mpirun or an h4h
# built with MPI.  --jobs 2 runs two workers on rank 1 too, with the
# same rows.  Rows are compared through tests/db_rows.sh, which
# replaces ids by identities.
CLI_NAME=cli_mpi
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SYS=$SRC/hwprofiles/system-npu-only.ini
NET1=$SRC/nets/hybrid_example.json
NET2=$SRC/nets/mobilenet_v2.json
rows() { sh "$SRC/tests/db_rows.sh" "$1"; }
SW="--system $SYS --net $NET1 --net $NET2 --vary noc.bandwidth_gbps=4,8 \
--vary cim.macros=0,1,4 --quiet"

# ---- one process: the reference rows ----------------------------------------
# shellcheck disable=SC2086
"$H4H" sweep $SW --db "$TMP/one.db" >"$TMP/one.out" 2>&1
check "one-process sweep exits 0" '[ $? -eq 0 ]'
rows "$TMP/one.db" >"$TMP/one.rows"
check "the reference has rows" '[ "$(wc -l <"$TMP/one.rows")" -gt 100 ]'

# ---- shards and merge ---------------------------------------------------------
for k in 1 2 3; do
	# shellcheck disable=SC2086
	"$H4H" sweep $SW --shard $k/3 --db "$TMP/s$k.db" >"$TMP/s$k.out" 2>&1
	check "shard $k/3 exits 0" '[ $? -eq 0 ]'
done
check "a shard runs only its points (12 points, shard 1/3: 0 3 6 9)" \
    '[ "$(grep -c " done " "$TMP/s1.out")" -eq 4 ] &&
     [ "$(awk "/ done /{print \$1}" "$TMP/s1.out" | tr "\n" " ")" = "0 3 6 9 " ]'
# shellcheck disable=SC2086
"$H4H" sweep $SW --shard 0/3 --db "$TMP/bad.db" >/dev/null 2>"$TMP/shard.err"
check "--shard 0/3 is a usage error naming the value" \
    '[ $? -eq 2 ] && grep -q "0/3" "$TMP/shard.err" && [ ! -e "$TMP/bad.db" ]'
"$H4H" db merge --into "$TMP/m.db" "$TMP/s1.db" "$TMP/s2.db" "$TMP/s3.db" \
    2>"$TMP/merge.err"
check "merge exits 0" '[ $? -eq 0 ]'
rows "$TMP/m.db" >"$TMP/m.rows"
check "shards merged = the one-process rows" \
    'cmp -s "$TMP/one.rows" "$TMP/m.rows"'
check "the merged sweep is done" \
    '"$H4H" db query --db "$TMP/m.db" "SELECT status FROM sweeps" |
     grep -qx done'
cp "$TMP/m.db" "$TMP/m.copy"
"$H4H" db merge --into "$TMP/m.db" "$TMP/s2.db" 2>"$TMP/merge2.err"
check "merging a shard again adds nothing" \
    '[ $? -eq 0 ] && grep -q " 0 rows added" "$TMP/merge2.err"'
rows "$TMP/m.db" >"$TMP/m2.rows"
check "and keeps the rows" 'cmp -s "$TMP/one.rows" "$TMP/m2.rows"'
"$H4H" db merge --into "$TMP/one.db" "$TMP/s1.db" 2>/dev/null
check "merging into a database that has the rows leaves them" \
    '[ $? -eq 0 ] && rows "$TMP/one.db" | cmp -s - "$TMP/one.rows"'
if command -v python3 >/dev/null 2>&1; then
	check "the merged file passes integrity_check, foreign_key_check" \
	    '[ "$(python3 - "$TMP/m.db" <<EOF
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print(con.execute("PRAGMA integrity_check").fetchone()[0],
      len(con.execute("PRAGMA foreign_key_check").fetchall()))
EOF
)" = "ok 0" ]'
	# A shard whose one cost differs: refused, naming the key; the
	# destination is byte for byte as it was, no temporary file left.
	cp "$TMP/s2.db" "$TMP/conflict.db"
	python3 - "$TMP/conflict.db" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("UPDATE network_costs SET energy_j = energy_j * 2 WHERE "
            "(system_id, network_id) IN (SELECT system_id, network_id "
            "FROM network_costs LIMIT 1)")
con.commit()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
EOF
	cp "$TMP/m.db" "$TMP/before.db"
	"$H4H" db merge --into "$TMP/m.db" "$TMP/conflict.db" \
	    2>"$TMP/conflict.err"
	check "two values for one key: exit 2" '[ $? -eq 2 ]'
	check "one line naming the table, key and column" \
	    '[ "$(wc -l <"$TMP/conflict.err")" -eq 1 ] &&
	     grep -q "network_costs (system_id=[0-9]*, network_id=[0-9]*, objective=latency): energy_j is" "$TMP/conflict.err"'
	check "the destination is unchanged" 'cmp -s "$TMP/m.db" "$TMP/before.db"'
	check "no temporary file is left" \
	    '[ -z "$(ls "$TMP" | grep "m.db.tmp")" ]'
	# A table merge.c has no rule for is refused, never left out.
	cp "$TMP/s3.db" "$TMP/extra.db"
	python3 -c 'import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("CREATE TABLE notes (x TEXT)")
con.commit()' "$TMP/extra.db"
	"$H4H" db merge --into "$TMP/m.db" "$TMP/extra.db" 2>"$TMP/extra.err"
	check "a table without a merge rule: exit 2, named" \
	    '[ $? -eq 2 ] && grep -q "table .notes. has no merge rule" \
	     "$TMP/extra.err" && cmp -s "$TMP/m.db" "$TMP/before.db"'
fi
# Two files that number their layers differently (networks swept in
# the other order): the merged networks' bodies are remapped, so both
# networks are found again and nothing is simulated twice.
"$H4H" sweep --system "$SYS" --net "$NET1" --net "$NET2" --vary cim.macros=0,4 \
    --db "$TMP/ra.db" --quiet >/dev/null 2>&1
"$H4H" sweep --system "$SYS" --net "$NET2" --net "$NET1" --vary cim.macros=1,4 \
    --db "$TMP/rb.db" --quiet >/dev/null 2>&1
check "the two files number their layers differently" \
    '[ "$("$H4H" db query --db "$TMP/ra.db" "SELECT key FROM layers WHERE
     id = 1")" != "$("$H4H" db query --db "$TMP/rb.db" "SELECT key FROM
     layers WHERE id = 1")" ]'
"$H4H" db merge --into "$TMP/rm.db" "$TMP/ra.db" "$TMP/rb.db" 2>/dev/null
check "merged: two networks, not four" \
    '[ "$("$H4H" db query --db "$TMP/rm.db" "SELECT count(*) FROM
     networks" | tail -1)" -eq 2 ]'
for n in "$NET1" "$NET2"; do
	"$H4H" sim --system "$SYS" --net "$n" --set cim.macros=1 \
	    --db "$TMP/rm.db" >/dev/null 2>"$TMP/rm.err"
	check "$(basename "$n") on a system of the second file: 0 simulated" \
	    'grep -q "reused, 0 simulated" "$TMP/rm.err"'
done
"$H4H" db merge --into "$TMP/none.db" 2>"$TMP/none.err"
check "merge without inputs is a usage error" \
    '[ $? -eq 2 ] && [ ! -e "$TMP/none.db" ]'
# A point left 'running' under a pid that a later process took (pid_max
# is 32768 here, and a busy machine wraps it in seconds) is run again:
# the process started after the point was claimed.
if command -v python3 >/dev/null 2>&1; then
	cp "$TMP/one.db" "$TMP/reuse.db"
	python3 -c 'import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("UPDATE runs SET status = ?, pid = ?, started_at = ?, "
            "ended_at = NULL WHERE point = 0",
            ("running", int(sys.argv[2]), "2000-01-01T00:00:00Z"))
con.commit()' "$TMP/reuse.db" $$
	# shellcheck disable=SC2086
	"$H4H" sweep $SW --db "$TMP/reuse.db" >/dev/null 2>&1
	check "a point held by a reused pid (this shell's) is run again" \
	    '[ "$("$H4H" db query --db "$TMP/reuse.db" "SELECT status FROM runs
	     WHERE point = 0" | tail -1)" = done ]'
fi
printf 'not a database\n' >"$TMP/text.db"
"$H4H" db merge --into "$TMP/text.db" "$TMP/s1.db" 2>"$TMP/text.err"
check "a destination that is not an h4h database is refused, kept" \
    '[ $? -eq 2 ] && grep -q "not an h4h database" "$TMP/text.err" &&
     [ "$(cat "$TMP/text.db")" = "not a database" ]'
"$H4H" db merge --into "$TMP/x.db" "$TMP/text.db" 2>"$TMP/in.err"
check "an input that is not an h4h database is refused, nothing made" \
    '[ $? -eq 2 ] && grep -q "text.db" "$TMP/in.err" && [ ! -e "$TMP/x.db" ]'

# ---- mpirun ------------------------------------------------------------------
if ! command -v mpirun >/dev/null 2>&1 ||
    ! ldd "$H4H" 2>/dev/null | grep -q libmpi; then
	echo "$CLI_NAME: mpirun or an h4h built with MPI is missing:" \
	    "MPI cases skipped" >&2
	cli_done || exit 1
	exit 77
fi
MPIRUN="mpirun --allow-run-as-root --oversubscribe -np 2"
# Under make check-sanitize the ranks run without LeakSanitizer's exit
# scan: Open MPI leaves its own allocations at MPI_Finalize, many of them
# from plugins it has unloaded by then (stacks of "<unknown module>", which
# no suppression can name).  ASan's and UBSan's other checks stay on, and
# the one-process cases above keep the leak scan.
if [ -n "${H4H_SANITIZE:-}" ]; then
	MPIRUN="$MPIRUN -x ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0"
fi
export TMPDIR="$TMP"

# shellcheck disable=SC2086
$MPIRUN "$H4H" sweep $SW --db "$TMP/mpi.db" >"$TMP/mpi.out" 2>"$TMP/mpi.err"
check "mpirun -np 2 sweep exits 0" '[ $? -eq 0 ]'
check "it prints the one-process summary" 'cmp -s "$TMP/one.out" "$TMP/mpi.out"'
rows "$TMP/mpi.db" >"$TMP/mpi.rows"
check "mpirun -np 2 rows = the one-process rows" \
    'cmp -s "$TMP/one.rows" "$TMP/mpi.rows"'
check "the ranks removed their scratch databases" \
    '[ -z "$(ls "$TMP" | grep "^h4h-sweep-")" ]'
# shellcheck disable=SC2086
$MPIRUN "$H4H" sweep $(echo "$SW" | sed 's/--quiet//') --db "$TMP/mpi2.db" \
    >/dev/null 2>"$TMP/mpi2.err"
check "rank 1 simulated points (not only rank 0's local worker)" \
    'grep -q "ranks 1-1 simulated [1-9][0-9]* point" "$TMP/mpi2.err"'
$MPIRUN "$H4H" sim --system "$SYS" --net "$NET1" >"$TMP/sim.out" \
    2>"$TMP/sim.err"
check "a command that does not share its work is refused under -np 2" \
    '[ $? -ne 0 ] && grep -q "h4h: sim: runs as one process" "$TMP/sim.err" &&
     [ ! -s "$TMP/sim.out" ]'

# ---- a rank killed with SIGKILL, then a rerun -----------------------------------
V=$(seq -s, 1 60)
BIG="--system $SYS --net $NET1 --net $NET2 --vary noc.bandwidth_gbps=$V \
--vary cim.macros=0,1,2,4 --quiet"
# shellcheck disable=SC2086
"$H4H" sweep $BIG --db "$TMP/big1.db" >"$TMP/big1.out" 2>&1
rows "$TMP/big1.db" >"$TMP/big1.rows"
# shellcheck disable=SC2086
$MPIRUN "$H4H" sweep $BIG --db "$TMP/kill.db" >/dev/null 2>"$TMP/kill.err" &
runner=$!
victim=
for _ in $(seq 1 400); do
	for p in /proc/[0-9]*; do
		grep -qa "OMPI_COMM_WORLD_RANK=1" "$p/environ" 2>/dev/null &&
		    grep -qa "TMPDIR=$TMP" "$p/environ" 2>/dev/null &&
		    victim=${p#/proc/} && break
	done
	[ -n "$victim" ] && [ -s "$TMP/kill.db" ] &&
	    "$H4H" db query --db "$TMP/kill.db" "SELECT count(*) FROM runs
	    WHERE status = 'done'" 2>/dev/null | tail -1 | grep -qv '^0$' &&
	    break
	sleep 0.05
done
[ -n "$victim" ] && kill -9 "$victim"
wait "$runner"
krc=$?
# mpirun has exited, but the killed job's rank 0 and its forked local
# worker may live on for a while (on this loaded machine, seconds), and
# a point a live process holds is left to it.  A user reruns once they
# are gone; the test waits for every pid that holds a point (up to 60 s).
for _ in $(seq 1 600); do
	left=
	for pid in $("$H4H" db query --db "$TMP/kill.db" "SELECT pid FROM runs
	    WHERE status = 'running'" 2>/dev/null | tail -n +2); do
		kill -0 "$pid" 2>/dev/null && left=1
	done
	[ -z "$left" ] && break
	sleep 0.1
done
check "the killed run exits non-zero" '[ -n "$victim" ] && [ $krc -ne 0 ]'
check "one line names the rank that died" \
    '[ "$(grep -c "rank 1" "$TMP/kill.err")" -eq 1 ]'
check "it was killed before the end" \
    '"$H4H" db query --db "$TMP/kill.db" "SELECT count(*) FROM runs WHERE
     status != '"'done'"'" | tail -1 | grep -qv "^0$"'
# shellcheck disable=SC2086
$MPIRUN "$H4H" sweep $BIG --db "$TMP/kill.db" >"$TMP/rerun.out" 2>&1
check "the rerun exits 0" '[ $? -eq 0 ]'
rows "$TMP/kill.db" >"$TMP/kill.rows"
check "and ends with the one-process rows" \
    'cmp -s "$TMP/big1.rows" "$TMP/kill.rows"'
check "the killed rank's scratch file is gone after the rerun" \
    '[ -z "$(ls "$TMP" | grep "^h4h-sweep-")" ]'

# ---- --jobs within a rank -------------------------------------------------------
# Every rank runs --jobs workers (rank 1: two forked workers behind its
# relay), rank 0 merges their results in batches, and the rows are still
# the one-process rows.
# shellcheck disable=SC2086,SC2046
$MPIRUN "$H4H" sweep $(echo "$BIG" | sed 's/--quiet//') --jobs 2 \
    --db "$TMP/jobs.db" >"$TMP/jobs.out" 2>"$TMP/jobs.err"
check "mpirun -np 2 sweep --jobs 2 exits 0" '[ $? -eq 0 ]'
check "both of rank 1's workers simulated points" \
    'grep -q "(2 of their 2 workers took part" "$TMP/jobs.err"'
# shellcheck disable=SC2046
set -- $(sed -n 's/.*simulated \([0-9]*\) points in \([0-9]*\) batch.*/\1 \2/p' \
    "$TMP/jobs.err")
jpoints=${1:-0} jbatches=${2:-0}
check "rank 1's points came back in batches (fewer results than points)" \
    '[ "$jbatches" -gt 0 ] && [ "$jbatches" -lt "$jpoints" ]'
rows "$TMP/jobs.db" >"$TMP/jobs.rows"
check "and the rows are the one-process rows" \
    'cmp -s "$TMP/big1.rows" "$TMP/jobs.rows" &&
     cmp -s "$TMP/big1.out" "$TMP/jobs.out"'
check "rank 1's workers removed their scratch databases" \
    '[ -z "$(ls "$TMP" | grep "^h4h-sweep-")" ]'

# ---- supernet train: data-parallel; SIGINT, SIGKILL, --resume --------------
if command -v python3 >/dev/null 2>&1; then
	python3 "$SRC/tests/make_fmnist.py" "$TMP" 800 200 2
	tensors() { python3 "$SRC/tests/ckpt_tensors.py" "$1" | grep -v \
	    -e "^log " -e "^times_ms "; }
	T="--space $SRC/spaces/h4h-fmnist.json --data $TMP --batch 16 \
--val 100 --recal-images 64 --recal-batch 32 --threads 1 --recipe vanilla \
--seed 3 --steps 40"
	# shellcheck disable=SC2086
	$MPIRUN "$H4H" supernet train $T --out "$TMP/full.ckpt" \
	    --csv "$TMP/full.csv" >"$TMP/full.out" 2>"$TMP/full.err"
	check "mpirun -np 2 supernet train exits 0" '[ $? -eq 0 ]'
	check "rank 0 writes the checkpoint and one CSV row" \
	    '[ -s "$TMP/full.ckpt" ] && [ "$(wc -l <"$TMP/full.csv")" -eq 2 ]'
	check "it reports the allreduce per step" \
	    'grep -q "2 ranks, batch 16 (8 per rank): allreduce of the gradient [0-9.]* ms per step (40 steps, [0-9]* floats)" "$TMP/full.err"'
	# shellcheck disable=SC2086
	$MPIRUN "$H4H" supernet train $T --out "$TMP/part.ckpt" \
	    >/dev/null 2>"$TMP/part.err" &
	runner=$!
	for _ in $(seq 1 300); do
		grep -q "step [1-9][0-9]*/40" "$TMP/part.err" 2>/dev/null &&
		    break
		sleep 0.05
	done
	# SIGTERM to one rank (scancel signals them all; one is enough).
	victim=
	for p in /proc/[0-9]*; do
		grep -qa "OMPI_COMM_WORLD_RANK=1" "$p/environ" 2>/dev/null &&
		    grep -qa "TMPDIR=$TMP" "$p/environ" 2>/dev/null &&
		    victim=${p#/proc/} && break
	done
	[ -n "$victim" ] && kill -TERM "$victim"
	wait "$runner"
	prc=$?
	check "SIGTERM to rank 1: the ranks stop at one step, rank 0 writes" \
	    '[ -n "$victim" ] && [ $prc -ne 0 ] &&
	     grep -q "interrupted; checkpoint written" "$TMP/part.err" &&
	     ! grep -q "step 40/40" "$TMP/part.err" && [ -s "$TMP/part.ckpt" ]'
	# shellcheck disable=SC2086
	$MPIRUN "$H4H" supernet train $T --out "$TMP/part.ckpt" \
	    --resume "$TMP/part.ckpt" >/dev/null 2>&1
	check "--resume finishes" '[ $? -eq 0 ]'
	check "to the uninterrupted run's weights, BN and moments, bit for bit" \
	    '[ "$(tensors "$TMP/full.ckpt")" = "$(tensors "$TMP/part.ckpt")" ]'
	# One process at the same global batch: another run (each rank
	# normalises its 8 images), not a broken one.
	# shellcheck disable=SC2086
	"$H4H" supernet train $T --out "$TMP/one.ckpt" --csv "$TMP/one.csv" \
	    >/dev/null 2>&1
	check "one process at the same batch trains too, to other weights" \
	    '[ -s "$TMP/one.ckpt" ] &&
	     [ "$(tensors "$TMP/full.ckpt")" != "$(tensors "$TMP/one.ckpt")" ]'

	# ---- search: the same pareto.csv as one process -------------------------
	S="--ckpt $TMP/full.ckpt --system $SRC/hwprofiles/system-npu-8cim.ini \
--data $TMP --population 12 --generations 2 --warmup 12 --real-per-gen 2 \
--format png --seed 5 --latency-max 4,7"
	# shellcheck disable=SC2086
	"$H4H" search $S --db "$TMP/q1.db" --out "$TMP/q1" >"$TMP/q1.out" 2>&1
	check "one-process search exits 0" '[ $? -eq 0 ]'
	# shellcheck disable=SC2086
	$MPIRUN "$H4H" search $S --db "$TMP/q2.db" --out "$TMP/q2" \
	    >"$TMP/q2.out" 2>"$TMP/q2.err"
	check "mpirun -np 2 search exits 0" '[ $? -eq 0 ]'
	check "the same pareto.csv and front.csv as one process" \
	    'cmp -s "$TMP/q1/pareto.csv" "$TMP/q2/pareto.csv" &&
	     cmp -s "$TMP/q1/front.csv" "$TMP/q2/front.csv"'
	check "the same accuracy rows in the database" \
	    '[ "$("$H4H" db query --db "$TMP/q1.db" "SELECT gene, split,
	     accuracy FROM subnet_accuracy ORDER BY 1, 2")" = "$("$H4H" db \
	     query --db "$TMP/q2.db" "SELECT gene, split, accuracy FROM
	     subnet_accuracy ORDER BY 1, 2")" ]'
	check "rank 1 left no scratch file" \
	    '[ -z "$(ls "$TMP" | grep "^h4h-search-")" ]'

	# ---- demo and reproduce: the same outputs as one process ----------------
	D="--ckpt $TMP/full.ckpt --data $TMP --budgets 9,12 --jobs 1"
	# shellcheck disable=SC2086
	"$H4H" demo $D --out "$TMP/d1" >"$TMP/d1.out" 2>/dev/null
	# shellcheck disable=SC2086
	$MPIRUN "$H4H" demo $D --out "$TMP/d2" >"$TMP/d2.out" 2>/dev/null
	check "mpirun -np 2 demo: the same pareto.csv and summary.md" \
	    '[ -s "$TMP/d1/summary.md" ] &&
	     cmp -s "$TMP/d1/npu-only/pareto.csv" "$TMP/d2/npu-only/pareto.csv" &&
	     cmp -s "$TMP/d1/npu-8cim/pareto.csv" "$TMP/d2/npu-8cim/pareto.csv" &&
	     cmp -s "$TMP/d1/summary.md" "$TMP/d2/summary.md"'
	R="--ckpt $TMP/full.ckpt --budgets 9,14 --population 12 \
--generations 2 --warmup 12 --real-per-gen 2 --val-images 100 --seed 3"
	# shellcheck disable=SC2086
	"$H4H" reproduce fig11 $R --out "$TMP/r1" >"$TMP/r1.out" 2>/dev/null
	# shellcheck disable=SC2086
	$MPIRUN "$H4H" reproduce fig11 $R --out "$TMP/r2" >"$TMP/r2.out" \
	    2>/dev/null
	check "mpirun -np 2 reproduce fig11: the same table" \
	    '[ -s "$TMP/r1/fig11.md" ] && cmp -s "$TMP/r1.out" "$TMP/r2.out" &&
	     cmp -s "$TMP/r1/fig11.md" "$TMP/r2/fig11.md"'
	$MPIRUN "$H4H" reproduce table2 --out "$TMP/t2" 2>"$TMP/t2.err"
	check "reproduce table2 is refused under -np 2" \
	    '[ $? -ne 0 ] && grep -q "h4h: reproduce: runs as one process" \
	     "$TMP/t2.err"'
fi

cli_done
