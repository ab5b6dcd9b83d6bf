/*
 * predictor.c - ridge regression over one-hot genes (predictor.h).
 *
 * The intercept is not penalised: columns and targets are centred, the
 * normal equations (X'X + lambda I) w = X'y are solved by Cholesky (GSL),
 * and the intercept restores the means.  Lambda comes from the grid below
 * by 5-fold cross-validation (contiguous folds of the given order).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "nas/predictor.h"

static const double lambdas[] = { 0.01, 0.1, 1.0, 10.0, 100.0 };
#define N_LAMBDAS (int)(sizeof lambdas / sizeof lambdas[0])
#define FOLDS 5

struct nas_predictor {
	const nas_space *s;
	int dim;			/* with the constant at 0 */
	int off[NAS_MAX_DECISIONS];	/* first feature of each decision */
	double *w;			/* dim weights; w[0] the intercept */
	double lambda;
	int fitted;
};

int
nas_predictor_create(const nas_space *s, nas_predictor **out)
{
	nas_predictor *p = h4h_xcalloc(1, sizeof *p);
	int nd = nas_space_decisions(s);

	p->s = s;
	p->dim = 1;
	for (int d = 0; d < nd; d++) {
		int st, key;

		p->off[d] = p->dim;
		p->dim += nas_space_choices(s, d, &st, &key);
	}
	p->w = h4h_xcalloc((size_t)p->dim, sizeof *p->w);
	*out = p;
	return 0;
}

void
nas_predictor_destroy(nas_predictor *p)
{
	if (p == NULL)
		return;
	free(p->w);
	free(p);
}

int
nas_predictor_dim(const nas_predictor *p)
{
	return p->dim;
}

void
nas_predictor_features(const nas_predictor *p, const nas_gene *g, double *x)
{
	const nas_space *s = p->s;

	memset(x, 0, (size_t)p->dim * sizeof *x);
	x[0] = 1;
	for (int d = 0; d < g->n; d++) {
		int st, key;

		nas_space_choices(s, d, &st, &key);
		if (st >= 0 && key != NAS_K_DEPTH &&
		    s->st[st].n[NAS_K_DEPTH] > 0 &&
		    nas_gene_value(s, g, st, NAS_K_DEPTH) == 0)
			continue;	/* an absent stage's choices */
		x[p->off[d] + g->c[d]] = 1;
	}
}

/* Sums over a set of rows: the Gram matrix G = sum x x' (dim x dim, the
 * constant included, so G[0][j] = sum x_j and G[0][0] = rows) and
 * r = sum x y.  One-hot rows are sparse, so a row costs nnz^2. */
typedef struct gram {
	double *G, *r;
} gram;

static void
gram_add(gram *s, int dim, const double *x, double y, int sign)
{
	int nz[1 + NAS_MAX_DECISIONS], k = 0;

	for (int j = 0; j < dim; j++)
		if (x[j] != 0)
			nz[k++] = j;
	for (int a = 0; a < k; a++) {
		s->r[nz[a]] += sign * x[nz[a]] * y;
		for (int b = 0; b < k; b++)
			s->G[(size_t)nz[a] * dim + nz[b]] += sign *
			    x[nz[a]] * x[nz[b]];
	}
}

/* Weights w (dim; w[0] the intercept) of the ridge fit with an
 * unpenalised intercept, from the sums s: centring is G - m mu mu'. */
static int
ridge(int dim, const gram *s, double lambda, double *w)
{
	int k = dim - 1, rc = 0;
	double m = s->G[0], ym = s->r[0] / m;
	gsl_matrix *A = gsl_matrix_alloc((size_t)k, (size_t)k);
	gsl_vector *b = gsl_vector_alloc((size_t)k);
	gsl_vector *sol = gsl_vector_alloc((size_t)k);
	gsl_error_handler_t *old = gsl_set_error_handler_off();

	for (int a = 1; a < dim; a++) {
		double mua = s->G[a] / m;

		gsl_vector_set(b, (size_t)a - 1, s->r[a] - m * mua * ym);
		for (int c = 1; c < dim; c++)
			gsl_matrix_set(A, (size_t)a - 1, (size_t)c - 1,
			    s->G[(size_t)a * dim + c] - m * mua * (s->G[c] /
			    m) + (a == c ? lambda : 0));
	}
	if (gsl_linalg_cholesky_decomp1(A) != 0 ||
	    gsl_linalg_cholesky_solve(A, b, sol) != 0) {
		rc = -1;
		goto out;
	}
	w[0] = ym;
	for (int j = 1; j < dim; j++) {
		w[j] = gsl_vector_get(sol, (size_t)j - 1);
		w[0] -= w[j] * s->G[j] / m;
	}
out:
	gsl_set_error_handler(old);
	gsl_vector_free(sol);
	gsl_vector_free(b);
	gsl_matrix_free(A);
	return rc;
}

