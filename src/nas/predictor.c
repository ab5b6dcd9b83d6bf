/*
 * predictor.c - the accuracy predictors (predictor.h): ridge regression
 * over one-hot genes here, the MLP and the forest (pred_models.h) on the
 * extended features, and their comparison by cross-validation.
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

#include "nas/pred_models.h"
#include "nas/predictor.h"
#include "nas/stats.h"
#include "nn/rng.h"

static const double lambdas[] = { 0.01, 0.1, 1.0, 10.0, 100.0 };
#define N_LAMBDAS (int)(sizeof lambdas / sizeof lambdas[0])
#define FOLDS 5

struct nas_predictor {
	const nas_space *s;
	int kind;			/* NAS_PRED_* */
	uint64_t seed;
	int xdim;			/* extended features */
	nas_mlp *mlp;
	nas_forest *forest;
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
	/* one-hot (no constant), an ordinal per decision, 3 totals */
	p->xdim = p->dim - 1 + nd + 3;
	p->kind = NAS_PRED_RIDGE;
	*out = p;
	return 0;
}

static const char *const kind_names[NAS_PRED_COUNT] = { "ridge", "mlp",
    "forest" };

const char *
nas_pred_name(int kind)
{
	return kind >= 0 && kind < NAS_PRED_COUNT ? kind_names[kind] : "?";
}

