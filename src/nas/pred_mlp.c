/*
 * pred_mlp.c - OFA's MLP accuracy predictor (pred_models.h).
 *
 * Layers dim -> 400 -> 400 -> 400 -> 1, ReLU between, float weights in
 * one slab with Adam's two moments beside it (one flat update loop, as
 * llm.c).  A step is a minibatch of 64 rows drawn by a seeded shuffle per
 * epoch; forward and backward are GEMMs (row-major, activations (B, C)).
 * Inputs are standardised per column and targets to mean 0, sd 1 with the
 * training rows' moments, which the predictor keeps.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "nas/pred_models.h"
#include "nn/rng.h"

#define HID 400
#define LAYERS 4		/* 3 hidden + output */
#define BATCH 64
#define EPOCHS 60		/* assumed: enough that more does not
				 * raise the cross-validated rho */
#define MAX_STEPS 1500
#define LR 1e-3f

struct nas_mlp {
	int dim;
	int in[LAYERS], out[LAYERS];
	float *w[LAYERS], *b[LAYERS];	/* w: (out, in) */
	float *slab;
	size_t np;
	double *xm, *xs;		/* column mean, sd */
	double ym, ys;
};

static void
layout(nas_mlp *m, float *base)
{
	size_t at = 0;

	for (int l = 0; l < LAYERS; l++) {
		m->w[l] = base + at;
		at += (size_t)m->in[l] * m->out[l];
		m->b[l] = base + at;
		at += (size_t)m->out[l];
	}
}

/* out (B, O) = relu?(in (B, I) w' + b) */
static void
dense_forward(float *out, const float *in, const float *w, const float *b,
    int B, int NI, int NO, int relu)
{
	for (int r = 0; r < B; r++)
		memcpy(out + (size_t)r * NO, b, sizeof(float) * NO);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, NO, NI, 1.0f, in,
	    NI, w, NI, 1.0f, out, NO);
	if (relu)
		for (size_t i = 0; i < (size_t)B * NO; i++)
			out[i] = out[i] > 0 ? out[i] : 0;
}