static double
dot(const double *a, const double *b, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void
gram_init(gram *s, int dim)
{
	s->G = h4h_xcalloc((size_t)dim * dim, sizeof *s->G);
	s->r = h4h_xcalloc((size_t)dim, sizeof *s->r);
}

static void
gram_free(gram *s)
{
	free(s->G);
	free(s->r);
}

int
nas_predictor_fit(nas_predictor *p, const nas_gene *g, const double *y,
    int n, h4h_err *err)
{
	int dim = p->dim, rc = 0;
	double *X, *w, best = INFINITY, best_lambda = lambdas[N_LAMBDAS / 2];
	gram all, fold[FOLDS], train;

	if (n < 2)
		return h4h_errf(err, H4H_EINPUT, "predictor: %d training "
		    "genes (needs at least 2)", n);
	X = h4h_xmalloc((size_t)n * dim * sizeof *X);
	w = h4h_xmalloc((size_t)dim * sizeof *w);
	gram_init(&all, dim);
	gram_init(&train, dim);
	for (int f = 0; f < FOLDS; f++)
		gram_init(&fold[f], dim);
	for (int i = 0; i < n; i++) {
		nas_predictor_features(p, &g[i], X + (size_t)i * dim);
		gram_add(&all, dim, X + (size_t)i * dim, y[i], 1);
		gram_add(&fold[i * FOLDS / n], dim, X + (size_t)i * dim, y[i],
		    1);
	}
	for (int l = 0; l < N_LAMBDAS && n >= 2 * FOLDS; l++) {
		double sse = 0;
		int ok = 1;

		for (int f = 0; f < FOLDS && ok; f++) {
			for (size_t j = 0; j < (size_t)dim * dim; j++)
				train.G[j] = all.G[j] - fold[f].G[j];
			for (int j = 0; j < dim; j++)
				train.r[j] = all.r[j] - fold[f].r[j];
			if (ridge(dim, &train, lambdas[l], w) != 0) {
				ok = 0;
				break;
			}
			for (int i = 0; i < n; i++) {
				double e;

				if (i * FOLDS / n != f)
					continue;
				e = dot(w, X + (size_t)i * dim, dim) - y[i];
				sse += e * e;
			}
		}
		if (ok && sse < best) {
			best = sse;
			best_lambda = lambdas[l];
		}
	}
	if (ridge(dim, &all, best_lambda, w) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "predictor: the ridge system "
		    "of %d genes is singular", n);
		goto out;
	}
	memcpy(p->w, w, (size_t)dim * sizeof *w);
	p->lambda = best_lambda;
	p->fitted = 1;
out:
	for (int f = 0; f < FOLDS; f++)
		gram_free(&fold[f]);
	gram_free(&train);
	gram_free(&all);
	free(w);
	free(X);
	return rc;
}

double
nas_predictor_predict(const nas_predictor *p, const nas_gene *g)
{
	double x[1 + NAS_MAX_DECISIONS * NAS_MAX_CHOICES];

	if (!p->fitted)
		return 0;
	nas_predictor_features(p, g, x);
	return dot(p->w, x, p->dim);
}

double
nas_predictor_lambda(const nas_predictor *p)
{
	return p->lambda;
}

typedef struct ranked {
	double v;
	int i;
} ranked;

static int
cmp_ranked(const void *a, const void *b)
{
	const ranked *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->i - y->i;
}

/* Mean ranks (1-based) of v into r. */
static void
ranks(const double *v, int n, double *r)
{
	ranked *t = h4h_xmalloc((size_t)n * sizeof *t);

	for (int i = 0; i < n; i++)
		t[i] = (ranked){ v[i], i };
	qsort(t, (size_t)n, sizeof *t, cmp_ranked);
	for (int i = 0; i < n;) {
		int j = i;

		while (j + 1 < n && t[j + 1].v == t[i].v)
			j++;
		for (int k = i; k <= j; k++)
			r[t[k].i] = (i + j) / 2.0 + 1;
		i = j + 1;
	}
	free(t);
}

double
nas_spearman(const double *a, const double *b, int n)
{
	double *ra, *rb, ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;

	if (n < 2)
		return 0;
	ra = h4h_xmalloc((size_t)n * sizeof *ra);
	rb = h4h_xmalloc((size_t)n * sizeof *rb);
	ranks(a, n, ra);
	ranks(b, n, rb);
	for (int i = 0; i < n; i++) {
		ma += ra[i];
		mb += rb[i];
	}
	ma /= n;
	mb /= n;
	for (int i = 0; i < n; i++) {
		sab += (ra[i] - ma) * (rb[i] - mb);
		saa += (ra[i] - ma) * (ra[i] - ma);
		sbb += (rb[i] - mb) * (rb[i] - mb);
	}
	free(ra);
	free(rb);
	if (saa == 0 || sbb == 0)
		return 0;
	return sab / sqrt(saa * sbb);
}
