/*
 * model.c - sequential networks over buffers (see model.h) and the two
 * reference models.
 *
 * Building lays out buffers, parameters and statistics as offsets; the
 * slabs are allocated once the layout is known, then initialised.  Weights
 * start as PyTorch's defaults do (conv and linear: U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) for weights and biases; norms: gamma 1, beta 0; running
 * variance 1), drawn from the seed.
 *
 * Conv + BN + hswish runs as conv then one fused BN + hswish node (the BN
 * output is never stored).  Backward zeroes no activation gradient: the
 * node that reaches a buffer's gradient first (its last consumer) writes
 * it, the others accumulate (mark_writers).
 */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"

#define MAX_NODES 128
#define MAX_BUFS 160
#define MAX_PARAMS 160
#define NAME_LEN 48
#define CLASSES 10
#define IN_HW 32

enum kind { K_CONV, K_BN, K_BNACT, K_HSWISH, K_ADD, K_LN, K_LINEAR, K_ATTN,
    K_GAP };	/* K_BNACT: batch norm + hswish fused */
enum init { I_UNIFORM, I_ONE, I_ZERO };

typedef struct node {
	int kind;
	int in, in2, out;	/* buffers */
	int rows;		/* rows per image: H*W (or tokens) */
	int H, W, C, OC;	/* conv: input map, IC, OC; linear: IC, OC */
	int NH;			/* attention heads */
	nn_conv2d cv;
	nn_batchnorm bn;
	long w, b;		/* parameter offsets, -1 if none */
	long rm, rv;		/* running statistics (state slab), BN */
	int mean, rstd;		/* saved statistics buffers (BN, LN) */
	int att;		/* attention probabilities buffer */
	int set_in, set_in2;	/* backward: the first to reach in's (in2's)
				 * gradient, so it writes (=) instead of
				 * adding to a zeroed buffer */
} node;

typedef struct buf {
	size_t per_image, fixed;	/* floats: per_image * B + fixed */
	float *data, *grad;
} buf;

struct nn_model {
	char name[32];
	nn_ctx *ctx;
	int B, b;		/* capacity, current batch */
	long long macs;
	node nodes[MAX_NODES];
	int n_nodes;
	buf bufs[MAX_BUFS];
	int n_bufs;
	int input, logits;	/* buffers */
	float *probs;		/* (B, CLASSES) */
	int *labels;		/* copy of the last forward's labels */
	float smooth;
	int have_labels;

	nn_param params[MAX_PARAMS], state[MAX_PARAMS];
	char names[2 * MAX_PARAMS][NAME_LEN];
	int init[MAX_PARAMS];
	int fan_in[MAX_PARAMS];
	int n_params, n_state;
	size_t n_p, n_s;
	float *p, *g, *s;
	int err;		/* a build step overflowed its table */
};

/* ---- building ---------------------------------------------------------- */

static int
new_buf(nn_model *m, size_t per_image, size_t fixed)
{
	if (m->n_bufs == MAX_BUFS) {
		m->err = 1;
		return 0;
	}
	m->bufs[m->n_bufs].per_image = per_image;
	m->bufs[m->n_bufs].fixed = fixed;
	return m->n_bufs++;
}

static node *
new_node(nn_model *m, int kind, int in)
{
	node *n;

	if (m->n_nodes == MAX_NODES) {
		m->err = 1;
		n = &m->nodes[MAX_NODES - 1];
	} else {
		n = &m->nodes[m->n_nodes++];
	}
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->in = in;
	n->in2 = -1;
	n->w = n->b = n->rm = n->rv = -1;
	n->mean = n->rstd = n->att = -1;
	return n;
}

/* A tensor in the parameter (or state) slab. */
static long
new_param(nn_model *m, int state, const char *prefix, const char *suffix,
    int ndim, const int *dims, int decay, int init, int fan_in)
{
	nn_param *t = state ? &m->state[m->n_state] : &m->params[m->n_params];
	char *name;
	size_t n = 1;
	long off;

	if ((state ? m->n_state : m->n_params) == MAX_PARAMS) {
		m->err = 1;
		return 0;
	}
	name = m->names[state ? MAX_PARAMS + m->n_state : m->n_params];
	snprintf(name, NAME_LEN, "%.30s.%.15s", prefix, suffix);
	t->name = name;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++) {
		t->dims[i] = dims[i];
		n *= (size_t)dims[i];
	}
	t->decay = decay;
	if (state) {
		off = (long)m->n_s;
		t->offset = m->n_s;
		m->n_s += n;
		m->n_state++;
	} else {
		off = (long)m->n_p;
		t->offset = m->n_p;
		m->n_p += n;
		m->init[m->n_params] = init;
		m->fan_in[m->n_params] = fan_in;
		m->n_params++;
	}
	return off;
}

