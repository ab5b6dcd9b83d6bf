/*
 * optim.c - AdamW, schedule and clipping (see optim.h).
 *
 * The update is one loop per tensor over a slab; the tensors share one
 * OpenMP parallel region and each loop's iterations are independent, so
 * the result does not depend on the thread count.  The gradient norm sums in
 * double, in a fixed order when run serially; under OpenMP the reduction
 * order (and so the last bits of the norm) can depend on the thread count.
 */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>

/* Floats below which AdamW runs on one thread. */
#define NN_OPTIM_PAR_MIN 65536

size_t
nn_param_count(const nn_param *p)
{
	size_t n = 1;
	int i;

	for (i = 0; i < p->ndim; i++)
		n *= (size_t)p->dims[i];
	return n;
}

typedef struct span {
	size_t lo, hi;
	int i;
} span;

static int
cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;

	return (x->lo > y->lo) - (x->lo < y->lo);
}

int
nn_param_table_check(const nn_param *tab, int ntab, size_t total,
    h4h_err *err)
{
	span *s = h4h_xmalloc(sizeof *s * (ntab > 0 ? (size_t)ntab : 1));
	int i, j, rc = 0;
	size_t n;

	for (i = 0; i < ntab; i++) {
		const nn_param *p = &tab[i];

		if (p->name == NULL || p->name[0] == '\0') {
			rc = h4h_errf(err, H4H_EINPUT,
			    "parameter %d has no name", i);
			goto out;
		}
		if (p->ndim < 1 || p->ndim > NN_PARAM_MAXDIM) {
			rc = h4h_errf(err, H4H_EINPUT,
			    "parameter '%s' has %d dimensions (1..%d)",
			    p->name, p->ndim, NN_PARAM_MAXDIM);
			goto out;
		}
		for (j = 0; j < p->ndim; j++) {
			if (p->dims[j] < 1) {
				rc = h4h_errf(err, H4H_EINPUT,
				    "parameter '%s' dimension %d is %d",
				    p->name, j, p->dims[j]);
				goto out;
			}
		}
		n = nn_param_count(p);
		if (p->offset > total || n > total - p->offset) {
			rc = h4h_errf(err, H4H_EINPUT,
			    "parameter '%s' (%zu floats at %zu) overruns the "
			    "%zu-float slab", p->name, n, p->offset, total);
			goto out;
		}
		s[i].lo = p->offset;
		s[i].hi = p->offset + n;
		s[i].i = i;
	}
	qsort(s, (size_t)ntab, sizeof *s, cmp_span);
	for (i = 1; i < ntab; i++) {
		if (s[i].lo < s[i - 1].hi) {
			rc = h4h_errf(err, H4H_EINPUT,
			    "parameters '%s' and '%s' overlap",
			    tab[s[i - 1].i].name, tab[s[i].i].name);
			goto out;
		}
	}
out:
	free(s);
	return rc;
}

nn_adamw_cfg
nn_adamw_defaults(float weight_decay)
{
	nn_adamw_cfg c = { 0.9f, 0.999f, 1e-8f, weight_decay };

	return c;
}

int
nn_adamw_check(const nn_adamw_cfg *c, h4h_err *err)
{
	if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
		return h4h_errf(err, H4H_EINPUT,
		    "adamw: beta1 must be in [0, 1) (got %g)", (double)c->beta1);
	if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
		return h4h_errf(err, H4H_EINPUT,
		    "adamw: beta2 must be in [0, 1) (got %g)", (double)c->beta2);
	if (!(c->eps > 0.0f))
		return h4h_errf(err, H4H_EINPUT,
		    "adamw: eps must be > 0 (got %g)", (double)c->eps);
	if (!(c->weight_decay >= 0.0f))
		return h4h_errf(err, H4H_EINPUT,
		    "adamw: weight decay must be >= 0 (got %g)",
		    (double)c->weight_decay);
	return 0;
}

