/*
 * stats.c - intervals, paired tests and rank correlations (stats.h).
 *
 * The paired bootstrap resamples n images with replacement; an image
 * contributes +1 (a only right), -1 (b only right) or 0 to n * diff, so a
 * resample is a multinomial draw of the discordant counts and costs n
 * draws of one uniform index, never a copy of the vectors.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "core/err.h"
#include "nas/stats.h"
#include "nn/rng.h"

void
nas_wilson(long k, long n, double *lo, double *hi)
{
	double z = NAS_Z95, z2 = z * z, p, den, mid, half;

	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)k / n;
	den = 1 + z2 / n;
	mid = (p + z2 / (2.0 * n)) / den;
	half = z / den * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
	*lo = mid - half < 0 ? 0 : mid - half;
	*hi = mid + half > 1 ? 1 : mid + half;
}

double
nas_mcnemar_exact(long b, long c)
{
	long m = b + c, k = b < c ? b : c;
	double p;

	if (m == 0)
		return 1;
	p = 2 * gsl_cdf_binomial_P((unsigned)k, 0.5, (unsigned)m);
	return p > 1 ? 1 : p;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
nas_paired_from_counts(long n, long a_only, long b_only, nas_paired *out)
{
	double *d;
	nn_rng r;

	out->n = n;
	out->a_only = a_only;
	out->b_only = b_only;
	out->diff = n > 0 ? (double)(a_only - b_only) / n : 0;
	out->p_mcnemar = nas_mcnemar_exact(a_only, b_only);
	if (n <= 0 || a_only + b_only == 0) {
		/* no discordant image: every resample gives 0 */
		out->lo = out->hi = out->diff;
		out->significant = 0;
		return;
	}
	d = h4h_xmalloc(NAS_BOOT_REPS * sizeof *d);
	nn_rng_seed(&r, NAS_BOOT_SEED, 0);
	for (int k = 0; k < NAS_BOOT_REPS; k++) {
		long s = 0;

		/* images 0..a_only-1 are +1, the next b_only are -1 */
		for (long i = 0; i < n; i++) {
			uint64_t j = nn_rng_u64(&r) % (uint64_t)n;

			s += j < (uint64_t)a_only ? 1 :
			    j < (uint64_t)(a_only + b_only) ? -1 : 0;
		}
		d[k] = (double)s / n;
	}
	qsort(d, NAS_BOOT_REPS, sizeof *d, cmp_double);
	out->lo = d[(int)(0.025 * NAS_BOOT_REPS)];
	out->hi = d[(int)(0.975 * NAS_BOOT_REPS) - 1];
	out->significant = out->lo > 0 || out->hi < 0;
	free(d);
}

void
nas_paired_compare(const unsigned char *a, const unsigned char *b, long n,
    nas_paired *out)
{
	long ao = 0, bo = 0;

	for (long i = 0; i < n; i++) {
		ao += a[i] && !b[i];
		bo += !a[i] && b[i];
	}
	nas_paired_from_counts(n, ao, bo, out);
}

double
nas_kendall(const double *a, const double *b, int n)
{
	double conc = 0, disc = 0, ta = 0, tb = 0;

	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			double da = a[i] - a[j], db = b[i] - b[j];

			if (da == 0 && db == 0)
				continue;
			if (da == 0)
				ta++;
			else if (db == 0)
				tb++;
			else if ((da > 0) == (db > 0))
				conc++;
			else
				disc++;
		}
	if (conc + disc + ta == 0 || conc + disc + tb == 0)
		return 0;
	return (conc - disc) / sqrt((conc + disc + ta) * (conc + disc + tb));
}
