/*
 * recal.c - BN recalibration and subnet accuracy (recal.h).
 */
#include "nas/recal.h"

#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

int
nas_imageset_make(const nn_dataset *ds, const int *idx, int n, int hw,
    nas_imageset *out, h4h_err *err)
{
	nn_batcher_cfg bc;
	nn_batcher *b = NULL;
	int rc, k, at = 0, *all = NULL;

	memset(out, 0, sizeof *out);
	if (n < 0 || n > ds->n)
		return h4h_errf(err, H4H_EINPUT, "%d images asked of a data set "
		    "of %d", n, ds->n);
	if (idx == NULL) {
		/* the first n: the batcher takes a NULL list as all of ds */
		all = h4h_xcalloc((size_t)(n ? n : 1), sizeof *all);
		for (int i = 0; i < n; i++)
			all[i] = i;
		idx = all;
	}
	memset(&bc, 0, sizeof bc);
	bc.batch = 256;
	bc.out_h = bc.out_w = hw;
	bc.mean = NN_FMNIST_MEAN;
	bc.std = NN_FMNIST_STD;
	rc = nn_batcher_create(ds, idx, n, &bc, &b, err);
	free(all);
	if (rc != 0)
		return rc;
	out->n = n;
	out->hw = hw;
	out->x = h4h_xcalloc((size_t)n * hw * hw, sizeof(float));
	out->y = h4h_xcalloc((size_t)n, sizeof(int));
	while (at < n && (k = nn_batcher_next(b, out->x + (size_t)at * hw *
	    hw, out->y + at)) > 0)
		at += k;
	nn_batcher_destroy(b);
	return 0;
}

void
nas_imageset_free(nas_imageset *s)
{
	free(s->x);
	free(s->y);
	memset(s, 0, sizeof *s);
}

int
nas_recal(nn_sn *sn, const nas_imageset *cal, int bs, h4h_err *err)
{
	size_t img = (size_t)cal->hw * cal->hw;
	int rc;

	for (int at = 0, k = 0; at < cal->n; at += bs, k++) {
		int b = cal->n - at < bs ? cal->n - at : bs;

		if ((rc = nn_sn_forward(sn, cal->x + (size_t)at * img, b,
		    NN_BN_RECAL, k, err)) != 0)
			return rc;
	}
	return 0;
}

int
nas_accuracy(nn_sn *sn, const nas_imageset *set, int bs, double *acc,
    h4h_err *err)
{
	return nas_accuracy_right(sn, set, bs, acc, NULL, err);
}

int
nas_accuracy_right(nn_sn *sn, const nas_imageset *set, int bs, double *acc,
    unsigned char *right_out, h4h_err *err)
{
	size_t img = (size_t)set->hw * set->hw;
	int K = nn_sn_spec_of(sn)->classes, rc;
	long long right = 0;

	for (int at = 0; at < set->n; at += bs) {
		int b = set->n - at < bs ? set->n - at : bs;
		const float *lg;

		if ((rc = nn_sn_forward(sn, set->x + (size_t)at * img, b,
		    NN_BN_INFER, 0, err)) != 0)
			return rc;
		lg = nn_sn_logits(sn);
		for (int s = 0; s < b; s++) {
			int best = 0;

			for (int k = 1; k < K; k++)
				if (lg[s * K + k] > lg[s * K + best])
					best = k;
			right += best == set->y[at + s];
			if (right_out != NULL)
				right_out[at + s] = best == set->y[at + s];
		}
	}
	*acc = set->n ? (double)right / set->n : 0;
	return 0;
}

int
nas_eval_gene(nn_sn *sn, const nas_space *sp, const nas_gene *g,
    const nas_imageset *cal, const nas_imageset *set, int bs, double *acc,
    long long *macs, h4h_err *err)
{
	nn_sn_active a;
	int rc;

	nas_gene_active(sp, g, &a);
	if ((rc = nn_sn_set_active(sn, &a, err)) != 0)
		return rc;
	nn_sn_set_regularization(sn, 0, 0);
	if (macs != NULL)
		*macs = nn_sn_macs(sn);
	if (cal != NULL && (rc = nas_recal(sn, cal, bs, err)) != 0)
		return rc;
	return nas_accuracy(sn, set, bs, acc, err);
}
