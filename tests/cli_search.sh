#!/bin/sh
# cli_search.sh - `h4h search` end to end on a small supernet trained here
# on a synthetic Fashion-MNIST: the winners of latency and energy budgets
# meet them when `h4h sim --arch` re-simulates them; the same seed gives a
# byte-identical pareto.csv; a rerun on the same database makes no new
# evaluations; a search killed with SIGKILL resumes to the same result;
# bad input (a budget below the smallest subnet's cost, a checkpoint of
# another space, a database of a newer schema) gets one line and exit 2;
# `h4h demo` writes its table, traces and database, and reruns from them;
# `h4h predictor dataset` resumes after SIGKILL, `predictor compare`
# prints its table, and a search starts from the dataset beside its
# checkpoint.
# Needs $H4H_BIN, $H4H_SRCDIR, python3.
CLI_NAME=cli_search
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

SPACE="$SRC/spaces/h4h-fmnist.json"
SYS="$SRC/hwprofiles/system-npu-8cim.ini"

if ! command -v python3 >/dev/null 2>&1; then
	echo "cli_search: python3 missing, skipped"
	exit 77
fi
python3 "$SRC/tests/make_fmnist.py" "$TMP" 800 200 2

"$H4H" supernet train --space "$SPACE" --data "$TMP" --batch 16 --val 100 \
    --recal-images 64 --recal-batch 32 --threads 1 --recipe vanilla \
    --steps 12 --out "$TMP/sn.ckpt" >/dev/null 2>"$TMP/train.err"
check "a small supernet trains" '[ -s "$TMP/sn.ckpt" ]'

S="--ckpt $TMP/sn.ckpt --system $SYS --data $TMP --population 12 --generations 3 --warmup 12 --real-per-gen 2 --format png"

# The smallest subnet's latency, from the refusal of a budget below it.
# shellcheck disable=SC2086
"$H4H" search $S --latency-max 0.001 --db "$TMP/a.db" --out "$TMP/lo" \
    >/dev/null 2>"$TMP/lo.err"
rc=$?
check "a budget below the smallest subnet: exit 2" '[ $rc -eq 2 ]'
check "  one line naming the smallest subnet's latency" \
    '[ "$(wc -l <"$TMP/lo.err")" -eq 1 ] && grep -q "^h4h: search: latency budget 0.001 ms is below the smallest subnet.s latency on this system ([0-9.]* ms)$" "$TMP/lo.err"'
MIN=$(sed -n 's/.*system (\([0-9.]*\) ms)$/\1/p' "$TMP/lo.err")
B=$(python3 -c "import sys; m=float(sys.argv[1]); print('%.4f,%.4f' % (m * 1.3, m * 2.5))" "${MIN:-1}")

# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/a.db" --out "$TMP/a" \
    >"$TMP/a.out" 2>"$TMP/a.err"
check "search exits 0" '[ $? -eq 0 ]'
check "pareto.csv: header and one row per budget, with test accuracy" \
    '[ "$(wc -l <"$TMP/a/pareto.csv")" -eq 3 ] && awk -F, "NR > 1 && \$5 == \"\" { bad = 1 } END { exit bad }" "$TMP/a/pareto.csv"'
check "pareto.json, front.csv, search.gp written" \
    '[ -s "$TMP/a/pareto.json" ] && [ -s "$TMP/a/front.csv" ] && [ -s "$TMP/a/search.gp" ]'
for f in "$TMP"/a/best-*.json; do
	budget=$(basename "$f" .json | sed 's/best-\(.*\)ms/\1/')
	"$H4H" sim --system "$SYS" --arch "$f" --json >"$TMP/sim.json" 2>/dev/null
	check "h4h sim --arch $(basename "$f") meets ${budget} ms" \
	    'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d[\"latency_s\"] * 1e3 <= float(sys.argv[2]) * (1 + 1e-9) else 1)" "$TMP/sim.json" "$budget"'
	check "  at the latency pareto.csv reports" \
	    'python3 -c "
