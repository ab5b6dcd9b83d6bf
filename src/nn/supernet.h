/*
 * supernet.h - the elastic weight-sharing supernet of H4H-NAS (paper
 * Table 1): conv, MBConv, ViT and MBPool stages whose width, depth, expand
 * ratio, MLP ratio and input resolution are chosen per forward, every
 * subnet a first-k slice of one set of weights (OFA / AttentiveNAS).
 *
 * The layers of a subnet are exactly those src/sim/front/arch.c lowers
 * the same architecture into (doc/nn.md, "Elastic supernet"), plus the batch norms
 * the simulator folds away: nn_sn_macs equals the simulator's MAC count.
 *
 * Invariants:
 *  - weights are stored at their maximum shape (ops.h); a subnet uses the
 *    leading block of every tensor, so the gradient of an inactive slice
 *    is never written;
 *  - everything a forward or backward needs (activations, scratch, the
 *    context's workspace) is sized at create for the max subnet at the
 *    full resolution: no subnet or resolution allocates in a step;
 *  - backward accumulates into the gradient slab; the caller zeroes it
 *    (nn_sn_zero_grads) once per optimizer step.
 */
#ifndef H4H_NN_SUPERNET_H
#define H4H_NN_SUPERNET_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ctx.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "core/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_SN_MAX_STAGES 32
#define NN_SN_HEAD_DIM 8	/* paper, Sec. 4: heads of 8 dims */

enum nn_sn_kind { NN_SN_CONV, NN_SN_MBCONV, NN_SN_VIT, NN_SN_MBPOOL };

/* parameter groups, for freezing and optimizer masks */
enum { NN_SN_G_CNN = 1, NN_SN_G_VIT = 2, NN_SN_G_BN = 4 };

typedef struct nn_sn_stage {
	int kind;
	int width;	/* max. conv/mbconv: output channels; vit: Q/K/V
			 * width, a multiple of 8 (heads of 8 dims);
			 * mbpool: feature-mix width */
	int depth;	/* max blocks; conv and mbpool: 1 (ignored).  mbconv
			 * and vit may be 0: a stage that is always the
			 * identity (nn_sn_extract makes those) */
	int expand;	/* max expansion ratio (mbconv, mbpool); 1 = no
			 * expand conv */
	int stride;	/* conv, mbconv (first block of the stage only) */
	float mlp;	/* vit: max MLP ratio */
} nn_sn_stage;

typedef struct nn_sn_spec {
	int in_hw, in_ch, classes;	/* input images in_hw x in_hw x in_ch
					 * (NHWC), e.g. 28, 1, 10 */
	int n_stages;			/* the last one, and only it, is
					 * mbpool */
	nn_sn_stage st[NN_SN_MAX_STAGES];
} nn_sn_spec;

typedef struct nn_sn_active_stage {
	int width, depth, expand;
	float mlp;
} nn_sn_active_stage;

/* One subnet.  Fields a stage kind does not use are ignored (conv: depth,
 * expand, mlp; mbconv: mlp; vit: expand; mbpool: depth, mlp). */
typedef struct nn_sn_active {
	int res;	/* 1..in_hw: the batch is downscaled (bilinear,
			 * align_corners=False, antialias off, as torch
			 * F.interpolate) to res x res; res == in_hw copies */
	nn_sn_active_stage st[NN_SN_MAX_STAGES];
} nn_sn_active;

typedef struct nn_sn nn_sn;

/* B: the largest batch.  Validates the spec (messages name the stage and
 * key).  Weights start as PyTorch's defaults from the seed, with the
 * identity-at-init rule of doc/nn.md. */
int nn_sn_create(nn_ctx *ctx, const nn_sn_spec *spec, int B, uint64_t seed,
    nn_sn **out, h4h_err *err);
void nn_sn_destroy(nn_sn *s);

const nn_sn_spec *nn_sn_spec_of(const nn_sn *s);
int nn_sn_batch_max(const nn_sn *s);
/* The max subnet (res = in_hw), the active one is left alone. */
void nn_sn_max(const nn_sn *s, nn_sn_active *a);
/* Validates against the spec: every value within 1..max (depth 0..max for
 * mbconv and vit), vit width a multiple of 8, 0 < mlp <= max, expand == 1
 * iff the stage max is 1.  On error the active subnet is unchanged and
 * the one-line message names the stage and key. */
