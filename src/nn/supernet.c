/*
 * supernet.c - the elastic weight-sharing supernet (supernet.h).
 *
 * Layout.  Every layer is built once at its maximum shape: weights in the
 * parameter slab (PyTorch shapes, ops.h), running statistics in the state
 * slab, and its output activation buffer sized for B images at the full
 * resolution and maximum width.  A subnet is a first-k slice of all of
 * them: the ops take active widths and read the leading weight block in
 * place (ops.h), activations are dense in their active channel count.
 * Backward needs only five more buffers (two ping-pong gradients between
 * blocks, three scratch inside one), each as large as the largest
 * activation.  An inference forward (NN_BN_INFER, which backward refuses)
 * writes its MBConv and ViT maps into those five instead (mb_infer,
 * vit_infer), with each conv fused with its BN: the same floats.
 *
 * The layers and their order mirror src/sim/front/arch.c's lowering (that
 * file's header lists them), with the batch norms it folds away:
 *   conv     conv 3x3 /s, BN + hswish
 *   mbconv   per block j < depth: [expand 1x1 C -> C*e, BN + hswish]
 *            (when the stage max e > 1), dw 3x3 /s (j == 0 only), BN +
 *            hswish, project 1x1 -> width, BN, [+ input: s == 1 and the
 *            ACTIVE input width equals the active width]
 *   vit      per block: ln1, qkv C -> 3W, attention (W/8 heads of 8, no
 *            position bias: the token grid changes with resolution), proj
 *            W -> C, + input, ln2, mlp1 C -> round(C * mlp), GELU, mlp2
 *            -> C, + input
 *   mbpool   expand 1x1 C -> C*e, BN + hswish, global average pool, mix
 *            linear -> width, hswish, dropout, classifier
 * so the MACs counted by nn_sn_macs are exactly spec/net.c's for that
 * lowering.
 *
 * Convolutions run the hand paths (cv.impl = NN_IMPL_HAND): oneDNN needs a
 * primitive per (batch, resolution, active widths), thousands of them over
 * a search space, each a JIT compile and an allocation.
 *
 * Backward works in "units", the layers with parameters in forward order
 * (a conv and its BN are two).  The first unit with a trainable tensor
 * bounds the work: no unit below it runs, and it computes no input
 * gradient; frozen tensors get no weight-gradient computation at all.
 */
#include "nn/supernet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_LEN 48
#define HD NN_SN_HEAD_DIM
#define DEPTH_MAX 64
#define EXPAND_MAX 16
#define WIDTH_MAX 65536
#define MLP_MAX 16.0f

enum init { I_UNIFORM, I_ONE, I_ZERO };

/* conv, then BN (+ hswish fused): units u (conv) and u + 1 (BN). */
typedef struct cbn {
	nn_conv2d cv;
	nn_batchnorm bn;
	int w, g, b;		/* param indices: weight, gamma, beta */
	int rm, rv;		/* state indices */
	int act;		/* 1: BN + hswish */
	float *y, *out;		/* conv output, BN (+ act) output */
	float *mean, *rstd;	/* batch statistics (C) */
	/* the active shape (set_active) and the last forward */
	int H, IC, OC, OH;
	const float *in;
	int u;
} cbn;

typedef struct lin {
	int w, b, ICmax;
	float *out;
	int IC, OC;
	const float *in;
	int u;
} lin;

typedef struct lnorm {
	int w, b;
	float *out, *mean, *rstd;
	const float *in;
	int u;
} lnorm;

typedef struct mbblk {
	cbn exp, dw, proj;
	int has_exp;
	int res;		/* active: the shortcut is taken */
	int ri;			/* index among residual branches, or -1 */
	float dc;		/* drop-connect rate of the last forward */
	float *dcs;		/* (B) its per-sample scales */
	const float *in;
} mbblk;

typedef struct vitblk {
	lnorm ln1, ln2;
	lin qkv, proj, mlp1, mlp2;
	float *att, *o, *hg;
	float *dcs1, *dcs2;
	float dc;
	int ri;
	int T, C, Wq, NH, hid;	/* active */
	const float *in;
} vitblk;

typedef struct stage {
	int kind;
	int n;			/* blocks at max depth */
	cbn conv;		/* conv stage; mbpool's expand */
	mbblk *mb;
	vitblk *vit;
	lin mix, cls;
	float *pool, *mixa, *drop;
	uint8_t *mask;
	float p;		/* dropout of the last forward */
	int HW, mid;		/* mbpool active: map pixels, expanded width */
} stage;

struct nn_sn {
	nn_ctx *ctx;
	nn_sn_spec spec;
	nn_sn_active act;
	int B, b;
	int fwd_ok, bn_mode;
	int fused;		/* NN_BN_INFER: conv + BN fused (1 at create) */
	float dropout, dropconnect;
	uint64_t rng;
	unsigned frozen;
	int n_res;		/* active residual branches */
	stage st[NN_SN_MAX_STAGES];
	float *xin;		/* (B, in_hw, in_hw, in_ch): resized input */
	float *G[2], *S[3];
	size_t amax;		/* floats per image of the largest tensor */

	nn_param *params, *state;
	int *groups, *init, *fan_in;
	int n_params, n_state, cap_params, cap_state;
	size_t n_p, n_s;
	float *p, *g, *s;

	int (*uparam)[3];	/* units of the last forward: param indices */
	int n_units, cap_units, first;

	void **allocs;
	int n_allocs, cap_allocs;
};

/* ---- building ------------------------------------------------------------ */

static void *
alloc(nn_sn *s, size_t n, size_t size)
{
	void *p = h4h_xcalloc(n ? n : 1, size);

	if (s->n_allocs == s->cap_allocs) {
		s->cap_allocs = s->cap_allocs ? 2 * s->cap_allocs : 64;
		s->allocs = h4h_xrealloc(s->allocs, sizeof(void *) *
		    (size_t)s->cap_allocs);
	}
	s->allocs[s->n_allocs++] = p;
	return p;
}

/* An activation buffer of per_image floats for each of B images; also
 * grows the scratch size. */
static float *
act_buf(nn_sn *s, size_t per_image)
{
	if (per_image > s->amax)
		s->amax = per_image;
	return alloc(s, per_image * (size_t)s->B, sizeof(float));
}

static int
new_tensor(nn_sn *s, int state, const char *prefix, const char *suffix,
    int ndim, const int *dims, int group, int init, int fan_in)
{
	int *n = state ? &s->n_state : &s->n_params;
	int *cap = state ? &s->cap_state : &s->cap_params;
	nn_param **tab = state ? &s->state : &s->params;
	nn_param *t;
	size_t cnt = 1;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*tab = h4h_xrealloc(*tab, sizeof **tab * (size_t)*cap);
		if (!state) {
			s->groups = h4h_xrealloc(s->groups, sizeof(int) * *cap);
			s->init = h4h_xrealloc(s->init, sizeof(int) * *cap);
			s->fan_in = h4h_xrealloc(s->fan_in, sizeof(int) * *cap);
		}
	}
	t = &(*tab)[*n];
	memset(t, 0, sizeof *t);
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++) {
		t->dims[i] = dims[i];
		cnt *= (size_t)dims[i];
	}
	if (state) {
		t->offset = s->n_s;
		s->n_s += cnt;
	} else {
		t->offset = s->n_p;
		t->decay = init == I_UNIFORM && ndim > 1;
		s->n_p += cnt;
		s->groups[*n] = group;
		s->init[*n] = init;
		s->fan_in[*n] = fan_in;
	}
	{
		char buf[NAME_LEN];

		snprintf(buf, sizeof buf, "%s.%s", prefix, suffix);
		t->name = h4h_xstrdup(buf);
	}
	return (*n)++;
}

