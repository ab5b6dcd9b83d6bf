/*
 * check_nn_supernet.c - the elastic supernet (src/nn/supernet.c).
 *
 * Most cases run on a small spec with every stage kind (12x12x2 input, 5
 * classes, 7 stages: conv, mbconv without expand, mbconv with expand and
 * stride, vit, mbconv, vit, mbpool) so that hundreds of forwards take
 * milliseconds; the MAC parity case also builds the h4h-fmnist proxy space.
 *
 * Gradients: for each parameter tensor, the loss L = sum logits * R (R
 * fixed random, summed in double) is differenced along two unit
 * directions over the tensor's active slice: the computed gradient's own
 * direction (then dL/dv must equal |g|; a missing or doubled term moves it
 * by O(|g|)) and a random one (dL/dv = g.v).  Central differences with
 * step h = 1e-2 in float: truncation h^2 f'''/6 ~ 1e-5, rounding of L
 * ~ 1e-6 / 2h ~ 5e-5; a tensor passes at 3e-4 + 2% of |g|.  The active
 * slice of a tensor is the shape of the same-named tensor in the extracted
 * subnet (absent: the whole tensor is inactive); every gradient entry
 * outside it must be exactly 0.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ctx.h"
#include "nn/ops.h"
#include "nn/supernet.h"
#include "sim/front/arch.h"
#include "sim/spec/net.h"

#define OK(call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == 0, "%s: %d: %s", #call, rc_, err.msg); \
} while (0)

#define BT 3			/* batch of the gradient tests */
#define SMALL_HW 12

static nn_sn_spec
small_spec(void)
{
	nn_sn_spec sp;

	memset(&sp, 0, sizeof sp);
	sp.in_hw = SMALL_HW;
	sp.in_ch = 2;
	sp.classes = 5;
	sp.n_stages = 7;
	sp.st[0] = (nn_sn_stage){ NN_SN_CONV, 6, 1, 1, 2, 0 };
	sp.st[1] = (nn_sn_stage){ NN_SN_MBCONV, 6, 2, 1, 1, 0 };
	sp.st[2] = (nn_sn_stage){ NN_SN_MBCONV, 8, 2, 3, 2, 0 };
	sp.st[3] = (nn_sn_stage){ NN_SN_VIT, 16, 2, 1, 1, 2.0f };
	sp.st[4] = (nn_sn_stage){ NN_SN_MBCONV, 10, 2, 2, 1, 0 };
	sp.st[5] = (nn_sn_stage){ NN_SN_VIT, 16, 1, 1, 1, 1.5f };
	sp.st[6] = (nn_sn_stage){ NN_SN_MBPOOL, 12, 1, 2, 1, 0 };
	return sp;
}

/* The h4h-fmnist proxy space at its maxima (spaces/h4h-fmnist.json). */
static nn_sn_spec
fmnist_spec(void)
{
	static const struct { int kind, width, depth, expand, stride;
	    float mlp; } t[20] = {
		{ NN_SN_CONV, 8, 1, 1, 2, 0 },
		{ NN_SN_MBCONV, 8, 2, 1, 1, 0 },
		{ NN_SN_MBCONV, 16, 6, 6, 2, 0 },
		{ NN_SN_MBCONV, 16, 6, 6, 1, 0 },
		{ NN_SN_VIT, 48, 1, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 24, 3, 6, 2, 0 },
		{ NN_SN_VIT, 56, 2, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 24, 3, 6, 1, 0 },
		{ NN_SN_VIT, 56, 2, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 32, 4, 6, 1, 0 },
		{ NN_SN_VIT, 72, 2, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 32, 4, 6, 1, 0 },
		{ NN_SN_VIT, 72, 2, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 56, 4, 6, 2, 0 },
		{ NN_SN_VIT, 88, 2, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 56, 4, 6, 1, 0 },
		{ NN_SN_VIT, 88, 2, 1, 1, 2.0f },
		{ NN_SN_MBCONV, 60, 2, 6, 1, 0 },
		{ NN_SN_VIT, 72, 3, 1, 1, 2.0f },
		{ NN_SN_MBPOOL, 496, 1, 6, 1, 0 },
	};
	nn_sn_spec sp;

	memset(&sp, 0, sizeof sp);
	sp.in_hw = 28;
	sp.in_ch = 1;
	sp.classes = 10;
	sp.n_stages = 20;
	for (int i = 0; i < 20; i++)
		sp.st[i] = (nn_sn_stage){ t[i].kind, t[i].width, t[i].depth,
		    t[i].expand, t[i].stride, t[i].mlp };
	return sp;
}

static unsigned
lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static float
urand(unsigned *s, float lo, float hi)
{
	return lo + (hi - lo) * (float)(lcg(s) % 100001) / 100000.0f;
}

/* A random subnet of sp: every value uniform in its range. */
static void
random_active(const nn_sn_spec *sp, nn_sn_active *a, unsigned *seed,
    int res_lo)
{
	memset(a, 0, sizeof *a);
	a->res = res_lo + (int)(lcg(seed) % (unsigned)(sp->in_hw - res_lo + 1));
	for (int i = 0; i < sp->n_stages; i++) {
		const nn_sn_stage *t = &sp->st[i];
		nn_sn_active_stage *x = &a->st[i];
		static const float mlps[] = { 0.5f, 1.0f, 1.5f, 2.0f };

		if (t->kind == NN_SN_VIT)
			x->width = 8 * (1 + (int)(lcg(seed) % (unsigned)
			    (t->width / 8)));
		else
			x->width = 1 + (int)(lcg(seed) % (unsigned)t->width);
		x->depth = t->kind == NN_SN_MBCONV || t->kind == NN_SN_VIT ?
		    (int)(lcg(seed) % (unsigned)(t->depth + 1)) : 1;
		if (t->kind == NN_SN_MBCONV && t->stride > 1 && x->depth == 0)
			x->depth = 1;	/* strided stages always run */
		x->expand = t->expand > 1 ? 2 + (int)(lcg(seed) % (unsigned)
		    (t->expand - 1)) : 1;
		do
			x->mlp = mlps[lcg(seed) % 4];
		while (t->kind == NN_SN_VIT && x->mlp > t->mlp);
	}
}

