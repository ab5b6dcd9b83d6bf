/*
 * ops_norm.c - batch norm (training, inference, recalibration) and layer
 * norm, forward and backward, on NHWC rows (ops.h).
 *
 * Batch statistics are reduced per thread over row blocks in float (64
 * rows, vectorised across channels) and summed in double, in one pass over
 * x - K, K the mean of the first 64 rows: sum and sum of squares of the
 * shifted values give the mean and the variance about the exact mean, and
 * since |mean - K| is a fraction of a standard deviation, subtracting the
 * squared mean shift cancels no digits (an 8192-row batch at offset 100
 * is tested against oneDNN).  The normalisation is one fused multiply-add per
 * element: out = x a + c with a = gamma rstd, c = beta - mean a.
 *
 * The oneDNN path (NN_OP_BN = NN_IMPL_DNNL) runs its batch-normalization
 * primitive with scale and shift on an (N, C, 1, 1) view; running
 * statistics are still updated here from the mean and variance it returns.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/ops_impl.h"

#define BLK 64

/* Without this GCC will not if-convert a float select such as hswish's
 * derivative (0 / 1 / (2x+3)/6), so those loops stay scalar.  No code
 * here reads the floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* acc1[c] += sum (x - K), acc2[c] += sum (x - K)^2 over N rows. */
static NN_SIMD void
blk_sum2(double *restrict acc1, double *restrict acc2, float *restrict t1,
    float *restrict t2, const float *restrict x, long N, int C,
    const float *restrict K)
{
	for (long r0 = 0; r0 < N; r0 += BLK) {
		long r1 = r0 + BLK < N ? r0 + BLK : N;

		memset(t1, 0, sizeof(float) * C);
		memset(t2, 0, sizeof(float) * C);
		for (long r = r0; r < r1; r++) {
			const float *xr = x + r * C;
#pragma omp simd
			for (int c = 0; c < C; c++) {
				float d = xr[c] - K[c];

				t1[c] += d;
				t2[c] += d * d;
			}
		}
		for (int c = 0; c < C; c++) {
			acc1[c] += t1[c];
			acc2[c] += t2[c];
		}
	}
}

/*
 * Batch mean (double dm, rounded fm) and biased variance about the exact
 * mean (dv) in one pass.  K: C floats of scratch; ws: nt*2C doubles and
 * nt*2C floats.
 */
static void
batch_stats(const nn_ctx *ctx, double *dm, double *dv, float *fm,
    float *K, const float *x, long N, int C, void *ws)
{
	int nt = ctx->nthreads;
	long n0 = N < BLK ? N : BLK;
	double *acc = ws;
	float *tmp = (float *)(acc + (size_t)nt * 2 * C);

	for (int c = 0; c < C; c++)
		K[c] = 0;
	for (long r = 0; r < n0; r++)
		for (int c = 0; c < C; c++)
			K[c] += x[r * C + c];
	for (int c = 0; c < C; c++)
		K[c] /= (float)n0;
	memset(acc, 0, sizeof(double) * nt * 2 * C);
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		blk_sum2(acc + (size_t)t * 2 * C, acc + (size_t)t * 2 * C + C,
		    tmp + (size_t)t * 2 * C, tmp + (size_t)t * 2 * C + C,
		    x + lo * C, hi - lo, C, K);
	}
	for (int c = 0; c < C; c++) {
		double s1 = 0, s2 = 0, m1;

		for (int t = 0; t < nt; t++) {
			s1 += acc[(size_t)t * 2 * C + c];
			s2 += acc[(size_t)t * 2 * C + C + c];
		}
		m1 = s1 / N;
		dm[c] = K[c] + m1;
		fm[c] = (float)dm[c];
		dv[c] = s2 / N - m1 * m1;
		if (dv[c] < 0)
			dv[c] = 0;
	}
}

static NN_SIMD void
affine_rows(float *restrict out, const float *restrict x,
    const float *restrict a, const float *restrict c0, long N, int C)
{
	for (long r = 0; r < N; r++) {
		const float *xr = x + r * C;
		float *o = out + r * C;

#pragma omp simd
		for (int c = 0; c < C; c++)
			o[c] = xr[c] * a[c] + c0[c];
	}
}