static void
count_unit(nn_sn *s)
{
	s->cap_units++;
}

/* conv (k x k, stride, groups) + BN (+ hswish) on an H x H map. */
static void
build_cbn(nn_sn *s, cbn *c, const char *name, int H, int IC, int OC, int k,
    int stride, int groups, int act)
{
	char sub[NAME_LEN];
	int dims[4] = { OC, IC / groups, k, k };
	int OH = (H - 1) / stride + 1;

	c->cv = (nn_conv2d){ IC, OC, k, k, stride, k / 2, groups, 0,
	    NN_IMPL_HAND };
	c->bn = (nn_batchnorm){ OC, 1e-5f, 0.1f };
	c->act = act;
	c->w = new_tensor(s, 0, name, "w", 4, dims, NN_SN_G_CNN, I_UNIFORM,
	    IC / groups * k * k);
	snprintf(sub, sizeof sub, "%s.bn", name);
	c->g = new_tensor(s, 0, sub, "gamma", 1, &OC, NN_SN_G_BN, I_ONE, 0);
	c->b = new_tensor(s, 0, sub, "beta", 1, &OC, NN_SN_G_BN, I_ZERO, 0);
	c->rm = new_tensor(s, 1, sub, "running_mean", 1, &OC, 0, I_ZERO, 0);
	c->rv = new_tensor(s, 1, sub, "running_var", 1, &OC, 0, I_ONE, 0);
	c->y = act_buf(s, (size_t)OH * OH * OC);
	c->out = act_buf(s, (size_t)OH * OH * OC);
	c->mean = alloc(s, (size_t)OC, sizeof(float));
	c->rstd = alloc(s, (size_t)OC, sizeof(float));
	count_unit(s);
	count_unit(s);
}

static void
build_lin(nn_sn *s, lin *l, const char *name, int rows, int IC, int OC,
    int group)
{
	int dims[2] = { OC, IC };

	l->ICmax = IC;
	l->w = new_tensor(s, 0, name, "w", 2, dims, group, I_UNIFORM, IC);
	l->b = new_tensor(s, 0, name, "b", 1, &OC, group, I_UNIFORM, IC);
	l->out = act_buf(s, (size_t)rows * OC);
	count_unit(s);
}

static void
build_ln(nn_sn *s, lnorm *l, const char *name, int T, int C)
{
	l->w = new_tensor(s, 0, name, "w", 1, &C, NN_SN_G_VIT, I_ONE, 0);
	l->b = new_tensor(s, 0, name, "b", 1, &C, NN_SN_G_VIT, I_ZERO, 0);
	l->out = act_buf(s, (size_t)T * C);
	l->mean = act_buf(s, (size_t)T);
	l->rstd = act_buf(s, (size_t)T);
	count_unit(s);
}

static int
vit_hidden(int C, float mlp)
{
	/* in double, as arch.c computes it from the same ratio */
	return (int)(C * (double)mlp + 0.5);
}

static const char *const kind_names[] = { "conv", "mbconv", "vit",
    "mbpool" };

static int
bad_stage(h4h_err *err, int i, int kind, const char *key, const char *fmt,
    int got)
{
	char what[160];

	snprintf(what, sizeof what, fmt, got);
	return h4h_errf(err, H4H_EINPUT, "nn: supernet: stage %d (%s): '%s' "
	    "%s", i, (unsigned)kind < 4 ? kind_names[kind] : "?", key, what);
}

static int
spec_check(const nn_sn_spec *sp, h4h_err *err)
{
	int C = sp->in_ch;

	if (sp->in_hw < 1 || sp->in_hw > 4096 || sp->in_ch < 1 ||
	    sp->in_ch > WIDTH_MAX || sp->classes < 1 || sp->classes > (1 << 20))
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: in_hw, in_ch "
		    "or classes out of range (%d, %d, %d)", sp->in_hw,
		    sp->in_ch, sp->classes);
	if (sp->n_stages < 1 || sp->n_stages > NN_SN_MAX_STAGES)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: 1..%d stages "
		    "needed (got %d)", NN_SN_MAX_STAGES, sp->n_stages);
	for (int i = 0; i < sp->n_stages; i++) {
		const nn_sn_stage *t = &sp->st[i];
		int last = i == sp->n_stages - 1;

		if (t->kind < NN_SN_CONV || t->kind > NN_SN_MBPOOL)
			return h4h_errf(err, H4H_EINPUT, "nn: supernet: stage "
			    "%d: unknown kind %d", i, t->kind);
		if ((t->kind == NN_SN_MBPOOL) != last)
			return bad_stage(err, i, t->kind, "kind", last ?
			    "must be mbpool in the last stage (got %d)" :
			    "mbpool must be the last stage (got %d)", t->kind);
		if (t->width < 1 || t->width > WIDTH_MAX)
			return bad_stage(err, i, t->kind, "width", "must be in "
			    "1..65536 (got %d)", t->width);
		if ((t->kind == NN_SN_CONV || t->kind == NN_SN_MBCONV) &&
		    t->stride != 1 && t->stride != 2)
			return bad_stage(err, i, t->kind, "stride", "must be 1 "
			    "or 2 (got %d)", t->stride);
		if ((t->kind == NN_SN_MBCONV || t->kind == NN_SN_VIT) &&
		    (t->depth < 0 || t->depth > DEPTH_MAX))
			return bad_stage(err, i, t->kind, "depth", "must be in "
			    "0..64 (got %d)", t->depth);
		if (t->kind == NN_SN_MBCONV && t->depth == 0 && t->stride > 1)
			return bad_stage(err, i, t->kind, "depth", "0 needs "
			    "stride 1 (got stride %d)", t->stride);
		if ((t->kind == NN_SN_MBCONV || t->kind == NN_SN_MBPOOL) &&
		    (t->expand < 1 || t->expand > EXPAND_MAX))
			return bad_stage(err, i, t->kind, "expand", "must be in "
			    "1..16 (got %d)", t->expand);
		if (t->kind == NN_SN_VIT) {
			if (t->width % HD != 0)
				return bad_stage(err, i, t->kind, "width",
				    "must be a multiple of 8 (got %d)",
				    t->width);
			if (!(t->mlp > 0 && t->mlp <= MLP_MAX) ||
			    (t->depth > 0 && vit_hidden(C, t->mlp) < 1))
				return bad_stage(err, i, t->kind, "mlp", "must "
				    "be in (0, 16] and give a hidden width >= "
				    "1 (got %d / 1000)", (int)(t->mlp * 1000));
		}
		if (t->kind == NN_SN_CONV ||
		    (t->kind == NN_SN_MBCONV && t->depth > 0))
			C = t->width;
	}
	return 0;
}

/*
 * Lays out every layer.  C is the widest map a stage can receive: an
 * mbconv stage may run at depth 0 and pass its input through, so after it
 * the map is either its width or what came in.  Cmax is the channel count
 * in the max subnet (where the identity-at-init rule looks).
 */
