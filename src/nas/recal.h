/*
 * recal.h - batch-norm recalibration and accuracy of one subnet.
 *
 * A weight-sharing supernet's BN running statistics describe no subnet in
 * particular (every subnet of every step moved them), so a subnet is scored
 * only after recalibration (OFA's set_running_statistics): its statistics
 * are reset and become the exact average, over a fixed calibration set
 * (2,000 training images in batches of 200, as OFA), of the per-batch mean
 * and variance, with BN in batch-statistics mode (NN_BN_RECAL: k-th batch
 * r = (r k + batch) / (k + 1)).  Calibration images are cached, seeded and
 * never augmented, so a subnet's score is a pure function of the weights.
 * With recal off (the --no-recal ablation) the running statistics left by
 * training are used as they are.
 */
#ifndef H4H_NAS_RECAL_H
#define H4H_NAS_RECAL_H

#include "core/err.h"
#include "nas/gene.h"
#include "nn/data.h"
#include "nn/supernet.h"

/* Images cached as normalised floats (n, hw, hw, 1) with their labels. */
typedef struct nas_imageset {
	int n, hw;
	float *x;
	int *y;
} nas_imageset;

/* The images idx[0..n) of ds (idx NULL: all), centred in hw x hw. */
int nas_imageset_make(const nn_dataset *ds, const int *idx, int n, int hw,
    nas_imageset *out, h4h_err *err);
void nas_imageset_free(nas_imageset *s);

/* Recalibrates the active subnet's BN statistics over cal in batches of
 * bs (<= the supernet's batch). */
int nas_recal(nn_sn *sn, const nas_imageset *cal, int bs, h4h_err *err);
/* Top-1 accuracy of the active subnet on set (running statistics). */
int nas_accuracy(nn_sn *sn, const nas_imageset *set, int bs, double *acc,
    h4h_err *err);
/* The same, with right[i] = 1 when image i is classified right (right
 * NULL: not kept), for paired comparisons (stats.h). */
int nas_accuracy_right(nn_sn *sn, const nas_imageset *set, int bs,
    double *acc, unsigned char *right, h4h_err *err);
/* Activates g, recalibrates (cal NULL: no recalibration) and scores it on
 * set; *macs (may be NULL) gets its multiply-accumulates per image. */
int nas_eval_gene(nn_sn *sn, const nas_space *sp, const nas_gene *g,
    const nas_imageset *cal, const nas_imageset *set, int bs, double *acc,
    long long *macs, h4h_err *err);

#endif