static void
affine_par(const nn_ctx *ctx, float *out, const float *x, const float *a,
    const float *c0, long N, int C)
{
#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
	for (int t = 0; t < ctx->nthreads; t++) {
		long lo, hi;

		nn_split(N, ctx->nthreads, t, &lo, &hi);
		affine_rows(out + lo * C, x + lo * C, a, c0, hi - lo, C);
	}
}

static int
bn_check(const nn_batchnorm *bn, int N, int C, int mode, h4h_err *err)
{
	if (C < 1 || C > bn->C)
		return h4h_errf(err, H4H_EINPUT, "nn: batchnorm: active "
		    "channels %d outside 1..%d", C, bn->C);
	if (N < 1 || (mode != NN_BN_INFER && N < 2))
		return h4h_errf(err, H4H_EINPUT, "nn: batchnorm: %d rows; "
		    "batch statistics need at least 2", N);
	if (mode < NN_BN_TRAIN || mode > NN_BN_RECAL)
		return h4h_errf(err, H4H_EINPUT, "nn: batchnorm: unknown mode "
		    "%d", mode);
	return 0;
}

/* Scratch for either direction of the hand path: generous and simple. */
static size_t
bn_ws(const nn_ctx *ctx, int C)
{
	return sizeof(double) * ((size_t)ctx->nthreads * 4 + 8) * C + 256;
}

/* Running statistics from the batch mean and biased variance. */
static void
bn_running(const nn_batchnorm *bn, float *run_mean, float *run_var,
    const double *mean, const double *var, int N, int C, int mode, int k)
{
	double unb = (double)N / (N - 1);

	for (int c = 0; c < C; c++) {
		if (mode == NN_BN_TRAIN) {
			run_mean[c] = (float)((1.0 - bn->momentum) * run_mean[c] +
			    bn->momentum * mean[c]);
			run_var[c] = (float)((1.0 - bn->momentum) * run_var[c] +
			    bn->momentum * var[c] * unb);
		} else {
			run_mean[c] = (float)(((double)run_mean[c] * k +
			    mean[c]) / (k + 1));
			run_var[c] = (float)(((double)run_var[c] * k +
			    var[c] * unb) / (k + 1));
		}
	}
}

/* ---- oneDNN path ------------------------------------------------------ */

typedef struct dbn {
	dnnl_primitive_t fwd, bwd;
	dnnl_memory_t src, dst, mean, var, scale, shift, dsrc, ddst, dscale,
	    dshift, sp_fwd, sp_bwd;
} dbn;

static void
dbn_free(void *p)
{
	dbn *d = p;
	dnnl_memory_t *mm[] = { &d->src, &d->dst, &d->mean, &d->var, &d->scale,
	    &d->shift, &d->dsrc, &d->ddst, &d->dscale, &d->dshift, &d->sp_fwd,
	    &d->sp_bwd };

	if (d == NULL)
		return;
	if (d->fwd != NULL)
		dnnl_primitive_destroy(d->fwd);
	if (d->bwd != NULL)
		dnnl_primitive_destroy(d->bwd);
	for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
		if (*mm[i] != NULL)
			dnnl_memory_destroy(*mm[i]);
	free(d);
}

