/*
 * pred_forest.c - a random forest of regression trees (pred_models.h).
 *
 * Each feature's distinct training values, ascending, are its bins (a
 * feature with more than MAX_BINS is cut at quantiles); a sample's bin
 * index is computed once, so a node tries a feature in one pass over its
 * samples (histogram of sums per bin, then every cut between bins).  A
 * split minimises the children's summed squared error; a node stops at
 * MIN_LEAF * 2 samples, at MAX_DEPTH, or when no cut lowers the error.
 * Prediction averages the trees; a cut "bin <= t" is kept as the midpoint
 * between bin t's value and bin t+1's, so unseen values fall on a side.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "nas/pred_models.h"
#include "nn/rng.h"

#define TREES 100
#define MAX_BINS 64
#define MIN_LEAF 2
#define MAX_DEPTH 24

typedef struct node {
	int feat;			/* -1: a leaf */
	double thr;			/* x[feat] <= thr goes left */
	int left, right;
	double value;
} node;

typedef struct tree {
	node *nd;
	int n, cap;
} tree;

struct nas_forest {
	int dim;
	tree t[TREES];
};

typedef struct builder {
	int dim, n, mtry;
	const double *y;
	unsigned char *bin;		/* (n, dim) */
	int *nbins;
	double (*edge)[MAX_BINS];	/* per feature: value of each bin */
	nn_rng r;
	int *feats;
} builder;

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
node_new(tree *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->nd = h4h_xrealloc(t->nd, (size_t)t->cap * sizeof *t->nd);
	}
	memset(&t->nd[t->n], 0, sizeof t->nd[t->n]);
	t->nd[t->n].feat = -1;
	return t->n++;
}

/* Grows the subtree of samples idx[0..m) at node k. */
static void
grow(builder *b, tree *t, int k, int *idx, int m, int depth)
{
	double sum = 0, best = INFINITY;
	int bf = -1, bt = 0, nl;

	for (int i = 0; i < m; i++)
		sum += b->y[idx[i]];
	t->nd[k].value = m ? sum / m : 0;
	if (m < 2 * MIN_LEAF || depth >= MAX_DEPTH)
		return;
	{
		double sse = 0, mean = sum / m;

		for (int i = 0; i < m; i++)
			sse += (b->y[idx[i]] - mean) * (b->y[idx[i]] - mean);
		if (sse <= 1e-15)
			return;
		best = sse - 1e-12;
	}
	/* mtry features drawn without replacement (partial shuffle) */
	for (int q = 0; q < b->mtry; q++) {
		int j = q + (int)nn_rng_below(&b->r, (uint32_t)(b->dim - q));
		int f = b->feats[j];
		double hs[MAX_BINS] = { 0 }, hq[MAX_BINS] = { 0 };
		int hc[MAX_BINS] = { 0 };
		double ls = 0, lq = 0;
		int lc = 0;

		b->feats[j] = b->feats[q];
		b->feats[q] = f;
		if (b->nbins[f] < 2)
			continue;
		for (int i = 0; i < m; i++) {
			int v = b->bin[(size_t)idx[i] * b->dim + f];
			double yv = b->y[idx[i]];

			hs[v] += yv;
			hq[v] += yv * yv;
			hc[v]++;
		}
		for (int c = 0; c < b->nbins[f] - 1; c++) {
			double rs, rq, e;
			int rc;

			ls += hs[c];
			lq += hq[c];
			lc += hc[c];
			rc = m - lc;
			if (lc < MIN_LEAF || rc < MIN_LEAF || hc[c] == 0)
				continue;
			rs = sum - ls;
			rq = 0;
			for (int i = c + 1; i < b->nbins[f]; i++)
				rq += hq[i];
			e = (lq - ls * ls / lc) + (rq - rs * rs / rc);
			if (e < best) {
				best = e;
				bf = f;
				bt = c;
			}
		}
	}
	if (bf < 0)
		return;
	/* partition idx: bin <= bt first */
	nl = 0;
	for (int i = 0; i < m; i++)
		if (b->bin[(size_t)idx[i] * b->dim + bf] <= bt) {
			int s = idx[nl];

			idx[nl++] = idx[i];
			idx[i] = s;
		}
	{
		int l = node_new(t), r = node_new(t);
		int c = bt + 1;

		t->nd[k].feat = bf;
		/* the next bin holding a sample may be past bt + 1 */
		t->nd[k].thr = 0.5 * (b->edge[bf][bt] + b->edge[bf][c <
		    b->nbins[bf] ? c : bt]);
		t->nd[k].left = l;
		t->nd[k].right = r;
		grow(b, t, l, idx, nl, depth + 1);
		grow(b, t, r, idx + nl, m - nl, depth + 1);
	}
}

