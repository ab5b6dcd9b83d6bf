/*
 * bench_nn_ops.c - per-op forward/backward times of the training engine on
 * the reference model's shapes (batch 128, 32x32 input), for the hand path
 * and the oneDNN path where both exist, and which one the context keeps
 * (NN_IMPL_AUTO).  Run with OMP_NUM_THREADS=2 on this machine; prints the
 * core and thread counts.  Never fails on timing.
 *
 * usage: bench_nn_ops [iterations]   (default 30; the minimum is reported)
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/ctx.h"
#include "nn/ops.h"

static int iters = 30;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static float *
buf(size_t n)
{
	float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
	uint64_t s = n;

	if (p == NULL) {
		fprintf(stderr, "bench_nn_ops: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		p[i] = nn_sm64_uniform(&s) - 0.5f;
	return p;
}

typedef struct job {
	nn_ctx *ctx;
	int kind;		/* 0 conv, 1 bn, 2 linear, 3 attention, 4 hswish,
				 * 5 layernorm */
	nn_conv2d cv;
	nn_batchnorm bn;
	int B, H, W, IC, OC, T, NH, nofs;
	float *x, *w, *b, *y, *dy, *dx, *dw, *db, *s1, *s2, *s3, *s4;
	int *idx;
} job;

static void
run(job *j, int dir)
{
	h4h_err err;
	int rc = 0;
	size_t n = (size_t)j->B * j->H * j->W * j->IC;

	switch (j->kind) {
	case 0:
		rc = dir == 0 ? nn_conv2d_forward(j->ctx, &j->cv, j->y, j->x,
		    j->w, j->b, j->B, j->H, j->W, j->IC, j->OC, &err) :
		    nn_conv2d_backward(j->ctx, &j->cv, j->dx, j->dw, j->db,
		    j->dy, j->x, j->w, j->B, j->H, j->W, j->IC, j->OC, &err);
		break;
	case 1:
		rc = dir == 0 ? nn_batchnorm_forward(j->ctx, &j->bn, j->y,
		    j->s1, j->s2, j->s3, j->s4, j->x, j->w, j->b,
		    j->B * j->H * j->W, j->IC, NN_BN_TRAIN, 0, &err) :
		    nn_batchnorm_backward(j->ctx, &j->bn, j->dx, j->dw, j->db,
		    j->dy, j->x, j->s1, j->s2, j->w, j->B * j->H * j->W, j->IC,
		    &err);
		break;
	case 2:
		if (dir == 0)
			nn_linear_forward(j->ctx, j->y, j->x, j->w, j->b, j->B,
			    j->IC, j->OC, j->IC);
		else
			nn_linear_backward(j->ctx, j->dx, j->dw, j->db, j->dy,
			    j->x, j->w, j->B, j->IC, j->OC, j->IC);
		break;
	case 3:
		if (dir == 0)
			nn_attention_forward(j->y, j->s1, j->x, j->w, j->idx,
			    j->nofs, j->B, j->T, j->IC, j->NH);
		else
			nn_attention_backward(j->dx, j->dw, j->dy, j->x, j->s1,
			    j->idx, j->nofs, j->B, j->T, j->IC, j->NH);
		break;
	case 4:
		if (dir == 0)
			nn_hswish_forward(j->y, j->x, n);
		else
			nn_hswish_backward(j->dx, j->dy, j->x, n);
		break;
	default:
		if (dir == 0)
			nn_layernorm_forward(j->y, j->s1, j->s2, j->x, j->w,
			    j->b, j->B * j->T, j->IC, 1e-5f);
		else
			nn_layernorm_backward(j->dx, j->dw, j->db, j->dy, j->x,
			    j->w, j->s1, j->s2, j->B * j->T, j->IC);
	}
	if (rc != 0) {
		fprintf(stderr, "bench_nn_ops: %s\n", err.msg);
		exit(1);
	}
}

/* Best-of-N milliseconds of forward and backward: the machine is shared
 * and CPU-quota throttled, so the minimum is the stable statistic. */
