/*
 * cv.c - k-fold cross-validation of a calibration: fit on k - 1
 * folds, predict the held-out one, so the reported error is of rows the fit
 * never saw (doc/calibration.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "cost/calibrate/calibrateInt.h"

#include "core/splitmix.h"

/* ---- cross-validation --------------------------------------------------- */

int
sim_cal_cv(const sim_cal_table *t, const int *rows, int n,
    const sim_cal_fit_opts *o, const sim_cal_fit *proto, int k,
    unsigned long seed, double *fold_mape, double *mean, int *not_converged,
    h4h_err *err)
{
	int *perm = h4h_xmalloc((size_t)n * sizeof *perm);
	int *train = h4h_xmalloc((size_t)n * sizeof *train);
	int *test = h4h_xmalloc((size_t)n * sizeof *test);
	double *pt = h4h_xmalloc((size_t)n * sizeof *pt);
	double *pe = h4h_xmalloc((size_t)n * sizeof *pe);
	uint64_t s = seed;
	int rc = 0;

	*mean = 0;
	*not_converged = 0;
	if (k < 2 || k > n) {
		rc = h4h_errf(err, H4H_EINPUT, "%d-fold cross-validation needs "
		    "2 <= k <= %d (the training rows)", k, n);
		goto out;
	}
	for (int i = 0; i < n; i++)
		perm[i] = rows[i];
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(h4h_splitmix64(&s) % (uint64_t)(i + 1)), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (int f = 0; f < k; f++) {
		sim_cal_fit fit = *proto;
		int nt = 0, nv = 0, ne = 0;
		double sum = 0;

		for (int i = 0; i < n; i++) {
			if (i % k == f)
				test[nv++] = perm[i];
			else
				train[nt++] = perm[i];
		}
		if ((rc = sim_cal_fit_run(t, train, nt, o, &fit, err)) != 0)
			goto out;
		*not_converged += !fit.converged;
		rc = sim_cal_predict(t, fit.ids, fit.value, fit.n_knobs, test,
		    nv, pt, pe, err);
		if (rc != 0)
			goto out;
		for (int i = 0; i < nv; i++) {
			const sim_cal_row *r = &t->rows[test[i]];

			sum += fabs(pt[i] - r->measured) / r->measured;
			ne++;
			if (fit.energy && r->measured_energy_j > 0) {
				sum += fabs(pe[i] - r->measured_energy_j) /
				    r->measured_energy_j;
				ne++;
			}
		}
		fold_mape[f] = sum / ne;
		*mean += fold_mape[f] / k;
	}
out:
	free(perm);
	free(train);
	free(test);
	free(pt);
	free(pe);
	return rc;
}