static void
build(nn_sn *s)
{
	const nn_sn_spec *sp = &s->spec;
	int H = sp->in_hw, C = sp->in_ch, Cmax = C;
	char nm[NAME_LEN];

	s->xin = act_buf(s, (size_t)H * H * C);
	for (int i = 0; i < sp->n_stages; i++) {
		const nn_sn_stage *t = &sp->st[i];
		stage *st = &s->st[i];

		st->kind = t->kind;
		switch (t->kind) {
		case NN_SN_CONV:
			snprintf(nm, sizeof nm, "s%d.conv", i);
			build_cbn(s, &st->conv, nm, H, C, t->width, 3, t->stride,
			    1, 1);
			H = (H - 1) / t->stride + 1;
			C = Cmax = t->width;
			break;
		case NN_SN_MBCONV: {
			int Cin = C;

			st->n = t->depth;
			st->mb = alloc(s, (size_t)t->depth, sizeof(mbblk));
			for (int j = 0; j < t->depth; j++) {
				mbblk *m = &st->mb[j];
				int sj = j == 0 ? t->stride : 1;
				int IC = j == 0 ? Cin : t->width;
				int mid = t->expand > 1 ? IC * t->expand : IC;
				int OH = (H - 1) / sj + 1;

				m->has_exp = t->expand > 1;
				if (m->has_exp) {
					snprintf(nm, sizeof nm, "s%d.b%d.expand",
					    i, j);
					build_cbn(s, &m->exp, nm, H, IC, mid, 1,
					    1, 1, 1);
				}
				snprintf(nm, sizeof nm, "s%d.b%d.dw", i, j);
				build_cbn(s, &m->dw, nm, H, mid, mid, 3, sj,
				    mid, 1);
				snprintf(nm, sizeof nm, "s%d.b%d.project", i,
				    j);
				build_cbn(s, &m->proj, nm, OH, mid, t->width, 1,
				    1, 1, 0);
				/* identity at init where the max subnet has
				 * the shortcut (AttentiveNAS) */
				if (sj == 1 && Cmax == t->width)
					s->init[m->proj.g] = I_ZERO;
				m->dcs = alloc(s, (size_t)s->B, sizeof(float));
				H = OH;
				Cmax = t->width;
			}
			if (t->depth > 0 && t->width > C)
				C = t->width;
			break;
		}
		case NN_SN_VIT:
			st->n = t->depth;
			st->vit = alloc(s, (size_t)t->depth, sizeof(vitblk));
			for (int j = 0; j < t->depth; j++) {
				vitblk *v = &st->vit[j];
				int T = H * H, W = t->width;
				int hid = vit_hidden(C, t->mlp);

				snprintf(nm, sizeof nm, "s%d.vit%d.ln1", i, j);
				build_ln(s, &v->ln1, nm, T, C);
				snprintf(nm, sizeof nm, "s%d.vit%d.qkv", i, j);
				build_lin(s, &v->qkv, nm, T, C, 3 * W,
				    NN_SN_G_VIT);
				v->att = act_buf(s, (size_t)(W / HD) * T * T);
				v->o = act_buf(s, (size_t)T * W);
				snprintf(nm, sizeof nm, "s%d.vit%d.proj", i, j);
				build_lin(s, &v->proj, nm, T, W, C, NN_SN_G_VIT);
				snprintf(nm, sizeof nm, "s%d.vit%d.ln2", i, j);
				build_ln(s, &v->ln2, nm, T, C);
				snprintf(nm, sizeof nm, "s%d.vit%d.mlp1", i, j);
				build_lin(s, &v->mlp1, nm, T, C, hid,
				    NN_SN_G_VIT);
				v->hg = act_buf(s, (size_t)T * hid);
				snprintf(nm, sizeof nm, "s%d.vit%d.mlp2", i, j);
				build_lin(s, &v->mlp2, nm, T, hid, C,
				    NN_SN_G_VIT);
				/* both output projections start at 0: a new
				 * block is the identity */
				s->init[v->proj.w] = s->init[v->proj.b] = I_ZERO;
				s->init[v->mlp2.w] = s->init[v->mlp2.b] = I_ZERO;
				v->dcs1 = alloc(s, (size_t)s->B, sizeof(float));
				v->dcs2 = alloc(s, (size_t)s->B, sizeof(float));
			}
			break;
		default: {
			int mid = C * t->expand;

			snprintf(nm, sizeof nm, "s%d.expand", i);
			build_cbn(s, &st->conv, nm, H, C, mid, 1, 1, 1, 1);
			st->pool = act_buf(s, (size_t)mid);
			snprintf(nm, sizeof nm, "s%d.mix", i);
			build_lin(s, &st->mix, nm, 1, mid, t->width,
			    NN_SN_G_CNN);
			st->mixa = act_buf(s, (size_t)t->width);
			st->drop = act_buf(s, (size_t)t->width);
			st->mask = alloc(s, (size_t)s->B * t->width, 1);
			snprintf(nm, sizeof nm, "s%d.classifier", i);
			build_lin(s, &st->cls, nm, 1, t->width, sp->classes,
			    NN_SN_G_CNN);
			break;
		}
		}
	}
	s->uparam = alloc(s, (size_t)s->cap_units, sizeof *s->uparam);
	for (int k = 0; k < 2; k++)
		s->G[k] = act_buf(s, s->amax);
	for (int k = 0; k < 3; k++)
		s->S[k] = act_buf(s, s->amax);
}

static float
uniform(uint64_t *rng, float bound)
{
	return (2 * nn_sm64_uniform(rng) - 1) * bound;
}

static void
init_params(nn_sn *s, uint64_t seed)
{
	uint64_t rng = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (int i = 0; i < s->n_params; i++) {
		const nn_param *t = &s->params[i];
		size_t cnt = nn_param_count(t);
		float *v = s->p + t->offset;
		float bound = s->fan_in[i] > 0 ? 1.0f / sqrtf((float)
		    s->fan_in[i]) : 0;

		/* draw even for zero-initialised tensors, so the others do
		 * not depend on that rule */
		for (size_t k = 0; k < cnt; k++) {
			float u = uniform(&rng, bound);

			v[k] = s->init[i] == I_UNIFORM ? u :
			    s->init[i] == I_ONE ? 1.0f : 0.0f;
		}
	}
	for (int i = 0; i < s->n_state; i++)	/* running mean 0, var 1 */
		if (strstr(s->state[i].name, "running_var") != NULL)
			for (size_t k = 0; k < nn_param_count(&s->state[i]); k++)
				s->s[s->state[i].offset + k] = 1.0f;
	s->rng = seed ^ 0xd1b54a32d192ed03ULL;
}

/* Workspace for every conv and BN at its maximum shape: the hand paths'
 * scratch grows with each dimension, so the max covers every subnet. */
static int
prepare_cbn(nn_sn *s, const cbn *c, int H, h4h_err *err)
{
	int OH = (H - 1) / c->cv.stride + 1, rc;

	if ((rc = nn_conv2d_prepare(s->ctx, &c->cv, s->B, H, H, c->cv.IC,
	    c->cv.OC, err)) != 0)
		return rc;
	return nn_batchnorm_prepare(s->ctx, &c->bn, s->B * OH * OH, c->bn.C,
	    err);
}

static int
prepare(nn_sn *s, h4h_err *err)
{
	const nn_sn_spec *sp = &s->spec;
	int H = sp->in_hw, rc;

	for (int i = 0; i < sp->n_stages; i++) {
		stage *st = &s->st[i];

		switch (st->kind) {
		case NN_SN_CONV:
			if ((rc = prepare_cbn(s, &st->conv, H, err)) != 0)
				return rc;
			H = (H - 1) / st->conv.cv.stride + 1;
			break;
		case NN_SN_MBCONV:
			for (int j = 0; j < st->n; j++) {
				mbblk *m = &st->mb[j];

				if ((m->has_exp && (rc = prepare_cbn(s, &m->exp,
				    H, err)) != 0) ||
				    (rc = prepare_cbn(s, &m->dw, H, err)) != 0)
					return rc;
				H = (H - 1) / m->dw.cv.stride + 1;
				if ((rc = prepare_cbn(s, &m->proj, H, err)) != 0)
					return rc;
			}
			break;
		case NN_SN_MBPOOL:
			if ((rc = prepare_cbn(s, &st->conv, H, err)) != 0)
				return rc;
			break;
		default:
			break;
		}
	}
	return 0;
}

