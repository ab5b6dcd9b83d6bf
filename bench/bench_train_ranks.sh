#!/bin/sh
# bench_train_ranks.sh - `make bench-train-ranks`: data-parallel supernet
# training on 2 ranks against one process at the same global batch, over a
# run long enough for the curves to part if they are going to (doc/scale.md,
# "Training on 2 ranks against one process").
#
#   STEPS   sandwich steps (default 300), global batch 128, recipe cnn,
#           2,000 validation images, seed 1, 1 thread per rank
#   TOGETHER=1  run the two at once (their rates then share the cores;
#           the losses and accuracies do not depend on it)
#
# Prints the training loss at every tenth of the run (the running mean
# since the start of the epoch, as `h4h supernet train` logs it: one
# process over the whole batch, rank 0 over its half), then each run's
# epoch row of --csv (the loss over every rank's rows, and the max and min
# subnets' validation accuracy after recalibration) and the ratio of the
# rates.  The two runs go one after the other unless TOGETHER=1.  Needs an h4h built with
# MPI, mpirun and Fashion-MNIST; exits 77 without them.
set -u
H4H=${H4H_BIN:-./h4h}
SRC=${H4H_SRCDIR:-.}
STEPS=${STEPS:-300}
MPIRUN="mpirun --allow-run-as-root --oversubscribe"
if ! command -v mpirun >/dev/null 2>&1 || ! ldd "$H4H" | grep -q libmpi; then
	echo "bench_train_ranks: needs mpirun and an h4h built with MPI" >&2
	exit 77
fi
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
	echo "bench_train_ranks: needs Fashion-MNIST (apt-get install" \
	    "dataset-fashion-mnist)" >&2
	exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/h4h-bench-train-ranks.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
echo "bench_train_ranks: $(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg), $STEPS steps"
export TMPDIR="$TMP" OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
T="--space $SRC/spaces/h4h-fmnist.json --recipe cnn --batch 128 \
--steps $STEPS --val 2000 --threads 1 --seed 1"
one() {
	# shellcheck disable=SC2086
	"$H4H" supernet train $T --out "$TMP/t1.ckpt" --csv "$TMP/t1.csv" \
	    >/dev/null 2>"$TMP/t1.err" || { cat "$TMP/t1.err"; return 1; }
}
two() {
	# shellcheck disable=SC2086
	$MPIRUN -np 2 "$H4H" supernet train $T --out "$TMP/t2.ckpt" \
	    --csv "$TMP/t2.csv" >/dev/null 2>"$TMP/t2.err" ||
	    { cat "$TMP/t2.err"; return 1; }
}
echo "one process: $H4H supernet train $T"
echo "2 ranks: $MPIRUN -np 2 $H4H supernet train $T"
if [ "${TOGETHER:-0}" = 1 ]; then
	one & p1=$!
	two || exit 1
	wait "$p1" || exit 1
else
	one || exit 1
	two || exit 1
fi

curve() {	# the "step S/T loss L" lines of a run's log -> "S L"
	sed -n 's/^h4h: supernet: phase 1 step \([0-9]*\)\/[0-9]* loss \([0-9.]*\) .*/\1 \2/p' "$1"
}
curve "$TMP/t1.err" >"$TMP/c1"
curve "$TMP/t2.err" >"$TMP/c2"
echo "step  loss_1proc  loss_2ranks(rank 0's rows)"
awk 'NR == FNR { l[$1] = $2; next }
$1 in l { printf "%4d  %10.4f  %10.4f\n", $1, l[$1], $2 }' "$TMP/c1" "$TMP/c2"
echo "csv: $(head -1 "$TMP/t1.csv")"
echo "1 process: $(tail -1 "$TMP/t1.csv")"
echo "2 ranks:   $(tail -1 "$TMP/t2.csv")"
grep 'allreduce of the gradient' "$TMP/t2.err"
{ tail -1 "$TMP/t1.csv"; tail -1 "$TMP/t2.csv"; } | awk -F, '
NR == 1 { l = $5; mx = $8; mn = $9; r = $11; next }
{ printf "2 ranks - 1 process: loss %+.4f, max_val_acc %+.4f, min_val_acc %+.4f; img/s x%.2f\n",
    $5 - l, $8 - mx, $9 - mn, $11 / r }'
