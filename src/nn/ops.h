/*
 * ops.h - the training engine's ops: one free function per op and
 * direction, outputs first, then inputs, weights, dims (llm.c style).
 *
 * Layout (doc/nn.md): activations are NHWC, dense in their ACTIVE channel
 * count: a (B,H,W,C) tensor is B*H*W rows of C floats; token tensors
 * (B,T,C) are the same thing with T = H*W.  Weights keep PyTorch's shapes
 * at their MAXIMUM size: conv (OCmax, ICmax/groups, KH, KW), linear
 * (OCmax, ICmax), per-channel vectors (Cmax).  Elastic width: an op called
 * with active widths IC <= ICmax, OC <= OCmax uses the leading block
 * w[:OC, :IC] in place, through the full leading-dimension stride; nothing
 * is copied.
 *
 * Backward ACCUMULATES (+=) into every gradient buffer (inputs and
 * parameters); the caller zeroes them once per step.  The _ex variants
 * (and the fused BN + hswish) take acc: 0 overwrites the input gradient
 * instead, so a caller that knows it is the first writer need not zero.  A NULL input-gradient
 * pointer skips that gradient (e.g. the first layer).
 *
 * Functions that take an nn_ctx may need its workspace or oneDNN and return
 * int (0 or H4H_E*); the others cannot fail.  Shapes are checked by the
 * int-returning ops; the void ops trust their caller.
 */
#ifndef H4H_NN_OPS_H
#define H4H_NN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ctx.h"
#include "core/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- convolution ---------------------------------------------------- */

/* A conv layer at its maximum shape.  groups == 1, or groups == IC == OC
 * (depthwise), or any divisor of both (grouped; runs at full width only). */
typedef struct nn_conv2d {
	int IC, OC;		/* maximum channels */
	int KH, KW;
	int stride, pad;	/* same on both axes */
	int groups;
	int bias;		/* 1: the layer has a bias b (OCmax) */
	int impl;		/* NN_IMPL_AUTO (0): the context's choice;
				 * NN_IMPL_HAND / NN_IMPL_DNNL force this
				 * layer's path (an elastic supernet runs
				 * shapes no primitive cache could hold) */
} nn_conv2d;

/* Floats in the weight tensor: OC * (IC/groups) * KH * KW. */
size_t nn_conv2d_nweights(const nn_conv2d *cv);
int nn_conv2d_out_hw(const nn_conv2d *cv, int H, int *OH);

/* Plan time: checks the shape, sizes the workspace and creates the oneDNN
 * primitives (when that path is selected) for batch B, input HxW and
 * active widths IC, OC. */
int nn_conv2d_prepare(nn_ctx *ctx, const nn_conv2d *cv, int B, int H, int W,
    int IC, int OC, h4h_err *err);

/* The implementation (NN_IMPL_HAND or NN_IMPL_DNNL) this shape runs under
 * the context's settings; -1 for a bad shape. */
int nn_conv2d_impl(const nn_ctx *ctx, const nn_conv2d *cv, int B, int H,
    int W, int IC, int OC);

/* out (B,OH,OW,OC) = conv(inp (B,H,W,IC), w[:OC,:IC]) + b[:OC]; b is read
 * only when cv->bias. */
int nn_conv2d_forward(nn_ctx *ctx, const nn_conv2d *cv, float *out,
    const float *inp, const float *w, const float *b, int B, int H, int W,
    int IC, int OC, h4h_err *err);
/* dinp (B,H,W,IC) += ..., dw[:OC,:IC] += ..., db[:OC] += ... (when
 * cv->bias); dinp may be NULL, and so may dw (a frozen layer: its weight
 * gradient is not computed at all) and db. */
int nn_conv2d_backward(nn_ctx *ctx, const nn_conv2d *cv, float *dinp,
    float *dw, float *db, const float *dout, const float *inp,
    const float *w, int B, int H, int W, int IC, int OC, h4h_err *err);

/* The same with acc = 0: dinp is overwritten (=) rather than accumulated,
 * which saves zeroing it and, on the oneDNN path, a pass; dw, db still
 * accumulate. */
