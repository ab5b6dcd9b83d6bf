/*
 * optim.h - AdamW with decoupled weight decay, the cosine learning-rate
 * schedule with linear warmup, and global-norm gradient clipping, all on
 * flat slabs.
 *
 * Parameters, gradients and the two moments live in four float slabs of the
 * same layout; a table of nn_param says where each tensor starts, its shape
 * and whether it is decayed (conv and linear weights) or not (batch-norm and
 * layer-norm affine parameters, biases).  Tensors may appear in any order
 * but must not overlap; slab positions no tensor covers are left alone.
 * The optimizer keeps no state of its own: the step count lives with the
 * caller (and in the checkpoint), so a resumed run takes the same steps.
 */
#ifndef H4H_NN_OPTIM_H
#define H4H_NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define NN_PARAM_MAXDIM 4

typedef struct nn_param {
	const char *name;	/* "stem.w", the checkpoint's tensor name */
	size_t offset;		/* first float in the slabs */
	int ndim;		/* 1..NN_PARAM_MAXDIM */
	int dims[NN_PARAM_MAXDIM];
	int decay;		/* nonzero: weight decay applies */
} nn_param;

/* Product of the dimensions. */
size_t nn_param_count(const nn_param *p);
/* Checks shapes, that every tensor fits in `total` floats and that none
 * overlap; the message names the tensor. */
int nn_param_table_check(const nn_param *tab, int ntab, size_t total,
    h4h_err *err);

typedef struct nn_adamw_cfg {
	float beta1, beta2;	/* 0.9, 0.999 */
	float eps;		/* 1e-8 */
	float weight_decay;	/* e.g. 0.05, on decayed tensors only */
} nn_adamw_cfg;

/* PyTorch's defaults with the given weight decay. */
nn_adamw_cfg nn_adamw_defaults(float weight_decay);
int nn_adamw_check(const nn_adamw_cfg *c, h4h_err *err);

/* One AdamW step t (1 for the first step) at learning rate lr:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p = p (1 - lr wd)                      (decayed tensors only)
 *   p = p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * exactly as torch.optim.AdamW orders it.  g is scaled by gscale first
 * (1, or the factor nn_grad_clip returned). */
void nn_adamw_step(const nn_adamw_cfg *c, float lr, int64_t t, float gscale,
    float *params, const float *grads, float *m, float *v,
    const nn_param *tab, int ntab);

/* Learning rate for step `step` (0 for the first): linear warmup from
 * lr_max / warmup to lr_max over `warmup` steps, then half a cosine from
 * lr_max down to lr_min at step `total`; lr_min after that. */
typedef struct nn_sched {
	float lr_max, lr_min;
	int64_t warmup, total;
} nn_sched;

int nn_sched_check(const nn_sched *s, h4h_err *err);
float nn_sched_lr(const nn_sched *s, int64_t step);

/* L2 norm of g[0..n), accumulated in double. */
double nn_grad_norm(const float *g, size_t n);
/* The factor that brings a gradient of norm `norm` down to max_norm, as
 * torch.nn.utils.clip_grad_norm_: min(1, max_norm / (norm + 1e-6)); 1 when
 * max_norm <= 0 (clipping off). */
float nn_grad_clip_scale(double norm, float max_norm);
/* Scales g in place to norm at most max_norm; returns the norm before. */
double nn_grad_clip(float *g, size_t n, float max_norm);

#endif