static void
timeit(job *j, double *fwd, double *bwd)
{
	double tf[iters], tb[iters];

	for (int w = 0; w < 3; w++) {
		run(j, 0);
		run(j, 1);
	}
	for (int i = 0; i < iters; i++) {
		double t0 = now();

		run(j, 0);
		double t1 = now();
		run(j, 1);
		tf[i] = (t1 - t0) * 1e3;
		tb[i] = (now() - t1) * 1e3;
	}
	qsort(tf, iters, sizeof(double), cmpd);
	qsort(tb, iters, sizeof(double), cmpd);
	*fwd = tf[0];
	*bwd = tb[0];
}

static void
prepare(job *j)
{
	h4h_err err;
	int rc = 0;

	if (j->kind == 0)
		rc = nn_conv2d_prepare(j->ctx, &j->cv, j->B, j->H, j->W, j->IC,
		    j->OC, &err);
	else if (j->kind == 1)
		rc = nn_batchnorm_prepare(j->ctx, &j->bn, j->B * j->H * j->W,
		    j->IC, &err);
	if (rc != 0) {
		fprintf(stderr, "bench_nn_ops: %s\n", err.msg);
		exit(1);
	}
}

static void
bench(nn_ctx *ctx, const char *name, job *j, int op_kind)
{
	double hf, hb, df = 0, db = 0;
	h4h_err err;
	const char *keep = "hand";

	j->ctx = ctx;
	if (op_kind >= 0)
		nn_ctx_set_impl(ctx, op_kind, NN_IMPL_HAND, &err);
	prepare(j);
	timeit(j, &hf, &hb);
	if (op_kind >= 0) {
		nn_ctx_set_impl(ctx, op_kind, NN_IMPL_DNNL, &err);
		prepare(j);
		timeit(j, &df, &db);
		nn_ctx_set_impl(ctx, op_kind, NN_IMPL_AUTO, &err);
		int im = j->kind == 0 ? nn_conv2d_impl(ctx, &j->cv, j->B, j->H,
		    j->W, j->IC, j->OC) : nn_ctx_impl(ctx, op_kind);

		keep = im == NN_IMPL_DNNL ? "onednn" : "hand";
		printf("%-34s %8.3f %8.3f   %8.3f %8.3f   %5.2fx  %s%s\n", name,
		    hf, hb, df, db, (df + db) / (hf + hb), keep,
		    ((df + db < hf + hb) != (strcmp(keep, "onednn") == 0)) ?
		    "  (not the faster here)" : "");
	} else {
		printf("%-34s %8.3f %8.3f   %8s %8s   %6s  hand only\n", name,
		    hf, hb, "-", "-", "");
	}
}

static job
conv_job(int B, int H, int W, int IC, int OC, int K, int s, int g)
{
	nn_conv2d cv = { IC, OC, K, K, s, K / 2, g, 0, 0 };
	job j;
	int OH, OW;

	memset(&j, 0, sizeof j);
	j.kind = 0;
	j.cv = cv;
	j.B = B;
	j.H = H;
	j.W = W;
	j.IC = IC;
	j.OC = OC;
	nn_conv2d_out_hw(&cv, H, &OH);
	nn_conv2d_out_hw(&cv, W, &OW);
	j.x = buf((size_t)B * H * W * IC);
	j.dx = buf((size_t)B * H * W * IC);
	j.w = buf(nn_conv2d_nweights(&cv));
	j.dw = buf(nn_conv2d_nweights(&cv));
	j.y = buf((size_t)B * OH * OW * OC);
	j.dy = buf((size_t)B * OH * OW * OC);
	return j;
}

static void
job_free(job *j)
{
	float *p[] = { j->x, j->w, j->b, j->y, j->dy, j->dx, j->dw, j->db,
	    j->s1, j->s2, j->s3, j->s4 };

	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		free(p[i]);
	free(j->idx);
}