int nn_conv2d_backward_ex(nn_ctx *ctx, const nn_conv2d *cv, float *dinp,
    float *dw, float *db, const float *dout, const float *inp,
    const float *w, int B, int H, int W, int IC, int OC, int acc,
    h4h_err *err);

/* ---- batch norm ------------------------------------------------------ */

enum nn_bn_mode {
	NN_BN_TRAIN = 0,	/* batch statistics; running stats move by
				 * momentum (PyTorch: r = (1-m) r + m batch,
				 * unbiased variance) */
	NN_BN_INFER = 1,	/* running statistics; nothing moves */
	NN_BN_RECAL = 2,	/* batch statistics; running stats become the
				 * cumulative average over the recalibration
				 * batches: r = (r*k + batch)/(k+1) for the
				 * k-th batch (k counted from 0, so k = 0
				 * overwrites) */
};

typedef struct nn_batchnorm {
	int C;			/* maximum channels */
	float eps;		/* 1e-5 as in PyTorch */
	float momentum;		/* 0.1 as in PyTorch */
} nn_batchnorm;

int nn_batchnorm_prepare(nn_ctx *ctx, const nn_batchnorm *bn, int N, int C,
    h4h_err *err);
/*
 * inp, out are (N, C) with N = B*H*W (NHWC rows); C active <= bn->C.
 * mean, rstd (C) receive the batch statistics backward needs (TRAIN and
 * RECAL; unused and may be NULL in INFER).  run_mean, run_var (C) are read
 * in INFER and updated in TRAIN/RECAL; k is the recalibration batch index.
 * out may alias inp.
 */
int nn_batchnorm_forward(nn_ctx *ctx, const nn_batchnorm *bn, float *out,
    float *mean, float *rstd, float *run_mean, float *run_var,
    const float *inp, const float *gamma, const float *beta, int N, int C,
    int mode, int k, h4h_err *err);
/* Backward of the TRAIN/RECAL forward (batch statistics).  dgamma and
 * dbeta may be NULL (frozen affine parameters): the input gradient needs
 * the same reductions, so only their accumulation is skipped. */
int nn_batchnorm_backward(nn_ctx *ctx, const nn_batchnorm *bn, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *gamma, int N, int C,
    h4h_err *err);

/* acc = 0: dinp is overwritten (=); dgamma, dbeta still accumulate. */
int nn_batchnorm_backward_ex(nn_ctx *ctx, const nn_batchnorm *bn,
    float *dinp, float *dgamma, float *dbeta, const float *dout,
    const float *inp, const float *mean, const float *rstd,
    const float *gamma, int N, int C, int acc, h4h_err *err);

/*
 * Batch norm followed by hswish in one pass: out = hswish(bn(inp)), always
 * the hand path.  The BN output is never stored: backward recomputes it
 * from inp, mean, rstd, gamma and beta (the forward's own expressions, so
 * the same floats), which saves a tensor of writes and reads each way.
 * out must not alias inp.  Backward: acc as in nn_batchnorm_backward_ex.
 */
int nn_bn_hswish_forward(nn_ctx *ctx, const nn_batchnorm *bn, float *out,
    float *mean, float *rstd, float *run_mean, float *run_var,
    const float *inp, const float *gamma, const float *beta, int N, int C,
    int mode, int k, h4h_err *err);
int nn_bn_hswish_backward(nn_ctx *ctx, const nn_batchnorm *bn, float *dinp,
    float *dgamma, float *dbeta, const float *dout, const float *inp,
    const float *mean, const float *rstd, const float *gamma,
    const float *beta, int N, int C, int acc, h4h_err *err);

/*
 * Inference only: out (B,OH,OW,OC) = bn(conv(inp)) with the running
 * statistics (NN_BN_INFER), then hswish when act; y (as large as out) is
 * scratch for the convs that are not fused.  The same floats as
 * nn_conv2d_forward into y followed by nn_batchnorm_forward or
 * nn_bn_hswish_forward in NN_BN_INFER: the same kernels, called on the
 * same rows (ops_conv.c says how), but the conv output goes to a small
 * block of workspace the BN pass reads while it is still in cache.
 * Pointwise and depthwise hand-path convs without bias are fused; any
 * other conv runs the two reference calls.
 */
