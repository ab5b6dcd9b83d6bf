/*
 * ops_loss.c - softmax, softmax cross-entropy with label smoothing and the
 * soft-target KL loss of in-place distillation (ops.h).
 *
 * K is a class count (10 here), so rows are short: the log-sum-exp runs in
 * double per row, which keeps the loss exact to float rounding even for
 * confident logits, and the batch is split across threads.
 */
#include <math.h>

#include "nn/ops.h"
#include "nn/ops_impl.h"

/* probs[k] = softmax(z)[k]; returns log(sum exp(z - max)) + max. */
static double
softmax_row(float *probs, const float *z, int K)
{
	double mx = z[0], s = 0;

	for (int k = 1; k < K; k++)
		if (z[k] > mx)
			mx = z[k];
	for (int k = 0; k < K; k++)
		s += exp((double)z[k] - mx);
	for (int k = 0; k < K; k++)
		probs[k] = (float)(exp((double)z[k] - mx) / s);
	return mx + log(s);
}

void
nn_softmax_forward(float *out, const float *inp, int N, int K)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++)
		softmax_row(out + (size_t)n * K, inp + (size_t)n * K, K);
}

float
nn_crossentropy_forward(float *losses, float *probs, const float *logits,
    const int *labels, int B, int K, float eps)
{
	double tot = 0;

#pragma omp parallel for schedule(static) reduction(+:tot)
	for (int b = 0; b < B; b++) {
		const float *z = logits + (size_t)b * K;
		double lse = softmax_row(probs + (size_t)b * K, z, K);
		double l = 0;

		/* -sum_k q_k log p_k, log p_k = z_k - lse, q as smoothed */
		for (int k = 0; k < K; k++) {
			double q = eps / K + (k == labels[b] ? 1.0 - eps : 0.0);

			l -= q * ((double)z[k] - lse);
		}
		if (losses != NULL)
			losses[b] = (float)l;
		tot += l;
	}
	return (float)(tot / B);
}

void
nn_crossentropy_backward(float *dlogits, const float *probs,
    const int *labels, int B, int K, float eps, float dloss)
{
	float s = dloss / B;

#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		for (int k = 0; k < K; k++) {
			float q = eps / K + (k == labels[b] ? 1.0f - eps : 0.0f);

			dlogits[(size_t)b * K + k] +=
			    s * (probs[(size_t)b * K + k] - q);
		}
}

float
nn_kldiv_forward(float *losses, float *probs, const float *logits,
    const float *pt, int B, int K)
{
	double tot = 0;

#pragma omp parallel for schedule(static) reduction(+:tot)
	for (int b = 0; b < B; b++) {
		const float *z = logits + (size_t)b * K, *t = pt + (size_t)b * K;
		double lse = softmax_row(probs + (size_t)b * K, z, K);
		double l = 0;

		for (int k = 0; k < K; k++)
			if (t[k] > 0.0f)
				l += t[k] * (log((double)t[k]) -
				    ((double)z[k] - lse));
		if (losses != NULL)
			losses[b] = (float)l;
		tot += l;
	}
	return (float)(tot / B);
}

/* d/dz_k sum_j t_j (log t_j - z_j + lse) = p_k sum_j t_j - t_k: exact even
 * when the teacher row does not sum to 1 in float. */
void
nn_kldiv_backward(float *dlogits, const float *probs, const float *pt, int B,
    int K, float dloss)
{
	float s = dloss / B;

#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++) {
		const float *t = pt + (size_t)b * K, *p = probs + (size_t)b * K;
		float st = 0;

		for (int k = 0; k < K; k++)
			st += t[k];
		for (int k = 0; k < K; k++)
			dlogits[(size_t)b * K + k] += s * (p[k] * st - t[k]);
	}
}