static int
dbn_get(nn_ctx *ctx, const nn_batchnorm *bn, int N, int C, dbn **out,
    h4h_err *err)
{
	dnnl_memory_desc_t md, cmd;
	dnnl_batch_normalization_desc_t fd, bd;
	dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	unsigned flags = dnnl_use_scale | dnnl_use_shift;
	dnnl_dims_t dims = { N, C, 1, 1 }, cd = { C };
	dnnl_engine_t eng = ctx->eng;
	nn_key k;
	dbn *d;
	int rc = 0;

	memset(&k, 0, sizeof k);
	k.d[0] = 2;
	k.d[1] = N;
	k.d[2] = C;
	memcpy(&k.d[3], &bn->eps, sizeof(float));
	if ((*out = nn_cache_get(ctx, &k)) != NULL)
		return 0;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32,
	    dnnl_nhwc));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&cmd, 1, cd, dnnl_f32, dnnl_a));
	DNNL_TRY(dnnl_primitive_attr_create(&attr));
	DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr,
	    dnnl_scratchpad_mode_user));
	DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&fd,
	    dnnl_forward_training, &md, bn->eps, flags));
	DNNL_TRY(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
	DNNL_TRY(dnnl_batch_normalization_backward_desc_init(&bd,
	    dnnl_backward, &md, &md, bn->eps, flags));
	DNNL_TRY(dnnl_primitive_desc_create(&bpd, &bd, attr, eng, fpd));
	DNNL_TRY(dnnl_primitive_create(&d->fwd, fpd));
	DNNL_TRY(dnnl_primitive_create(&d->bwd, bpd));
	dnnl_memory_t *data[] = { &d->src, &d->dst, &d->dsrc, &d->ddst };
	dnnl_memory_t *chan[] = { &d->mean, &d->var, &d->scale, &d->shift,
	    &d->dscale, &d->dshift };
	for (size_t i = 0; i < 4; i++)
		DNNL_TRY(dnnl_memory_create(data[i], &md, eng,
		    DNNL_MEMORY_NONE));
	for (size_t i = 0; i < 6; i++)
		DNNL_TRY(dnnl_memory_create(chan[i], &cmd, eng,
		    DNNL_MEMORY_NONE));
	DNNL_TRY(dnnl_memory_create(&d->sp_fwd, dnnl_primitive_desc_query_md(
	    fpd, dnnl_query_scratchpad_md, 0), eng, DNNL_MEMORY_ALLOCATE));
	DNNL_TRY(dnnl_memory_create(&d->sp_bwd, dnnl_primitive_desc_query_md(
	    bpd, dnnl_query_scratchpad_md, 0), eng, DNNL_MEMORY_ALLOCATE));
	rc = nn_cache_put(ctx, &k, d, dbn_free, err);
out:
	if (fpd != NULL)
		dnnl_primitive_desc_destroy(fpd);
	if (bpd != NULL)
		dnnl_primitive_desc_destroy(bpd);
	if (attr != NULL)
		dnnl_primitive_attr_destroy(attr);
	if (rc != 0) {
		dbn_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int
dbn_exec(nn_ctx *ctx, dnnl_primitive_t p, int n, dnnl_exec_arg_t *a,
    h4h_err *err)
{
	int rc = 0;

	DNNL_TRY(dnnl_primitive_execute(p, ctx->strm, n, a));
	DNNL_TRY(dnnl_stream_wait(ctx->strm));
out:
	return rc;
}

/* ---- batch norm entry points ------------------------------------------- */

int
nn_batchnorm_prepare(nn_ctx *ctx, const nn_batchnorm *bn, int N, int C,
    h4h_err *err)
{
	size_t need = bn_ws(ctx, C);
	int rc;

	if ((rc = bn_check(bn, N, C, NN_BN_TRAIN, err)) != 0)
		return rc;
	if (nn_impl_for(ctx, NN_OP_BN) == NN_IMPL_DNNL) {
		dbn *d;

		need += sizeof(float) * ((size_t)N * C + 4 * C);
		if ((rc = dbn_get(ctx, bn, N, C, &d, err)) != 0)
			return rc;
	}
	return nn_ctx_reserve(ctx, need, err);
}

int
nn_batchnorm_forward(nn_ctx *ctx, const nn_batchnorm *bn, float *out,
    float *mean, float *rstd, float *run_mean, float *run_var,
    const float *inp, const float *gamma, const float *beta, int N, int C,
    int mode, int k, h4h_err *err)
{
	double *dm, *dv;
	float *a, *c0, *fm;
	void *ws;
	int rc;

	if ((rc = bn_check(bn, N, C, mode, err)) != 0)
		return rc;
	ws = nn_ws(ctx, bn_ws(ctx, C));
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	dm = (double *)((char *)ws + nn_round(sizeof(float) *
	    ((size_t)ctx->nthreads + 4) * C));
	dv = dm + C;
	a = ws;
	c0 = a + C;
	fm = c0 + C;
	if (mode == NN_BN_INFER) {
		nn_bn_infer_coefs(bn, a, c0, gamma, beta, run_mean, run_var, C);
		affine_par(ctx, out, inp, a, c0, N, C);
		return 0;
	}
	if (nn_impl_for(ctx, NN_OP_BN) == NN_IMPL_DNNL) {
		dbn *d;
		float *var = fm + C;

		if ((rc = dbn_get(ctx, bn, N, C, &d, err)) != 0)
			return rc;
		dnnl_memory_set_data_handle(d->src, (void *)inp);
		dnnl_memory_set_data_handle(d->dst, out);
		dnnl_memory_set_data_handle(d->mean, mean);
		dnnl_memory_set_data_handle(d->var, var);
		dnnl_memory_set_data_handle(d->scale, (void *)gamma);
		dnnl_memory_set_data_handle(d->shift, (void *)beta);
		dnnl_exec_arg_t ar[7] = { { DNNL_ARG_SRC, d->src },
		    { DNNL_ARG_DST, d->dst }, { DNNL_ARG_MEAN, d->mean },
		    { DNNL_ARG_VARIANCE, d->var },
		    { DNNL_ARG_SCALE, d->scale }, { DNNL_ARG_SHIFT, d->shift },
		    { DNNL_ARG_SCRATCHPAD, d->sp_fwd } };
		if ((rc = dbn_exec(ctx, d->fwd, 7, ar, err)) != 0)
			return rc;
		for (int c = 0; c < C; c++) {
			dm[c] = mean[c];
			dv[c] = var[c];
			rstd[c] = 1.0f / sqrtf(var[c] + bn->eps);
		}
		bn_running(bn, run_mean, run_var, dm, dv, N, C, mode, k);
		return 0;
	}
	void *scr = (char *)dm + sizeof(double) * 2 * C;

	batch_stats(ctx, dm, dv, fm, fm + C, inp, N, C, scr);
	for (int c = 0; c < C; c++) {
		mean[c] = fm[c];
		rstd[c] = (float)(1.0 / sqrt(dv[c] + bn->eps));
		a[c] = gamma[c] * rstd[c];
		c0[c] = beta[c] - mean[c] * a[c];
	}
	affine_par(ctx, out, inp, a, c0, N, C);
	bn_running(bn, run_mean, run_var, dm, dv, N, C, mode, k);
	return 0;
}

/* acc_g[c] += sum g, acc_gx[c] += sum g xhat over N rows. */
static NN_SIMD void
bn_bwd_sums(double *restrict acc_g, double *restrict acc_gx,
    float *restrict tg, float *restrict tgx, const float *restrict g,
    const float *restrict x, const float *restrict mean,
    const float *restrict rstd, long N, int C)
{
	for (long r0 = 0; r0 < N; r0 += BLK) {
		long r1 = r0 + BLK < N ? r0 + BLK : N;

		memset(tg, 0, sizeof(float) * C);
		memset(tgx, 0, sizeof(float) * C);
		for (long r = r0; r < r1; r++) {
			const float *gr = g + r * C, *xr = x + r * C;

#pragma omp simd
			for (int c = 0; c < C; c++) {
				tg[c] += gr[c];
				tgx[c] += gr[c] * (xr[c] - mean[c]) * rstd[c];
			}
		}
		for (int c = 0; c < C; c++) {
			acc_g[c] += tg[c];
			acc_gx[c] += tgx[c];
		}
	}
}

/* dx += s (g - mg - xhat mgx), xhat = (x - mean) rstd. */
static NN_SIMD void
bn_bwd_apply(float *restrict dx, const float *restrict g,
    const float *restrict x, const float *restrict mean,
    const float *restrict rstd, const float *restrict s,
    const float *restrict mg, const float *restrict mgx, long N, int C)
{
	for (long r = 0; r < N; r++) {
		const float *gr = g + r * C, *xr = x + r * C;
		float *d = dx + r * C;

#pragma omp simd
		for (int c = 0; c < C; c++) {
			float xh = (xr[c] - mean[c]) * rstd[c];

			d[c] += s[c] * (gr[c] - mg[c] - xh * mgx[c]);
		}
	}
}

/* dx = s (g - mg - xhat mgx): bn_bwd_apply's overwriting twin. */
static NN_SIMD void
bn_bwd_set(float *restrict dx, const float *restrict g,
    const float *restrict x, const float *restrict mean,
    const float *restrict rstd, const float *restrict s,
    const float *restrict mg, const float *restrict mgx, long N, int C)
{
	for (long r = 0; r < N; r++) {
		const float *gr = g + r * C, *xr = x + r * C;
		float *d = dx + r * C;

#pragma omp simd
		for (int c = 0; c < C; c++) {
			float xh = (xr[c] - mean[c]) * rstd[c];

			d[c] = s[c] * (gr[c] - mg[c] - xh * mgx[c]);
		}
	}
}

int
nn_batchnorm_backward(nn_ctx *ctx, const nn_batchnorm *bn, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *gamma, int N, int C,
    h4h_err *err)
{
	return nn_batchnorm_backward_ex(ctx, bn, dinp, dgamma, dbeta, dout,
	    inp, mean, rstd, gamma, N, C, 1, err);
}

/* The threads' partial sums of dout and dout*xhat (2C per thread, added in
 * thread order so results do not depend on scheduling) into the parameter
 * gradients, and the per-channel factors the input gradient needs. */
static void
bn_reduce(const double *part, int nt, long N, int C, const float *gamma,
    const float *rstd, float *dgamma, float *dbeta, float *s, float *mg,
    float *mgx)
{
	for (int c = 0; c < C; c++) {
		double sg = 0, sgx = 0;

		for (int t = 0; t < nt; t++) {
			sg += part[(size_t)t * 2 * C + c];
			sgx += part[(size_t)t * 2 * C + C + c];
		}
		if (dbeta != NULL)
			dbeta[c] += (float)sg;
		if (dgamma != NULL)
			dgamma[c] += (float)sgx;
		s[c] = gamma[c] * rstd[c];
		mg[c] = (float)(sg / N);
		mgx[c] = (float)(sgx / N);
	}
}

int
nn_batchnorm_backward_ex(nn_ctx *ctx, const nn_batchnorm *bn, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *gamma, int N, int C,
    int acc, h4h_err *err)
{
	int nt = ctx->nthreads, rc;
	size_t fl = nn_round(sizeof(float) * ((size_t)nt * 2 + 4) * C);
	void *ws;

	if ((rc = bn_check(bn, N, C, NN_BN_TRAIN, err)) != 0)
		return rc;
	if (nn_impl_for(ctx, NN_OP_BN) == NN_IMPL_DNNL) {
		size_t nin = (size_t)N * C;
		float *tmp, *var, *dsc, *dsh;
		dbn *d;

		ws = nn_ws(ctx, sizeof(float) * (nin + 4 * C));
		if (ws == NULL)
			return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
		tmp = ws;
		var = tmp + nin;
		dsc = var + C;
		dsh = dsc + C;
		if ((rc = dbn_get(ctx, bn, N, C, &d, err)) != 0)
			return rc;
		for (int c = 0; c < C; c++)
			var[c] = 1.0f / (rstd[c] * rstd[c]) - bn->eps;
		dnnl_memory_set_data_handle(d->src, (void *)inp);
		dnnl_memory_set_data_handle(d->ddst, (void *)dout);
		dnnl_memory_set_data_handle(d->dsrc, tmp);
		dnnl_memory_set_data_handle(d->mean, (void *)mean);
		dnnl_memory_set_data_handle(d->var, var);
		dnnl_memory_set_data_handle(d->scale, (void *)gamma);
		dnnl_memory_set_data_handle(d->dscale, dsc);
		dnnl_memory_set_data_handle(d->dshift, dsh);
		/* oneDNN 2.6 wants the shift bound in backward too, though
		 * no gradient depends on it: any C floats do */
		dnnl_memory_set_data_handle(d->shift, (void *)gamma);
		dnnl_exec_arg_t ar[10] = { { DNNL_ARG_SRC, d->src },
		    { DNNL_ARG_DIFF_DST, d->ddst }, { DNNL_ARG_MEAN, d->mean },
		    { DNNL_ARG_VARIANCE, d->var },
		    { DNNL_ARG_SCALE, d->scale },
		    { DNNL_ARG_DIFF_SRC, d->dsrc },
		    { DNNL_ARG_DIFF_SCALE, d->dscale },
		    { DNNL_ARG_DIFF_SHIFT, d->dshift },
		    { DNNL_ARG_SCRATCHPAD, d->sp_bwd },
		    { DNNL_ARG_SHIFT, d->shift } };
		if ((rc = dbn_exec(ctx, d->bwd, 10, ar, err)) != 0)
			return rc;
		for (int c = 0; c < C && dgamma != NULL; c++)
			dgamma[c] += dsc[c];
		for (int c = 0; c < C && dbeta != NULL; c++)
			dbeta[c] += dsh[c];
		if (dinp != NULL && !acc)
			memcpy(dinp, tmp, sizeof(float) * nin);
		else if (dinp != NULL) {
#pragma omp parallel for num_threads(nt) schedule(static)
			for (size_t i = 0; i < nin; i++)
				dinp[i] += tmp[i];
		}
		return 0;
	}
	ws = nn_ws(ctx, bn_ws(ctx, C));
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	float *tg = ws, *s = tg + (size_t)nt * 2 * C, *mg = s + C,
	    *mgx = mg + C;
	double *sums = (double *)((char *)ws + fl);

	memset(sums, 0, sizeof(double) * nt * 2 * C);
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		bn_bwd_sums(sums + (size_t)t * 2 * C,
		    sums + (size_t)t * 2 * C + C,
		    tg + (size_t)t * 2 * C, tg + (size_t)t * 2 * C + C,
		    dout + lo * C, inp + lo * C, mean, rstd, hi - lo, C);
	}
	bn_reduce(sums, nt, N, C, gamma, rstd, dgamma, dbeta, s, mg, mgx);
	if (dinp == NULL)
		return 0;
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		(acc ? bn_bwd_apply : bn_bwd_set)(dinp + lo * C, dout + lo * C,
		    inp + lo * C, mean, rstd, s, mg, mgx, hi - lo, C);
	}
	return 0;
}