int nn_conv2d_bn_infer(nn_ctx *ctx, const nn_conv2d *cv,
    const nn_batchnorm *bn, float *out, float *y, const float *inp,
    const float *w, const float *gamma, const float *beta,
    const float *run_mean, const float *run_var, int B, int H, int W,
    int IC, int OC, int act, h4h_err *err);

/* ---- layer norm (over the last dim) ----------------------------------- */

/* inp, out (N, C); mean, rstd (N) saved for backward; eps 1e-5. */
void nn_layernorm_forward(float *out, float *mean, float *rstd,
    const float *inp, const float *weight, const float *bias, int N, int C,
    float eps);
/* dweight and dbias may be NULL together (frozen). */
void nn_layernorm_backward(float *dinp, float *dweight, float *dbias,
    const float *dout, const float *inp, const float *weight,
    const float *mean, const float *rstd, int N, int C);

/* ---- activations: elementwise over n floats --------------------------- */

/* relu6(x) = min(max(x,0),6); hswish(x) = x relu6(x+3)/6;
 * gelu(x) = x Phi(x), the exact erf form (PyTorch's default nn.GELU);
 * swish(x) = x sigmoid(x).  Forward may run in place (out == inp) only if
 * the caller keeps no need for inp: backward takes the pre-activation. */
void nn_relu6_forward(float *out, const float *inp, size_t n);
void nn_relu6_backward(float *dinp, const float *dout, const float *inp,
    size_t n);
void nn_hswish_forward(float *out, const float *inp, size_t n);
void nn_hswish_backward(float *dinp, const float *dout, const float *inp,
    size_t n);
void nn_gelu_forward(float *out, const float *inp, size_t n);
void nn_gelu_backward(float *dinp, const float *dout, const float *inp,
    size_t n);
void nn_swish_forward(float *out, const float *inp, size_t n);
void nn_swish_backward(float *dinp, const float *dout, const float *inp,
    size_t n);

/* ---- linear ----------------------------------------------------------- */

/* out (N, OC) = inp (N, IC) w[:OC,:IC]^T + b[:OC]; w is (OCmax, ICmax),
 * row stride ldw = ICmax; b may be NULL. */
void nn_linear_forward(nn_ctx *ctx, float *out, const float *inp,
    const float *w, const float *b, int N, int IC, int OC, int ldw);
void nn_linear_backward(nn_ctx *ctx, float *dinp, float *dw, float *db,
    const float *dout, const float *inp, const float *w, int N, int IC,
    int OC, int ldw);
/* acc = 0: dinp is overwritten (=).  dw and db may be NULL (frozen: no
 * weight-gradient GEMM). */
void nn_linear_backward_ex(nn_ctx *ctx, float *dinp, float *dw, float *db,
    const float *dout, const float *inp, const float *w, int N, int IC,
    int OC, int ldw, int acc);

/* ---- resize ----------------------------------------------------------- */

/*
 * Bilinear resize of inp (B,H,W,C) to out (B,OH,OW,C), as PyTorch's
 * F.interpolate(mode="bilinear", align_corners=False, antialias=False):
 * source coordinate (o + 0.5) * H/OH - 0.5, clamped at 0, neighbours
 * clamped at the border.  OH == H and OW == W copy.  out must not alias
 * inp.  No backward: it only ever resizes the network input.
 */
void nn_resize_bilinear_forward(float *out, const float *inp, int B, int H,
    int W, int C, int OH, int OW);

/* ---- multi-head self-attention ---------------------------------------- */

/*
 * Offsets table of LeViT/EfficientFormer for an RH x RW token grid: for
 * tokens p1, p2 (row-major), idx[p1*T+p2] indexes the offset
 * (|i1-i2|, |j1-j2|) in order of first appearance.  Returns the number of
 * distinct offsets (RH*RW), the row length of the bias table.
 */
int nn_attn_bias_index(int *idx, int RH, int RW);