nas_forest *
nas_forest_fit(int dim, const double *X, const double *y, int n,
    uint64_t seed)
{
	nas_forest *F = h4h_xcalloc(1, sizeof *F);
	builder b;
	double *col = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *col);
	int *idx = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *idx);

	F->dim = dim;
	memset(&b, 0, sizeof b);
	b.dim = dim;
	b.n = n;
	b.y = y;
	b.mtry = dim / 3 > 0 ? dim / 3 : 1;
	b.bin = h4h_xmalloc((size_t)(n ? n : 1) * dim);
	b.nbins = h4h_xcalloc((size_t)dim, sizeof *b.nbins);
	b.edge = h4h_xcalloc((size_t)dim, sizeof *b.edge);
	b.feats = h4h_xmalloc((size_t)dim * sizeof *b.feats);
	for (int j = 0; j < dim; j++) {
		int u = 0;

		b.feats[j] = j;
		for (int i = 0; i < n; i++)
			col[i] = X[(size_t)i * dim + j];
		qsort(col, (size_t)n, sizeof *col, cmp_double);
		for (int i = 0; i < n; i++)
			if (i == 0 || col[i] != col[i - 1])
				col[u++] = col[i];
		if (u > MAX_BINS) {
			for (int c = 0; c < MAX_BINS; c++)
				b.edge[j][c] = col[(size_t)c * (u - 1) /
				    (MAX_BINS - 1)];
			u = MAX_BINS;
		} else {
			memcpy(b.edge[j], col, (size_t)u * sizeof *col);
		}
		b.nbins[j] = u;
		for (int i = 0; i < n; i++) {
			double v = X[(size_t)i * dim + j];
			int c = 0;

			while (c + 1 < u && b.edge[j][c + 1] <= v)
				c++;
			b.bin[(size_t)i * dim + j] = (unsigned char)c;
		}
	}
	for (int t = 0; t < TREES && n > 0; t++) {
		nn_rng_seed(&b.r, seed, 0x524600 + (uint64_t)t);
		for (int i = 0; i < n; i++)
			idx[i] = (int)nn_rng_below(&b.r, (uint32_t)n);
		grow(&b, &F->t[t], node_new(&F->t[t]), idx, n, 0);
	}
	free(b.feats);
	free(b.edge);
	free(b.nbins);
	free(b.bin);
	free(idx);
	free(col);
	return F;
}

double
nas_forest_predict(const nas_forest *F, const double *x)
{
	double s = 0;
	int nt = 0;

	for (int t = 0; t < TREES; t++) {
		const tree *tr = &F->t[t];
		int k = 0;

		if (tr->n == 0)
			continue;
		while (tr->nd[k].feat >= 0)
			k = x[tr->nd[k].feat] <= tr->nd[k].thr ?
			    tr->nd[k].left : tr->nd[k].right;
		s += tr->nd[k].value;
		nt++;
	}
	return nt ? s / nt : 0;
}

void
nas_forest_free(nas_forest *F)
{
	if (F == NULL)
		return;
	for (int t = 0; t < TREES; t++)
		free(F->t[t].nd);
	free(F);
}