/* ---- batch norm + hswish, fused --------------------------------------- */

static inline float
clamp6(float x)
{
	x = x > 0.0f ? x : 0.0f;
	return x < 6.0f ? x : 6.0f;
}

/* hswish'(y), PyTorch's convention at the kinks (as ops_act.c). */
static inline float
dhswish(float y)
{
	float v = (2.0f * y + 3.0f) * (1.0f / 6.0f);

	/* two selects, no nested branch: GCC if-converts and vectorises */
	v = y > 3.0f ? 1.0f : v;
	return y < -3.0f ? 0.0f : v;
}

static NN_SIMD void
affine_hswish_rows(float *restrict out, const float *restrict x,
    const float *restrict a, const float *restrict c0, long N, int C)
{
	for (long r = 0; r < N; r++) {
		const float *xr = x + r * C;
		float *o = out + r * C;

#pragma omp simd
		for (int c = 0; c < C; c++) {
			float y = xr[c] * a[c] + c0[c];

			o[c] = y * clamp6(y + 3.0f) * (1.0f / 6.0f);
		}
	}
}

/* The inference-mode affine, shared with the fused conv + BN path
 * (ops_conv.c) so that both compute the same floats. */
void
nn_bn_infer_coefs(const nn_batchnorm *bn, float *a, float *c0,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, int C)
{
	for (int c = 0; c < C; c++) {
		a[c] = gamma[c] / sqrtf(run_var[c] + bn->eps);
		c0[c] = beta[c] - run_mean[c] * a[c];
	}
}

