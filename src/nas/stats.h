/*
 * stats.h - the statistics the search reports with its numbers
 * (doc/search.md, "Intervals"): a 95 % interval for one subnet's accuracy,
 * a paired interval and test for the difference of two subnets scored on
 * the same images, and rank correlations for the accuracy predictor.
 *
 * Accuracy on n images is a binomial proportion: its interval is Wilson's
 * score interval (Wilson, 1927), which keeps its coverage near 0 and 1
 * where the normal (Wald) interval does not.  Two subnets scored on the
 * same images are paired: only the images one gets right and the other
 * wrong (the discordant pairs) carry their difference, so the interval of
 * the difference is a bootstrap over images (percentile, fixed seed, so a
 * report is a pure function of the two score vectors) and the test is
 * McNemar's exact (binomial) test on the discordant counts.  A gain whose
 * interval holds 0 is "not significant".
 */
#ifndef H4H_NAS_STATS_H
#define H4H_NAS_STATS_H

#include <stdint.h>

#define NAS_Z95 1.959963984540054	/* the normal's 97.5 % quantile */
#define NAS_BOOT_REPS 2000		/* bootstrap resamples */
#define NAS_BOOT_SEED 17		/* assumed: any fixed seed */

/* Wilson's 95 % interval of k successes in n (n > 0) into [*lo, *hi];
 * n == 0 gives [0, 1]. */
void nas_wilson(long k, long n, double *lo, double *hi);

/* A paired comparison of a and b, right[i] = 1 when the subnet got image
 * i right, on the same n images. */
typedef struct nas_paired {
	long n;
	long a_only, b_only;		/* discordant: a right b wrong, and
					 * the reverse */
	double diff;			/* acc(a) - acc(b) */
	double lo, hi;			/* 95 % bootstrap percentile interval
					 * of diff */
	double p_mcnemar;		/* exact two-sided McNemar p-value */
	int significant;		/* the interval excludes 0 */
} nas_paired;

void nas_paired_compare(const unsigned char *a, const unsigned char *b,
    long n, nas_paired *out);
/* The same from the discordant counts alone (they determine everything). */
void nas_paired_from_counts(long n, long a_only, long b_only,
    nas_paired *out);
/* Exact two-sided McNemar p-value: 2 P(X <= min(b, c)), X ~ Bin(b + c,
 * 1/2), at most 1; 1 when b + c == 0. */
double nas_mcnemar_exact(long b, long c);

/* Kendall's tau-b of a and b (ties corrected); 0 when either is constant
 * or n < 2.  O(n^2). */
double nas_kendall(const double *a, const double *b, int n);

#endif
