/*
 * model.h - a network as a sequence of nodes over activation buffers, with
 * its parameters, gradients and batch-norm statistics in slabs; the
 * reference models of issue 5 ("ref-hybrid", "ref-cnn") are built from it.
 *
 * Every node reads one or two buffers and writes its own: nothing runs in
 * place, so backward has every input it needs.  Each buffer has a gradient
 * buffer of the same size; backward zeroes them and walks the nodes in
 * reverse, accumulating (+=) into input and parameter gradients (ops.h).
 * Buffers are sized for the batch given at creation and every op is
 * prepared then: a training step allocates nothing.
 */
#ifndef H4H_NN_MODEL_H
#define H4H_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/ctx.h"
#include "nn/optim.h"
#include "core/err.h"

typedef struct nn_model nn_model;

/* name: "ref-hybrid" or "ref-cnn".  B: the largest batch. */
int nn_model_create(nn_ctx *ctx, const char *name, int B, uint64_t seed,
    nn_model **out, h4h_err *err);
void nn_model_destroy(nn_model *m);

const char *nn_model_name(const nn_model *m);
/* Input (B, 32, 32, 1): a 28x28 image zero-padded to 32x32. */
int nn_model_in_hw(const nn_model *m);
long long nn_model_macs_per_image(const nn_model *m);

/* Parameter slabs and their table (optimizer, checkpoint). */
float *nn_model_params(nn_model *m);
float *nn_model_grads(nn_model *m);
size_t nn_model_nparams(const nn_model *m);
const nn_param *nn_model_param_table(const nn_model *m, int *n);
/* Batch-norm running statistics: a second slab, checkpointed too. */
float *nn_model_state(nn_model *m);
size_t nn_model_nstate(const nn_model *m);
const nn_param *nn_model_state_table(const nn_model *m, int *n);

/*
 * Forward on a batch of b <= B images x (b,32,32,1).  train: batch-norm
 * batch statistics (and running statistics updated), else running ones.
 * With labels, returns the mean cross-entropy (label smoothing `smooth`) in
 * *loss and the count of correct top-1 predictions in *correct (either may
 * be NULL); logits are kept for backward.
 */
int nn_model_forward(nn_model *m, const float *x, const int *labels, int b,
    int train, float smooth, float *loss, int *correct, h4h_err *err);
/* Gradients of the last forward's loss into nn_model_grads (zeroed first). */
int nn_model_backward(nn_model *m, h4h_err *err);
/* The last forward's logits (b, 10). */
const float *nn_model_logits(const nn_model *m);

#endif