void
nn_bn_infer_rows(float *out, const float *x, const float *a, const float *c0,
    long N, int C, int act)
{
	if (act)
		affine_hswish_rows(out, x, a, c0, N, C);
	else
		affine_rows(out, x, a, c0, N, C);
}

/* Like bn_bwd_sums with dy = g hswish'(x a + c0) recomputed. */
static NN_SIMD void
bnh_bwd_sums(double *restrict acc_g, double *restrict acc_gx,
    float *restrict tg, float *restrict tgx, const float *restrict g,
    const float *restrict x, const float *restrict a,
    const float *restrict c0, const float *restrict mean,
    const float *restrict rstd, long N, int C)
{
	for (long r0 = 0; r0 < N; r0 += BLK) {
		long r1 = r0 + BLK < N ? r0 + BLK : N;

		memset(tg, 0, sizeof(float) * C);
		memset(tgx, 0, sizeof(float) * C);
		for (long r = r0; r < r1; r++) {
			const float *gr = g + r * C, *xr = x + r * C;

#pragma omp simd
			for (int c = 0; c < C; c++) {
				float dy = gr[c] * dhswish(xr[c] * a[c] + c0[c]);

				tg[c] += dy;
				tgx[c] += dy * (xr[c] - mean[c]) * rstd[c];
			}
		}
		for (int c = 0; c < C; c++) {
			acc_g[c] += tg[c];
			acc_gx[c] += tgx[c];
		}
	}
}