/* The smallest subnet: width 1 (vit 8), depth 0 (1 on strided stages),
 * expand 2, mlp 0.5. */
static void
min_active(const nn_sn_spec *sp, nn_sn_active *a, int res)
{
	memset(a, 0, sizeof *a);
	a->res = res;
	for (int i = 0; i < sp->n_stages; i++) {
		const nn_sn_stage *t = &sp->st[i];

		a->st[i].width = t->kind == NN_SN_VIT ? 8 : 1;
		a->st[i].depth = (t->kind == NN_SN_MBCONV && t->stride == 1) ||
		    t->kind == NN_SN_VIT ? 0 : 1;
		a->st[i].expand = t->expand > 1 ? 2 : 1;
		a->st[i].mlp = 0.5f;
	}
}

static float *
random_input(int b, int hw, int ch, unsigned seed)
{
	size_t n = (size_t)b * hw * hw * ch;
	float *x = malloc(n * sizeof *x);

	for (size_t i = 0; i < n; i++)
		x[i] = urand(&seed, -1.5f, 1.5f);
	return x;
}

/* Every parameter random (weights +-0.6, BN/LN scales 0.6..1.4) so that no
 * path starts at zero, as the identity-at-init rule would make it. */
static void
randomize_params(nn_sn *s, unsigned seed)
{
	int n;
	const nn_param *tab = nn_sn_param_table(s, &n);
	float *p = nn_sn_params(s);

	for (int t = 0; t < n; t++) {
		int scale = strstr(tab[t].name, "gamma") != NULL ||
		    (strstr(tab[t].name, ".ln") != NULL &&
		    tab[t].name[strlen(tab[t].name) - 1] == 'w');

		for (size_t i = 0; i < nn_param_count(&tab[t]); i++)
			p[tab[t].offset + i] = scale ? urand(&seed, 0.6f, 1.4f) :
			    urand(&seed, -0.6f, 0.6f);
	}
}

static double
loss_of(const nn_sn *s, const float *R, int b)
{
	const float *lg = nn_sn_logits(s);
	int K = nn_sn_spec_of(s)->classes;
	double L = 0;

	for (int i = 0; i < b * K; i++)
		L += (double)lg[i] * R[i];
	return L;
}

/* The active dims of supernet tensor `name`: those of the extracted net's
 * tensor, or NULL (inactive). */
