#!/bin/sh
# cli_crash.sh - training survives SIGKILL (doc/reliability.md): `h4h train`
# with --checkpoint-every is killed with SIGKILL at 20 pseudo-random moments
# (6 under make check-sanitize, whose steps are ten times slower),
# each run resuming the last checkpoint, then resumed to the end; the final
# checkpoint must be byte-identical to an uninterrupted run's.  The same
# for `h4h supernet train`, on its tensors (its timings differ by nature),
# with fewer kills.  Also: the temporary file of a killed write is removed
# by the next run, with one line saying so.  Needs $H4H_BIN, python3.
CLI_NAME=cli_crash
. "${H4H_SRCDIR:-.}/tests/cli_common.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "cli_crash: python3 missing, skipped"
	exit 77
fi
python3 "$SRC/tests/make_fmnist.py" "$TMP" 700 200 1

# delays N SEED: N pseudo-random sleeps in [0.05, 0.65) s, one a line.
delays() {
	awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++)
	    printf "%.2f\n", 0.05 + 0.6 * rand() }'
}

# crash_loop KILLS SEED OUT CMD...: runs CMD (which must end in
# "--out OUT"), adding --resume OUT once OUT exists, and kills it with
# SIGKILL after each delay; then lets a last run finish.  Sets $killed (runs
# that died of the signal) and $last (the last run's exit status).
crash_loop() {
	kills=$1 seed=$2 out=$3
	shift 3
	killed=0
	for d in $(delays "$kills" "$seed"); do
		if [ -f "$out" ]; then
			"$@" --resume "$out" >/dev/null 2>>"$TMP/loop.err" &
		else
			"$@" >/dev/null 2>>"$TMP/loop.err" &
		fi
		pid=$!
		sleep "$d"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid"
		[ $? -eq 137 ] && killed=$((killed + 1))
	done
	if [ -f "$out" ]; then
		"$@" --resume "$out" >/dev/null 2>>"$TMP/loop.err"
	else
		"$@" >/dev/null 2>>"$TMP/loop.err"
	fi
	last=$?
}

# ---- h4h train: 20 kills ----------------------------------------------------
# Under make check-sanitize (H4H_SANITIZE=1) steps are ten times slower:
# fewer steps and kills, the same checks.
STEPS=2000 KILLS=20 MOST=12 SKILLS=6
if [ -n "${H4H_SANITIZE:-}" ]; then
	STEPS=300 KILLS=6 MOST=3 SKILLS=2
fi
T="train --data $TMP --model ref-cnn --batch 32 --val 64 --no-aug --threads 1 --steps $STEPS --checkpoint-every 10"
# shellcheck disable=SC2086
"$H4H" $T --out "$TMP/ref.ckpt" >/dev/null 2>"$TMP/ref.err"
check "uninterrupted train exits 0" '[ $? -eq 0 ]'
# shellcheck disable=SC2086
crash_loop "$KILLS" 12 "$TMP/k.ckpt" "$H4H" $T --out "$TMP/k.ckpt"
echo "cli_crash: train: $killed of $KILLS runs died of SIGKILL"
check "most of the $KILLS kills hit a running train" '[ "$killed" -ge "$MOST" ]'
check "the last resume exits 0" '[ "$last" -eq 0 ]'
check "after $KILLS SIGKILLs the checkpoint equals the uninterrupted run's" \
    'cmp -s "$TMP/ref.ckpt" "$TMP/k.ckpt"'
check "no temporary file is left" \
    '[ -z "$(find "$TMP" -name "*.ckpt.tmp*")" ]'

# A killed write's temporary file is removed by the next run, said once.
printf 'partial' >"$TMP/k.ckpt.tmpAbC123"
printf 'not ours' >"$TMP/k.ckpt.tmp-keep"
# shellcheck disable=SC2086
"$H4H" $T --out "$TMP/k.ckpt" --resume "$TMP/k.ckpt" >/dev/null 2>"$TMP/s.err"
check "stale temporary file removed" '[ ! -e "$TMP/k.ckpt.tmpAbC123" ]'
check "a file of another name kept" '[ -e "$TMP/k.ckpt.tmp-keep" ]'
check "the removal is said in one line" \
    '[ "$(grep -c "removed 1 stale temporary file" "$TMP/s.err")" -eq 1 ]'

# --checkpoint-every writes during the run: a run stopped by SIGKILL right
# after its first checkpoint has one at a multiple of the interval.  The
# wait is bounded at 60 s: under ASan on a loaded 2-core machine the
# first 50 steps took longer than the 10 s it was.
# shellcheck disable=SC2086
"$H4H" $T --out "$TMP/e.ckpt" --steps 100000 --checkpoint-every 50 \
    >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -f "$TMP/e.ckpt" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
step=$(python3 "$SRC/tests/ckpt_tensors.py" "$TMP/e.ckpt" 2>/dev/null |
    awk 'NR == 1 { print $5 }')
check "a periodic checkpoint at a multiple of --checkpoint-every" \
    '[ -n "$step" ] && [ "$step" -gt 0 ] && [ $((step % 50)) -eq 0 ]'

# ---- h4h supernet train: 6 kills (2 under check-sanitize) --------------------------------------------
S="supernet train --space $SRC/spaces/h4h-fmnist.json --data $TMP --recipe tpi-freeze --batch 16 --val 64 --recal-images 32 --recal-batch 32 --threads 1 --steps 12 --checkpoint-every 2"
# shellcheck disable=SC2086
"$H4H" $S --out "$TMP/sref.ckpt" >/dev/null 2>"$TMP/sref.err"
check "uninterrupted supernet train exits 0" '[ $? -eq 0 ]'
# shellcheck disable=SC2086
crash_loop "$SKILLS" 5 "$TMP/sk.ckpt" "$H4H" $S --out "$TMP/sk.ckpt"
echo "cli_crash: supernet: $killed of $SKILLS runs died of SIGKILL"
check "the last supernet resume exits 0" '[ "$last" -eq 0 ]'
python3 "$SRC/tests/ckpt_tensors.py" "$TMP/sref.ckpt" times_ms log \
    >"$TMP/sref.t"
python3 "$SRC/tests/ckpt_tensors.py" "$TMP/sk.ckpt" times_ms log \
    >"$TMP/sk.t"
check "after SIGKILLs the supernet's tensors equal the uninterrupted run's" \
    '[ -s "$TMP/sref.t" ] && cmp -s "$TMP/sref.t" "$TMP/sk.t"'

cli_done