static NN_SIMD void
bnh_bwd_apply(float *restrict dx, const float *restrict g,
    const float *restrict x, const float *restrict a,
    const float *restrict c0, const float *restrict mean,
    const float *restrict rstd, const float *restrict s,
    const float *restrict mg, const float *restrict mgx, long N, int C,
    int acc)
{
	for (long r = 0; r < N; r++) {
		const float *gr = g + r * C, *xr = x + r * C;
		float *d = dx + r * C;

		if (acc) {
#pragma omp simd
			for (int c = 0; c < C; c++) {
				float dy = gr[c] * dhswish(xr[c] * a[c] + c0[c]);
				float xh = (xr[c] - mean[c]) * rstd[c];

				d[c] += s[c] * (dy - mg[c] - xh * mgx[c]);
			}
		} else {
#pragma omp simd
			for (int c = 0; c < C; c++) {
				float dy = gr[c] * dhswish(xr[c] * a[c] + c0[c]);
				float xh = (xr[c] - mean[c]) * rstd[c];

				d[c] = s[c] * (dy - mg[c] - xh * mgx[c]);
			}
		}
	}
}

int
nn_bn_hswish_forward(nn_ctx *ctx, const nn_batchnorm *bn, float *out,
    float *mean, float *rstd, float *run_mean, float *run_var,
    const float *inp, const float *gamma, const float *beta, int N, int C,
    int mode, int k, h4h_err *err)
{
	int nt = ctx->nthreads, rc;
	double *dm, *dv;
	float *a, *c0, *fm;
	void *ws;

	if ((rc = bn_check(bn, N, C, mode, err)) != 0)
		return rc;
	if (out == inp)
		return h4h_errf(err, H4H_EINPUT, "nn: bn_hswish: out must not "
		    "alias inp (backward reads inp)");
	ws = nn_ws(ctx, bn_ws(ctx, C));
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	dm = (double *)((char *)ws + nn_round(sizeof(float) *
	    ((size_t)nt + 4) * C));
	dv = dm + C;
	a = ws;
	c0 = a + C;
	fm = c0 + C;
	if (mode == NN_BN_INFER) {
		nn_bn_infer_coefs(bn, a, c0, gamma, beta, run_mean, run_var, C);
	} else {
		void *scr = (char *)dm + sizeof(double) * 2 * C;

		batch_stats(ctx, dm, dv, fm, fm + C, inp, N, C, scr);
		for (int c = 0; c < C; c++) {
			mean[c] = fm[c];
			rstd[c] = (float)(1.0 / sqrt(dv[c] + bn->eps));
			a[c] = gamma[c] * rstd[c];
			c0[c] = beta[c] - mean[c] * a[c];
		}
		bn_running(bn, run_mean, run_var, dm, dv, N, C, mode, k);
	}
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		affine_hswish_rows(out + lo * C, inp + lo * C, a, c0, hi - lo,
		    C);
	}
	return 0;
}

