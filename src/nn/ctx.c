/*
 * ctx.c - the engine context (see ctx.h): thread count, oneDNN engine and
 * stream, primitive cache, scratch workspace, GEMM splitting.
 */
#include "nn/ctx.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops_impl.h"

/*
 * Defaults measured by bench/bench_nn_ops (doc/nn.md, 2 threads, AVX2).
 * Convolutions resolve NN_IMPL_AUTO per shape in ops_conv.c (the entries
 * here are what nn_ctx_impl reports for them); batch norm keeps the hand
 * path, which fuses its passes and beat oneDNN's.
 */
static const int impl_default[NN_OP_NKIND] = {
	[NN_OP_CONV_PW] = NN_IMPL_DNNL,
	[NN_OP_CONV_DW] = NN_IMPL_DNNL,
	[NN_OP_CONV] = NN_IMPL_DNNL,
	[NN_OP_BN] = NN_IMPL_HAND,
};

int
nn_ctx_create(int nthreads, nn_ctx **out, h4h_err *err)
{
	nn_ctx *ctx;
	int rc = 0;

	*out = NULL;
	ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	if (nthreads <= 0)
		nthreads = omp_get_max_threads();
	ctx->nthreads = nthreads;
	omp_set_num_threads(nthreads);
	openblas_set_num_threads(1);
	DNNL_TRY(dnnl_engine_create(&ctx->eng, dnnl_cpu, 0));
	DNNL_TRY(dnnl_stream_create(&ctx->strm, ctx->eng,
	    dnnl_stream_default_flags));
	*out = ctx;
	return 0;
out:
	nn_ctx_destroy(ctx);
	return rc;
}

void
nn_ctx_destroy(nn_ctx *ctx)
{
	if (ctx == NULL)
		return;
	for (int i = 0; i < ctx->ncache; i++)
		if (ctx->cache[i].free_fn != NULL)
			ctx->cache[i].free_fn(ctx->cache[i].val);
	if (ctx->strm != NULL)
		dnnl_stream_destroy(ctx->strm);
	if (ctx->eng != NULL)
		dnnl_engine_destroy(ctx->eng);
	free(ctx->ws);
	free(ctx);
}

int
nn_ctx_threads(const nn_ctx *ctx)
{
	return ctx->nthreads;
}

int
nn_ctx_set_impl(nn_ctx *ctx, int op_kind, int impl, h4h_err *err)
{
	if (op_kind < 0 || op_kind >= NN_OP_NKIND)
		return h4h_errf(err, H4H_EINPUT, "nn: unknown op kind %d",
		    op_kind);
	if (impl < NN_IMPL_AUTO || impl > NN_IMPL_DNNL)
		return h4h_errf(err, H4H_EINPUT,
		    "nn: unknown implementation %d", impl);
	ctx->impl[op_kind] = impl;
	return 0;
}

int
nn_ctx_impl(const nn_ctx *ctx, int op_kind)
{
	return nn_impl_for(ctx, op_kind);
}

int
nn_impl_for(const nn_ctx *ctx, int op_kind)
{
	int v = ctx->impl[op_kind];

	return v == NN_IMPL_AUTO ? impl_default[op_kind] : v;
}

static int
ws_grow(nn_ctx *ctx, size_t bytes)
{
	void *p;

	if (bytes <= ctx->ws_size)
		return 0;
	bytes = nn_round(bytes);
	p = aligned_alloc(NN_ALIGN, bytes);
	if (p == NULL)
		return -1;
	free(ctx->ws);
	ctx->ws = p;
	ctx->ws_size = bytes;
	return 0;
}

int
nn_ctx_reserve(nn_ctx *ctx, size_t bytes, h4h_err *err)
{
	if (ws_grow(ctx, bytes) != 0)
		return h4h_errf(err, H4H_ENOMEM,
		    "nn: out of memory for a %zu-byte workspace", bytes);
	return 0;
}

size_t
nn_ctx_workspace_size(const nn_ctx *ctx)
{
	return ctx->ws_size;
}

long
nn_ctx_lazy_allocs(const nn_ctx *ctx)
{
	return ctx->lazy;
}

int
nn_ctx_cache_count(const nn_ctx *ctx)
{
	return ctx->ncache;
}

void *
nn_ws(nn_ctx *ctx, size_t bytes)
{
	if (bytes > ctx->ws_size) {
		if (ws_grow(ctx, bytes) != 0)
			return NULL;
		ctx->lazy++;
	}
	return ctx->ws;
}

void *
nn_cache_get(nn_ctx *ctx, const nn_key *k)
{
	for (int i = 0; i < ctx->ncache; i++)
		if (memcmp(&ctx->cache[i].key, k, sizeof *k) == 0)
			return ctx->cache[i].val;
	return NULL;
}

int
nn_cache_put(nn_ctx *ctx, const nn_key *k, void *val,
    void (*free_fn)(void *), h4h_err *err)
{
	if (ctx->ncache == NN_CACHE_MAX)
		return h4h_errf(err, H4H_ENOMEM,
		    "nn: primitive cache full (%d shapes)", NN_CACHE_MAX);
	ctx->cache[ctx->ncache].key = *k;
	ctx->cache[ctx->ncache].val = val;
	ctx->cache[ctx->ncache].free_fn = free_fn;
	ctx->ncache++;
	return 0;
}

void
nn_gemm(const nn_ctx *ctx, int transA, int transB, int M, int N, int K,
    float alpha, const float *A, int lda, const float *B, int ldb,
    float beta, float *C, int ldc)
{
	enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
	enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
	int nt = ctx->nthreads;
	/* Split the larger of M and N; a piece below 16 rows or columns is
	 * not worth a thread. */
	int alongM = M >= N;
	long len = alongM ? M : N;

	if (M == 0 || N == 0)
		return;
	if (nt > len / 16)
		nt = (int)(len / 16);
	if (nt <= 1) {
		cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B,
		    ldb, beta, C, ldc);
		return;
	}
#pragma omp parallel for num_threads(nt) schedule(static, 1)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(len, nt, t, &lo, &hi);
		if (alongM) {
			const float *a = transA ? A + lo : A + lo * lda;

			cblas_sgemm(CblasRowMajor, ta, tb, (int)(hi - lo), N, K,
			    alpha, a, lda, B, ldb, beta, C + lo * ldc, ldc);
		} else {
			const float *b = transB ? B + lo * ldb : B + lo;

			cblas_sgemm(CblasRowMajor, ta, tb, M, (int)(hi - lo), K,
			    alpha, A, lda, b, ldb, beta, C + lo, ldc);
		}
	}
}