int nn_sn_set_active(nn_sn *s, const nn_sn_active *a, h4h_err *err);
void nn_sn_get_active(const nn_sn *s, nn_sn_active *a);

/* Multiply-accumulates per image of the active subnet, counted as
 * src/sim/spec/net.c counts the lowering of the same architecture. */
long long nn_sn_macs(const nn_sn *s);

/* Regularisation for the next forwards: dropout p before the classifier,
 * drop-connect rate dc (block i of the n active residual branches, counted
 * from 0 in forward order, gets dc*i/n, per sample, as AttentiveNAS; an
 * MBConv block with its shortcut is one, a ViT block one whose two
 * branches share the rate).  Both 0 at create. */
void nn_sn_set_regularization(nn_sn *s, float dropout, float dropconnect);
/* Inference forwards (NN_BN_INFER) run each conv with its batch norm
 * fused (nn_conv2d_bn_infer) and the MBConv and ViT blocks through the
 * backward's scratch buffers: the same floats, fewer passes over memory.
 * 0 runs the two-pass forward into every layer's own buffers, the
 * reference the tests compare against.  On at create. */
void nn_sn_set_fused(nn_sn *s, int on);
/* The dropout / drop-connect generator's state (ops.h's splitmix64):
 * seeded at create, checkpointed by the caller; setting it replays the
 * same masks. */
uint64_t *nn_sn_rng(nn_sn *s);

/*
 * Forward of the active subnet on b <= B images x (b,in_hw,in_hw,in_ch).
 * bn_mode: NN_BN_TRAIN / NN_BN_INFER / NN_BN_RECAL (ops.h), recal_k the
 * recalibration batch index.
 */
int nn_sn_forward(nn_sn *s, const float *x, int b, int bn_mode, int recal_k,
    h4h_err *err);
/* (b, classes) of the last forward. */
const float *nn_sn_logits(const nn_sn *s);

void nn_sn_zero_grads(nn_sn *s);
/*
 * Backward of the last forward (which must have used batch statistics:
 * TRAIN or RECAL, and the same active subnet) from given logit gradients
 * (b, classes); ACCUMULATES (+=) into the gradient slab, never zeroes it.
 * Weight gradients of frozen groups are not computed; input gradients
 * still flow through frozen layers down to the first layer that has a
 * trainable tensor, and stop there.
 */
int nn_sn_backward(nn_sn *s, const float *dlogits, h4h_err *err);
/* A mask of NN_SN_G_*; 0 at create. */
void nn_sn_set_frozen(nn_sn *s, unsigned group_mask);
unsigned nn_sn_frozen(const nn_sn *s);

/* Slabs and tables, like nn_model's (model.h).  Names are stable and
 * descriptive ("s3.b1.dw.w", "s4.vit0.qkv.w", "s19.classifier.b"), the
 * checkpoint's tensor names. */
float *nn_sn_params(nn_sn *s);
float *nn_sn_grads(nn_sn *s);
size_t nn_sn_nparams(const nn_sn *s);
const nn_param *nn_sn_param_table(const nn_sn *s, int *n);
/* One NN_SN_G_* per param table entry. */
const int *nn_sn_param_groups(const nn_sn *s);
/* Batch-norm running mean/var. */
float *nn_sn_state(nn_sn *s);
size_t nn_sn_nstate(const nn_sn *s);
const nn_param *nn_sn_state_table(const nn_sn *s, int *n);

/*
 * A standalone network of the active subnet: a new nn_sn whose spec maxima
 * are the active values (in_hw = the active res, so no resize; depth-0
 * stages kept with max depth 0, so tensor names match), with the sliced
 * weights and BN statistics copied.  Its forward (max config) equals the
 * supernet's forward of that subnet to float rounding.  B: its batch.
 */
int nn_sn_extract(nn_ctx *ctx, const nn_sn *s, int B, nn_sn **out,
    h4h_err *err);

#ifdef __cplusplus
}
#endif

#endif
