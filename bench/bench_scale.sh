#!/bin/sh
# bench_scale.sh - `make bench-scale`: the scale-out rates of doc/scale.md
# at 1 and 2 ranks on this machine, measured in one run, then the
# projection the issue asks for, with its arithmetic.
#
#   sweep     points/s of a 960-point sweep (2 networks x 60 NoC bandwidths
#             x 8 macro counts), fresh database: one process, then
#             mpirun -np 2 (rank 0 and its one local worker, rank 1),
#             then mpirun -np 2 --jobs 2 (2 workers per rank) with
#             batches of 1 and of up to 32 points, alternating, twice
#             (and H4H_BASE, an older h4h, when it is set)
#   search    real evaluations/s of a 16-subnet, 2-generation search of the
#             shipped 15-epoch supernet (500 validation images): one
#             process, then mpirun -np 2 (the evaluations dealt between
#             the ranks; every rank repeats the cost oracle's simulations)
#   allreduce the training allreduce alone: bench/bench_allreduce (the
#             gradient slab's size from the supernet), 200 repetitions
#   training  img/s of 20 data-parallel sandwich steps (vanilla, global
#             batch 128, 1 thread per rank) and the allreduce of the
#             gradient per step, as rank 0 measures it (waiting for the
#             slower rank included): one process, then mpirun -np 2
#
# Wall-clock times include mpirun's start (about half a second here).
# Needs an h4h built with MPI, mpirun and Fashion-MNIST (Debian's
# dataset-fashion-mnist); exits 77 without them.
set -u
H4H=${H4H_BIN:-./h4h}
SRC=${H4H_SRCDIR:-.}
MPIRUN="mpirun --allow-run-as-root --oversubscribe"
if ! command -v mpirun >/dev/null 2>&1 || ! ldd "$H4H" | grep -q libmpi; then
	echo "bench_scale: needs mpirun and an h4h built with MPI" >&2
	exit 77
fi
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
	echo "bench_scale: needs Fashion-MNIST (apt-get install" \
	    "dataset-fashion-mnist)" >&2
	exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/h4h-bench-scale.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
export TMPDIR="$TMP"
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", n / (b - a) }'; }

echo "bench_scale: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- sweep -------------------------------------------------------------------
V=$(seq -s, 1 60)
SW="--system $SRC/hwprofiles/system-npu-only.ini \
--net $SRC/nets/hybrid_example.json --net $SRC/nets/mobilenet_v2.json \
--vary noc.bandwidth_gbps=$V --vary cim.macros=0,1,2,3,4,5,6,8"
t0=$(now)
# shellcheck disable=SC2086
"$H4H" sweep $SW --quiet --db "$TMP/sw1.db" >/dev/null || exit 1
t1=$(now)
# shellcheck disable=SC2086
$MPIRUN -np 2 "$H4H" sweep $SW --quiet --db "$TMP/sw2.db" >/dev/null || exit 1
t2=$(now)
sw1=$(rate 960 "$t0" "$t1")
sw2=$(rate 960 "$t1" "$t2")
echo "sweep: 1 process $sw1 points/s, mpirun -np 2 $sw2 points/s" \
    "(x$(awk -v a="$sw1" -v b="$sw2" 'BEGIN { printf "%.2f", b / a }'))"
# --jobs 2 on every rank, with batches of at most 1 point
# (H4H_SWEEP_BATCH=1: one claim, merge and runs transaction per point, as
# before batches) and of at most 32 (the default), alternating, twice
# each; rank 0's line says the CPU it spent on rank 1's points, whose
# inverse is the ceiling rank 0 sets on a sweep.  With H4H_BASE (an older
# h4h) its same run alternates with them too.
merged() {	# the ranks' points, batches and rank 0's CPU seconds
	sed -n 's/.*simulated \([0-9]*\) points* in \([0-9]*\) batch.*spent \([0-9.]*\) s of CPU.*/\1 \2 \3/p' "$1"
}
for round in 1 2; do
	for run in ${H4H_BASE:+base} 1 32; do
		bin=$H4H
		[ "$run" = base ] && bin=$H4H_BASE
		rm -f "$TMP/sw3.db"*
		t0=$(now)
		# shellcheck disable=SC2086
		H4H_SWEEP_BATCH=$run $MPIRUN -np 2 -x H4H_SWEEP_BATCH "$bin" \
		    sweep $SW --jobs 2 --db "$TMP/sw3.db" >/dev/null \
		    2>"$TMP/sw3.err" || exit 1
		t1=$(now)
		r=$(rate 960 "$t0" "$t1")
		if [ "$run" = base ]; then
			echo "sweep: mpirun -np 2 --jobs 2 (round $round)" \
			    "$r points/s with H4H_BASE=$bin"
			continue
		fi
		# shellcheck disable=SC2046
		set -- $(merged "$TMP/sw3.err")
		echo "sweep: mpirun -np 2 --jobs 2, batches <= $run" \
		    "(round $round): $r points/s; rank 1 simulated $1 points" \
		    "in $2 batches, rank 0 spent $3 s of CPU on them" \
		    "($(awk -v p="$1" -v s="$3" 'BEGIN { printf "%.2f", s / p * 1e3 }') ms" \
		    "per point: a ceiling of" \
		    "$(awk -v p="$1" -v s="$3" 'BEGIN { printf "%.0f", p / s }')" \
		    "points/s)"
	done
done

# ---- allreduce ----------------------------------------------------------------
if [ -x "${H4H_ALLREDUCE:-}" ]; then
	$MPIRUN -np 2 "$H4H_ALLREDUCE" || exit 1
