/*
 * ops_impl.h - private to src/nn/ops*.c and ctx.c: the context's fields,
 * the primitive cache, the workspace and the helpers the kernels share.
 * Nothing outside src/nn includes this header.
 *
 * Hand kernels are built for baseline x86-64 and, through GCC's
 * target_clones, again for x86-64-v3 (AVX2 + FMA); the loader picks the
 * clone the CPU supports (ifunc), so one binary is fast here and still
 * runs on any x86-64.  ("arch=haswell" would test the CPU's model, not
 * its features, and never match an AMD EPYC.)  OpenMP parallel regions live in plain drivers that call
 * cloned per-chunk kernels: an outlined parallel body does not inherit a
 * clone's target.
 */
#ifndef H4H_NN_OPS_IMPL_H
#define H4H_NN_OPS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#include "nn/ctx.h"
#include "core/err.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_SIMD __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NN_SIMD
#endif

#define NN_CACHE_MAX 256
#define NN_KEY_N 16

/* A primitive-cache key: the op kind and every int that shapes it
 * (maximum and active widths included). */
typedef struct nn_key {
	int d[NN_KEY_N];
} nn_key;

typedef struct nn_cache_ent {
	nn_key key;
	void *val;
	void (*free_fn)(void *);
} nn_cache_ent;

struct nn_ctx {
	int nthreads;
	int impl[NN_OP_NKIND];
	dnnl_engine_t eng;
	dnnl_stream_t strm;
	void *ws;
	size_t ws_size;
	long lazy;
	int ncache;
	nn_cache_ent cache[NN_CACHE_MAX];
};

/* Workspace of at least `bytes` for one op call, 64-byte aligned; grows
 * (and counts a lazy allocation) when the shape was not prepared.  NULL
 * only when memory runs out. */
void *nn_ws(nn_ctx *ctx, size_t bytes);

void *nn_cache_get(nn_ctx *ctx, const nn_key *k);
int nn_cache_put(nn_ctx *ctx, const nn_key *k, void *val,
    void (*free_fn)(void *), h4h_err *err);

/* Resolved implementation for an op kind (AUTO -> measured default). */
int nn_impl_for(const nn_ctx *ctx, int op_kind);

/*
 * C[M x N] (ldc) = alpha * op(A) op(B) + beta * C, row-major, split across
 * the context's threads along M (or N when M is small), each piece one
 * single-threaded OpenBLAS call.
 */
void nn_gemm(const nn_ctx *ctx, int transA, int transB, int M, int N, int K,
    float alpha, const float *A, int lda, const float *B, int ldb,
    float beta, float *C, int ldc);

/*
 * Batch norm in inference mode (running statistics) is the affine
 * out = x a + c0 per channel: nn_bn_infer_coefs computes a and c0 (C
 * floats each), nn_bn_infer_rows applies it, then hswish when act, to N
 * rows of C.  nn_batchnorm_forward and nn_bn_hswish_forward use these in
 * NN_BN_INFER, and so does the fused conv + BN of ops_conv.c: one code
 * path, the same floats.  out must not alias x.
 */
struct nn_batchnorm;
void nn_bn_infer_coefs(const struct nn_batchnorm *bn, float *a, float *c0,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, int C);
void nn_bn_infer_rows(float *out, const float *x, const float *a,
    const float *c0, long N, int C, int act);

/* Splits [0, n) into nparts near-equal pieces: piece i is [*lo, *hi). */
static inline void
nn_split(long n, int nparts, int i, long *lo, long *hi)
{
	long q = n / nparts, r = n % nparts;

	*lo = i * q + (i < r ? i : r);
	*hi = *lo + q + (i < r);
}

#define NN_ALIGN 64
static inline size_t
nn_round(size_t bytes)
{
	return (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
}

/* oneDNN call that must succeed; on failure set err and goto out. */
#define DNNL_TRY(call) do { \
	dnnl_status_t st_ = (call); \
	if (st_ != dnnl_success) { \
		rc = h4h_errf(err, H4H_EINPUT, "nn: onednn: %s failed " \
		    "(status %d)", #call, (int)st_); \
		goto out; \
	} \
} while (0)

#endif