/* conv (+ bias) from buffer `in` of H x W x IC; *H, *W become the output's. */
static int
add_conv(nn_model *m, const char *name, int in, int *H, int *W, int IC,
    int OC, int k, int s, int groups, int bias)
{
	node *n = new_node(m, K_CONV, in);
	int dims[4] = { OC, IC / groups, k, k }, OH, OW;
	int fan_in = IC / groups * k * k;

	n->cv = (nn_conv2d){ IC, OC, k, k, s, k / 2, groups, bias,
	    NN_IMPL_AUTO };
	n->H = *H;
	n->W = *W;
	n->C = IC;
	n->OC = OC;
	OH = (*H + 2 * (k / 2) - k) / s + 1;
	OW = (*W + 2 * (k / 2) - k) / s + 1;
	n->rows = OH * OW;
	n->w = new_param(m, 0, name, "w", 4, dims, 1, I_UNIFORM, fan_in);
	if (bias)
		n->b = new_param(m, 0, name, "b", 1, &OC, 0, I_UNIFORM,
		    fan_in);
	n->out = new_buf(m, (size_t)OH * OW * OC, 0);
	m->macs += (long long)OH * OW * OC * fan_in;
	*H = OH;
	*W = OW;
	return n->out;
}

static int
add_bn(nn_model *m, const char *name, int in, int rows, int C)
{
	node *n = new_node(m, K_BN, in);

	n->bn = (nn_batchnorm){ C, 1e-5f, 0.1f };
	n->rows = rows;
	n->C = C;
	n->w = new_param(m, 0, name, "gamma", 1, &C, 0, I_ONE, 0);
	n->b = new_param(m, 0, name, "beta", 1, &C, 0, I_ZERO, 0);
	n->rm = new_param(m, 1, name, "running_mean", 1, &C, 0, I_ZERO, 0);
	n->rv = new_param(m, 1, name, "running_var", 1, &C, 0, I_ONE, 0);
	n->mean = new_buf(m, 0, (size_t)C);
	n->rstd = new_buf(m, 0, (size_t)C);
	n->out = new_buf(m, (size_t)rows * C, 0);
	return n->out;
}

/* BN + hswish as one node: the BN output is never stored. */
static int
add_bn_act(nn_model *m, const char *name, int in, int rows, int C)
{
	node *n;
	int out = add_bn(m, name, in, rows, C);

	(void)out;
	n = &m->nodes[m->n_nodes - 1];
	n->kind = K_BNACT;
	return n->out;
}

static int
add_hswish(nn_model *m, int in, int rows, int C)
{
	node *n = new_node(m, K_HSWISH, in);

	n->rows = rows;
	n->C = C;
	n->out = new_buf(m, (size_t)rows * C, 0);
	return n->out;
}

static int
add_add(nn_model *m, int a, int b, int rows, int C)
{
	node *n = new_node(m, K_ADD, a);

	n->in2 = b;
	n->rows = rows;
	n->C = C;
	n->out = new_buf(m, (size_t)rows * C, 0);
	return n->out;
}

static int
add_ln(nn_model *m, const char *name, int in, int T, int C)
{
	node *n = new_node(m, K_LN, in);

	n->rows = T;
	n->C = C;
	n->w = new_param(m, 0, name, "w", 1, &C, 0, I_ONE, 0);
	n->b = new_param(m, 0, name, "b", 1, &C, 0, I_ZERO, 0);
	n->mean = new_buf(m, (size_t)T, 0);
	n->rstd = new_buf(m, (size_t)T, 0);
	n->out = new_buf(m, (size_t)T * C, 0);
	return n->out;
}

static int
add_linear(nn_model *m, const char *name, int in, int T, int IC, int OC)
{
	node *n = new_node(m, K_LINEAR, in);
	int dims[2] = { OC, IC };

	n->rows = T;
	n->C = IC;
	n->OC = OC;
	n->w = new_param(m, 0, name, "w", 2, dims, 1, I_UNIFORM, IC);
	n->b = new_param(m, 0, name, "b", 1, &OC, 0, I_UNIFORM, IC);
	n->out = new_buf(m, (size_t)T * OC, 0);
	m->macs += (long long)T * IC * OC;
	return n->out;
}