fi

# ---- search ------------------------------------------------------------------
S="--ckpt $SRC/checkpoints/h4h-fmnist-tpi-unfreeze.ckpt \
--system $SRC/hwprofiles/system-npu-8cim.ini --population 16 --generations 2 \
--warmup 16 --real-per-gen 4 --val-images 500 --format png --seed 7 \
--no-dataset --latency-max 5"
evals() {	# evals OUT -> "N SECONDS" from the summary line
	sed -n 's/.*real evaluations \([0-9]*\) .*; \([0-9.]*\) s$/\1 \2/p' "$1"
}
# shellcheck disable=SC2086
"$H4H" search $S --db "$TMP/se1.db" --out "$TMP/se1" >"$TMP/se1.out" \
    2>"$TMP/se1.err" || { cat "$TMP/se1.err"; exit 1; }
# shellcheck disable=SC2086
$MPIRUN -np 2 "$H4H" search $S --db "$TMP/se2.db" --out "$TMP/se2" \
    >"$TMP/se2.out" 2>"$TMP/se2.err" || { cat "$TMP/se2.err"; exit 1; }
set -- $(evals "$TMP/se1.out")
se1=$(awk -v n="$1" -v s="$2" 'BEGIN { printf "%.3f", n / s }')
se1n=$1 se1s=$2
set -- $(evals "$TMP/se2.out")
se2=$(awk -v n="$1" -v s="$2" 'BEGIN { printf "%.3f", n / s }')
same=no
cmp -s "$TMP/se1/pareto.csv" "$TMP/se2/pareto.csv" && same=yes
echo "search: 1 process $se1n evaluations in $se1s s = $se1 evals/s;" \
    "mpirun -np 2 $1 in $2 s = $se2 evals/s" \
    "(x$(awk -v a="$se1" -v b="$se2" 'BEGIN { printf "%.2f", b / a }'));" \
    "same pareto.csv: $same"

# ---- training ----------------------------------------------------------------
T="--space $SRC/spaces/h4h-fmnist.json --recipe vanilla --batch 128 \
--steps 20 --val 500 --recal-images 200 --threads 1 --seed 1"
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 "$H4H" supernet train $T --out "$TMP/t1.ckpt" \
    --csv "$TMP/t1.csv" >/dev/null 2>&1 || exit 1
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 $MPIRUN -np 2 "$H4H" supernet train $T \
    --out "$TMP/t2.ckpt" --csv "$TMP/t2.csv" >/dev/null 2>"$TMP/t2.err" ||
    exit 1
col() { tail -1 "$1" | cut -d, -f"$2"; }	# 11: img/s, 5: loss
tr1=$(col "$TMP/t1.csv" 11)
tr2=$(col "$TMP/t2.csv" 11)
ar=$(sed -n 's/.*allreduce of the gradient \([0-9.]*\) ms per step.*/\1/p' \
    "$TMP/t2.err")
slab=$(sed -n 's/.* \([0-9]*\) floats).*/\1/p' "$TMP/t2.err")
st2=$(col "$TMP/t2.csv" 12)
echo "training: 1 process $tr1 img/s (loss $(col "$TMP/t1.csv" 5))," \
    "mpirun -np 2 $tr2 img/s (loss $(col "$TMP/t2.csv" 5)," \
    "x$(awk -v a="$tr1" -v b="$tr2" 'BEGIN { printf "%.2f", b / a }'));" \
    "allreduce $ar ms of a $st2 ms step ($slab floats," \
    "$(awk -v n="$slab" 'BEGIN { printf "%.1f", n * 4 / 1e6 }') MB)"

# ---- projection --------------------------------------------------------------
# The proxy supernet (checkpoints/README.md): tpi-unfreeze, 15 epochs per
# phase, 2 phases of 390 steps of 128 images.  ImageNet: 1,281,167
# training images; a step's cost is assumed to scale with the max
# subnet's MACs per image: 4,443.5 MMAC at 224 px (nets/h4h-max.json,
# h4h sim) against 9.688 MMAC for the proxy's max subnet (h4h supernet
# eval --json of the shipped checkpoint).
awk -v r1="$tr1" -v r2="$tr2" 'BEGIN {
	imgs = 2 * 15 * 390 * 128
	eff = r2 / (2 * r1)
	if (eff > 1) eff = 1
	n = imgs / (600 * r1 * eff)
	printf "projection: the proxy supernet is 2 x 15 x 390 x 128 = %d images;\n", imgs
	printf "  per rank %.1f img/s (1 thread), 2-rank efficiency %.2f (measured, assumed to hold);\n", r1, eff
	printf "  10 minutes needs %d / (600 s x %.1f img/s x %.2f) = %d ranks", imgs, r1, eff, int(n + 0.999)
	printf " (%d at perfect scaling)\n", int(imgs / (600 * r1) + 0.999)
	ratio = 4443.5 / 9.688
	r_in = r1 / ratio
	printf "  ImageNet: %.1f x the MACs per image (assumed proportional) -> %.3f img/s per rank;\n", ratio, r_in
	printf "  one epoch = 1281167 / %.3f = %.0f rank-hours (1 thread each)", r_in, 1281167 / r_in / 3600
	printf ", %.1f h on 64 ranks at efficiency %.2f (%.1f h at 1.00)\n", 1281167 / (r_in * 64 * eff) / 3600, eff, 1281167 / (r_in * 64) / 3600
}'