int
nas_pred_parse(const char *name)
{
	for (int k = 0; k < NAS_PRED_COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

int
nas_predictor_create_kind(const nas_space *s, int kind, uint64_t seed,
    nas_predictor **out)
{
	nas_predictor_create(s, out);
	(*out)->kind = kind >= 0 && kind < NAS_PRED_COUNT ? kind :
	    NAS_PRED_RIDGE;
	(*out)->seed = seed;
	return 0;
}

int
nas_predictor_kind(const nas_predictor *p)
{
	return p->kind;
}

int
nas_predictor_xdim(const nas_predictor *p)
{
	return p->xdim;
}

void
nas_predictor_xfeatures(const nas_predictor *p, const nas_gene *g,
    double *x)
{
	const nas_space *s = p->s;
	double one[1 + NAS_MAX_DECISIONS * NAS_MAX_CHOICES];
	double tot[3] = { 0 }, max[3] = { 0 };
	int nd = nas_space_decisions(s), at = p->dim - 1;

	nas_predictor_features(p, g, one);
	memcpy(x, one + 1, (size_t)(p->dim - 1) * sizeof *x);
	for (int d = 0; d < nd; d++) {
		int st, key, nc = nas_space_choices(s, d, &st, &key);
		int absent = st >= 0 && key != NAS_K_DEPTH &&
		    s->st[st].n[NAS_K_DEPTH] > 0 &&
		    nas_gene_value(s, g, st, NAS_K_DEPTH) == 0;

		x[at++] = absent || nc < 2 ? 0 : (double)g->c[d] / (nc - 1);
		if (st >= 0 && key == NAS_K_DEPTH && (s->st[st].kind ==
		    SIM_BLOCK_VIT || s->st[st].kind == SIM_BLOCK_MBCONV)) {
			int v = s->st[st].kind == SIM_BLOCK_VIT;

			tot[v] += nas_gene_value(s, g, st, NAS_K_DEPTH);
			max[v] += s->st[st].v[NAS_K_DEPTH][nc - 1];
		}
		if (st >= 0 && key == NAS_K_WIDTH && !absent) {
			tot[2] += nas_gene_value(s, g, st, NAS_K_WIDTH);
			max[2] += s->st[st].v[NAS_K_WIDTH][nc - 1];
		}
	}
	for (int k = 0; k < 3; k++)
		x[at++] = max[k] > 0 ? tot[k] / max[k] : 0;
}

void
nas_predictor_destroy(nas_predictor *p)
{
	if (p == NULL)
		return;
	nas_mlp_free(p->mlp);
	nas_forest_free(p->forest);
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

static int
ridge_fit(nas_predictor *p, const nas_gene *g, const double *y, int n,
    h4h_err *err)
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

int
nas_predictor_fit(nas_predictor *p, const nas_gene *g, const double *y,
    int n, h4h_err *err)
{
	double *X;

	if (p->kind == NAS_PRED_RIDGE)
		return ridge_fit(p, g, y, n, err);
	if (n < 2)
		return h4h_errf(err, H4H_EINPUT, "predictor: %d training "
		    "genes (needs at least 2)", n);
	X = h4h_xmalloc((size_t)n * p->xdim * sizeof *X);
	for (int i = 0; i < n; i++)
		nas_predictor_xfeatures(p, &g[i], X + (size_t)i * p->xdim);
	nas_mlp_free(p->mlp);
	nas_forest_free(p->forest);
	p->mlp = NULL;
	p->forest = NULL;
	if (p->kind == NAS_PRED_MLP)
		p->mlp = nas_mlp_fit(p->xdim, X, y, n, p->seed);
	else
		p->forest = nas_forest_fit(p->xdim, X, y, n, p->seed);
	p->fitted = 1;
	free(X);
	return 0;
}

double
nas_predictor_predict(const nas_predictor *p, const nas_gene *g)
{
	double x[1 + NAS_MAX_DECISIONS * (NAS_MAX_CHOICES + 1) + 3];

	if (!p->fitted)
		return 0;
	if (p->kind != NAS_PRED_RIDGE) {
		nas_predictor_xfeatures(p, g, x);
		return p->mlp ? nas_mlp_predict(p->mlp, x) :
		    nas_forest_predict(p->forest, x);
	}
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

/* ---- comparison ----------------------------------------------------- */

static int
fit_and_score(const nas_space *s, int kind, uint64_t seed,
    const nas_gene *gtr, const double *ytr, int ntr, const nas_gene *gte,
    const double *yte, int nte, double *rho, double *tau, h4h_err *err)
{
	nas_predictor *p;
	double *pr = h4h_xmalloc((size_t)(nte ? nte : 1) * sizeof *pr);
	int rc;

	nas_predictor_create_kind(s, kind, seed, &p);
	if ((rc = nas_predictor_fit(p, gtr, ytr, ntr, err)) == 0) {
		for (int i = 0; i < nte; i++)
			pr[i] = nas_predictor_predict(p, &gte[i]);
		*rho = nas_spearman(pr, yte, nte);
		*tau = nas_kendall(pr, yte, nte);
	}
	nas_predictor_destroy(p);
	free(pr);
	return rc;
}

int
nas_predictor_compare(const nas_space *s, const nas_gene *g, const double *y,
    int n, const nas_pred_cmp_cfg *cfg, const int *kinds, int nk,
    nas_pred_eval *out, h4h_err *err)
{
	int *perm = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *perm);
	nas_gene *gp = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *gp);
	nas_gene *gt = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *gt);
	double *yp = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *yp);
	double *yt = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *yt);
	int nte = (int)(cfg->holdout * n + 0.5), ntr = n - nte, K = cfg->folds;
	int rc = 0;
	nn_rng r;

	if (ntr < 2 * (K > 1 ? K : 1) || nte < 2) {
		rc = h4h_errf(err, H4H_EINPUT, "predictor: %d subnets are too "
		    "few to compare (%d-fold cross-validation on %d, %d held "
		    "out)", n, K, ntr, nte);
		goto out;
	}
	for (int i = 0; i < n; i++)
		perm[i] = i;
	nn_rng_seed(&r, cfg->seed, 0x43560);
	nn_rng_shuffle(&r, perm, (size_t)n);
	for (int i = 0; i < n; i++) {
		gp[i] = g[perm[i]];
		yp[i] = y[perm[i]];
	}
	for (int k = 0; k < nk; k++) {
		nas_pred_eval *e = &out[k];
		double s1 = 0, s2 = 0, st = 0;

		memset(e, 0, sizeof *e);
		e->kind = kinds[k];
		e->n_train = ntr;
		e->n_test = nte;
		e->folds = K;
		for (int f = 0; f < K; f++) {
			int lo = f * ntr / K, hi = (f + 1) * ntr / K, m = 0;
			double rho, tau;

			for (int i = 0; i < ntr; i++)
				if (i < lo || i >= hi) {
					gt[m] = gp[i];
					yt[m++] = yp[i];
				}
			if ((rc = fit_and_score(s, kinds[k], cfg->seed, gt, yt,
			    m, gp + lo, yp + lo, hi - lo, &rho, &tau, err)) !=
			    0)
				goto out;
			s1 += rho;
			s2 += rho * rho;
			st += tau;
		}
		e->cv_rho = K ? s1 / K : 0;
		e->cv_rho_sd = K > 1 ? sqrt(fmax(0, (s2 - s1 * s1 / K) /
		    (K - 1))) : 0;
		e->cv_tau = K ? st / K : 0;
		if ((rc = fit_and_score(s, kinds[k], cfg->seed, gp, yp, ntr,
		    gp + ntr, yp + ntr, nte, &e->rho, &e->tau, err)) != 0)
			goto out;
	}
out:
	free(yt);
	free(yp);
	free(gt);
	free(gp);
	free(perm);
	return rc;
}

int
nas_pred_best(const nas_pred_eval *e, int nk)
{
	int b = 0;

	for (int k = 1; k < nk; k++)
		if (e[k].cv_rho > e[b].cv_rho)
			b = k;
	return b;
}
