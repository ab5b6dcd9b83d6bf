/*
 * sandwich.c - the sandwich-rule gradient (sandwich.h).
 */
#include "nas/sandwich.h"

#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/rng.h"

/* Random-stream tag of the subnets a step draws (rng.h: callers pick tags
 * above NN_RNG_TAG_USER). */
#define TAG_SUBNETS (NN_RNG_TAG_USER + 1)

void
nas_sandwich_init(nas_sandwich *w, nn_sn *sn, const nas_space *space, int B)
{
	memset(w, 0, sizeof *w);
	w->sn = sn;
	w->space = space;
	w->n_random = 2;
	w->smooth = 0.1f;
	w->dropout = 0.2f;
	w->dropconnect = 0.2f;
	w->B = B;
	w->classes = nn_sn_spec_of(sn)->classes;
	w->dlogits = h4h_xcalloc((size_t)B * w->classes, sizeof(float));
	w->teacher = h4h_xcalloc((size_t)B * w->classes, sizeof(float));
	w->probs = h4h_xcalloc((size_t)B * w->classes, sizeof(float));
}

void
nas_sandwich_free(nas_sandwich *w)
{
	free(w->dlogits);
	free(w->teacher);
	free(w->probs);
	memset(w, 0, sizeof *w);
}

int
nas_sandwich_genes(const nas_sandwich *w, uint64_t seed, int phase,
    int64_t step, nas_gene *genes)
{
	nn_rng r;
	int n = 2 + w->n_random;

	nas_gene_max(w->space, w->no_vit, &genes[0]);
	nas_gene_min(w->space, w->no_vit, &genes[1]);
	nn_rng_seed(&r, seed, nn_rng_stream(TAG_SUBNETS, (uint64_t)phase,
	    (uint64_t)step));
	for (int i = 2; i < n; i++)
		nas_gene_sample(w->space, w->no_vit, &r, &genes[i]);
	return n;
}

int
nas_sandwich_grad(nas_sandwich *w, const nas_gene *genes, int n,
    const float *x, const int *y, int b, float *loss, int *correct,
    float *kd, h4h_err *err)
{
	const int K = w->classes;
	const float scale = 1.0f / (float)n;
	double kd_sum = 0;
	nn_sn_active a;
	int rc;

	if (n < 1 || n > NAS_SANDWICH_MAX || b < 1 || b > w->B)
		return h4h_errf(err, H4H_EINPUT, "sandwich: %d subnets on a "
		    "batch of %d (at most %d and %d)", n, b, NAS_SANDWICH_MAX,
		    w->B);
	nn_sn_zero_grads(w->sn);
	for (int i = 0; i < n; i++) {
		const float *lg;

		nas_gene_active(w->space, &genes[i], &a);
		if ((rc = nn_sn_set_active(w->sn, &a, err)) != 0)
			return rc;
		if (i == 0)
			nn_sn_set_regularization(w->sn, w->dropout,
			    w->dropconnect);
		else
			nn_sn_set_regularization(w->sn, 0, 0);
		if ((rc = nn_sn_forward(w->sn, x, b, NN_BN_TRAIN, 0, err)) != 0)
			return rc;
		lg = nn_sn_logits(w->sn);
		memset(w->dlogits, 0, (size_t)b * K * sizeof(float));
		if (i == 0) {
			float l = nn_crossentropy_forward(NULL, w->probs, lg, y,
			    b, K, w->smooth);

			nn_crossentropy_backward(w->dlogits, w->probs, y, b, K,
			    w->smooth, scale);
			/* the teacher: the max net's detached softmax */
			nn_softmax_forward(w->teacher, lg, b, K);
			if (loss != NULL)
				*loss = l;
			if (correct != NULL) {
				*correct = 0;
				for (int s = 0; s < b; s++) {
					int best = 0;

					for (int k = 1; k < K; k++)
						if (lg[s * K + k] > lg[s * K + best])
							best = k;
					*correct += best == y[s];
				}
			}
		} else {
			kd_sum += nn_kldiv_forward(NULL, w->probs, lg,
			    w->teacher, b, K);
			nn_kldiv_backward(w->dlogits, w->probs, w->teacher, b, K,
			    scale);
		}
		if ((rc = nn_sn_backward(w->sn, w->dlogits, err)) != 0)
			return rc;
	}
	if (kd != NULL)
		*kd = n > 1 ? (float)(kd_sum / (n - 1)) : 0;
	return 0;
}
