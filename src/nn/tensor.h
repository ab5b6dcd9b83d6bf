/*
 * tensor.h - a minimal tensor descriptor for code that passes activations
 * around (the ops themselves take raw pointers and dims, llm.c style).
 *
 * Invariant: activations are NHWC and dense in their active channel count
 * (stride[3] == 1, stride[2] == C, ...); weights are described by the ops
 * (ops.h), not by this struct.
 */
#ifndef H4H_NN_TENSOR_H
#define H4H_NN_TENSOR_H

#include <stddef.h>

typedef struct nn_tensor {
	float *data;
	int B, H, W, C;		/* (B,T,C) token tensors use H = T, W = 1 */
} nn_tensor;

static inline size_t
nn_tensor_numel(const nn_tensor *t)
{
	return (size_t)t->B * t->H * t->W * t->C;
}

/* Offset of element (b, h, w, c) in the dense NHWC layout. */
static inline size_t
nn_tensor_at(const nn_tensor *t, int b, int h, int w, int c)
{
	return (((size_t)b * t->H + h) * t->W + w) * t->C + c;
}

#endif