static const nn_param *
find(const nn_param *tab, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

/* Is flat index i of tensor t inside the leading block dims a? */
static int
inside(const nn_param *t, const nn_param *a, size_t i)
{
	if (a == NULL)
		return 0;
	for (int d = t->ndim - 1; d >= 0; d--) {
		if ((int)(i % (size_t)t->dims[d]) >= a->dims[d])
			return 0;
		i /= (size_t)t->dims[d];
	}
	return 1;
}

typedef struct fd_stats {
	int tensors, bad;
} fd_stats;

/*
 * Checks the gradient of subnet `a` by differences (see the header) and
 * that inactive slices stay exactly 0.  dc > 0 turns dropout and
 * drop-connect on, the generator replayed for every forward.
 */
static void
check_gradient(nn_ctx *ctx, nn_sn *s, const nn_sn_active *a, float dc,
    unsigned seed, fd_stats *st)
{
	h4h_err err = { "" };
	const nn_sn_spec *sp = nn_sn_spec_of(s);
	int n, ne, K = sp->classes;
	const nn_param *tab = nn_sn_param_table(s, &n), *etab;
	float *x = random_input(BT, sp->in_hw, sp->in_ch, seed);
	float *R = malloc(sizeof(float) * BT * K), *p = nn_sn_params(s);
	float *g = nn_sn_grads(s), *v;
	uint64_t rng0 = *nn_sn_rng(s);
	nn_sn *e;

	for (int i = 0; i < BT * K; i++)
		R[i] = urand(&seed, -1, 1);
	OK(nn_sn_set_active(s, a, &err));
	nn_sn_set_regularization(s, dc, dc);
	OK(nn_sn_extract(ctx, s, 1, &e, &err));
	etab = nn_sn_param_table(e, &ne);
	nn_sn_zero_grads(s);
	OK(nn_sn_forward(s, x, BT, NN_BN_TRAIN, 0, &err));
	OK(nn_sn_backward(s, R, &err));
	v = malloc(sizeof(float) * nn_sn_nparams(s));
	for (int t = 0; t < n; t++) {
		const nn_param *ac = find(etab, ne, tab[t].name);
		size_t cnt = nn_param_count(&tab[t]), off = tab[t].offset;
		double gn = 0;

		for (size_t i = 0; i < cnt; i++)
			if (!inside(&tab[t], ac, i))
				ck_assert_msg(g[off + i] == 0.0f, "%s[%zu]: "
				    "inactive entry has gradient %g",
				    tab[t].name, i, g[off + i]);
			else
				gn += (double)g[off + i] * g[off + i];
		if (ac == NULL)
			continue;
		gn = sqrt(gn);
		for (int dir = 0; dir < 2; dir++) {
			double vn = 0, ana = 0, num, lp, lm;
			const float h = 1e-2f;

			for (size_t i = 0; i < cnt; i++) {
				v[i] = !inside(&tab[t], ac, i) ? 0.0f : dir == 0 ?
				    g[off + i] : urand(&seed, -1, 1);
				vn += (double)v[i] * v[i];
			}
			if (vn == 0)
				continue;
			vn = sqrt(vn);
			for (size_t i = 0; i < cnt; i++) {
				v[i] = (float)(v[i] / vn);
				ana += (double)v[i] * g[off + i];
			}
			float *save = malloc(sizeof(float) * cnt);

			memcpy(save, p + off, sizeof(float) * cnt);
			for (size_t i = 0; i < cnt; i++)
				p[off + i] = save[i] + h * v[i];
			*nn_sn_rng(s) = rng0;
			OK(nn_sn_forward(s, x, BT, NN_BN_TRAIN, 0, &err));
			lp = loss_of(s, R, BT);
			for (size_t i = 0; i < cnt; i++)
				p[off + i] = save[i] - h * v[i];
			*nn_sn_rng(s) = rng0;
			OK(nn_sn_forward(s, x, BT, NN_BN_TRAIN, 0, &err));
			lm = loss_of(s, R, BT);
			memcpy(p + off, save, sizeof(float) * cnt);
			free(save);
			num = (lp - lm) / (2.0 * h);
			st->tensors++;
			if (fabs(num - ana) > 3e-4 + 2e-2 * gn) {
				st->bad++;
				fprintf(stderr, "grad %s dir %d: analytic %.6g "
				    "numeric %.6g (|g| %.3g)\n", tab[t].name,
				    dir, ana, num, gn);
			}
		}
	}
	nn_sn_set_regularization(s, 0, 0);
	nn_sn_destroy(e);
	free(v);
	free(x);
	free(R);
}

static nn_ctx *
mkctx(int nt)
{
	nn_ctx *ctx;
	h4h_err err = { "" };

	OK(nn_ctx_create(nt, &ctx, &err));
	return ctx;
}

static nn_sn *
mksn(nn_ctx *ctx, const nn_sn_spec *sp, int B, uint64_t seed)
{
	nn_sn *s;
	h4h_err err = { "" };

	OK(nn_sn_create(ctx, sp, B, seed, &s, &err));
	return s;
}

/* ---- Core ---------------------------------------------------------------- */

START_TEST(test_tables)
{
	nn_ctx *ctx = mkctx(1);
	nn_sn_spec sp = small_spec();
	nn_sn *s = mksn(ctx, &sp, 2, 1);
	h4h_err err = { "" };
	int n, ns;
	const nn_param *tab = nn_sn_param_table(s, &n);
	const nn_param *stab = nn_sn_state_table(s, &ns);
	const int *grp = nn_sn_param_groups(s);
	const float *p = nn_sn_params(s);
	const struct { const char *name; int group, d0, d1; } want[] = {
		{ "s0.conv.w", NN_SN_G_CNN, 6, 2 },
		{ "s0.conv.bn.gamma", NN_SN_G_BN, 6, 0 },
		{ "s1.b1.dw.w", NN_SN_G_CNN, 6, 1 },
		{ "s2.b0.expand.w", NN_SN_G_CNN, 18, 6 },
		{ "s2.b1.expand.w", NN_SN_G_CNN, 24, 8 },
		{ "s2.b1.project.bn.beta", NN_SN_G_BN, 8, 0 },
		{ "s3.vit0.qkv.w", NN_SN_G_VIT, 48, 8 },
		{ "s3.vit1.ln2.b", NN_SN_G_VIT, 8, 0 },
		{ "s3.vit0.mlp1.w", NN_SN_G_VIT, 16, 8 },
		{ "s5.vit0.mlp1.w", NN_SN_G_VIT, 15, 10 },
		{ "s6.expand.w", NN_SN_G_CNN, 20, 10 },
		{ "s6.mix.w", NN_SN_G_CNN, 12, 20 },
		{ "s6.classifier.b", NN_SN_G_CNN, 5, 0 },
	};

	OK(nn_param_table_check(tab, n, nn_sn_nparams(s), &err));
	OK(nn_param_table_check(stab, ns, nn_sn_nstate(s), &err));
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		int i = 0;

		while (i < n && strcmp(tab[i].name, want[k].name) != 0)
			i++;
		ck_assert_msg(i < n, "no tensor %s", want[k].name);
		ck_assert_int_eq(grp[i], want[k].group);
		ck_assert_int_eq(tab[i].dims[0], want[k].d0);
		if (want[k].d1)
			ck_assert_int_eq(tab[i].dims[1], want[k].d1);
	}
	for (int i = 0; i < n; i++) {
		const char *nm = tab[i].name;
		size_t cnt = nn_param_count(&tab[i]);
		double sum = 0;

		for (size_t k = 0; k < cnt; k++)
			sum += fabs(p[tab[i].offset + k]);
		/* identity at init: project BN gamma of blocks residual in
		 * the max subnet (s1.b0, s1.b1, s2.b1, s4.b0 (8 != 10: no),
		 * s4.b1) and both ViT output projections */
		if (strcmp(nm, "s1.b0.project.bn.gamma") == 0 ||
		    strcmp(nm, "s1.b1.project.bn.gamma") == 0 ||
		    strcmp(nm, "s2.b1.project.bn.gamma") == 0 ||
		    strcmp(nm, "s4.b1.project.bn.gamma") == 0 ||
		    strstr(nm, ".proj.") != NULL || strstr(nm, ".mlp2.") != NULL)
			ck_assert_msg(sum == 0, "%s not zero at init", nm);
		else if (strstr(nm, "beta") == NULL && strstr(nm, "ln") == NULL)
			ck_assert_msg(sum > 0, "%s zero at init", nm);
		ck_assert_int_eq(tab[i].decay, strstr(nm, ".w") != NULL &&
		    tab[i].ndim > 1);
	}
	for (int i = 0; i < n; i++)
		if (strcmp(tab[i].name, "s2.b0.project.bn.gamma") == 0 ||
		    strcmp(tab[i].name, "s4.b0.project.bn.gamma") == 0)
			ck_assert(p[tab[i].offset] == 1.0f);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_gradient)
{
	nn_ctx *ctx = mkctx(1);
	nn_sn_spec sp = small_spec();
	nn_sn *s = mksn(ctx, &sp, BT, 2);
	nn_sn_active a;
	fd_stats st = { 0, 0 };
	unsigned seed = 11;

	randomize_params(s, 5);
	nn_sn_max(s, &a);
	check_gradient(ctx, s, &a, 0, 21, &st);
	min_active(&sp, &a, 8);
	check_gradient(ctx, s, &a, 0, 22, &st);
	for (int k = 0; k < 3; k++) {
		random_active(&sp, &a, &seed, 7);
		check_gradient(ctx, s, &a, 0, 23 + k, &st);
	}
	/* dropout and drop-connect, masks replayed */
	nn_sn_max(s, &a);
	a.res = 10;
	check_gradient(ctx, s, &a, 0.3f, 30, &st);
	fprintf(stderr, "gradient: %d directional checks\n", st.tensors);
	ck_assert_msg(st.tensors > 300, "only %d checks", st.tensors);
	ck_assert_msg(st.bad == 0, "%d of %d directional derivatives off",
	    st.bad, st.tensors);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

/* Backward accumulates: two backwards of one forward give exactly twice
 * one; and a second subnet's gradient adds to the first's. */
START_TEST(test_accumulate)
{
	nn_ctx *ctx = mkctx(2);
	nn_sn_spec sp = small_spec();
	nn_sn *s = mksn(ctx, &sp, 4, 3);
	h4h_err err = { "" };
	size_t np = nn_sn_nparams(s);
	float *x = random_input(4, SMALL_HW, 2, 9), R[4 * 5];
	float *g = nn_sn_grads(s), *g1 = malloc(np * sizeof *g1);
	float *g2 = malloc(np * sizeof *g2);
	nn_sn_active a;
	unsigned seed = 3;
	float gmax = 0;

	randomize_params(s, 8);
	for (int i = 0; i < 20; i++)
		R[i] = urand(&seed, -1, 1);
	random_active(&sp, &a, &seed, 8);
	OK(nn_sn_set_active(s, &a, &err));
	nn_sn_zero_grads(s);
	OK(nn_sn_forward(s, x, 4, NN_BN_TRAIN, 0, &err));
	OK(nn_sn_backward(s, R, &err));
	memcpy(g1, g, np * sizeof *g);
	OK(nn_sn_backward(s, R, &err));
	/* GEMMs add their partial sums into the accumulator one block at a
	 * time, so an entry that is a small difference of large terms may
	 * move by the rounding of those terms: 1e-6 of the largest entry */
	for (size_t i = 0; i < np; i++)
		gmax = fmaxf(gmax, fabsf(g1[i]));
	for (size_t i = 0; i < np; i++)
		ck_assert_msg(fabsf(g[i] - 2 * g1[i]) <= 1e-6f * (fabsf(g1[i]) +
		    gmax), "entry %zu: %g != 2 x %g", i, g[i], g1[i]);
	/* max subnet alone, then both summed */
	nn_sn_max(s, &a);
	OK(nn_sn_set_active(s, &a, &err));
	nn_sn_zero_grads(s);
	OK(nn_sn_forward(s, x, 4, NN_BN_TRAIN, 0, &err));
	OK(nn_sn_backward(s, R, &err));
	memcpy(g2, g, np * sizeof *g);
	for (size_t i = 0; i < np; i++)
		g[i] = g1[i];
	OK(nn_sn_forward(s, x, 4, NN_BN_TRAIN, 0, &err));
	OK(nn_sn_backward(s, R, &err));
	for (size_t i = 0; i < np; i++)
		ck_assert_msg(fabsf(g[i] - (g1[i] + g2[i])) <= 1e-6f *
		    (fabsf(g1[i]) + fabsf(g2[i]) + gmax), "entry %zu: %g vs %g + %g",
		    i, g[i], g1[i], g2[i]);
	free(g1);
	free(g2);
	free(x);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

/* Frozen groups: their gradients stay exactly 0, every other one equals
 * the unfrozen backward's bit for bit. */
START_TEST(test_frozen)
{
	nn_ctx *ctx = mkctx(1);
	nn_sn_spec sp = small_spec();
	nn_sn *s = mksn(ctx, &sp, 4, 4);
	h4h_err err = { "" };
	size_t np = nn_sn_nparams(s);
	float *x = random_input(4, SMALL_HW, 2, 10), R[4 * 5];
	float *g = nn_sn_grads(s), *ref = malloc(np * sizeof *ref);
	const int *grp = nn_sn_param_groups(s);
	int n;
	const nn_param *tab = nn_sn_param_table(s, &n);
	nn_sn_active a;
	unsigned seed = 4;

	randomize_params(s, 9);
	for (int i = 0; i < 20; i++)
		R[i] = urand(&seed, -1, 1);
	for (int sub = 0; sub < 3; sub++) {
		if (sub == 0)
			nn_sn_max(s, &a);
		else
			random_active(&sp, &a, &seed, 8);
		OK(nn_sn_set_active(s, &a, &err));
		nn_sn_set_frozen(s, 0);
		nn_sn_zero_grads(s);
		OK(nn_sn_forward(s, x, 4, NN_BN_TRAIN, 0, &err));
		OK(nn_sn_backward(s, R, &err));
		memcpy(ref, g, np * sizeof *g);
		for (unsigned mask = 1; mask < 8; mask++) {
			nn_sn_set_frozen(s, mask);
			nn_sn_zero_grads(s);
			OK(nn_sn_forward(s, x, 4, NN_BN_TRAIN, 0, &err));
			OK(nn_sn_backward(s, R, &err));
			for (int t = 0; t < n; t++) {
				int fz = (grp[t] & mask) != 0;

				for (size_t i = 0; i < nn_param_count(&tab[t]);
				    i++) {
					size_t k = tab[t].offset + i;

					ck_assert_msg(g[k] == (fz ? 0.0f :
					    ref[k]), "mask %u %s[%zu]: %g vs "
					    "%g", mask, tab[t].name, i, g[k],
					    fz ? 0.0f : ref[k]);
				}
			}
		}
	}
	nn_sn_set_frozen(s, 0);
	free(ref);
	free(x);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

/* A depth-0 vit stage is the identity: the same net without that stage
 * (weights copied under the shifted names) gives the same logits; and a
 * fresh vit block is the identity too (zero output projections). */
START_TEST(test_vit_depth0_identity)
{
	nn_ctx *ctx = mkctx(1);
	nn_sn_spec sp = small_spec(), sp2 = sp;
	nn_sn *s = mksn(ctx, &sp, 3, 5), *s2;
	h4h_err err = { "" };
	float *x = random_input(3, SMALL_HW, 2, 12), *l1 = malloc(15 * 4);
	nn_sn_active a, a2;
	int n, n2;
	const nn_param *tab, *tab2;

	/* fresh weights: vit at depth 1 vs 0 */
	nn_sn_max(s, &a);
	OK(nn_sn_set_active(s, &a, &err));
	OK(nn_sn_forward(s, x, 3, NN_BN_TRAIN, 0, &err));
	memcpy(l1, nn_sn_logits(s), 15 * sizeof(float));
	a.st[5].depth = 0;
	a.st[3].depth = 0;
	OK(nn_sn_set_active(s, &a, &err));
	OK(nn_sn_forward(s, x, 3, NN_BN_TRAIN, 0, &err));
	for (int i = 0; i < 15; i++)
		ck_assert_msg(fabsf(l1[i] - nn_sn_logits(s)[i]) <= 1e-5f *
		    (1 + fabsf(l1[i])), "fresh vit not the identity: %g vs %g",
		    l1[i], nn_sn_logits(s)[i]);
	/* random weights: drop stage 5 from the spec */
	randomize_params(s, 13);
	sp2.n_stages = 6;
	sp2.st[5] = sp.st[6];
	s2 = mksn(ctx, &sp2, 3, 6);
	tab = nn_sn_param_table(s, &n);
	tab2 = nn_sn_param_table(s2, &n2);
	for (int i = 0; i < n2; i++) {
		char nm[64];
		int j = 0;

		if (strncmp(tab2[i].name, "s5.", 3) == 0)
			snprintf(nm, sizeof nm, "s6.%s", tab2[i].name + 3);
		else
			snprintf(nm, sizeof nm, "%s", tab2[i].name);
		while (j < n && strcmp(tab[j].name, nm) != 0)
			j++;
		ck_assert_msg(j < n, "no %s", nm);
		memcpy(nn_sn_params(s2) + tab2[i].offset, nn_sn_params(s) +
		    tab[j].offset, nn_param_count(&tab[j]) * sizeof(float));
	}
	nn_sn_max(s, &a);
	a.st[5].depth = 0;
	a.res = 11;
	nn_sn_max(s2, &a2);
	for (int i = 0; i < 5; i++)
		a2.st[i] = a.st[i];
	a2.st[5] = a.st[6];
	a2.res = 11;
	OK(nn_sn_set_active(s, &a, &err));
	OK(nn_sn_set_active(s2, &a2, &err));
	OK(nn_sn_forward(s, x, 3, NN_BN_TRAIN, 0, &err));
	OK(nn_sn_forward(s2, x, 3, NN_BN_TRAIN, 0, &err));
	for (int i = 0; i < 15; i++)
		ck_assert_msg(nn_sn_logits(s)[i] == nn_sn_logits(s2)[i],
		    "logit %d: %g vs %g", i, nn_sn_logits(s)[i],
		    nn_sn_logits(s2)[i]);
	free(l1);
	free(x);
	nn_sn_destroy(s);
	nn_sn_destroy(s2);
	nn_ctx_destroy(ctx);
}
END_TEST

static void
logits_near(const float *a, const float *b, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-5f * (1 + fabsf(a[i])),
		    "%s: logit %d: %.8g vs %.8g", what, i, a[i], b[i]);
}

/* The extracted subnet computes what the supernet's slice computes: after
 * BN recalibration in INFER mode, and in TRAIN mode. */
START_TEST(test_extract)
{
	nn_ctx *ctx = mkctx(2);
	nn_sn_spec sp = small_spec();
	nn_sn *s = mksn(ctx, &sp, 6, 7), *e;
	h4h_err err = { "" };
	float *x = random_input(6, SMALL_HW, 2, 14), *xr;
	nn_sn_active a;
	unsigned seed = 77;

	randomize_params(s, 14);
	for (int k = 0; k < 4; k++) {
		if (k == 0)
			nn_sn_max(s, &a);
		else if (k == 1)
			min_active(&sp, &a, 9);
		else
			random_active(&sp, &a, &seed, 6);
		OK(nn_sn_set_active(s, &a, &err));
		for (int r = 0; r < 3; r++) {
			float *xb = random_input(6, SMALL_HW, 2, 100 + r);

			OK(nn_sn_forward(s, xb, 6, NN_BN_RECAL, r, &err));
			free(xb);
		}
		OK(nn_sn_extract(ctx, s, 6, &e, &err));
		ck_assert_int_eq(nn_sn_spec_of(e)->in_hw, a.res);
		ck_assert(nn_sn_macs(e) == nn_sn_macs(s));
		/* the extracted net takes the resized batch */
		xr = malloc(sizeof(float) * 6 * a.res * a.res * 2);
		nn_resize_bilinear_forward(xr, x, 6, SMALL_HW, SMALL_HW, 2, a.res,
		    a.res);
		OK(nn_sn_forward(s, x, 6, NN_BN_INFER, 0, &err));
		OK(nn_sn_forward(e, xr, 6, NN_BN_INFER, 0, &err));
		logits_near(nn_sn_logits(s), nn_sn_logits(e), 30, "infer");
		OK(nn_sn_forward(s, x, 5, NN_BN_TRAIN, 0, &err));
		OK(nn_sn_forward(e, xr, 5, NN_BN_TRAIN, 0, &err));
		logits_near(nn_sn_logits(s), nn_sn_logits(e), 25, "train");
		free(xr);
		nn_sn_destroy(e);
	}
	free(x);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

/* nn_sn_macs against the simulator's count of the lowered architecture. */
static long long
sim_macs(const nn_sn_spec *sp, const nn_sn_active *a)
{
	sim_arch ar;
	sim_net *net;
	h4h_err err = { "" };
	long long m = 0;
	static const sim_block kinds[] = { SIM_BLOCK_CONV, SIM_BLOCK_MBCONV,
	    SIM_BLOCK_VIT, SIM_BLOCK_MBPOOL };

	memset(&ar, 0, sizeof ar);
	snprintf(ar.name, sizeof ar.name, "sn");
	ar.resolution = a->res;
	ar.in_channels = sp->in_ch;
	ar.classes = sp->classes;
	ar.n_stages = sp->n_stages;
	for (int i = 0; i < sp->n_stages; i++) {
		sim_arch_stage *t = &ar.stages[i];
		int k = sp->st[i].kind;

		t->kind = kinds[k];
		t->width = a->st[i].width;
		t->depth = k == NN_SN_MBCONV || k == NN_SN_VIT ?
		    a->st[i].depth : 1;
		t->expand = k == NN_SN_MBCONV || k == NN_SN_MBPOOL ?
		    a->st[i].expand : 1;
		t->stride = k == NN_SN_CONV || k == NN_SN_MBCONV ?
		    sp->st[i].stride : 1;
		t->mlp_ratio = a->st[i].mlp;
	}
	OK(sim_arch_lower(&ar, "sn", &net, &err));
	for (int i = 0; i < net->n_layers; i++)
		m += sim_layer_macs(&net->layers[i]);
	sim_net_destroy(net);
	return m;
}

START_TEST(test_macs_parity)
{
	nn_ctx *ctx = mkctx(1);
	nn_sn_spec sp = small_spec(), fm = fmnist_spec();
	nn_sn *s = mksn(ctx, &sp, 1, 1), *f;
	h4h_err err = { "" };
	nn_sn_active a;
	unsigned seed = 5;
	int zero_depth = 0;

	nn_sn_max(s, &a);
	OK(nn_sn_set_active(s, &a, &err));
	ck_assert_int_eq(nn_sn_macs(s), sim_macs(&sp, &a));
	min_active(&sp, &a, 8);
	OK(nn_sn_set_active(s, &a, &err));
	ck_assert_int_eq(nn_sn_macs(s), sim_macs(&sp, &a));
	for (int k = 0; k < 12; k++) {
		random_active(&sp, &a, &seed, 8);
		for (int i = 0; i < sp.n_stages; i++)
			zero_depth += a.st[i].depth == 0;
		OK(nn_sn_set_active(s, &a, &err));
		ck_assert_int_eq(nn_sn_macs(s), sim_macs(&sp, &a));
	}
	ck_assert(zero_depth > 0);
	/* the proxy space: max, min at 19, random at its resolutions */
	f = mksn(ctx, &fm, 1, 1);
	nn_sn_max(f, &a);
	ck_assert_int_eq(nn_sn_macs(f), sim_macs(&fm, &a));
	min_active(&fm, &a, 19);
	OK(nn_sn_set_active(f, &a, &err));
	ck_assert_int_eq(nn_sn_macs(f), sim_macs(&fm, &a));
	for (int k = 0; k < 4; k++) {
		random_active(&fm, &a, &seed, 19);
		a.res = 19 + 3 * (k % 4);
		OK(nn_sn_set_active(f, &a, &err));
		ck_assert_int_eq(nn_sn_macs(f), sim_macs(&fm, &a));
	}
	nn_sn_destroy(f);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

/* Nothing allocates in a step, whatever the subnet, resolution, batch or
 * BN mode. */
START_TEST(test_no_lazy_allocs)
{
	nn_ctx *ctx = mkctx(2);
	nn_sn_spec sp = small_spec();
	nn_sn *s = mksn(ctx, &sp, 8, 8);
	h4h_err err = { "" };
	float *x = random_input(8, SMALL_HW, 2, 15), R[8 * 5];
	long lazy = nn_ctx_lazy_allocs(ctx);
	size_t ws = nn_ctx_workspace_size(ctx);
	nn_sn_active a;
	unsigned seed = 15;

	for (int i = 0; i < 40; i++)
		R[i] = urand(&seed, -1, 1);
	nn_sn_set_regularization(s, 0.2f, 0.2f);
	for (int k = 0; k < 20; k++) {
		int b = 2 + (int)(lcg(&seed) % 7);

		random_active(&sp, &a, &seed, 1);
		OK(nn_sn_set_active(s, &a, &err));
		nn_sn_set_frozen(s, k % 3 == 0 ? NN_SN_G_CNN : 0);
		OK(nn_sn_forward(s, x, b, k % 4 == 1 ? NN_BN_RECAL : NN_BN_TRAIN,
		    0, &err));
		OK(nn_sn_backward(s, R, &err));
		OK(nn_sn_forward(s, x, b, NN_BN_INFER, 0, &err));
	}
	ck_assert_int_eq(nn_ctx_lazy_allocs(ctx), lazy);
	ck_assert(nn_ctx_workspace_size(ctx) == ws);
	free(x);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

/* Random running statistics (mean +-0.5, var 0.3..2), so that every
 * eval-mode BN is a real affine map. */
static void
randomize_state(nn_sn *s, unsigned seed)
{
	int n;
	const nn_param *tab = nn_sn_state_table(s, &n);
	float *v = nn_sn_state(s);

	for (int t = 0; t < n; t++) {
		int var = strstr(tab[t].name, "running_var") != NULL;

		for (size_t i = 0; i < nn_param_count(&tab[t]); i++)
			v[tab[t].offset + i] = var ? urand(&seed, 0.3f, 2.0f) :
			    urand(&seed, -0.5f, 0.5f);
	}
}

/*
 * The fused inference forward (nn_conv2d_bn_infer) against the two-pass
 * reference, logits bit for bit: the accuracy dataset beside a checkpoint
 * holds scores of the reference, so one changed float could change a
 * score.  The fmnist space at batches whose rows split unevenly over the
 * threads and into several fused blocks with ragged ends, max, min and
 * random subnets; the small space at batch 2 takes the fallback for maps
 * with fewer rows than channels.
 */
START_TEST(test_fused_infer_exact)
{
	static const int batches[] = { 37, 40, 13 };
	nn_ctx *ctx = mkctx(2);
	nn_sn_spec sp = fmnist_spec(), ss = small_spec();
	nn_sn *s = mksn(ctx, &sp, 40, 21), *t = mksn(ctx, &ss, 2, 22);
	float *x = random_input(40, 28, 1, 23), *ref;
	h4h_err err = { "" };
	nn_sn_active a;
	unsigned seed = 24;
	int differ = 0, argmax_differ = 0, runs = 0;

	randomize_params(s, 25);
	randomize_state(s, 26);
	randomize_params(t, 27);
	randomize_state(t, 28);
	ref = malloc(sizeof(float) * 40 * 10);
	for (int k = 0; k < 14; k++) {
		nn_sn *u = k == 13 ? t : s;
		int b = k == 13 ? 2 : batches[k % 3], K = k == 13 ? 5 : 10;
		const float *lg;

		if (k == 0)
			nn_sn_max(s, &a);
		else if (k == 1)
			min_active(&sp, &a, 19);
		else if (k == 13)
			nn_sn_max(t, &a);
		else
			random_active(&sp, &a, &seed, 19);
		OK(nn_sn_set_active(u, &a, &err));
		nn_sn_set_fused(u, 0);
		OK(nn_sn_forward(u, x, b, NN_BN_INFER, 0, &err));
		memcpy(ref, nn_sn_logits(u), sizeof(float) * b * K);
		nn_sn_set_fused(u, 1);
		OK(nn_sn_forward(u, x, b, NN_BN_INFER, 0, &err));
		lg = nn_sn_logits(u);
		differ += memcmp(ref, lg, sizeof(float) * b * K) != 0;
		for (int i = 0; i < b; i++) {
			int p = 0, q = 0;

			for (int c = 1; c < K; c++) {
				p = ref[i * K + c] > ref[i * K + p] ? c : p;
				q = lg[i * K + c] > lg[i * K + q] ? c : q;
			}
			argmax_differ += p != q;
		}
		runs++;
	}
	ck_assert_msg(differ == 0 && argmax_differ == 0, "fused inference "
	    "differs from the reference on %d of %d forwards (%d "
	    "predictions)", differ, runs, argmax_differ);
	free(ref);
	free(x);
	nn_sn_destroy(s);
	nn_sn_destroy(t);
	nn_ctx_destroy(ctx);
}
END_TEST

/* PyTorch's F.interpolate(bilinear, align_corners=False) by hand. */
START_TEST(test_resize)
{
	/* 4x4 -> 2x2: sources at 0.5 and 2.5, the mean of each 2x2 block */
	float in[16], out[9];
	/* 3x3 -> 2x2: scale 1.5, sources 0.25 and 1.75 */
	float in3[9] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };

	for (int i = 0; i < 16; i++)
		in[i] = (float)(i * i % 7);
	nn_resize_bilinear_forward(out, in, 1, 4, 4, 1, 2, 2);
	for (int oh = 0; oh < 2; oh++)
		for (int ow = 0; ow < 2; ow++) {
			int r = 2 * oh, c = 2 * ow;
			float m = (in[r * 4 + c] + in[r * 4 + c + 1] +
			    in[(r + 1) * 4 + c] + in[(r + 1) * 4 + c + 1]) / 4;

			ck_assert(fabsf(out[oh * 2 + ow] - m) < 1e-6f);
		}
	nn_resize_bilinear_forward(out, in3, 1, 3, 3, 1, 2, 2);
	/* value(r, c) = 3 r + c is linear: the result is 3 r_src + c_src */
	ck_assert(fabsf(out[0] - (3 * 0.25f + 0.25f)) < 1e-6f);
	ck_assert(fabsf(out[1] - (3 * 0.25f + 1.75f)) < 1e-6f);
	ck_assert(fabsf(out[3] - (3 * 1.75f + 1.75f)) < 1e-6f);
	/* 2x2 -> 3x3 upscale clamps at 0 and at the border: source of row
	 * 0 is max(-1/6, 0) = 0, of row 2 is 7/6 -> row 1 only */
	float in2[4] = { 0, 1, 2, 3 };
	nn_resize_bilinear_forward(out, in2, 1, 2, 2, 1, 3, 3);
	ck_assert(fabsf(out[0] - 0) < 1e-6f);
	ck_assert(fabsf(out[8] - 3) < 1e-6f);
	ck_assert(fabsf(out[4] - (2 * 0.5f + 0.5f)) < 1e-6f);
}
END_TEST

/* ---- Errors ---------------------------------------------------------------- */

static void
expect_active_error(nn_sn *s, const nn_sn_active *a, const char *stage,
    const char *key)
{
	h4h_err err = { "" };
	nn_sn_active before, after;

	nn_sn_get_active(s, &before);
	ck_assert_int_eq(nn_sn_set_active(s, a, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, stage) != NULL &&
	    strstr(err.msg, key) != NULL && strchr(err.msg, '\n') == NULL,
	    "message '%s' should name %s and %s", err.msg, stage, key);
	nn_sn_get_active(s, &after);
	ck_assert(memcmp(&before, &after, sizeof before) == 0);
}

START_TEST(test_set_active_errors)
{
	nn_ctx *ctx = mkctx(1);
	nn_sn_spec sp = small_spec(), bad;
	nn_sn *s = mksn(ctx, &sp, 2, 1), *t;
	h4h_err err = { "" };
	nn_sn_active a, m;
	float x[2 * SMALL_HW * SMALL_HW * 2] = { 0 };

	nn_sn_max(s, &m);
	a = m; a.st[0].width = 7;
	expect_active_error(s, &a, "stage 0", "'width'");
	a = m; a.st[1].width = 0;
	expect_active_error(s, &a, "stage 1", "'width'");
	a = m; a.st[3].width = 12;
	expect_active_error(s, &a, "stage 3", "'width'");
	a = m; a.st[2].depth = 3;
	expect_active_error(s, &a, "stage 2", "'depth'");
	a = m; a.st[5].depth = -1;
	expect_active_error(s, &a, "stage 5", "'depth'");
	a = m; a.st[2].depth = 0;	/* stride 2 */
	expect_active_error(s, &a, "stage 2", "'depth'");
	a = m; a.st[2].expand = 1;
	expect_active_error(s, &a, "stage 2", "'expand'");
	a = m; a.st[1].expand = 2;
	expect_active_error(s, &a, "stage 1", "'expand'");
	a = m; a.st[6].expand = 3;
	expect_active_error(s, &a, "stage 6", "'expand'");
	a = m; a.st[3].mlp = 2.5f;
	expect_active_error(s, &a, "stage 3", "'mlp'");
	a = m; a.st[5].mlp = 0;
	expect_active_error(s, &a, "stage 5", "'mlp'");
	a = m; a.res = SMALL_HW + 1;
	expect_active_error(s, &a, "supernet", "'res'");
	/* batch, mode, and backward without a batch-statistics forward */
	ck_assert_int_eq(nn_sn_forward(s, x, 3, NN_BN_TRAIN, 0, &err),
	    H4H_EINPUT);
	ck_assert(strstr(err.msg, "batch 3") != NULL);
	ck_assert_int_eq(nn_sn_forward(s, x, 2, 7, 0, &err), H4H_EINPUT);
	ck_assert_int_eq(nn_sn_backward(s, x, &err), H4H_EINPUT);
	OK(nn_sn_forward(s, x, 2, NN_BN_INFER, 0, &err));
	ck_assert_int_eq(nn_sn_backward(s, x, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, "INFER") != NULL);
	/* bad specs */
	bad = sp; bad.st[3].width = 20;
	ck_assert_int_eq(nn_sn_create(ctx, &bad, 2, 1, &t, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, "stage 3") && strstr(err.msg, "'width'"));
	ck_assert(t == NULL);
	bad = sp; bad.n_stages = 6;
	ck_assert_int_eq(nn_sn_create(ctx, &bad, 2, 1, &t, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, "stage 5") != NULL);
	bad = sp; bad.st[2].stride = 3;
	ck_assert_int_eq(nn_sn_create(ctx, &bad, 2, 1, &t, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, "'stride'") != NULL);
	ck_assert_int_eq(nn_sn_create(ctx, &sp, 0, 1, &t, &err), H4H_EINPUT);
	nn_sn_destroy(s);
	nn_ctx_destroy(ctx);
}
END_TEST

static Suite *
nn_supernet_suite(void)
{
	Suite *s = suite_create("nn_supernet");
	TCase *core = tcase_create("Core"), *err = tcase_create("Errors");

	/* well under a second alone; OpenMP spin-waits on a loaded 2-core
	 * machine can stretch that many times */
	tcase_set_timeout(core, 60);
	tcase_add_test(core, test_tables);
	tcase_add_test(core, test_gradient);
	tcase_add_test(core, test_accumulate);
	tcase_add_test(core, test_frozen);
	tcase_add_test(core, test_vit_depth0_identity);
	tcase_add_test(core, test_extract);
	tcase_add_test(core, test_macs_parity);
	tcase_add_test(core, test_no_lazy_allocs);
	tcase_add_test(core, test_resize);
	tcase_add_test(core, test_fused_infer_exact);
	suite_add_tcase(s, core);
	tcase_add_test(err, test_set_active_errors);
	suite_add_tcase(s, err);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nn_supernet_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