nas_mlp *
nas_mlp_fit(int dim, const double *X, const double *y, int n, uint64_t seed)
{
	nas_mlp *m = h4h_xcalloc(1, sizeof *m);
	float *grad, *mo, *vo, *act[LAYERS + 1], *dact[LAYERS + 1], *xb;
	int *perm, at = 0, epoch = 0, steps;
	nn_rng r;

	m->dim = dim;
	for (int l = 0; l < LAYERS; l++) {
		m->in[l] = l == 0 ? dim : HID;
		m->out[l] = l == LAYERS - 1 ? 1 : HID;
		m->np += (size_t)m->in[l] * m->out[l] + m->out[l];
	}
	m->slab = h4h_xcalloc(m->np, sizeof(float));
	grad = h4h_xcalloc(m->np, sizeof(float));
	mo = h4h_xcalloc(m->np, sizeof(float));
	vo = h4h_xcalloc(m->np, sizeof(float));
	layout(m, m->slab);
	nn_rng_seed(&r, seed, 0x4d4c50);
	/* PyTorch's Linear default: U(-1/sqrt(in), 1/sqrt(in)) */
	for (int l = 0; l < LAYERS; l++) {
		float a = 1.0f / sqrtf((float)m->in[l]);

		for (size_t i = 0; i < (size_t)m->in[l] * m->out[l]; i++)
			m->w[l][i] = a * (2 * nn_rng_uniform(&r) - 1);
		for (int i = 0; i < m->out[l]; i++)
			m->b[l][i] = a * (2 * nn_rng_uniform(&r) - 1);
	}
	m->xm = h4h_xcalloc((size_t)dim, sizeof *m->xm);
	m->xs = h4h_xcalloc((size_t)dim, sizeof *m->xs);
	for (int j = 0; j < dim; j++) {
		double s = 0, s2 = 0;

		for (int i = 0; i < n; i++)
			s += X[(size_t)i * dim + j];
		m->xm[j] = s / n;
		for (int i = 0; i < n; i++) {
			double d = X[(size_t)i * dim + j] - m->xm[j];

			s2 += d * d;
		}
		m->xs[j] = s2 > 0 ? sqrt(s2 / n) : 1;
	}
	{
		double s = 0, s2 = 0;

		for (int i = 0; i < n; i++)
			s += y[i];
		m->ym = s / n;
		for (int i = 0; i < n; i++)
			s2 += (y[i] - m->ym) * (y[i] - m->ym);
		m->ys = s2 > 0 ? sqrt(s2 / n) : 1;
	}
	xb = h4h_xmalloc(sizeof(float) * BATCH * dim);
	for (int l = 0; l <= LAYERS; l++) {
		int c = l == 0 ? dim : m->out[l - 1];

		act[l] = h4h_xmalloc(sizeof(float) * BATCH * c);
		dact[l] = h4h_xmalloc(sizeof(float) * BATCH * c);
	}
	perm = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *perm);
	for (int i = 0; i < n; i++)
		perm[i] = i;
	steps = (n + BATCH - 1) / BATCH * EPOCHS;
	steps = steps < MAX_STEPS ? steps : MAX_STEPS;
	for (int step = 0; step < steps && n > 0; step++) {
		int B = n < BATCH ? n : BATCH;
		float lr = LR * 0.5f * (1 + cosf(3.14159265f * step / steps));
		float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
		float c1 = 1 - powf(b1, (float)(step + 1));
		float c2 = 1 - powf(b2, (float)(step + 1));

		if (at == 0 || at + B > n) {
			nn_rng_seed(&r, seed, 0x4d4c51 + (uint64_t)epoch++);
			nn_rng_shuffle(&r, perm, (size_t)n);
			at = 0;
		}
		for (int k = 0; k < B; k++) {
			const double *xr = X + (size_t)perm[at + k] * dim;

			for (int j = 0; j < dim; j++)
				act[0][(size_t)k * dim + j] = (float)((xr[j] -
				    m->xm[j]) / m->xs[j]);
		}
		for (int l = 0; l < LAYERS; l++)
			dense_forward(act[l + 1], act[l], m->w[l], m->b[l], B,
			    m->in[l], m->out[l], l < LAYERS - 1);
		/* d(mean squared error)/d output */
		for (int k = 0; k < B; k++) {
			float t = (float)((y[perm[at + k]] - m->ym) / m->ys);

			dact[LAYERS][k] = 2 * (act[LAYERS][k] - t) / B;
		}
		at += B;
		memset(grad, 0, m->np * sizeof(float));
		{
			nas_mlp g = *m;

			layout(&g, grad);
			for (int l = LAYERS - 1; l >= 0; l--) {
				int NI = m->in[l], NO = m->out[l];

				/* dw (NO, NI) = dout' (NO, B) act (B, NI) */
				cblas_sgemm(CblasRowMajor, CblasTrans,
				    CblasNoTrans, NO, NI, B, 1.0f, dact[l + 1], NO,
				    act[l], NI, 0.0f, g.w[l], NI);
				for (int k = 0; k < B; k++)
					for (int o = 0; o < NO; o++)
						g.b[l][o] += dact[l + 1][(size_t)k
						    * NO + o];
				if (l == 0)
					break;
				/* din (B, NI) = dout (B, NO) w (NO, NI), then
				 * through the ReLU of layer l-1's output */
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasNoTrans, B, NI, NO, 1.0f, dact[l + 1], NO,
				    m->w[l], NI, 0.0f, dact[l], NI);
				for (size_t i = 0; i < (size_t)B * NI; i++)
					if (act[l][i] <= 0)
						dact[l][i] = 0;
			}
		}
		for (size_t i = 0; i < m->np; i++) {
			mo[i] = b1 * mo[i] + (1 - b1) * grad[i];
			vo[i] = b2 * vo[i] + (1 - b2) * grad[i] * grad[i];
			m->slab[i] -= lr * (mo[i] / c1) / (sqrtf(vo[i] / c2) +
			    eps);
		}
	}
	for (int l = 0; l <= LAYERS; l++) {
		free(act[l]);
		free(dact[l]);
	}
	free(perm);
	free(xb);
	free(vo);
	free(mo);
	free(grad);
	return m;
}

double
nas_mlp_predict(const nas_mlp *m, const double *x)
{
	float a[HID], b[HID], *in = a, *out = b;
	float *x0 = h4h_xmalloc(sizeof(float) * (size_t)m->dim);
	double v;

	for (int j = 0; j < m->dim; j++)
		x0[j] = (float)((x[j] - m->xm[j]) / m->xs[j]);
	dense_forward(a, x0, m->w[0], m->b[0], 1, m->in[0], m->out[0], 1);
	for (int l = 1; l < LAYERS; l++) {
		dense_forward(out, in, m->w[l], m->b[l], 1, m->in[l], m->out[l],
		    l < LAYERS - 1);
		float *t = in;
		in = out;
		out = t;
	}
	v = in[0] * m->ys + m->ym;
	free(x0);
	return v;
}

void
nas_mlp_free(nas_mlp *m)
{
	if (m == NULL)
		return;
	free(m->slab);
	free(m->xm);
	free(m->xs);
	free(m);
}