void
nn_sn_max(const nn_sn *s, nn_sn_active *a)
{
	memset(a, 0, sizeof *a);
	a->res = s->spec.in_hw;
	for (int i = 0; i < s->spec.n_stages; i++) {
		const nn_sn_stage *t = &s->spec.st[i];

		a->st[i].width = t->width;
		a->st[i].depth = t->kind == NN_SN_MBCONV ||
		    t->kind == NN_SN_VIT ? t->depth : 1;
		a->st[i].expand = t->kind == NN_SN_MBCONV ||
		    t->kind == NN_SN_MBPOOL ? t->expand : 1;
		a->st[i].mlp = t->kind == NN_SN_VIT ? t->mlp : 0;
	}
}

int
nn_sn_create(nn_ctx *ctx, const nn_sn_spec *spec, int B, uint64_t seed,
    nn_sn **out, h4h_err *err)
{
	nn_sn_active a;
	nn_sn *s;
	int rc;

	*out = NULL;
	if ((rc = spec_check(spec, err)) != 0)
		return rc;
	if (B < 1 || B > 65536)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: batch must be "
		    "1..65536 (got %d)", B);
	s = h4h_xcalloc(1, sizeof *s);
	s->ctx = ctx;
	s->spec = *spec;
	s->B = B;
	s->fused = 1;
	build(s);
	s->p = h4h_xcalloc(s->n_p ? s->n_p : 1, sizeof *s->p);
	s->g = h4h_xcalloc(s->n_p ? s->n_p : 1, sizeof *s->g);
	s->s = h4h_xcalloc(s->n_s ? s->n_s : 1, sizeof *s->s);
	init_params(s, seed);
	if ((rc = prepare(s, err)) != 0) {
		nn_sn_destroy(s);
		return rc;
	}
	nn_sn_max(s, &a);
	if ((rc = nn_sn_set_active(s, &a, err)) != 0) {
		nn_sn_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
nn_sn_destroy(nn_sn *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n_allocs; i++)
		free(s->allocs[i]);
	for (int i = 0; i < s->n_params; i++)
		free((char *)s->params[i].name);
	for (int i = 0; i < s->n_state; i++)
		free((char *)s->state[i].name);
	free(s->allocs);
	free(s->params);
	free(s->state);
	free(s->groups);
	free(s->init);
	free(s->fan_in);
	free(s->p);
	free(s->g);
	free(s->s);
	free(s);
}

const nn_sn_spec *
nn_sn_spec_of(const nn_sn *s)
{
	return &s->spec;
}

int
nn_sn_batch_max(const nn_sn *s)
{
	return s->B;
}

/* ---- the active subnet ----------------------------------------------------- */

static int
bad_active(h4h_err *err, int i, int kind, const char *key, int got, int lo,
    int hi)
{
	return h4h_errf(err, H4H_EINPUT, "nn: supernet: stage %d (%s): "
	    "active '%s' %d outside %d..%d", i, kind_names[kind], key, got,
	    lo, hi);
}

static int
active_check(const nn_sn *s, const nn_sn_active *a, h4h_err *err)
{
	const nn_sn_spec *sp = &s->spec;
	int C = sp->in_ch;

	if (a->res < 1 || a->res > sp->in_hw)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: active 'res' "
		    "%d outside 1..%d", a->res, sp->in_hw);
	for (int i = 0; i < sp->n_stages; i++) {
		const nn_sn_stage *t = &sp->st[i];
		const nn_sn_active_stage *x = &a->st[i];
		int k = t->kind;

		if (k == NN_SN_VIT) {
			if (x->width < HD || x->width > t->width ||
			    x->width % HD != 0)
				return h4h_errf(err, H4H_EINPUT, "nn: supernet: "
				    "stage %d (vit): active 'width' %d must be "
				    "a multiple of 8 in 8..%d", i, x->width,
				    t->width);
		} else if (x->width < 1 || x->width > t->width) {
			return bad_active(err, i, k, "width", x->width, 1,
			    t->width);
		}
		if ((k == NN_SN_MBCONV || k == NN_SN_VIT) &&
		    (x->depth < 0 || x->depth > t->depth))
			return bad_active(err, i, k, "depth", x->depth, 0,
			    t->depth);
		/* skipping a strided stage would leave every later map at
		 * twice the side: buffers are sized for the strides taken */
		if (k == NN_SN_MBCONV && t->stride > 1 && x->depth < 1)
			return h4h_errf(err, H4H_EINPUT, "nn: supernet: stage "
			    "%d (mbconv): active 'depth' 0 on a stride-%d "
			    "stage (later resolutions would change)", i,
			    t->stride);
		if (k == NN_SN_MBCONV || k == NN_SN_MBPOOL) {
			int lo = t->expand > 1 ? 2 : 1;

			if (x->expand < lo || x->expand > t->expand)
				return bad_active(err, i, k, "expand",
				    x->expand, lo, t->expand);
		}
		if (k == NN_SN_VIT && !(x->mlp > 0 && x->mlp <= t->mlp))
			return h4h_errf(err, H4H_EINPUT, "nn: supernet: stage "
			    "%d (vit): active 'mlp' %g outside (0, %g]", i,
			    (double)x->mlp, (double)t->mlp);
		if (k == NN_SN_VIT && x->depth > 0 && vit_hidden(C, x->mlp) < 1)
			return h4h_errf(err, H4H_EINPUT, "nn: supernet: stage "
			    "%d (vit): active 'mlp' %g x %d channels rounds "
			    "to 0", i, (double)x->mlp, C);
		if (k == NN_SN_CONV || (k == NN_SN_MBCONV && x->depth > 0))
			C = x->width;
	}
	return 0;
}

static void
cbn_shape(cbn *c, int H, int IC, int OC)
{
	c->H = H;
	c->IC = IC;
	c->OC = OC;
	c->OH = (H - 1) / c->cv.stride + 1;
}

/* Every layer's active shape: arch.c's rules, in its order. */
static void
plan(nn_sn *s)
{
	const nn_sn_spec *sp = &s->spec;
	const nn_sn_active *a = &s->act;
	int H = a->res, C = sp->in_ch;

	s->n_res = 0;
	for (int i = 0; i < sp->n_stages; i++) {
		const nn_sn_active_stage *x = &a->st[i];
		stage *st = &s->st[i];

		switch (st->kind) {
		case NN_SN_CONV:
			cbn_shape(&st->conv, H, C, x->width);
			H = st->conv.OH;
			C = x->width;
			break;
		case NN_SN_MBCONV:
			for (int j = 0; j < x->depth; j++) {
				mbblk *m = &st->mb[j];
				int mid = m->has_exp ? C * x->expand : C;

				if (m->has_exp)
					cbn_shape(&m->exp, H, C, mid);
				cbn_shape(&m->dw, H, mid, mid);
				cbn_shape(&m->proj, m->dw.OH, mid, x->width);
				m->res = m->dw.cv.stride == 1 && C == x->width;
				m->ri = m->res ? s->n_res++ : -1;
				H = m->dw.OH;
				C = x->width;
			}
			break;
		case NN_SN_VIT:
			for (int j = 0; j < x->depth; j++) {
				vitblk *v = &st->vit[j];

				v->T = H * H;
				v->C = C;
				v->Wq = x->width;
				v->NH = x->width / HD;
				v->hid = vit_hidden(C, x->mlp);
				v->ri = s->n_res++;
			}
			break;
		default:
			cbn_shape(&st->conv, H, C, C * x->expand);
			st->HW = H * H;
			st->mid = C * x->expand;
			st->mix.IC = st->mid;
			st->mix.OC = x->width;
			st->cls.IC = x->width;
			st->cls.OC = sp->classes;
			break;
		}
	}
}

int
nn_sn_set_active(nn_sn *s, const nn_sn_active *a, h4h_err *err)
{
	int rc;

	if ((rc = active_check(s, a, err)) != 0)
		return rc;
	s->act = *a;
	s->fwd_ok = 0;
	plan(s);
	return 0;
}

void
nn_sn_get_active(const nn_sn *s, nn_sn_active *a)
{
	*a = s->act;
}

static long long
cbn_macs(const cbn *c)
{
	long long px = (long long)c->OH * c->OH;

	if (c->cv.groups > 1)	/* depthwise */
		return (long long)c->cv.KH * c->cv.KW * px * c->OC;
	return (long long)c->cv.KH * c->cv.KW * c->IC * px * c->OC;
}

long long
nn_sn_macs(const nn_sn *s)
{
	long long m = 0;

	for (int i = 0; i < s->spec.n_stages; i++) {
		const stage *st = &s->st[i];
		const nn_sn_active_stage *x = &s->act.st[i];

		switch (st->kind) {
		case NN_SN_CONV:
			m += cbn_macs(&st->conv);
			break;
		case NN_SN_MBCONV:
			for (int j = 0; j < x->depth; j++) {
				const mbblk *b = &st->mb[j];

				m += (b->has_exp ? cbn_macs(&b->exp) : 0) +
				    cbn_macs(&b->dw) + cbn_macs(&b->proj);
			}
			break;
		case NN_SN_VIT:
			for (int j = 0; j < x->depth; j++) {
				const vitblk *v = &st->vit[j];
				long long T = v->T;

				/* qkv, q k^T, A v, proj, mlp1, mlp2 */
				m += T * v->C * 3 * v->Wq +
				    (long long)v->NH * T * HD * T * 2 +
				    T * v->Wq * v->C + 2 * T * v->C * v->hid;
			}
			break;
		default:
			/* expand, global pool (one add per input), mix,
			 * classifier */
			m += cbn_macs(&st->conv) + (long long)st->HW * st->mid +
			    (long long)st->mid * x->width +
			    (long long)x->width * s->spec.classes;
			break;
		}
	}
	return m;
}

void
nn_sn_set_regularization(nn_sn *s, float dropout, float dropconnect)
{
	s->dropout = dropout;
	s->dropconnect = dropconnect;
}

void
nn_sn_set_fused(nn_sn *s, int on)
{
	s->fused = on != 0;
}

uint64_t *
nn_sn_rng(nn_sn *s)
{
	return &s->rng;
}

void
nn_sn_set_frozen(nn_sn *s, unsigned group_mask)
{
	s->frozen = group_mask;
}

unsigned
nn_sn_frozen(const nn_sn *s)
{
	return s->frozen;
}

/* ---- forward ---------------------------------------------------------------- */

static float *
P(nn_sn *s, int i)
{
	return s->p + s->params[i].offset;
}

static float *
ST(nn_sn *s, int i)
{
	return s->s + s->state[i].offset;
}

/* The gradient of tensor i, or NULL when its group is frozen. */
static float *
PG(nn_sn *s, int i)
{
	return i < 0 || (s->groups[i] & s->frozen) ? NULL :
	    s->g + s->params[i].offset;
}

static int
unit(nn_sn *s, int p0, int p1)
{
	int u = s->n_units++;

	s->uparam[u][0] = p0;
	s->uparam[u][1] = p1;
	s->uparam[u][2] = -1;
	return u;
}

static int
cbn_forward(nn_sn *s, cbn *c, const float *in, int mode, int k,
    h4h_err *err)
{
	int b = s->b, N = b * c->OH * c->OH, rc;

	c->in = in;
	c->u = unit(s, c->w, -1);
	(void)unit(s, c->g, c->b);
	if (mode == NN_BN_INFER && s->fused)
		return nn_conv2d_bn_infer(s->ctx, &c->cv, &c->bn, c->out, c->y,
		    in, P(s, c->w), P(s, c->g), P(s, c->b), ST(s, c->rm),
		    ST(s, c->rv), b, c->H, c->H, c->IC, c->OC, c->act, err);
	if ((rc = nn_conv2d_forward(s->ctx, &c->cv, c->y, in, P(s, c->w), NULL,
	    b, c->H, c->H, c->IC, c->OC, err)) != 0)
		return rc;
	if (c->act)
		return nn_bn_hswish_forward(s->ctx, &c->bn, c->out, c->mean,
		    c->rstd, ST(s, c->rm), ST(s, c->rv), c->y, P(s, c->g),
		    P(s, c->b), N, c->OC, mode, k, err);
	return nn_batchnorm_forward(s->ctx, &c->bn, c->out, c->mean, c->rstd,
	    ST(s, c->rm), ST(s, c->rv), c->y, P(s, c->g), P(s, c->b), N,
	    c->OC, mode, k, err);
}

/* cbn_forward in NN_BN_INFER with s->fused, into out (any buffer as
 * large as c->out). */
static int
cbn_infer(nn_sn *s, cbn *c, const float *in, float *out, h4h_err *err)
{
	c->in = in;
	c->u = unit(s, c->w, -1);
	(void)unit(s, c->g, c->b);
	return nn_conv2d_bn_infer(s->ctx, &c->cv, &c->bn, out, c->y, in,
	    P(s, c->w), P(s, c->g), P(s, c->b), ST(s, c->rm), ST(s, c->rv),
	    s->b, c->H, c->H, c->IC, c->OC, c->act, err);
}

static void
lin_forward(nn_sn *s, lin *l, const float *in, int N)
{
	l->in = in;
	l->u = unit(s, l->w, l->b);
	nn_linear_forward(s->ctx, l->out, in, P(s, l->w), P(s, l->b), N, l->IC,
	    l->OC, l->ICmax);
}

/* lin_forward into out (any buffer as large as l->out). */
static void
lin_into(nn_sn *s, lin *l, const float *in, float *out, int N)
{
	l->in = in;
	l->u = unit(s, l->w, l->b);
	nn_linear_forward(s->ctx, out, in, P(s, l->w), P(s, l->b), N, l->IC,
	    l->OC, l->ICmax);
}

static void
ln_forward(nn_sn *s, lnorm *l, const float *in, int N, int C)
{
	l->in = in;
	l->u = unit(s, l->w, l->b);
	nn_layernorm_forward(l->out, l->mean, l->rstd, in, P(s, l->w),
	    P(s, l->b), N, C, 1e-5f);
}

/* Drop-connect scales for B samples: 0 with probability p, else
 * 1/(1-p), drawn as nn_dropconnect_forward draws them. */
static void
dc_draw(float *scale, int B, float p, uint64_t *rng)
{
	float keep = 1.0f / (1.0f - p);

	for (int b = 0; b < B; b++)
		scale[b] = nn_sm64_uniform(rng) >= p ? keep : 0.0f;
}

/* y (B, S) = x + scale[b] y (scale NULL: 1), in place on the branch. */
static void
residual_dc(float *y, const float *x, const float *scale, int B, size_t S)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++) {
		float *yr = y + (size_t)b * S, sc = scale ? scale[b] : 1.0f;
		const float *xr = x + (size_t)b * S;

#pragma omp simd
		for (size_t i = 0; i < S; i++)
			yr[i] = xr[i] + sc * yr[i];
	}
}

/* d (B, S) = scale[b] g: the branch's gradient under drop-connect. */
static void
scale_rows(float *d, const float *g, const float *scale, int B, size_t S)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++) {
		float *dr = d + (size_t)b * S, sc = scale[b];
		const float *gr = g + (size_t)b * S;

#pragma omp simd
		for (size_t i = 0; i < S; i++)
			dr[i] = sc * gr[i];
	}
}

static void
add_into(float *y, const float *x, size_t n)
{
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

/* Drop-connect rate of residual branch ri in this forward (0: off). */
static float
dc_rate(const nn_sn *s, int ri)
{
	if (s->bn_mode != NN_BN_TRAIN || s->dropconnect <= 0 || ri < 0 ||
	    s->n_res == 0)
		return 0;
	return s->dropconnect * (float)ri / (float)s->n_res;
}

static int
mb_forward(nn_sn *s, mbblk *m, const float *in, int mode, int k,
    h4h_err *err)
{
	const float *x = in;
	int rc;

	m->in = in;
	if (m->has_exp) {
		if ((rc = cbn_forward(s, &m->exp, x, mode, k, err)) != 0)
			return rc;
		x = m->exp.out;
	}
	if ((rc = cbn_forward(s, &m->dw, x, mode, k, err)) != 0 ||
	    (rc = cbn_forward(s, &m->proj, m->dw.out, mode, k, err)) != 0)
		return rc;
	m->dc = m->res ? dc_rate(s, m->ri) : 0;
	if (m->res) {
		size_t S = (size_t)m->proj.OH * m->proj.OH * m->proj.OC;

		if (m->dc > 0)
			dc_draw(m->dcs, s->b, m->dc, &s->rng);
		residual_dc(m->proj.out, in, m->dc > 0 ? m->dcs : NULL, s->b,
		    S);
	}
	return 0;
}

/*
 * A block's fused inference forward (s->fused, NN_BN_INFER) into the
 * backward's scratch, which no inference forward needs (backward refuses
 * one): three buffers rotate through every block instead of each layer's
 * own, so the maps a block writes are ones the cache saw a layer ago.
 * *outp: where the block's output is.
 */
static int
mb_infer(nn_sn *s, mbblk *m, const float *in, float **outp, h4h_err *err)
{
	float *buf[2], *y;
	const float *x = in;
	int n = 0, rc;

	for (int k = 0; k < 3 && n < 2; k++)
		if (s->S[k] != in)
			buf[n++] = s->S[k];
	m->in = in;
	m->dc = 0;
	if (m->has_exp) {
		if ((rc = cbn_infer(s, &m->exp, x, buf[0], err)) != 0)
			return rc;
		x = buf[0];
	}
	/* the expanded map is dead once dw has read it */
	if ((rc = cbn_infer(s, &m->dw, x, buf[1], err)) != 0 ||
	    (rc = cbn_infer(s, &m->proj, buf[1], buf[0], err)) != 0)
		return rc;
	y = buf[0];
	if (m->res)
		residual_dc(y, in, NULL, s->b, (size_t)m->proj.OH *
		    m->proj.OH * m->proj.OC);
	*outp = y;
	return 0;
}

static void
vit_forward(nn_sn *s, vitblk *v, const float *in)
{
	int b = s->b, N = b * v->T;
	size_t S = (size_t)v->T * v->C;

	v->in = in;
	v->dc = dc_rate(s, v->ri);
	v->qkv.IC = v->C;
	v->qkv.OC = 3 * v->Wq;
	v->proj.IC = v->Wq;
	v->proj.OC = v->C;
	v->mlp1.IC = v->C;
	v->mlp1.OC = v->hid;
	v->mlp2.IC = v->hid;
	v->mlp2.OC = v->C;
	ln_forward(s, &v->ln1, in, N, v->C);
	lin_forward(s, &v->qkv, v->ln1.out, N);
	nn_attention_forward(v->o, v->att, v->qkv.out, NULL, NULL, 0, b, v->T,
	    v->Wq, v->NH);
	lin_forward(s, &v->proj, v->o, N);
	if (v->dc > 0)
		dc_draw(v->dcs1, b, v->dc, &s->rng);
	residual_dc(v->proj.out, in, v->dc > 0 ? v->dcs1 : NULL, b, S);
	ln_forward(s, &v->ln2, v->proj.out, N, v->C);
	lin_forward(s, &v->mlp1, v->ln2.out, N);
	nn_gelu_forward(v->hg, v->mlp1.out, (size_t)N * v->hid);
	lin_forward(s, &v->mlp2, v->hg, N);
	if (v->dc > 0)
		dc_draw(v->dcs2, b, v->dc, &s->rng);
	residual_dc(v->mlp2.out, v->proj.out, v->dc > 0 ? v->dcs2 : NULL, b,
	    S);
}

/* vit_forward's inference (s->fused, NN_BN_INFER; no drop-connect then)
 * through the backward's scratch as mb_infer does: the same ops on the
 * same values, four free buffers for ln1 / qkv / attention / proj, then
 * the MLP; *outp: the block's output. */
static void
vit_infer(nn_sn *s, vitblk *v, const float *in, float **outp)
{
	float *cand[5] = { s->S[0], s->S[1], s->S[2], s->G[0], s->G[1] }, *f[4];
	int b = s->b, N = b * v->T, n = 0;
	size_t S = (size_t)v->T * v->C;

	for (int k = 0; k < 5 && n < 4; k++)
		if (cand[k] != in)
			f[n++] = cand[k];
	v->in = in;
	v->dc = 0;
	v->qkv.IC = v->C;
	v->qkv.OC = 3 * v->Wq;
	v->proj.IC = v->Wq;
	v->proj.OC = v->C;
	v->mlp1.IC = v->C;
	v->mlp1.OC = v->hid;
	v->mlp2.IC = v->hid;
	v->mlp2.OC = v->C;
	v->ln1.u = unit(s, v->ln1.w, v->ln1.b);
	nn_layernorm_forward(f[0], v->ln1.mean, v->ln1.rstd, in, P(s, v->ln1.w),
	    P(s, v->ln1.b), N, v->C, 1e-5f);
	lin_into(s, &v->qkv, f[0], f[1], N);
	nn_attention_forward(f[0], f[2], f[1], NULL, NULL, 0, b, v->T, v->Wq,
	    v->NH);
	lin_into(s, &v->proj, f[0], f[3], N);
	residual_dc(f[3], in, NULL, b, S);
	v->ln2.u = unit(s, v->ln2.w, v->ln2.b);
	nn_layernorm_forward(f[0], v->ln2.mean, v->ln2.rstd, f[3],
	    P(s, v->ln2.w), P(s, v->ln2.b), N, v->C, 1e-5f);
	lin_into(s, &v->mlp1, f[0], f[1], N);
	nn_gelu_forward(f[2], f[1], (size_t)N * v->hid);
	lin_into(s, &v->mlp2, f[2], f[0], N);
	residual_dc(f[0], f[3], NULL, b, S);
	*outp = f[0];
}

static int
pool_forward(nn_sn *s, stage *st, const float *in, int mode, int k,
    h4h_err *err)
{
	int b = s->b, rc;
	const float *x;

	if ((rc = cbn_forward(s, &st->conv, in, mode, k, err)) != 0)
		return rc;
	nn_avgpool_forward(st->pool, st->conv.out, b, st->HW, st->mid);
	lin_forward(s, &st->mix, st->pool, b);
	nn_hswish_forward(st->mixa, st->mix.out, (size_t)b * st->mix.OC);
	x = st->mixa;
	st->p = mode == NN_BN_TRAIN ? s->dropout : 0;
	if (st->p > 0) {
		nn_dropout_forward(st->drop, st->mask, st->mixa,
		    (size_t)b * st->mix.OC, st->p, &s->rng);
		x = st->drop;
	}
	lin_forward(s, &st->cls, x, b);
	return 0;
}

int
nn_sn_forward(nn_sn *s, const float *x, int b, int bn_mode, int recal_k,
    h4h_err *err)
{
	const nn_sn_spec *sp = &s->spec;
	const float *cur;
	int rc;

	s->fwd_ok = 0;
	if (b < 1 || b > s->B)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: batch %d "
		    "outside 1..%d", b, s->B);
	if (bn_mode != NN_BN_TRAIN && bn_mode != NN_BN_INFER &&
	    bn_mode != NN_BN_RECAL)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: bad batch-norm "
		    "mode %d", bn_mode);
	if (bn_mode == NN_BN_RECAL && recal_k < 0)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: recalibration "
		    "batch index %d < 0", recal_k);
	s->b = b;
	s->bn_mode = bn_mode;
	s->n_units = 0;
	nn_resize_bilinear_forward(s->xin, x, b, sp->in_hw, sp->in_hw,
	    sp->in_ch, s->act.res, s->act.res);
	cur = s->xin;
	for (int i = 0; i < sp->n_stages; i++) {
		stage *st = &s->st[i];
		int d = s->act.st[i].depth;

		switch (st->kind) {
		case NN_SN_CONV:
			if ((rc = cbn_forward(s, &st->conv, cur, bn_mode,
			    recal_k, err)) != 0)
				return rc;
			cur = st->conv.out;
			break;
		case NN_SN_MBCONV:
			for (int j = 0; j < d; j++) {
				float *o = st->mb[j].proj.out;

				if (bn_mode == NN_BN_INFER && s->fused)
					rc = mb_infer(s, &st->mb[j], cur, &o,
					    err);
				else
					rc = mb_forward(s, &st->mb[j], cur,
					    bn_mode, recal_k, err);
				if (rc != 0)
					return rc;
				cur = o;
			}
			break;
		case NN_SN_VIT:
			for (int j = 0; j < d; j++) {
				float *o = st->vit[j].mlp2.out;

				if (bn_mode == NN_BN_INFER && s->fused)
					vit_infer(s, &st->vit[j], cur, &o);
				else
					vit_forward(s, &st->vit[j], cur);
				cur = o;
			}
			break;
		default:
			if ((rc = pool_forward(s, st, cur, bn_mode, recal_k,
			    err)) != 0)
				return rc;
			break;
		}
	}
	s->fwd_ok = 1;
	return 0;
}

const float *
nn_sn_logits(const nn_sn *s)
{
	return s->st[s->spec.n_stages - 1].cls.out;
}

/* ---- backward ----------------------------------------------------------------- */

void
nn_sn_zero_grads(nn_sn *s)
{
	memset(s->g, 0, s->n_p * sizeof *s->g);
}

/*
 * Unit u's input gradient is needed iff some unit below it is trainable
 * (u > first); a unit below `first` does not run at all.
 */
static int
need_din(const nn_sn *s, int u)
{
	return u > s->first;
}

/* dout (gradient of c->out) -> din (of c->in; may alias dout), with dy a
 * scratch for the conv output's gradient. */
static int
cbn_backward(nn_sn *s, cbn *c, const float *dout, float *dy, float *din,
    h4h_err *err)
{
	int b = s->b, N = b * c->OH * c->OH, ubn = c->u + 1, rc;
	float *dw;

	if (ubn < s->first)
		return 0;
	if (c->act)
		rc = nn_bn_hswish_backward(s->ctx, &c->bn, need_din(s, ubn) ?
		    dy : NULL, PG(s, c->g), PG(s, c->b), dout, c->y, c->mean,
		    c->rstd, P(s, c->g), P(s, c->b), N, c->OC, 0, err);
	else
		rc = nn_batchnorm_backward_ex(s->ctx, &c->bn, need_din(s, ubn) ?
		    dy : NULL, PG(s, c->g), PG(s, c->b), dout, c->y, c->mean,
		    c->rstd, P(s, c->g), N, c->OC, 0, err);
	if (rc != 0 || !need_din(s, ubn))
		return rc;
	dw = PG(s, c->w);
	if (dw == NULL && !need_din(s, c->u))
		return 0;
	return nn_conv2d_backward_ex(s->ctx, &c->cv, need_din(s, c->u) ? din :
	    NULL, dw, NULL, dy, c->in, P(s, c->w), b, c->H, c->H, c->IC, c->OC,
	    0, err);
}

/* dout -> din (=, when needed); N rows. */
static void
lin_backward(nn_sn *s, lin *l, const float *dout, float *din, int N)
{
	float *dw = PG(s, l->w), *db = PG(s, l->b);
	float *dx = need_din(s, l->u) ? din : NULL;

	if (l->u < s->first || (dw == NULL && db == NULL && dx == NULL))
		return;
	nn_linear_backward_ex(s->ctx, dx, dw, db, dout, l->in, P(s, l->w), N,
	    l->IC, l->OC, l->ICmax, 0);
}

/* dout -> din (+=, when needed). */
static void
ln_backward(nn_sn *s, lnorm *l, const float *dout, float *din, int N, int C)
{
	float *dw = PG(s, l->w);
	float *dx = need_din(s, l->u) ? din : NULL;

	if (l->u < s->first || (dw == NULL && dx == NULL))
		return;
	nn_layernorm_backward(dx, dw, PG(s, l->b), dout, l->in, P(s, l->w),
	    l->mean, l->rstd, N, C);
}

/* Returns 1 when the block's input gradient was computed into din. */
static int
mb_backward(nn_sn *s, mbblk *m, const float *dout, float *din, int *rc,
    h4h_err *err)
{
	const float *g = dout;
	int u0 = m->has_exp ? m->exp.u : m->dw.u;
	size_t S = (size_t)m->proj.OH * m->proj.OH * m->proj.OC;

	if (m->res && m->dc > 0) {
		scale_rows(s->S[2], dout, m->dcs, s->b, S);
		g = s->S[2];
	}
	if ((*rc = cbn_backward(s, &m->proj, g, s->S[0], s->S[1], err)) != 0 ||
	    (*rc = cbn_backward(s, &m->dw, s->S[1], s->S[0], m->has_exp ?
	    s->S[1] : din, err)) != 0 ||
	    (m->has_exp && (*rc = cbn_backward(s, &m->exp, s->S[1], s->S[0],
	    din, err)) != 0))
		return 0;
	if (!need_din(s, u0))
		return 0;
	if (m->res)
		add_into(din, dout, (size_t)s->b * S);
	return 1;
}

static int
vit_backward(nn_sn *s, vitblk *v, const float *dout, float *din)
{
	int b = s->b, N = b * v->T;
	size_t S = (size_t)N * v->C;
	const float *g = dout;
	float *s0 = s->S[0], *s1 = s->S[1], *s2 = s->S[2];

	if (v->mlp2.u < s->first)
		return 0;
	if (v->dc > 0) {
		scale_rows(s2, dout, v->dcs2, b, S / b);
		g = s2;
	}
	lin_backward(s, &v->mlp2, g, s0, N);
	if (!need_din(s, v->mlp2.u))
		return 0;
	memset(s1, 0, sizeof(float) * (size_t)N * v->hid);
	nn_gelu_backward(s1, s0, v->mlp1.out, (size_t)N * v->hid);
	lin_backward(s, &v->mlp1, s1, s0, N);
	if (!need_din(s, v->mlp1.u))
		return 0;
	/* d x1 = dout (shortcut) + ln2's input gradient */
	memcpy(din, dout, sizeof(float) * S);
	ln_backward(s, &v->ln2, s0, din, N, v->C);
	if (!need_din(s, v->ln2.u))
		return 0;
	g = din;
	if (v->dc > 0) {
		scale_rows(s2, din, v->dcs1, b, S / b);
		g = s2;
	}
	lin_backward(s, &v->proj, g, s0, N);
	if (!need_din(s, v->proj.u))
		return 0;
	memset(s1, 0, sizeof(float) * (size_t)N * 3 * v->Wq);
	nn_attention_backward(s1, NULL, s0, v->qkv.out, v->att, NULL, 0, b,
	    v->T, v->Wq, v->NH);
	lin_backward(s, &v->qkv, s1, s0, N);
	if (!need_din(s, v->qkv.u))
		return 0;
	ln_backward(s, &v->ln1, s0, din, N, v->C);
	return need_din(s, v->ln1.u);
}

static int
pool_backward(nn_sn *s, stage *st, const float *dlogits, float *din,
    int *rc, h4h_err *err)
{
	int b = s->b, W = st->mix.OC;
	float *s0 = s->S[0], *s1 = s->S[1], *s2 = s->S[2];
	const float *g = s0;

	lin_backward(s, &st->cls, dlogits, s0, b);
	if (!need_din(s, st->cls.u))
		return 0;
	if (st->p > 0) {
		memset(s1, 0, sizeof(float) * (size_t)b * W);
		nn_dropout_backward(s1, s0, st->mask, (size_t)b * W, st->p);
		g = s1;
	}
	memset(s2, 0, sizeof(float) * (size_t)b * W);
	nn_hswish_backward(s2, g, st->mix.out, (size_t)b * W);
	lin_backward(s, &st->mix, s2, s0, b);
	if (!need_din(s, st->mix.u))
		return 0;
	memset(s1, 0, sizeof(float) * (size_t)b * st->HW * st->mid);
	nn_avgpool_backward(s1, s0, b, st->HW, st->mid);
	if ((*rc = cbn_backward(s, &st->conv, s1, s0, din, err)) != 0)
		return 0;
	return need_din(s, st->conv.u);
}

int
nn_sn_backward(nn_sn *s, const float *dlogits, h4h_err *err)
{
	const nn_sn_spec *sp = &s->spec;
	const float *gout;
	float *gin;
	int k = 0, rc = 0, more;

	if (!s->fwd_ok)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: backward needs "
		    "a forward of the active subnet first");
	if (s->bn_mode == NN_BN_INFER)
		return h4h_errf(err, H4H_EINPUT, "nn: supernet: backward needs "
		    "a forward with batch statistics (TRAIN or RECAL), not "
		    "INFER");
	/* the first unit with a trainable tensor */
	s->first = -1;
	for (int u = 0; u < s->n_units && s->first < 0; u++)
		for (int q = 0; q < 3; q++) {
			int pi = s->uparam[u][q];

			if (pi >= 0 && !(s->groups[pi] & s->frozen)) {
				s->first = u;
				break;
			}
		}
	if (s->first < 0)
		return 0;	/* everything frozen */
	gin = s->G[k];
	more = pool_backward(s, &s->st[sp->n_stages - 1], dlogits, gin, &rc,
	    err);
	gout = gin;
	for (int i = sp->n_stages - 2; i >= 0 && more && rc == 0; i--) {
		stage *st = &s->st[i];
		int d = s->act.st[i].depth;

		switch (st->kind) {
		case NN_SN_CONV:
			gin = s->G[k ^= 1];
			rc = cbn_backward(s, &st->conv, gout, s->S[0], gin, err);
			more = rc == 0 && need_din(s, st->conv.u);
			gout = gin;
			break;
		case NN_SN_MBCONV:
			for (int j = d - 1; j >= 0 && more; j--) {
				gin = s->G[k ^= 1];
				more = mb_backward(s, &st->mb[j], gout, gin, &rc,
				    err);
				gout = gin;
			}
			break;
		default:
			for (int j = d - 1; j >= 0 && more; j--) {
				gin = s->G[k ^= 1];
				more = vit_backward(s, &st->vit[j], gout, gin);
				gout = gin;
			}
			break;
		}
	}
	return rc;
}

/* ---- slabs, tables --------------------------------------------------------------- */

float *
nn_sn_params(nn_sn *s)
{
	return s->p;
}

float *
nn_sn_grads(nn_sn *s)
{
	return s->g;
}

size_t
nn_sn_nparams(const nn_sn *s)
{
	return s->n_p;
}

const nn_param *
nn_sn_param_table(const nn_sn *s, int *n)
{
	*n = s->n_params;
	return s->params;
}

const int *
nn_sn_param_groups(const nn_sn *s)
{
	return s->groups;
}

float *
nn_sn_state(nn_sn *s)
{
	return s->s;
}

size_t
nn_sn_nstate(const nn_sn *s)
{
	return s->n_s;
}

const nn_param *
nn_sn_state_table(const nn_sn *s, int *n)
{
	*n = s->n_state;
	return s->state;
}

/* ---- extraction ------------------------------------------------------------------ */

/* dst (dims dd) = the leading block of src (dims sd), both row-major:
 * rows of the last axis are contiguous in both. */
static void
copy_block(float *dst, const int *dd, const float *src, const int *sd,
    int ndim)
{
	size_t inner = (size_t)dd[ndim - 1], rows = 1;

	for (int a = 0; a < ndim - 1; a++)
		rows *= (size_t)dd[a];
	for (size_t r = 0; r < rows; r++) {
		size_t off = 0, rem = r, mul = (size_t)sd[ndim - 1];

		for (int a = ndim - 2; a >= 0; a--) {
			off += rem % (size_t)dd[a] * mul;
			rem /= (size_t)dd[a];
			mul *= (size_t)sd[a];
		}
		memcpy(dst + r * inner, src + off, sizeof(float) * inner);
	}
}

static int
copy_tensors(const nn_param *dt, int dn, float *dslab, const nn_param *stab,
    int sn, const float *sslab, h4h_err *err)
{
	for (int i = 0; i < dn; i++) {
		int j = 0;

		while (j < sn && strcmp(stab[j].name, dt[i].name) != 0)
			j++;
		if (j == sn || stab[j].ndim != dt[i].ndim)
			return h4h_errf(err, H4H_ESIM, "nn: supernet: extract: "
			    "no tensor '%s' in the supernet", dt[i].name);
		for (int a = 0; a < dt[i].ndim; a++)
			if (dt[i].dims[a] > stab[j].dims[a])
				return h4h_errf(err, H4H_ESIM, "nn: supernet: "
				    "extract: '%s' larger than the supernet's",
				    dt[i].name);
		copy_block(dslab + dt[i].offset, dt[i].dims,
		    sslab + stab[j].offset, stab[j].dims, dt[i].ndim);
	}
	return 0;
}

int
nn_sn_extract(nn_ctx *ctx, const nn_sn *s, int B, nn_sn **out,
    h4h_err *err)
{
	nn_sn_spec sp = s->spec;
	nn_sn *e;
	int rc;

	*out = NULL;
	sp.in_hw = s->act.res;
	for (int i = 0; i < sp.n_stages; i++) {
		nn_sn_stage *t = &sp.st[i];
		const nn_sn_active_stage *x = &s->act.st[i];

		t->width = x->width;
		if (t->kind == NN_SN_MBCONV || t->kind == NN_SN_VIT)
			t->depth = x->depth;
		if (t->kind == NN_SN_MBCONV || t->kind == NN_SN_MBPOOL)
			t->expand = x->expand;
		if (t->kind == NN_SN_VIT)
			t->mlp = x->mlp;
	}
	if ((rc = nn_sn_create(ctx, &sp, B, 0, &e, err)) != 0)
		return rc;
	if ((rc = copy_tensors(e->params, e->n_params, e->p, s->params,
	    s->n_params, s->p, err)) != 0 ||
	    (rc = copy_tensors(e->state, e->n_state, e->s, s->state,
	    s->n_state, s->s, err)) != 0) {
		nn_sn_destroy(e);
		return rc;
	}
	*out = e;
	return 0;
}
