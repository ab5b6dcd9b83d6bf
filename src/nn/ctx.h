/*
 * ctx.h - the training engine's context: threads, oneDNN engine and stream,
 * the primitive cache and the scratch workspace, created once per process
 * (or per independent training run) and passed to every op that needs it.
 *
 * Invariants:
 *  - ops never allocate once prepared: every op with a workspace or a
 *    oneDNN primitive has an nn_<op>_prepare() to call at plan time, which
 *    grows the workspace and fills the primitive cache for that shape
 *    (including its active widths).  An op called on a shape that was not
 *    prepared still works but allocates on that first call and bumps
 *    nn_ctx_lazy_allocs(), so a trainer can assert that count stays put.
 *  - the workspace is scratch for the duration of one op call only.
 *  - the context is not thread-safe: one thread drives it; the ops use
 *    OpenMP inside (nthreads threads) and OpenBLAS single-threaded.
 */
#ifndef H4H_NN_CTX_H
#define H4H_NN_CTX_H

#include <stddef.h>

#include "core/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_ctx nn_ctx;

/* Which implementation an op kind runs (see doc/nn.md for the measured
 * choice that NN_IMPL_AUTO makes). */
enum nn_impl {
	NN_IMPL_AUTO = 0,
	NN_IMPL_HAND = 1,	/* hand-written C / OpenMP / OpenBLAS */
	NN_IMPL_DNNL = 2,	/* oneDNN primitive */
};

/* Op kinds that have more than one implementation. */
enum nn_op_kind {
	NN_OP_CONV_PW = 0,	/* 1x1 stride 1 pad 0 groups 1 */
	NN_OP_CONV_DW,		/* depthwise: groups == channels */
	NN_OP_CONV,		/* every other convolution */
	NN_OP_BN,		/* batch norm (training mode) */
	NN_OP_NKIND
};

/* nthreads <= 0 means the OpenMP default.  Sets the OpenMP thread count and
 * makes OpenBLAS single-threaded (the ops split GEMMs across OpenMP
 * threads themselves, so two thread pools never fight over the cores). */
int nn_ctx_create(int nthreads, nn_ctx **out, h4h_err *err);
void nn_ctx_destroy(nn_ctx *ctx);

int nn_ctx_threads(const nn_ctx *ctx);

/* Forces an implementation for one op kind (NN_IMPL_AUTO restores the
 * default).  Used by the tests and the benchmark. */
int nn_ctx_set_impl(nn_ctx *ctx, int op_kind, int impl, h4h_err *err);
/* The implementation set for an op kind, AUTO resolved to its default
 * (convolutions refine AUTO per shape: see nn_conv2d_impl). */
int nn_ctx_impl(const nn_ctx *ctx, int op_kind);

/* Grows the scratch workspace to at least `bytes` (plan time). */
int nn_ctx_reserve(nn_ctx *ctx, size_t bytes, h4h_err *err);
size_t nn_ctx_workspace_size(const nn_ctx *ctx);

/* Allocations made inside ops because a shape was not prepared. */
long nn_ctx_lazy_allocs(const nn_ctx *ctx);

/* Number of cached oneDNN primitive sets. */
int nn_ctx_cache_count(const nn_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif
