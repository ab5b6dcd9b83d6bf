/*
 * sandwich.h - one sandwich-rule gradient of a weight-sharing supernet
 * (Yu & Huang 2019; AttentiveNAS's train_epoch, doc/nas.md).
 *
 * A step runs K = 2 + n_random subnets on the same batch: the max net
 * first, with label smoothing, dropout and drop-connect; then the min net
 * and n_random uniform random subnets without regularisation, each
 * distilled from the max net's detached softmax (in-place distillation,
 * KL(teacher || student) at T = 1, no label term).  The gradient is the
 * AVERAGE of the K losses' gradients (the paper: "an averaged gradient
 * over the four sampled subnets"): every subnet's logit gradient is scaled
 * by 1/K and the backwards accumulate into one slab.  The subnets of a
 * step are a function of (seed, phase, step) only, so a resumed run draws
 * the same ones.
 */
#ifndef H4H_NAS_SANDWICH_H
#define H4H_NAS_SANDWICH_H

#include <stdint.h>

#include "core/err.h"
#include "nas/gene.h"
#include "nn/supernet.h"

#define NAS_SANDWICH_MAX 8	/* subnets per step */

typedef struct nas_sandwich {
	nn_sn *sn;
	const nas_space *space;
	int no_vit;		/* the CNN-only subspace (recipe cnn, phase 1) */
	int n_random;		/* 2 */
	float smooth;		/* 0.1, the max net's label smoothing */
	float dropout;		/* 0.2, max net only */
	float dropconnect;	/* 0.2, max net only */
	int B, classes;
	float *dlogits, *teacher, *probs;	/* (B, classes) each */
} nas_sandwich;

/* B: the largest batch. */
void nas_sandwich_init(nas_sandwich *w, nn_sn *sn, const nas_space *space,
    int B);
void nas_sandwich_free(nas_sandwich *w);
/* The K = 2 + n_random genes of a step: max, min, then random ones drawn
 * from stream (seed, phase, step). */
int nas_sandwich_genes(const nas_sandwich *w, uint64_t seed, int phase,
    int64_t step, nas_gene *genes);
/* Zeroes the gradients, then accumulates the averaged gradient of the n
 * genes (genes[0] is the teacher) on batch x (b, in_hw, in_hw, in_ch), y.
 * *loss: the max net's cross-entropy; *correct: its right answers; *kd:
 * the mean distillation loss of the others (each may be NULL). */
int nas_sandwich_grad(nas_sandwich *w, const nas_gene *genes, int n,
    const float *x, const int *y, int b, float *loss, int *correct,
    float *kd, h4h_err *err);

#endif