void
nn_adamw_step(const nn_adamw_cfg *c, float lr, int64_t t, float gscale,
    float *params, const float *grads, float *m, float *v,
    const nn_param *tab, int ntab)
{
	const float b1 = c->beta1, b2 = c->beta2, eps = c->eps;
	/* Bias corrections in double: b^t for large t underflows gracefully
	 * and the two factors are computed once per step. */
	const float step_size = (float)(lr / (1.0 - pow(b1, (double)t)));
	const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)t));
	size_t total = 0;
	int k;

	/* Threads pay off only on big slabs: on the shared 2-core machine
	 * a team cost more than it saved on small ones. */
	for (k = 0; k < ntab; k++)
		total += nn_param_count(&tab[k]);
	(void)total;
#ifdef _OPENMP
#pragma omp parallel private(k) if (total >= NN_OPTIM_PAR_MIN)
#endif
	for (k = 0; k < ntab; k++) {
		const size_t o = tab[k].offset;
		const long n = (long)nn_param_count(&tab[k]);
		const float keep = tab[k].decay ?
		    1.0f - lr * c->weight_decay : 1.0f;
		/* The four slabs never overlap: restrict lets the loop
		 * vectorise. */
		float *restrict p = params + o, *restrict mk = m + o;
		float *restrict vk = v + o;
		const float *restrict g = grads + o;
		long i;

#ifdef _OPENMP
#pragma omp for schedule(static) nowait
#endif
		for (i = 0; i < n; i++) {
			float gi = g[i] * gscale;

			mk[i] = b1 * mk[i] + (1.0f - b1) * gi;
			vk[i] = b2 * vk[i] + (1.0f - b2) * gi * gi;
			p[i] *= keep;
			p[i] -= step_size * mk[i] /
			    (sqrtf(vk[i]) / bc2_sqrt + eps);
		}
	}
}

int
nn_sched_check(const nn_sched *s, h4h_err *err)
{
	if (!(s->lr_max > 0.0f))
		return h4h_errf(err, H4H_EINPUT,
		    "schedule: learning rate must be > 0 (got %g)",
		    (double)s->lr_max);
	if (!(s->lr_min >= 0.0f && s->lr_min <= s->lr_max))
		return h4h_errf(err, H4H_EINPUT,
		    "schedule: minimum learning rate must be in [0, %g] "
		    "(got %g)", (double)s->lr_max, (double)s->lr_min);
	if (s->total < 1)
		return h4h_errf(err, H4H_EINPUT,
		    "schedule: total steps must be >= 1 (got %lld)",
		    (long long)s->total);
	if (s->warmup < 0 || s->warmup > s->total)
		return h4h_errf(err, H4H_EINPUT,
		    "schedule: warmup steps must be in 0..%lld (got %lld)",
		    (long long)s->total, (long long)s->warmup);
	return 0;
}

float
nn_sched_lr(const nn_sched *s, int64_t step)
{
	double prog;

	if (step < 0)
		step = 0;
	if (step < s->warmup)
		return (float)((double)s->lr_max * (double)(step + 1) /
		    (double)s->warmup);
	if (step >= s->total)
		return s->lr_min;
	prog = (double)(step - s->warmup) / (double)(s->total - s->warmup);
	return (float)(s->lr_min + 0.5 * ((double)s->lr_max - s->lr_min) *
	    (1.0 + cos(M_PI * prog)));
}

double
nn_grad_norm(const float *g, size_t n)
{
	double s = 0.0;
	long i, nn = (long)n;

#ifdef _OPENMP
#pragma omp parallel for reduction(+:s) schedule(static) if (nn >= NN_OPTIM_PAR_MIN)
#endif
	for (i = 0; i < nn; i++)
		s += (double)g[i] * g[i];
	return sqrt(s);
}

float
nn_grad_clip_scale(double norm, float max_norm)
{
	double f;

	if (!(max_norm > 0.0f))
		return 1.0f;
	f = max_norm / (norm + 1e-6);
	return f < 1.0 ? (float)f : 1.0f;
}

double
nn_grad_clip(float *g, size_t n, float max_norm)
{
	double norm = nn_grad_norm(g, n);
	float f = nn_grad_clip_scale(norm, max_norm);
	size_t i;

	if (f < 1.0f)
		for (i = 0; i < n; i++)
			g[i] *= f;
	return norm;
}
