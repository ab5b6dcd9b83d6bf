/*
 * bench_allreduce.c - the allreduce of data-parallel supernet training on
 * its own (doc/scale.md), run by `make bench-scale` under
 * `mpirun -np 2`: the sum over the ranks of a float slab as large as the
 * gradient slab of the supernet that `h4h supernet train` builds for
 * spaces/h4h-fmnist.json (nn_sn_nparams, read from the space, not
 * written down here), through cli_ranks_sum_f (src/cli/ranks.h), the
 * in-place MPI_Allreduce that training calls once per step.
 *
 * Each repetition starts after a barrier, so it times the sum and not the
 * wait for a late rank (training's per-step figure counts that wait too).
 * Rank 0 prints the median and the 10th and 90th percentiles of REPS
 * repetitions after WARMUP, the algorithm bandwidth (slab bytes / time)
 * and the bus bandwidth (2 (N - 1) / N of it: the bytes each rank sends
 * and receives in a ring or reduce-scatter + allgather), and checks the
 * sum: every element is N (N + 1) / 2.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ranks.h"
#include "core/clock.h"
#include "nas/space.h"
#include "nn/ctx.h"
#include "nn/supernet.h"

#define WARMUP 5
#define REPS 200

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The number of floats in the supernet's gradient slab (= parameters). */
static int
slab_floats(const char *space, size_t *n, h4h_err *err)
{
	nas_space *sp = NULL;
	nn_sn_spec spec;
	nn_ctx *ctx = NULL;
	nn_sn *sn = NULL;
	int rc;

	if ((rc = nas_space_load(space, &sp, err)) != 0)
		return rc;
	nas_space_supernet(sp, &spec);
	if ((rc = nn_ctx_create(1, &ctx, err)) == 0 &&
	    (rc = nn_sn_create(ctx, &spec, 1, 1, &sn, err)) == 0)
		*n = nn_sn_nparams(sn);
	nn_sn_destroy(sn);
	nn_ctx_destroy(ctx);
	nas_space_destroy(sp);
	return rc;
}

int
main(void)
{
	const char *src = getenv("H4H_SRCDIR");
	char space[4096];
	h4h_err err = { "" };
	size_t n = 0, bad = 0;
	float *v;
	double t[REPS], expect, sec, bytes;
	int N, reps = REPS;

	snprintf(space, sizeof space, "%s/spaces/h4h-fmnist.json",
	    src != NULL ? src : ".");
	if (cli_ranks_start(&err) != 0 || slab_floats(space, &n, &err) != 0) {
		fprintf(stderr, "bench_allreduce: %s\n", err.msg);
		return 1;
	}
	N = cli_ranks();
	if (N < 2) {
		printf("allreduce: one rank, nothing to sum: run it under "
		    "mpirun -np 2 (or more), with an h4h built with MPI\n");
		return 0;
	}
	v = malloc(n * sizeof *v);
	if (v == NULL)
		return 1;
	expect = N * (N + 1) / 2.0;
	for (int r = -WARMUP; r < reps; r++) {
		double t0;

		for (size_t i = 0; i < n; i++)
			v[i] = (float)(cli_rank() + 1);
		if (cli_ranks_barrier(&err) != 0)
			break;
		t0 = h4h_now_s();
		if (cli_ranks_sum_f(v, n, &err) != 0)
			break;
		if (r >= 0)
			t[r] = h4h_now_s() - t0;
		for (size_t i = 0; i < n; i++)
			bad += v[i] != (float)expect;
	}
	free(v);
	if (err.msg[0] != '\0') {
		fprintf(stderr, "bench_allreduce: rank %d: %s\n", cli_rank(),
		    err.msg);
		return 1;
	}
	if (bad > 0) {
		fprintf(stderr, "bench_allreduce: rank %d: %zu wrong sums\n",
		    cli_rank(), bad);
		return 1;
	}
	if (cli_rank() != 0)
		return 0;
	qsort(t, (size_t)reps, sizeof *t, cmp_double);
	sec = t[reps / 2];
	bytes = (double)n * sizeof(float);
	printf("allreduce: %d ranks, %ld cores, %zu floats (%.2f MB, the "
	    "gradient slab of %s): median %.2f ms (p10 %.2f, p90 %.2f) over "
	    "%d repetitions; %.2f GB/s algorithm bandwidth, %.2f GB/s bus "
	    "bandwidth\n", N, sysconf(_SC_NPROCESSORS_ONLN), n, bytes / 1e6,
	    "spaces/h4h-fmnist.json", sec * 1e3, t[reps / 10] * 1e3,
	    t[reps * 9 / 10] * 1e3, reps, bytes / sec / 1e9,
	    2.0 * (N - 1) / N * bytes / sec / 1e9);
	return 0;
}