int
nn_bn_hswish_backward(nn_ctx *ctx, const nn_batchnorm *bn, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *gamma,
    const float *beta, int N, int C, int acc, h4h_err *err)
{
	int nt = ctx->nthreads, rc;
	size_t fl = nn_round(sizeof(float) * ((size_t)nt * 2 + 6) * C);
	void *ws;

	if ((rc = bn_check(bn, N, C, NN_BN_TRAIN, err)) != 0)
		return rc;
	ws = nn_ws(ctx, bn_ws(ctx, C));	/* (2nt+6)C floats + 2nt C doubles fit */
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	float *tg = ws, *s = tg + (size_t)nt * 2 * C, *mg = s + C,
	    *mgx = mg + C, *a = mgx + C, *c0 = a + C;
	double *accd = (double *)((char *)ws + fl);

	/* the forward's a and c0, bit for bit: same expressions */
	for (int c = 0; c < C; c++) {
		a[c] = gamma[c] * rstd[c];
		c0[c] = beta[c] - mean[c] * a[c];
	}
	memset(accd, 0, sizeof(double) * nt * 2 * C);
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		bnh_bwd_sums(accd + (size_t)t * 2 * C,
		    accd + (size_t)t * 2 * C + C, tg + (size_t)t * 2 * C,
		    tg + (size_t)t * 2 * C + C, dout + lo * C, inp + lo * C, a,
		    c0, mean, rstd, hi - lo, C);
	}
	bn_reduce(accd, nt, N, C, gamma, rstd, dgamma, dbeta, s, mg, mgx);
	if (dinp == NULL)
		return 0;