static int
add_attn(nn_model *m, int qkv, int T, int C, int NH)
{
	node *n = new_node(m, K_ATTN, qkv);

	n->rows = T;
	n->C = C;
	n->NH = NH;
	n->att = new_buf(m, (size_t)NH * T * T, 0);
	n->out = new_buf(m, (size_t)T * C, 0);
	m->macs += 2LL * T * T * C;
	return n->out;
}

static int
add_gap(nn_model *m, int in, int HW, int C)
{
	node *n = new_node(m, K_GAP, in);

	n->rows = HW;
	n->C = C;
	n->out = new_buf(m, (size_t)C, 0);
	return n->out;
}

/* conv + BN (+ hswish). */
static int
conv_bn(nn_model *m, const char *name, int in, int *H, int *W, int IC,
    int OC, int k, int s, int groups, int act)
{
	char sub[NAME_LEN];
	int x = add_conv(m, name, in, H, W, IC, OC, k, s, groups, 0);

	snprintf(sub, sizeof sub, "%s.bn", name);
	return act ? add_bn_act(m, sub, x, *H * *W, OC) :
	    add_bn(m, sub, x, *H * *W, OC);
}

/* MBConv: [pw expand + BN + hswish], dw3x3 + BN + hswish, pw + BN,
 * residual when stride 1 and IC == OC. */
static int
mbconv(nn_model *m, const char *name, int in, int *H, int *W, int IC,
    int OC, int t, int s)
{
	char sub[NAME_LEN];
	int mid = IC * t, x = in, h0 = *H, w0 = *W;

	if (t != 1) {
		snprintf(sub, sizeof sub, "%s.expand", name);
		x = conv_bn(m, sub, x, H, W, IC, mid, 1, 1, 1, 1);
	}
	snprintf(sub, sizeof sub, "%s.dw", name);
	x = conv_bn(m, sub, x, H, W, mid, mid, 3, s, mid, 1);
	snprintf(sub, sizeof sub, "%s.project", name);
	x = conv_bn(m, sub, x, H, W, mid, OC, 1, 1, 1, 0);
	if (s == 1 && IC == OC && *H == h0 && *W == w0)
		x = add_add(m, in, x, *H * *W, OC);
	return x;
}

/* Pre-LN transformer block on T tokens of C channels (NHWC rows are
 * tokens already), NH heads, MLP ratio r with hswish. */
static int
vit_block(nn_model *m, const char *name, int in, int T, int C, int NH,
    int r)
{
	char sub[NAME_LEN];
	int x, a;

	snprintf(sub, sizeof sub, "%s.ln1", name);
	x = add_ln(m, sub, in, T, C);
	snprintf(sub, sizeof sub, "%s.qkv", name);
	x = add_linear(m, sub, x, T, C, 3 * C);
	x = add_attn(m, x, T, C, NH);
	snprintf(sub, sizeof sub, "%s.proj", name);
	x = add_linear(m, sub, x, T, C, C);
	a = add_add(m, in, x, T, C);
	snprintf(sub, sizeof sub, "%s.ln2", name);
	x = add_ln(m, sub, a, T, C);
	snprintf(sub, sizeof sub, "%s.mlp1", name);
	x = add_linear(m, sub, x, T, C, r * C);
	x = add_hswish(m, x, T, r * C);
	snprintf(sub, sizeof sub, "%s.mlp2", name);
	x = add_linear(m, sub, x, T, r * C, C);
	return add_add(m, a, x, T, C);
}

static void
build_ref(nn_model *m, int hybrid)
{
	int H = IN_HW, W = IN_HW, x;

	m->input = new_buf(m, (size_t)IN_HW * IN_HW, 0);
	x = conv_bn(m, "stem", m->input, &H, &W, 1, 16, 3, 2, 1, 1);
	x = mbconv(m, "mb1", x, &H, &W, 16, 16, 1, 1);
	x = mbconv(m, "mb2", x, &H, &W, 16, 24, 4, 2);
	x = mbconv(m, "mb3", x, &H, &W, 24, 24, 4, 1);
	x = mbconv(m, "mb4", x, &H, &W, 24, 32, 4, 2);
	x = mbconv(m, "mb5", x, &H, &W, 32, 32, 4, 1);
	x = mbconv(m, "mb6", x, &H, &W, 32, 64, 4, 1);
	if (hybrid) {
		x = vit_block(m, "vit1", x, H * W, 64, 8, 2);
		x = vit_block(m, "vit2", x, H * W, 64, 8, 2);
	}
	x = add_gap(m, x, H * W, 64);
	/* MBPool-style head: 1x1 conv with bias on the pooled vector is a
	 * linear layer. */
	x = add_linear(m, "head", x, 1, 64, 256);
	x = add_hswish(m, x, 1, 256);
	m->logits = add_linear(m, "fc", x, 1, 256, CLASSES);
}