import csv, json, sys
d = json.load(open(sys.argv[1]))
rows = [r for r in csv.DictReader(open(sys.argv[2])) if abs(float(r[\"budget\"]) - float(sys.argv[3])) < 1e-9]
sys.exit(0 if rows and abs(float(rows[0][\"latency_ms\"]) - d[\"latency_s\"] * 1e3) < 1e-5 else 1)" "$TMP/sim.json" "$TMP/a/pareto.csv" "$budget"'
done

# A rerun on the same database evaluates nothing new and says so.
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/a.db" --out "$TMP/a2" \
    >"$TMP/a2.out" 2>&1
check "rerun: no new real evaluations" 'grep -q "real evaluations 0 (cached [1-9]" "$TMP/a2.out"'
check "rerun: the same pareto.csv" 'cmp -s "$TMP/a/pareto.csv" "$TMP/a2/pareto.csv"'

# The same seed on a fresh database: byte-identical; another seed runs.
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/b.db" --out "$TMP/b" \
    >/dev/null 2>&1
check "same seed, fresh database: byte-identical pareto.csv" \
    'cmp -s "$TMP/a/pareto.csv" "$TMP/b/pareto.csv"'

# SIGKILL in the middle, then the same command: the same result as an
# uninterrupted run of it.
L="--latency-max $B --generations 6"
# shellcheck disable=SC2086
"$H4H" search $S $L --db "$TMP/ref.db" --out "$TMP/ref" >/dev/null 2>&1
# shellcheck disable=SC2086
"$H4H" search $S $L --db "$TMP/k.db" --out "$TMP/k" >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ]; do
	n=$(python3 -c "
import sqlite3, sys
try:
    # read-only: the poll must never create or write the database
    print(sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True).execute('SELECT count(*) FROM subnet_accuracy').fetchone()[0])
except Exception:
    print(0)" "$TMP/k.db" 2>/dev/null)
	[ "${n:-0}" -ge 16 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
kill -9 $pid 2>/dev/null
killed=$?
wait $pid 2>/dev/null
check "the search was killed mid-run" '[ $killed -eq 0 ] && [ ! -e "$TMP/k/pareto.csv" ]'
# shellcheck disable=SC2086
"$H4H" search $S $L --db "$TMP/k.db" --out "$TMP/k" >"$TMP/k.out" 2>&1
rc=$?
check "after SIGKILL the same command finishes" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || sed 's/^/  k.out: /' "$TMP/k.out" | grep -v points | tail -5 >&2
check "  with the uninterrupted run's pareto.csv" \
    'cmp -s "$TMP/ref/pareto.csv" "$TMP/k/pareto.csv"'
check "  reusing the accuracies stored before the kill" \
    'grep -q "cached [1-9]" "$TMP/k.out"'

# Energy budgets: the partition minimises energy, as `sim --objective
# energy` does.
# shellcheck disable=SC2086
"$H4H" search $S --energy-max 1000 --db "$TMP/a.db" --out "$TMP/e" \
    >/dev/null 2>&1
check "energy search exits 0" '[ $? -eq 0 ] && [ -s "$TMP/e/best-1000mJ.json" ]'
"$H4H" sim --system "$SYS" --objective energy --arch "$TMP/e/best-1000mJ.json" \
    --json >"$TMP/sime.json" 2>/dev/null
check "  its winner re-simulated at the energy pareto.csv reports" \
    'python3 -c "
import csv, json, sys
d = json.load(open(sys.argv[1]))
r = list(csv.DictReader(open(sys.argv[2])))[0]
sys.exit(0 if abs(float(r[\"energy_mj\"]) - d[\"energy_j\"] * 1e3) < 1e-6 else 1)" "$TMP/sime.json" "$TMP/e/pareto.csv"'

# Bad input: one line, exit 2.
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --space "$SRC/spaces/h4h-imagenet.json" \
    --db "$TMP/a.db" --out "$TMP/x" >/dev/null 2>"$TMP/x.err"
rc=$?
check "a checkpoint of another space: exit 2, one line" \
    '[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/x.err")" -eq 1 ] && grep -q "is of space .h4h-fmnist., not of .h4h-imagenet." "$TMP/x.err"'
check "... and it creates no output folder" '[ ! -e "$TMP/x" ]'
# Another space of the same name: say what differs (issue 19 printed
# "of space 'h4h-fmnist', not of 'h4h-fmnist'").
python3 -c "
import json, sys
d = json.load(open(sys.argv[1])); d['description'] = 'another'
d['full_scale'] = sys.argv[1].rsplit('/', 1)[0] + '/' + d['full_scale']
json.dump(d, open(sys.argv[2], 'w'))" "$SPACE" "$TMP/same-name.json"
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --space "$TMP/same-name.json" \
    --db "$TMP/none.db" --out "$TMP/none" >/dev/null 2>"$TMP/x2.err"
rc=$?
check "a checkpoint of another space of the same name: exit 2, one line" \
    '[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/x2.err")" -eq 1 ]'
check "... saying what differs" \
    'grep -q "of another space named .h4h-fmnist. than .*same-name.json (JSON hash [0-9a-f]*, not [0-9a-f]*; they first differ at byte" "$TMP/x2.err"'
check "... and creating nothing" '[ ! -e "$TMP/none.db" ] && [ ! -e "$TMP/none" ]'
# A full_scale path longer than the buffer is refused, not cut.
long=$(python3 -c 'print("d/" * 600 + "full.json")')
python3 -c "
import json, sys
d = json.load(open(sys.argv[1])); d['full_scale'] = sys.argv[3]
json.dump(d, open(sys.argv[2], 'w'))" "$SPACE" "$TMP/long.json" "$long"
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --space "$TMP/long.json" \
    --db "$TMP/none.db" --out "$TMP/none" >/dev/null 2>"$TMP/x3.err"
rc=$?
check "a 1,209-byte full_scale path: exit 2, one line, nothing created" \
    '[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/x3.err")" -eq 1 ] && grep -q ".full_scale. is a path of more than 1023 bytes" "$TMP/x3.err" && [ ! -e "$TMP/none.db" ] && [ ! -e "$TMP/none" ]'
python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute('PRAGMA application_id = 1211385905')
c.execute('CREATE TABLE future(a)')
c.execute('PRAGMA user_version = 99')
c.commit()" "$TMP/new.db"
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/new.db" --out "$TMP/y" \
    >/dev/null 2>"$TMP/y.err"
rc=$?
check "a database of a newer schema: exit 2, one line" \
    '[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/y.err")" -eq 1 ] && grep -q "newer than this h4h supports" "$TMP/y.err"'
# shellcheck disable=SC2086
"$H4H" search $S --db "$TMP/a.db" --out "$TMP/z" >/dev/null 2>"$TMP/z.err"
check "no budget: exit 2" '[ $? -eq 2 ] && grep -q "give one of --latency-max and --energy-max" "$TMP/z.err"'
# shellcheck disable=SC2086
"$H4H" search $S --latency-max 5,abc --db "$TMP/a.db" --out "$TMP/z" \
    >/dev/null 2>"$TMP/z.err"
check "a malformed budget: exit 2" '[ $? -eq 2 ] && grep -q "abc" "$TMP/z.err"'

# h4h demo on this small supernet: six winners, a trace of each, and a
# rerun that evaluates nothing.
"$H4H" demo --ckpt "$TMP/sn.ckpt" --data "$TMP" --out "$TMP/demo" --jobs 1 \
    >"$TMP/demo.out" 2>"$TMP/demo.err"
check "demo exits 0" '[ $? -eq 0 ]'
check "  one row per budget and system" \
    '[ "$(grep -c "^[0-9]* ms  *npu-" "$TMP/demo.out")" -eq 6 ]'
check "  the macros' gain at each budget, with its paired interval" \
    '[ "$(grep -c " [+-][0-9.]* pt \[[+-][0-9.]*, [+-][0-9.]*\]" "$TMP/demo.out")" -eq 3 ]'
check "  each winner's test accuracy inside its 95% interval" \
    'awk "/ ms  *npu-/ { t = \$5; lo = \$6; hi = \$7; gsub(/[\\[,]/, \"\", lo); gsub(/\\]/, \"\", hi); n++; if (!(lo + 0 <= t + 0 && t + 0 <= hi + 0 && hi - lo > 0.1)) bad = 1 } END { exit bad || n != 6 }" "$TMP/demo.out"'
check "  the predictor's rho on each system" \
    '[ "$(grep -c "predictor .*Spearman rho [-0-9.]*, Kendall tau" "$TMP/demo.out")" -eq 2 ]'
check "  a Perfetto trace of each winner" \
    '[ "$(ls "$TMP"/demo/npu-*/trace-*ms.json | wc -l)" -eq 6 ] && python3 -c "import json,sys; assert json.load(open(sys.argv[1]))[\"traceEvents\"]" "$TMP/demo/npu-8cim/trace-60ms.json"'
check "  summary.md and the database" '[ -s "$TMP/demo/summary.md" ] && [ -s "$TMP/demo/h4h.db" ]'
"$H4H" demo --ckpt "$TMP/sn.ckpt" --data "$TMP" --out "$TMP/demo" --jobs 1 \
    >"$TMP/demo2.out" 2>&1
check "demo rerun: no new evaluations, the same table" \
    'grep -q "^real evaluations 0 (cached" "$TMP/demo2.out" && [ "$(grep " ms  *npu-" "$TMP/demo.out")" = "$(grep " ms  *npu-" "$TMP/demo2.out")" ]'

# h4h reproduce: each comparison paired budget by budget on the same test
# images; the gain is the difference of the two winners' accuracies and
# lies inside its interval.
"$H4H" reproduce fig7 --ckpt "$TMP/sn.ckpt" --data "$TMP" --budgets 9,14 \
    --population 12 --generations 2 --warmup 12 --real-per-gen 2 \
    --val-images 100 --jobs 1 --out "$TMP/r" >"$TMP/r.out" 2>"$TMP/r.err"
check "reproduce fig7 exits 0" '[ $? -eq 0 ] && [ -s "$TMP/r/fig7.md" ]'
check "  three paired comparisons, a row per budget" \
    '[ "$(grep -c "^| 9 | [0-9.]* \[" "$TMP/r/fig7.md")" -eq 3 ] && [ "$(grep -c "^| 14 | [0-9.]* \[" "$TMP/r/fig7.md")" -eq 3 ] && [ "$(grep -c "resolved better than NPU only at [0-2] of 2 budgets, worse at [0-2]" "$TMP/r/fig7.md")" -eq 3 ]'
check "  each gain is new minus base, inside its paired interval" \
    'awk -F"|" "/^\| (9|14) \| [0-9.]* \[/ { split(\$3, a, \" \"); split(\$4, b, \" \"); split(\$5, g, \" \"); lo = g[2]; hi = g[3]; gsub(/[\\[,]/, \"\", lo); gsub(/\\]/, \"\", hi); d = b[1] - a[1] - g[1]; if (d > 0.006 || d < -0.006 || lo + 0 > g[1] + 0 || hi + 0 < g[1] + 0) bad = 1; n++ } END { exit bad || n != 6 }" "$TMP/r/fig7.md"'

# h4h predictor dataset: a stratified sample with min, max and every
# resolution, provenance in the CSV, stored in batches so that a run
# killed with SIGKILL resumes to the same file.
D="--ckpt $TMP/sn.ckpt --data $TMP --subnets 40 --batch 4"
# shellcheck disable=SC2086
"$H4H" predictor dataset $D --db "$TMP/d.db" --csv "$TMP/ref.acc.csv" \
    >"$TMP/d.out" 2>&1
check "predictor dataset: 40 rows with provenance" \
    '[ $? -eq 0 ] && [ "$(grep -c "^h4h-fmnist:" "$TMP/ref.acc.csv")" -eq 40 ] && grep -q "^# supernet: [0-9a-f]\{16\}$" "$TMP/ref.acc.csv" && grep -q "^# split: val$" "$TMP/ref.acc.csv" && grep -q "^# settings: recal=64/32 images=100$" "$TMP/ref.acc.csv"'
check "  the smallest and largest subnets and every resolution" \
    'python3 -c "
import csv, sys
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith(\"#\"))]
macs = [int(r[\"macs\"]) for r in rows]
res = set(r[\"resolution\"] for r in rows)
sys.exit(0 if macs[0] == min(macs) and macs[1] == max(macs) and res == {\"19\", \"22\", \"25\", \"28\"} and len(set(r[\"gene\"] for r in rows)) == 40 else 1)" "$TMP/ref.acc.csv"'
# shellcheck disable=SC2086
"$H4H" predictor dataset $D --db "$TMP/dk.db" --csv "$TMP/k.acc.csv" \
    >/dev/null 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ]; do
	n=$(python3 -c "
import sqlite3, sys
try:
    print(sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True).execute('SELECT count(*) FROM subnet_accuracy').fetchone()[0])
except Exception:
    print(0)" "$TMP/dk.db" 2>/dev/null)
	[ "${n:-0}" -ge 8 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
kill -9 $pid 2>/dev/null
killed=$?
wait $pid 2>/dev/null
check "predictor dataset killed mid-run" '[ $killed -eq 0 ] && [ ! -e "$TMP/k.acc.csv" ]'
# shellcheck disable=SC2086
"$H4H" predictor dataset $D --db "$TMP/dk.db" --csv "$TMP/k.acc.csv" \
    >"$TMP/dk.out" 2>&1
check "  resumes: scores only what is missing, the same CSV" \
    '[ $? -eq 0 ] && grep -q "40 subnets, [1-9][0-9]* stored" "$TMP/dk.out" && cmp -s "$TMP/ref.acc.csv" "$TMP/k.acc.csv"'
"$H4H" predictor compare --csv "$TMP/ref.acc.csv" --models ridge,forest \
    --folds 3 >"$TMP/cmp.out" 2>&1
check "predictor compare: a row per model and the best" \
    '[ $? -eq 0 ] && grep -q "^ridge  *[-0-9.]* (" "$TMP/cmp.out" && grep -q "^forest  *[-0-9.]* (" "$TMP/cmp.out" && grep -q "^best by cross-validated rho: " "$TMP/cmp.out"'
"$H4H" predictor compare --csv "$TMP/ref.acc.csv" --models ridge,svm \
    >/dev/null 2>"$TMP/cmp.err"
check "  an unknown model: exit 2 naming it" '[ $? -eq 2 ] && grep -q "svm" "$TMP/cmp.err"'
cp "$TMP/ref.acc.csv" "$TMP/rec.acc.csv"
"$H4H" predictor compare --csv "$TMP/rec.acc.csv" --models ridge,forest \
    --folds 3 --record >/dev/null 2>&1
check "  --record: the best model in the dataset, its rows unchanged" \
    '[ $? -eq 0 ] && grep -q "^# predictor: \(ridge\|forest\) cv-rho=[-0-9.]* held-rho=" "$TMP/rec.acc.csv" && [ "$(grep -v "^#" "$TMP/rec.acc.csv")" = "$(grep -v "^#" "$TMP/ref.acc.csv")" ]'
# A search starts from the dataset beside its checkpoint.
cp "$TMP/ref.acc.csv" "$TMP/sn.acc.csv"
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/d.db" --out "$TMP/ds" \
    --predictor forest >"$TMP/ds.out" 2>&1
check "search: starts from the dataset beside the checkpoint" \
    '[ $? -eq 0 ] && grep -q "^accuracy dataset .*sn.acc.csv: 40 subnets; predictor forest" "$TMP/ds.out" && grep -q "^predictor forest (fitted on the accuracy dataset): Spearman rho [-0-9.]*, Kendall tau [-0-9.]* on 8 held-out" "$TMP/ds.out"'
cp "$TMP/rec.acc.csv" "$TMP/sn.acc.csv"
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/d.db" --out "$TMP/dr" \
    >"$TMP/dr.out" 2>&1
check "  --predictor auto takes the model the dataset records" \
    '[ $? -eq 0 ] && grep -q "^accuracy dataset .*: 40 subnets; predictor [a-z]* (recorded: " "$TMP/dr.out"'
sed 's/^# supernet: .*/# supernet: 0000000000000000/' "$TMP/ref.acc.csv" \
    >"$TMP/other.acc.csv"
# shellcheck disable=SC2086
"$H4H" search $S --latency-max "$B" --db "$TMP/d.db" --out "$TMP/do" \
    --dataset "$TMP/other.acc.csv" >/dev/null 2>"$TMP/do.err"
check "  a dataset of another supernet: exit 2" \
    '[ $? -eq 2 ] && grep -q "does not fit: it is of supernet 0000000000000000" "$TMP/do.err"'

cli_done