#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		bnh_bwd_apply(dinp + lo * C, dout + lo * C, inp + lo * C, a, c0,
		    mean, rstd, s, mg, mgx, hi - lo, C, acc);
	}
	return 0;
}

/* ---- layer norm --------------------------------------------------------- */

static NN_SIMD void
ln_rows(float *restrict out, float *restrict mean, float *restrict rstd,
    const float *restrict inp, const float *restrict w,
    const float *restrict b, long N, int C, float eps)
{
	for (long r = 0; r < N; r++) {
		const float *x = inp + r * C;
		float *o = out + r * C;
		float m = 0, v = 0, s;

#pragma omp simd reduction(+:m)
		for (int c = 0; c < C; c++)
			m += x[c];
		m /= C;
#pragma omp simd reduction(+:v)
		for (int c = 0; c < C; c++)
			v += (x[c] - m) * (x[c] - m);
		s = 1.0f / sqrtf(v / C + eps);
#pragma omp simd
		for (int c = 0; c < C; c++)
			o[c] = (x[c] - m) * s * w[c] + b[c];
		mean[r] = m;
		rstd[r] = s;
	}
}

void
nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
    const float *weight, const float *bias, int N, int C, float eps)
{
	int nt = omp_get_max_threads();

#pragma omp parallel for schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(N, nt, t, &lo, &hi);
		ln_rows(out + lo * C, mean + lo, rstd + lo, inp + lo * C, weight,
		    bias, hi - lo, C, eps);
	}
}

static NN_SIMD void
ln_bwd_rows(float *restrict dinp, float *restrict dw, float *restrict db,
    const float *restrict dout, const float *restrict inp,
    const float *restrict w, const float *restrict mean,
    const float *restrict rstd, long N, int C)
{
	for (long r = 0; r < N; r++) {
		const float *g = dout + r * C, *x = inp + r * C;
		float m = mean[r], s = rstd[r], sg = 0, sgx = 0;

#pragma omp simd reduction(+:sg, sgx)
		for (int c = 0; c < C; c++) {
			float xh = (x[c] - m) * s, gw = g[c] * w[c];

			sg += gw;
			sgx += gw * xh;
			db[c] += g[c];
			dw[c] += g[c] * xh;
		}
		sg /= C;
		sgx /= C;
		if (dinp == NULL)
			continue;
		float *d = dinp + r * C;
#pragma omp simd
		for (int c = 0; c < C; c++) {
			float xh = (x[c] - m) * s;

			d[c] += s * (g[c] * w[c] - sg - xh * sgx);
		}
	}
}

void
nn_layernorm_backward(float *dinp, float *dweight, float *dbias,
    const float *dout, const float *inp, const float *weight,
    const float *mean, const float *rstd, int N, int C)
{
	int nt = omp_get_max_threads();

#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();
		long lo, hi;
		/* per-thread partial sums on the stack: C is a token width
		 * (<= a few hundred), far below any thread's stack */
		float p[2 * C];

		memset(p, 0, sizeof p);
		nn_split(N, nt, t, &lo, &hi);
		ln_bwd_rows(dinp != NULL ? dinp + lo * C : NULL, p, p + C,
		    dout + lo * C, inp + lo * C, weight, mean + lo, rstd + lo,
		    hi - lo, C);
		/* added in thread order: the sum is reproducible */
#pragma omp for ordered schedule(static, 1)
		for (int i = 0; i < nt; i++) {
#pragma omp ordered
			for (int c = 0; c < C && dweight != NULL; c++) {
				dweight[c] += p[c];
				dbias[c] += p[C + c];
			}
		}
	}
}