/* Marks, for each buffer, the node whose backward reaches its gradient
 * first (the last consumer in forward order): that one writes it. */
static void
mark_writers(nn_model *m)
{
	char seen[MAX_BUFS];

	memset(seen, 0, sizeof seen);
	for (int i = m->n_nodes - 1; i >= 0; i--) {
		node *n = &m->nodes[i];

		n->set_in = !seen[n->in];
		seen[n->in] = 1;
		if (n->in2 >= 0) {
			n->set_in2 = !seen[n->in2];
			seen[n->in2] = 1;
		}
	}
}

/* ---- life cycle ---------------------------------------------------------- */

static float
uniform(uint64_t *rng, float bound)
{
	return (2 * nn_sm64_uniform(rng) - 1) * bound;
}

static int
prepare(nn_model *m, h4h_err *err)
{
	for (int i = 0; i < m->n_nodes; i++) {
		const node *n = &m->nodes[i];
		int rc = 0;

		if (n->kind == K_CONV)
			rc = nn_conv2d_prepare(m->ctx, &n->cv, m->B, n->H, n->W,
			    n->C, n->OC, err);
		else if (n->kind == K_BN || n->kind == K_BNACT)
			rc = nn_batchnorm_prepare(m->ctx, &n->bn, m->B * n->rows,
			    n->C, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
nn_model_create(nn_ctx *ctx, const char *name, int B, uint64_t seed,
    nn_model **out, h4h_err *err)
{
	nn_model *m;
	uint64_t rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	int rc;

	*out = NULL;
	if (strcmp(name, "ref-hybrid") != 0 && strcmp(name, "ref-cnn") != 0)
		return h4h_errf(err, H4H_EINPUT, "unknown model '%s' (ref-hybrid "
		    "or ref-cnn)", name);
	if (B < 1 || B > 65536)
		return h4h_errf(err, H4H_EINPUT, "batch must be 1..65536 (got "
		    "%d)", B);
	m = h4h_xcalloc(1, sizeof *m);
	snprintf(m->name, sizeof m->name, "%s", name);
	m->ctx = ctx;
	m->B = B;
	build_ref(m, strcmp(name, "ref-hybrid") == 0);
	mark_writers(m);
	if (m->err) {
		free(m);
		return h4h_errf(err, H4H_ESIM, "model '%s' exceeds the builder's "
		    "tables", name);
	}
	m->p = h4h_xcalloc(m->n_p, sizeof *m->p);
	m->g = h4h_xcalloc(m->n_p, sizeof *m->g);
	m->s = h4h_xcalloc(m->n_s ? m->n_s : 1, sizeof *m->s);
	for (int i = 0; i < m->n_params; i++) {
		const nn_param *t = &m->params[i];
		size_t cnt = nn_param_count(t);
		float *v = m->p + t->offset;
		float bound = m->fan_in[i] > 0 ? 1.0f / sqrtf((float)
		    m->fan_in[i]) : 0;

		for (size_t k = 0; k < cnt; k++)
			v[k] = m->init[i] == I_UNIFORM ? uniform(&rng, bound) :
			    m->init[i] == I_ONE ? 1.0f : 0.0f;
	}
	for (int i = 0; i < m->n_state; i++)	/* running mean 0, var 1 */
		if (strstr(m->state[i].name, "running_var") != NULL)
			for (size_t k = 0; k < nn_param_count(&m->state[i]); k++)
				m->s[m->state[i].offset + k] = 1.0f;
	for (int i = 0; i < m->n_bufs; i++) {
		buf *b = &m->bufs[i];
		size_t n = b->per_image * (size_t)B + b->fixed;

		b->data = h4h_xcalloc(n ? n : 1, sizeof(float));
		b->grad = h4h_xcalloc(n ? n : 1, sizeof(float));
	}
	m->probs = h4h_xcalloc((size_t)B * CLASSES, sizeof *m->probs);
	m->labels = h4h_xcalloc((size_t)B, sizeof *m->labels);
	if ((rc = prepare(m, err)) != 0) {
		nn_model_destroy(m);
		return rc;
	}
	*out = m;
	return 0;
}

void
nn_model_destroy(nn_model *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->n_bufs; i++) {
		free(m->bufs[i].data);
		free(m->bufs[i].grad);
	}
	free(m->p);
	free(m->g);
	free(m->s);
	free(m->probs);
	free(m->labels);
	free(m);
}

const char *
nn_model_name(const nn_model *m)
{
	return m->name;
}

int
nn_model_in_hw(const nn_model *m)
{
	(void)m;
	return IN_HW;
}

long long
nn_model_macs_per_image(const nn_model *m)
{
	return m->macs;
}

float *
nn_model_params(nn_model *m)
{
	return m->p;
}

float *
nn_model_grads(nn_model *m)
{
	return m->g;
}

size_t
nn_model_nparams(const nn_model *m)
{
	return m->n_p;
}

const nn_param *
nn_model_param_table(const nn_model *m, int *n)
{
	*n = m->n_params;
	return m->params;
}

float *
nn_model_state(nn_model *m)
{
	return m->s;
}

size_t
nn_model_nstate(const nn_model *m)
{
	return m->n_s;
}

const nn_param *
nn_model_state_table(const nn_model *m, int *n)
{
	*n = m->n_state;
	return m->state;
}

const float *
nn_model_logits(const nn_model *m)
{
	return m->bufs[m->logits].data;
}

/* ---- forward and backward ------------------------------------------------- */

static float *
P(nn_model *m, long off)
{
	return off < 0 ? NULL : m->p + off;
}

static float *
G(nn_model *m, long off)
{
	return off < 0 ? NULL : m->g + off;
}

int
nn_model_forward(nn_model *m, const float *x, const int *labels, int b,
    int train, float smooth, float *loss, int *correct, h4h_err *err)
{
	int rc;

	if (b < 1 || b > m->B)
		return h4h_errf(err, H4H_EINPUT, "batch %d exceeds the model's "
		    "%d", b, m->B);
	m->b = b;
	memcpy(m->bufs[m->input].data, x, (size_t)b * IN_HW * IN_HW *
	    sizeof *x);
	for (int i = 0; i < m->n_nodes; i++) {
		node *n = &m->nodes[i];
		float *in = m->bufs[n->in].data, *out = m->bufs[n->out].data;
		int N = b * n->rows;

		switch (n->kind) {
		case K_CONV:
			rc = nn_conv2d_forward(m->ctx, &n->cv, out, in,
			    P(m, n->w), P(m, n->b), b, n->H, n->W, n->C, n->OC,
			    err);
			if (rc != 0)
				return rc;
			break;
		case K_BN:
			rc = nn_batchnorm_forward(m->ctx, &n->bn, out,
			    m->bufs[n->mean].data, m->bufs[n->rstd].data,
			    m->s + n->rm, m->s + n->rv, in, P(m, n->w),
			    P(m, n->b), N, n->C, train ? NN_BN_TRAIN :
			    NN_BN_INFER, 0, err);
			if (rc != 0)
				return rc;
			break;
		case K_BNACT:
			rc = nn_bn_hswish_forward(m->ctx, &n->bn, out,
			    m->bufs[n->mean].data, m->bufs[n->rstd].data,
			    m->s + n->rm, m->s + n->rv, in, P(m, n->w),
			    P(m, n->b), N, n->C, train ? NN_BN_TRAIN :
			    NN_BN_INFER, 0, err);
			if (rc != 0)
				return rc;
			break;
		case K_HSWISH:
			nn_hswish_forward(out, in, (size_t)N * n->C);
			break;
		case K_ADD:
			nn_residual_forward(out, in, m->bufs[n->in2].data,
			    (size_t)N * n->C);
			break;
		case K_LN:
			nn_layernorm_forward(out, m->bufs[n->mean].data,
			    m->bufs[n->rstd].data, in, P(m, n->w), P(m, n->b),
			    N, n->C, 1e-5f);
			break;
		case K_LINEAR:
			nn_linear_forward(m->ctx, out, in, P(m, n->w),
			    P(m, n->b), N, n->C, n->OC, n->C);
			break;
		case K_ATTN:
			nn_attention_forward(out, m->bufs[n->att].data, in,
			    NULL, NULL, 0, b, n->rows, n->C, n->NH);
			break;
		case K_GAP:
			nn_avgpool_forward(out, in, b, n->rows, n->C);
			break;
		}
	}
	m->have_labels = labels != NULL;
	if (labels != NULL) {
		const float *lg = m->bufs[m->logits].data;
		float l;

		memcpy(m->labels, labels, (size_t)b * sizeof *labels);
		m->smooth = smooth;
		l = nn_crossentropy_forward(NULL, m->probs, lg, labels, b,
		    CLASSES, smooth);
		if (loss != NULL)
			*loss = l;
		if (correct != NULL) {
			*correct = 0;
			for (int i = 0; i < b; i++) {
				int best = 0;

				for (int k = 1; k < CLASSES; k++)
					if (lg[i * CLASSES + k] >
					    lg[i * CLASSES + best])
						best = k;
				*correct += best == labels[i];
			}
		}
	}
	return 0;
}

int
nn_model_backward(nn_model *m, h4h_err *err)
{
	int b = m->b, rc;

	if (!m->have_labels)
		return h4h_errf(err, H4H_ESIM, "backward needs a forward with "
		    "labels");
	memset(m->g, 0, m->n_p * sizeof *m->g);
	/* activation gradients are not zeroed here: each buffer's first
	 * writer in backward (set_in) overwrites it, or zeroes it just
	 * before accumulating when its op only accumulates */
	memset(m->bufs[m->logits].grad, 0, (size_t)b * CLASSES *
	    sizeof(float));
	nn_crossentropy_backward(m->bufs[m->logits].grad, m->probs, m->labels,
	    b, CLASSES, m->smooth, 1.0f);
	for (int i = m->n_nodes - 1; i >= 0; i--) {
		node *n = &m->nodes[i];
		float *in = m->bufs[n->in].data;
		float *din = n->in == m->input ? NULL : m->bufs[n->in].grad;
		float *dout = m->bufs[n->out].grad;
		int N = b * n->rows, acc = !n->set_in;
		const buf *bi = &m->bufs[n->in];

		/* ops without an overwrite mode: zero din just before */
		if (din != NULL && !acc && n->kind != K_CONV &&
		    n->kind != K_BN && n->kind != K_BNACT && n->kind != K_ADD)
			memset(din, 0, (bi->per_image * (size_t)b + bi->fixed) *
			    sizeof(float));
		switch (n->kind) {
		case K_CONV:
			rc = nn_conv2d_backward_ex(m->ctx, &n->cv, din,
			    G(m, n->w), G(m, n->b), dout, in, P(m, n->w), b,
			    n->H, n->W, n->C, n->OC, acc, err);
			if (rc != 0)
				return rc;
			break;
		case K_BN:
			rc = nn_batchnorm_backward_ex(m->ctx, &n->bn, din,
			    G(m, n->w), G(m, n->b), dout, in,
			    m->bufs[n->mean].data, m->bufs[n->rstd].data,
			    P(m, n->w), N, n->C, acc, err);
			if (rc != 0)
				return rc;
			break;
		case K_BNACT:
			rc = nn_bn_hswish_backward(m->ctx, &n->bn, din,
			    G(m, n->w), G(m, n->b), dout, in,
			    m->bufs[n->mean].data, m->bufs[n->rstd].data,
			    P(m, n->w), P(m, n->b), N, n->C, acc, err);
			if (rc != 0)
				return rc;
			break;
		case K_HSWISH:
			nn_hswish_backward(din, dout, in, (size_t)N * n->C);
			break;
		case K_ADD: {
			size_t cnt = (size_t)N * n->C;
			float *d2 = m->bufs[n->in2].grad;

			if (din != NULL && !acc)
				memcpy(din, dout, cnt * sizeof(float));
			else if (din != NULL)
				nn_residual_backward(din, NULL, dout, cnt);
			if (n->set_in2)
				memcpy(d2, dout, cnt * sizeof(float));
			else
				nn_residual_backward(NULL, d2, dout, cnt);
			break;
		}
		case K_LN:
			nn_layernorm_backward(din, G(m, n->w), G(m, n->b), dout,
			    in, P(m, n->w), m->bufs[n->mean].data,
			    m->bufs[n->rstd].data, N, n->C);
			break;
		case K_LINEAR:
			nn_linear_backward(m->ctx, din, G(m, n->w), G(m, n->b),
			    dout, in, P(m, n->w), N, n->C, n->OC, n->C);
			break;
		case K_ATTN:
			nn_attention_backward(din, NULL, dout, in,
			    m->bufs[n->att].data, NULL, 0, b, n->rows, n->C,
			    n->NH);
			break;
		case K_GAP:
			nn_avgpool_backward(din, dout, b, n->rows, n->C);
			break;
		}
	}
	return 0;
}