int
main(int argc, char **argv)
{
	nn_ctx *ctx;
	h4h_err err;
	int B = 128;

	if (argc > 1)
		iters = atoi(argv[1]) > 0 ? atoi(argv[1]) : 30;
	if (nn_ctx_create(0, &ctx, &err) != 0) {
		fprintf(stderr, "bench_nn_ops: %s\n", err.msg);
		return 1;
	}
	printf("bench_nn_ops: %ld cores online, %d threads, batch %d, "
	    "best of %d (ms)\n", sysconf(_SC_NPROCESSORS_ONLN),
	    nn_ctx_threads(ctx), B, iters);
	printf("%-34s %8s %8s   %8s %8s   %6s  %s\n", "op", "hand fwd",
	    "bwd", "onednn f", "bwd", "dnn/hd", "kept");

	struct {
		const char *name;
		int H, IC, OC, K, s, g, kind;
	} convs[] = {
		{ "stem conv3x3 s2 1->16 @32", 32, 1, 16, 3, 2, 1, NN_OP_CONV },
		{ "pw 16->64 @16", 16, 16, 64, 1, 1, 1, NN_OP_CONV_PW },
		{ "dw3x3 64 @16 s1", 16, 64, 64, 3, 1, 64, NN_OP_CONV_DW },
		{ "dw3x3 64 @16 s2", 16, 64, 64, 3, 2, 64, NN_OP_CONV_DW },
		{ "pw 24->96 @8", 8, 24, 96, 1, 1, 1, NN_OP_CONV_PW },
		{ "dw3x3 96 @8 s1", 8, 96, 96, 3, 1, 96, NN_OP_CONV_DW },
		{ "pw 32->128 @4", 4, 32, 128, 1, 1, 1, NN_OP_CONV_PW },
		{ "dw3x3 128 @4 s1", 4, 128, 128, 3, 1, 128, NN_OP_CONV_DW },
		{ "conv3x3 32->128 @4", 4, 32, 128, 3, 1, 1, NN_OP_CONV },
	};
	for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
		job j = conv_job(B, convs[i].H, convs[i].H, convs[i].IC,
		    convs[i].OC, convs[i].K, convs[i].s, convs[i].g);

		bench(ctx, convs[i].name, &j, convs[i].kind);
		job_free(&j);
	}
	/* linear 64->128 over 128*16 tokens; its oneDNN twin is the 1x1
	 * conv on (2048,1,1,64) */
	{
		job j = conv_job(B * 16, 1, 1, 64, 128, 1, 1, 1);

		bench(ctx, "linear-as-pw 64->128 x2048 tok", &j,
		    NN_OP_CONV_PW);
		j.kind = 2;
		j.B = B * 16;
		j.b = buf(128);
		j.db = buf(128);
		bench(ctx, "linear 64->128 x2048 (cblas)", &j, -1);
		job_free(&j);
	}
	{
		job j;
		int N = B * 16 * 16, C = 64;

		memset(&j, 0, sizeof j);
		j.kind = 1;
		j.bn.C = C;
		j.bn.eps = 1e-5f;
		j.bn.momentum = 0.1f;
		j.B = B;
		j.H = j.W = 16;
		j.IC = C;
		j.x = buf((size_t)N * C);
		j.y = buf((size_t)N * C);
		j.dx = buf((size_t)N * C);
		j.dy = buf((size_t)N * C);
		j.w = buf(C);
		j.b = buf(C);
		j.dw = buf(C);
		j.db = buf(C);
		j.s1 = buf(C);
		j.s2 = buf(C);
		j.s3 = buf(C);
		j.s4 = buf(C);
		bench(ctx, "batchnorm 64 @16 (train)", &j, NN_OP_BN);
		j.kind = 4;
		bench(ctx, "hswish 64 @16", &j, -1);
		job_free(&j);
	}
	{
		job j;
		int T = 16, C = 64, NH = 8;

		memset(&j, 0, sizeof j);
		j.kind = 3;
		j.B = B;
		j.T = T;
		j.IC = C;
		j.NH = NH;
		j.idx = malloc(sizeof(int) * T * T);
		j.nofs = nn_attn_bias_index(j.idx, 4, 4);
		j.x = buf((size_t)B * T * 3 * C);
		j.dx = buf((size_t)B * T * 3 * C);
		j.y = buf((size_t)B * T * C);
		j.dy = buf((size_t)B * T * C);
		j.w = buf((size_t)NH * j.nofs);
		j.dw = buf((size_t)NH * j.nofs);
		j.s1 = buf((size_t)B * NH * T * T);
		bench(ctx, "attention 16 tok 8x8 + bias", &j, -1);
		j.kind = 5;
		j.s2 = buf((size_t)B * T);
		free(j.s1);
		j.s1 = buf((size_t)B * T);
		j.b = buf(C);
		j.db = buf(C);
		bench(ctx, "layernorm 2048x64", &j, -1);
		job_free(&j);
	}
	printf("lazy allocations after preparation: %ld\n",
	    nn_ctx_lazy_allocs(ctx));
	nn_ctx_destroy(ctx);
	return 0;
}