/*
 * qkv (B,T,3C) holds, per token, NH head blocks of [q(hd) k(hd) v(hd)]
 * (LeViT's per-head interleave, so the first NH heads are the first 3C
 * channels: elastic heads slice the qkv linear first-k).  hd = C/NH.
 * att (B,NH,T,T) saves the softmax for backward; out (B,T,C) is head-major
 * (head h in channels h*hd..).  S = q k^T / sqrt(hd) + bias[h][idx[t1*T+t2]]
 * with bias (NHmax, nofs) row stride nofs; bias/idx may be NULL (no bias).
 */
void nn_attention_forward(float *out, float *att, const float *qkv,
    const float *bias, const int *idx, int nofs, int B, int T, int C,
    int NH);
/* dqkv += ..., dbias += ... (dbias may be NULL) */
void nn_attention_backward(float *dqkv, float *dbias, const float *dout,
    const float *qkv, const float *att, const int *idx, int nofs, int B,
    int T, int C, int NH);

/* ---- residual, pooling ------------------------------------------------ */

/* out = a + b (n floats); backward: da += dout, db += dout. */
void nn_residual_forward(float *out, const float *a, const float *b,
    size_t n);
void nn_residual_backward(float *da, float *db, const float *dout,
    size_t n);

/* inp (B, HW, C) -> out (B, C), the mean over HW. */
void nn_avgpool_forward(float *out, const float *inp, int B, int HW, int C);
void nn_avgpool_backward(float *dinp, const float *dout, int B, int HW,
    int C);

/* ---- dropout, drop-connect --------------------------------------------- */

/* Random state for dropout: a splitmix64 counter the caller owns (seeded
 * once, checkpointed with the run); draws advance it.  Counter-based, so a
 * mask does not depend on the thread count.  (rng.h's nn_rng is the
 * general generator; this one is the ops' own.) */
uint64_t nn_sm64_next(uint64_t *state);
float nn_sm64_uniform(uint64_t *state);	/* [0, 1) with 24 bits */

/* Inverted dropout: out = inp * mask / (1-p), mask[i] in {0,1} drawn with
 * P(0) = p.  p = 0 copies. */
void nn_dropout_forward(float *out, uint8_t *mask, const float *inp,
    size_t n, float p, uint64_t *rng);
void nn_dropout_backward(float *dinp, const float *dout,
    const uint8_t *mask, size_t n, float p);

/* Per-sample stochastic depth on a residual branch: inp, out (B, S);
 * sample b is zeroed with probability p, else scaled by 1/(1-p);
 * scale (B) saves the factor (0 or 1/(1-p)) for backward. */
void nn_dropconnect_forward(float *out, float *scale, const float *inp,
    int B, size_t S, float p, uint64_t *rng);
void nn_dropconnect_backward(float *dinp, const float *dout,
    const float *scale, int B, size_t S);

/* ---- losses ------------------------------------------------------------ */

/*
 * Softmax cross-entropy with label smoothing eps: the target is
 * (1-eps) onehot(label) + eps/K.  logits, probs (B, K); losses (B) per
 * sample (may be NULL); returns the mean over B.  Backward adds
 * dloss * (probs - target) / B to dlogits (dloss: gradient of the mean,
 * 1 for a plain loss).
 */
float nn_crossentropy_forward(float *losses, float *probs,
    const float *logits, const int *labels, int B, int K, float eps);
void nn_crossentropy_backward(float *dlogits, const float *probs,
    const int *labels, int B, int K, float eps, float dloss);

/*
 * Soft-target distillation loss: mean over B of KL(teacher || student) =
 * sum_k pt log(pt/ps), ps = softmax(logits).  pt (B,K) are teacher
 * probabilities (a detached softmax); 0 log 0 = 0.  Backward adds
 * dloss * (ps - pt) / B to dlogits; probs (B,K) saves ps.
 */
float nn_kldiv_forward(float *losses, float *probs, const float *logits,
    const float *pt, int B, int K);
void nn_kldiv_backward(float *dlogits, const float *probs, const float *pt,
    int B, int K, float dloss);

/* Row softmax (N, K), numerically stable; helper for teacher targets. */
void nn_softmax_forward(float *out, const float *inp, int N, int K);

#ifdef __cplusplus
}
#endif

#endif
