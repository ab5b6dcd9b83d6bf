/*
 * onnx.c - lowers an ONNX graph into the simulator's layer list.
 *
 * The graph is read with protobuf-c, from C code generated at build time
 * from the onnx.proto Debian ships (Makefile.am).  Nodes are visited once,
 * in file order (ONNX requires a topological order).  Every tensor is one of
 *
 *   CONST  an initializer, a Constant, a graph input other than the first
 *          (export_params=False: the weights are shaped inputs), or a value
 *          computed from constants only (the shape arithmetic exporters
 *          emit).  Its dims are known; small integer or scalar values are
 *          kept, so that Reshape, Slice and friends can be folded.
 *   DYN    an activation: the first graph input, or anything computed from
 *          it.  It carries the h4h layer that holds its data (`src`, -1 for
 *          the network input) and its ONNX dims, which may differ from that
 *          layer's output shape after layout ops.
 *
 * Layout ops (Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat,
 * Split, Slice, Gather, Expand, Identity, Dropout) emit no layer: they only
 * change a DYN tensor's dims.  A layer that then reads it sees those dims
 * through a view (sim_layer.view).  Compute ops emit layers; activations,
 * BatchNormalization and per-channel scales and biases fold into the layer
 * before them where it has no other reader.  Multi-node patterns (the
 * LayerNorm of ReduceMean/Sub/Pow/Sqrt/Div, the GELU of Div/Erf/Add/Mul,
 * x*Sigmoid(x) and x*HardSigmoid(x)) are followed through a `pend` tag on
 * the tensors in between; a tensor caught halfway through a pattern cannot
 * feed anything else.
 *
 * Token tensors [.., T, E] become [T, 1, E]; NCHW tensors [1, C, H, W]
 * become [H, W, C].  A matmul of two activations becomes a multi-head
 * matmul whose heads are the product of its batch dims, which is how the
 * Reshape/Transpose pattern around attention hands them over.
 */
#include "sim/front/onnx.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "src/sim/front/onnx/gen/onnx.pb-c.h"	/* generated into the build tree */

#define MAX_RANK 8
#define MAX_VALS 64		/* values kept per constant: shapes, indices */

enum { T_NONE, T_CONST, T_DYN };

/* Where a DYN tensor stands in a multi-node pattern. */
enum {
	P_NONE,
	P_GATE,		/* Sigmoid/HardSigmoid(x): x * gate fuses, else an act */
	P_ERF,		/* Erf(x / sqrt 2) (+ 1): x * this is GELU */
	P_MEAN,		/* ReduceMean(x) over the last axis */
	P_CENTER,	/* x - mean */
	P_SQ,		/* (x - mean)^2 */
	P_VAR,		/* mean((x - mean)^2) (+ eps) */
	P_STD,		/* sqrt(var) */
};

static const char *const pend_names[] = {
	[P_NONE] = "", [P_GATE] = "a sigmoid gate", [P_ERF] = "a GELU",
	[P_MEAN] = "a layernorm", [P_CENTER] = "a layernorm",
	[P_SQ] = "a layernorm", [P_VAR] = "a layernorm",
	[P_STD] = "a layernorm",
};

typedef struct tens {
	const char *name;
	int kind;
	int rank;
	int64_t dims[MAX_RANK];
	int nval;		/* values known: -1 none */
	int isint;
	double val[MAX_VALS];
	/* DYN */
	int src;		/* h4h layer holding the data; -1 network input */
	int fusable;		/* exactly src's output: an act or BN may fold */
	int root;		/* tensor before scalar ops (itself if none) */
	int pend, pend_of;	/* pattern tag and the tensor it started from */
	sim_act gate_act;	/* P_GATE: the act x * gate becomes */
	sim_act solo_act;	/* P_GATE: the act the gate is alone */
	int gate_node;		/* P_GATE: the node that made it */
} tens;

typedef struct lower {
	const char *label;
	const Onnx__GraphProto *g;
	sim_net *net;
	tens *t;
	int nt, cap;
	int *hash;		/* open addressing: tensor index + 1 */
	int hcap;
	int *uses;		/* readers of each tensor */
	const Onnx__NodeProto *node;	/* the node being lowered */
	int node_i;			/* its index in the graph */
	h4h_err *err;
} lower;

/* ---- messages ----------------------------------------------------------- */

static const char *
node_name(const Onnx__NodeProto *n)
{
	if (n->name != NULL && n->name[0] != '\0')
		return n->name;
	if (n->n_output > 0 && n->output[0][0] != '\0')
		return n->output[0];
	return "?";
}

static int bad(lower *lw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "'FILE' node 'NAME' (Op): MSG" */
static int
bad(lower *lw, const char *fmt, ...)
{
	char msg[360];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (lw->node == NULL)
		return h4h_errf(lw->err, H4H_EINPUT, "'%s': %s", lw->label,
		    msg);
	return h4h_errf(lw->err, H4H_EINPUT, "'%s' node '%.120s' (%s): %s",
	    lw->label, node_name(lw->node), lw->node->op_type, msg);
}

static void
dims_str(const tens *t, char *buf, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->rank && k + 24 < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "x" : "",
		    (long long)t->dims[i]);
	if (t->rank == 0)
		snprintf(buf, n, "scalar");
}

/* ---- the tensor table --------------------------------------------------- */

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int
find(const lower *lw, const char *name)
{
	size_t i = (size_t)(str_hash(name) & (uint64_t)(lw->hcap - 1));

	for (;; i = (i + 1) & (size_t)(lw->hcap - 1)) {
		int k = lw->hash[i];

		if (k == 0)
			return -1;
		if (strcmp(lw->t[k - 1].name, name) == 0)
			return k - 1;
	}
}

/* A new tensor (or the one of that name, reset: ONNX names are SSA, but a
 * graph input may share its name with an initializer). */
static tens *
add(lower *lw, const char *name)
{
	int k = find(lw, name);
	size_t i;

	if (k >= 0) {
		memset(&lw->t[k], 0, sizeof lw->t[k]);
		lw->t[k].name = name;
		lw->t[k].nval = -1;
		lw->t[k].root = k;
		return &lw->t[k];
	}
	if (lw->nt == lw->cap) {
		lw->cap = lw->cap ? 2 * lw->cap : 256;
		lw->t = h4h_xrealloc(lw->t, (size_t)lw->cap * sizeof *lw->t);
	}
	k = lw->nt++;
	memset(&lw->t[k], 0, sizeof lw->t[k]);
	lw->t[k].name = name;
	lw->t[k].nval = -1;
	lw->t[k].root = k;
	for (i = (size_t)(str_hash(name) & (uint64_t)(lw->hcap - 1));
	    lw->hash[i] != 0; i = (i + 1) & (size_t)(lw->hcap - 1))
		;
	lw->hash[i] = k + 1;
	return &lw->t[k];
}

static int
idx(const lower *lw, const tens *t)
{
	return (int)(t - lw->t);
}

static long long
numel(const tens *t)
{
	long long n = 1;

	for (int i = 0; i < t->rank; i++)
		n *= t->dims[i];
	return n;
}

/* Input i of the node (NULL if absent); an error if it was never made. */
static int
in(lower *lw, size_t i, tens **out)
{
	const Onnx__NodeProto *n = lw->node;
	int k;

	*out = NULL;
	if (i >= n->n_input || n->input[i][0] == '\0')
		return 0;
	if ((k = find(lw, n->input[i])) < 0 || lw->t[k].kind == T_NONE)
		return bad(lw, "reads '%s', which no earlier node or graph "
		    "input defines (a truncated file?)", n->input[i]);
	*out = &lw->t[k];
	return 0;
}

static int
need_in(lower *lw, size_t i, tens **out)
{
	int rc = in(lw, i, out);

	if (rc == 0 && *out == NULL)
		return bad(lw, "input %zu is missing", i);
	return rc;
}

/* The node's output i (created). */
static tens *
out_t(lower *lw, size_t i)
{
	return add(lw, lw->node->output[i]);
}

static int
set_dims(lower *lw, tens *t, int rank, const int64_t *dims)
{
	if (rank < 0 || rank > MAX_RANK)
		return bad(lw, "tensor '%s' has rank %d (at most %d)", t->name,
		    rank, MAX_RANK);
	t->rank = rank;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0 || dims[i] > INT_MAX)
			return bad(lw, "tensor '%s' has dimension %lld",
			    t->name, (long long)dims[i]);
		t->dims[i] = dims[i];
	}
	return 0;
}

/* A DYN output that aliases `from` with new dims. */
static tens *
alias(lower *lw, const tens *from, size_t o)
{
	int fi = idx(lw, from);
	tens *t = out_t(lw, o);
	int k = idx(lw, t);

	from = &lw->t[fi];	/* out_t may have moved the table */
	*t = *from;
	t->name = lw->node->output[o];
	t->nval = -1;
	t->root = k;
	t->pend = P_NONE;
	return t;
}

/* ---- attributes --------------------------------------------------------- */

static const Onnx__AttributeProto *
attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i]->name != NULL &&
		    strcmp(n->attribute[i]->name, name) == 0)
			return n->attribute[i];
	return NULL;
}

static int64_t
attr_i(const Onnx__NodeProto *n, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = attr(n, name);

	return a != NULL && a->has_i ? a->i : def;
}

static double
attr_f(const Onnx__NodeProto *n, const char *name, double def)
{
	const Onnx__AttributeProto *a = attr(n, name);

	return a != NULL && a->has_f ? a->f : def;
}

/* Up to `max` ints of a list attribute; returns the count (-1 absent). */
static int
attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, int max)
{
	const Onnx__AttributeProto *a = attr(n, name);

	if (a == NULL)
		return -1;
	for (size_t i = 0; i < a->n_ints && (int)i < max; i++)
		v[i] = a->ints[i];
	return a->n_ints > (size_t)max ? max : (int)a->n_ints;
}

static int
attr_is(const Onnx__NodeProto *n, const char *name, const char *s)
{
	const Onnx__AttributeProto *a = attr(n, name);

	return a != NULL && a->has_s && a->s.len == strlen(s) &&
	    memcmp(a->s.data, s, a->s.len) == 0;
}

/* ---- constants ---------------------------------------------------------- */

/* A TensorProto as a CONST: dims, and its values if few. */
static int
from_proto(lower *lw, tens *t, const Onnx__TensorProto *p)
{
	int rc;
	long long n;

	if ((rc = set_dims(lw, t, (int)p->n_dims, p->dims)) != 0)
		return rc;
	t->kind = T_CONST;
	t->nval = -1;
	n = numel(t);
	if (n > MAX_VALS)
		return 0;
	t->isint = p->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
	    p->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
	    p->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	switch (p->data_type) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
		if (p->n_int64_data == (size_t)n) {
			for (long long i = 0; i < n; i++)
				t->val[i] = (double)p->int64_data[i];
			t->nval = (int)n;
		} else if (p->has_raw_data && p->raw_data.len == (size_t)n * 8) {
			for (long long i = 0; i < n; i++) {
				int64_t v;

				memcpy(&v, p->raw_data.data + 8 * i, 8);
				t->val[i] = (double)v;
			}
			t->nval = (int)n;
		}
		break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
		if (p->n_int32_data == (size_t)n) {
			for (long long i = 0; i < n; i++)
				t->val[i] = p->int32_data[i];
			t->nval = (int)n;
		} else if (p->data_type ==
		    ONNX__TENSOR_PROTO__DATA_TYPE__INT32 && p->has_raw_data &&
		    p->raw_data.len == (size_t)n * 4) {
			for (long long i = 0; i < n; i++) {
				int32_t v;

				memcpy(&v, p->raw_data.data + 4 * i, 4);
				t->val[i] = v;
			}
			t->nval = (int)n;
		} else if (p->has_raw_data && p->raw_data.len == (size_t)n) {
			for (long long i = 0; i < n; i++)
				t->val[i] = p->raw_data.data[i] != 0;
			t->nval = (int)n;
		}
		break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
		if (p->n_float_data == (size_t)n) {
			for (long long i = 0; i < n; i++)
				t->val[i] = p->float_data[i];
			t->nval = (int)n;
		} else if (p->has_raw_data && p->raw_data.len == (size_t)n * 4) {
			for (long long i = 0; i < n; i++) {
				float v;

				memcpy(&v, p->raw_data.data + 4 * i, 4);
				t->val[i] = v;
			}
			t->nval = (int)n;
		}
		break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
		if (p->n_double_data == (size_t)n) {
			for (long long i = 0; i < n; i++)
				t->val[i] = p->double_data[i];
			t->nval = (int)n;
		} else if (p->has_raw_data && p->raw_data.len == (size_t)n * 8) {
			memcpy(t->val, p->raw_data.data, (size_t)n * 8);
			t->nval = (int)n;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* The i-th value of a CONST input as an integer: required. */
static int
const_ints(lower *lw, const tens *t, const char *what, int64_t *v, int *n)
{
	if (t == NULL || t->kind != T_CONST || t->nval < 0)
		return bad(lw, "%s must be a constant (it is computed from %s)",
		    what, t != NULL && t->kind == T_DYN ? "the activations" :
		    "values h4h does not fold");
	for (int i = 0; i < t->nval; i++)
		v[i] = (int64_t)t->val[i];
	*n = t->nval;
	return 0;
}

static int
is_scalar(const tens *t)
{
	return t != NULL && t->kind == T_CONST && numel(t) == 1;
}

/* Broadcast dims of a and b (numpy rules) into t. */
static int
broadcast(lower *lw, const tens *a, const tens *b, tens *t)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	int64_t d[MAX_RANK];

	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t x = ia >= 0 ? a->dims[ia] : 1;
		int64_t y = ib >= 0 ? b->dims[ib] : 1;

		if (x != y && x != 1 && y != 1) {
			char sa[80], sb[80];

			dims_str(a, sa, sizeof sa);
			dims_str(b, sb, sizeof sb);
			return bad(lw, "shapes %s and %s do not broadcast", sa,
			    sb);
		}
		d[i] = x == 1 ? y : x;
	}
	return set_dims(lw, t, r, d);
}

/* Elementwise arithmetic on constant values (shape arithmetic). */
static void
const_binary(const char *op, const tens *a, const tens *b, tens *t)
{
	int n = (int)numel(t);

	t->kind = T_CONST;
	t->nval = -1;
	t->isint = a->isint && b->isint;
	if (a->nval < 0 || b->nval < 0 || n > MAX_VALS)
		return;
	if ((a->nval != 1 && a->nval != n) || (b->nval != 1 && b->nval != n))
		return;
	for (int i = 0; i < n; i++) {
		double x = a->val[a->nval == 1 ? 0 : i];
		double y = b->val[b->nval == 1 ? 0 : i];
		double r;

		if (strcmp(op, "Add") == 0)
			r = x + y;
		else if (strcmp(op, "Sub") == 0)
			r = x - y;
		else if (strcmp(op, "Mul") == 0)
			r = x * y;
		else if (strcmp(op, "Div") == 0) {
			if (y == 0)
				return;
			r = t->isint ? trunc(x / y) : x / y;
		} else if (strcmp(op, "Equal") == 0)
			r = x == y;
		else if (strcmp(op, "Less") == 0)
			r = x < y;
		else if (strcmp(op, "Greater") == 0)
			r = x > y;
		else if (strcmp(op, "Pow") == 0)
			r = pow(x, y);
		else if (strcmp(op, "Max") == 0)
			r = x > y ? x : y;
		else if (strcmp(op, "Min") == 0)
			r = x < y ? x : y;
		else
			return;
		t->val[i] = r;
	}
	t->isint = t->isint || strcmp(op, "Equal") == 0 ||
	    strcmp(op, "Less") == 0 || strcmp(op, "Greater") == 0;
	t->nval = n;
}

/* ---- shapes as h4h sees them -------------------------------------------- */

/* [.., T, E] -> [T, 1, E]; [1, C, H, W] -> [H, W, C]. */
static int
hwc(lower *lw, const tens *t, int *h, int *w, int *c)
{
	long long rows = 1;

	if (t->rank == 4) {
		if (t->dims[0] != 1)
			return bad(lw, "tensor '%s' has batch %lld: export the "
			    "model with batch 1", t->name,
			    (long long)t->dims[0]);
		*h = (int)t->dims[2];
		*w = (int)t->dims[3];
		*c = (int)t->dims[1];
		return 0;
	}
	if (t->rank > 4)
		return bad(lw, "tensor '%s' has rank %d where a layer reads it "
		    "(h4h layers read [H, W, C] or token tensors)", t->name,
		    t->rank);
	for (int i = 0; i + 1 < t->rank; i++)
		rows *= t->dims[i];
	if (rows > INT_MAX)
		return bad(lw, "tensor '%s' has %lld rows", t->name, rows);
	*h = (int)rows;
	*w = 1;
	*c = t->rank == 0 ? 1 : (int)t->dims[t->rank - 1];
	return 0;
}

static void
src_hwc(const lower *lw, int src, int *h, int *w, int *c)
{
	if (src < 0) {
		*h = lw->net->in_h;
		*w = lw->net->in_w;
		*c = lw->net->in_c;
	} else {
		*h = lw->net->layers[src].out_h;
		*w = lw->net->layers[src].out_w;
		*c = lw->net->layers[src].out_c;
	}
}

/* The layer reads t as h x w x c: through a view if that is not its
 * source layer's output shape. */
static void
read_as(const lower *lw, sim_layer *l, const tens *t, int h, int w, int c)
{
	int sh, sw, sc;

	l->inputs[0] = t->src;
	l->n_inputs = 1;
	src_hwc(lw, t->src, &sh, &sw, &sc);
	if (sh != h || sw != w || sc != c) {
		l->view = 1;
		l->in_h = h;
		l->in_w = w;
		l->in_c = c;
	}
}

/* Reads t in its own [H, W, C] form. */
static int
read_t(lower *lw, sim_layer *l, const tens *t)
{
	int h, w, c, rc;

	if ((rc = hwc(lw, t, &h, &w, &c)) != 0)
		return rc;
	read_as(lw, l, t, h, w, c);
	return 0;
}

/* An elementwise reader that does not care how the elements are arranged
 * (an act, a softmax reading its matmul): the source's own shape if the
 * element count is the same. */
static int
read_flat(lower *lw, sim_layer *l, const tens *t)
{
	int sh, sw, sc;

	src_hwc(lw, t->src, &sh, &sw, &sc);
	if ((long long)sh * sw * sc == numel(t)) {
		l->inputs[0] = t->src;
		l->n_inputs = 1;
		return 0;
	}
	return read_t(lw, l, t);
}

/* ---- emitting layers ---------------------------------------------------- */

/* A layer name from the node name: "/features/0/Conv" -> "features/0/Conv",
 * with characters that CSV or a terminal would mangle replaced, the tail
 * kept if it is too long, and "~N" added to repeat names unique. */
static void
layer_name(const lower *lw, char *buf)
{
	const char *s = node_name(lw->node);
	char tmp[SIM_NAME_MAX];
	size_t n;
	int dup = 1;

	while (*s == '/')
		s++;
	if (*s == '\0')
		s = lw->node->op_type;
	/* PyTorch's scopes repeat themselves ("features/features.1/block/
	 * block.1/Conv"): drop a component that the next one extends. */
	{
		char full[512], *q = full;
		const char *c = s;

		while (*c != '\0' && q < full + sizeof full - 1) {
			const char *e = strchr(c, '/');
			size_t len = e ? (size_t)(e - c) : strlen(c);

			if (e != NULL && strncmp(e + 1, c, len) == 0 &&
			    e[1 + len] == '.') {
				c = e + 1;
				continue;
			}
			if (len + 2 > (size_t)(full + sizeof full - q))
				break;
			memcpy(q, c, len);
			q += len;
			if (e != NULL)
				*q++ = '/';
			c = e ? e + 1 : c + len;
		}
		*q = '\0';
		n = strlen(full);
		s = full + (n > SIM_NAME_MAX - 5 ? n - (SIM_NAME_MAX - 5) : 0);
		snprintf(tmp, sizeof tmp, "%s", s);
	}
	for (char *p = tmp; *p; p++)
		if (*p == ',' || *p == '"' || *p == ' ' || *p == '\t' ||
		    (unsigned char)*p < 0x20)
			*p = '_';
	if (strcmp(tmp, "input") == 0)
		snprintf(tmp, sizeof tmp, "input~1");
	snprintf(buf, SIM_NAME_MAX, "%s", tmp);
	for (;;) {
		int clash = 0;

		for (int i = 0; i < lw->net->n_layers && !clash; i++)
			clash = strcmp(lw->net->layers[i].name, buf) == 0;
		if (!clash)
			return;
		snprintf(buf, SIM_NAME_MAX, "%.52s~%d", tmp, ++dup);
	}
}

/* Appends l (named after the node) and makes output o its DYN tensor. */
static int
emit(lower *lw, sim_layer *l, size_t o, const int64_t *dims, int rank)
{
	h4h_err sub;
	tens *t;
	int rc;

	layer_name(lw, l->name);
	if ((rc = sim_net_append_named(lw->net, l, &sub)) != 0)
		return bad(lw, "%s", sub.msg);
	t = out_t(lw, o);
	t->kind = T_DYN;
	t->src = lw->net->n_layers - 1;
	t->fusable = 1;
	return set_dims(lw, t, rank, dims);
}

static int
fuse_capable(const sim_layer *l)
{
	return l->op == SIM_OP_CONV || l->op == SIM_OP_DWCONV ||
	    l->op == SIM_OP_FC || l->op == SIM_OP_ADD;
}

/* Applies act to x: fused into x's layer if nothing else reads x,
 * else a standalone act layer.  `readers` is how many readers x may have
 * for the fusion (1, or 2 for x * act(x)). */
static int
apply_act(lower *lw, const tens *x, sim_act act, int readers, size_t o)
{
	int xi = idx(lw, x);
	sim_layer l;
	int rc;

	if (x->kind != T_DYN)
		return bad(lw, "an activation of a constant");
	if (x->fusable && x->src >= 0 && lw->uses[xi] <= readers &&
	    fuse_capable(&lw->net->layers[x->src]) &&
	    lw->net->layers[x->src].act == SIM_ACT_NONE) {
		lw->net->layers[x->src].act = act;
		alias(lw, &lw->t[xi], o)->fusable = 1;
		return 0;
	}
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_ACT;
	l.act = act;
	if ((rc = read_flat(lw, &l, &lw->t[xi])) != 0)
		return rc;
	return emit(lw, &l, o, lw->t[xi].dims, lw->t[xi].rank);
}

/* A DYN tensor about to be read by a layer: a pending sigmoid gate becomes
 * its act now; a tensor halfway through a pattern is an error. */
static int
settle(lower *lw, int ti)
{
	const Onnx__NodeProto *saved = lw->node;
	tens *t = &lw->t[ti];
	int rc;

	if (t->kind != T_DYN || t->pend == P_NONE)
		return 0;
	if (t->pend != P_GATE)
		return bad(lw, "reads '%s', which is part of %s pattern that "
		    "it does not complete (export with LayerNormalization or "
		    "Gelu, or simplify the model)", t->name,
		    pend_names[t->pend]);
	/* Emit the gate's act as its own node would have, named after it. */
	{
		const Onnx__NodeProto *gn = lw->g->node[t->gate_node];
		tens x = lw->t[t->pend_of];
		sim_layer l;

		lw->node = gn;
		if (x.fusable && x.src >= 0 && lw->uses[t->pend_of] <= 1 &&
		    fuse_capable(&lw->net->layers[x.src]) &&
		    lw->net->layers[x.src].act == SIM_ACT_NONE) {
			lw->net->layers[x.src].act = t->solo_act;
			t = &lw->t[ti];
			t->pend = P_NONE;
			t->fusable = 1;
			lw->node = saved;
			return 0;
		}
		memset(&l, 0, sizeof l);
		l.op = SIM_OP_ACT;
		l.act = t->solo_act;
		rc = read_flat(lw, &l, &x);
		if (rc == 0) {
			layer_name(lw, l.name);
			h4h_err sub;

			if ((rc = sim_net_append_named(lw->net, &l, &sub)) != 0)
				rc = bad(lw, "%s", sub.msg);
		}
		lw->node = saved;
		if (rc != 0)
			return rc;
		t = &lw->t[ti];
		t->src = lw->net->n_layers - 1;
		t->fusable = 1;
		t->pend = P_NONE;
	}
	return 0;
}

/* ---- the ops ------------------------------------------------------------ */

/* Output size of a conv or pool along one axis, as ONNX defines it. */
static int64_t
conv_out(int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe,
    int ceil_mode)
{
	int64_t num = in + pb + pe - k;

	if (num < 0)
		return 0;
	return (ceil_mode ? (num + s - 1) / s : num / s) + 1;
}

/* Conv and pools: kernel, strides, pads and the output size. */
static int
window(lower *lw, const tens *x, int64_t kh, int64_t kw, int *stride,
    int64_t *oh, int64_t *ow)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t st[2] = { 1, 1 }, pads[4] = { 0, 0, 0, 0 }, dil[2] = { 1, 1 };
	int ns = attr_ints(n, "strides", st, 2);
	int np = attr_ints(n, "pads", pads, 4);
	int ceil_mode = (int)attr_i(n, "ceil_mode", 0);

	attr_ints(n, "dilations", dil, 2);
	if (kh != kw)
		return bad(lw, "kernel %lldx%lld is not square (h4h models "
		    "square kernels)", (long long)kh, (long long)kw);
	if (ns == 2 && st[0] != st[1])
		return bad(lw, "strides %lldx%lld differ (h4h models one "
		    "stride for both axes)", (long long)st[0],
		    (long long)st[1]);
	if (dil[0] != 1 || dil[1] != 1)
		return bad(lw, "dilation %lldx%lld is not modelled (use an "
		    "undilated kernel)", (long long)dil[0], (long long)dil[1]);
	if (np >= 0 && np != 4)
		return bad(lw, "'pads' has %d values (expected 4)", np);
	if (st[0] < 1 || st[0] > 64 || kh < 1 || kh > 64)
		return bad(lw, "kernel %lld or stride %lld is outside 1..64",
		    (long long)kh, (long long)st[0]);
	*stride = (int)st[0];
	if (attr_is(n, "auto_pad", "SAME_UPPER") ||
	    attr_is(n, "auto_pad", "SAME_LOWER")) {
		*oh = (x->dims[2] + st[0] - 1) / st[0];
		*ow = (x->dims[3] + st[0] - 1) / st[0];
	} else {
		*oh = conv_out(x->dims[2], kh, st[0], pads[0], pads[2],
		    ceil_mode);
		*ow = conv_out(x->dims[3], kw, st[0], pads[1], pads[3],
		    ceil_mode);
	}
	if (*oh < 1 || *ow < 1)
		return bad(lw, "the %lldx%lld kernel does not fit the "
		    "%lldx%lld input", (long long)kh, (long long)kw,
		    (long long)x->dims[2], (long long)x->dims[3]);
	if (*oh > (x->dims[2] + st[0] - 1) / st[0] ||
	    *ow > (x->dims[3] + st[0] - 1) / st[0])
		return bad(lw, "padding gives a %lldx%lld output, more than "
		    "SAME padding's %lldx%lld (h4h models at most SAME)",
		    (long long)*oh, (long long)*ow,
		    (long long)((x->dims[2] + st[0] - 1) / st[0]),
		    (long long)((x->dims[3] + st[0] - 1) / st[0]));
	return 0;
}

/* Sets l's window and, if it is not SAME, the explicit output. */
static void
set_window(lower *lw, sim_layer *l, const tens *x, int k, int stride,
    int64_t oh, int64_t ow)
{
	l->kh = k;
	l->stride = stride;
	if (oh != (x->dims[2] + stride - 1) / stride ||
	    ow != (x->dims[3] + stride - 1) / stride) {
		int h, w, c;

		if (!l->view) {
			src_hwc(lw, x->src, &h, &w, &c);
			l->in_h = h;
			l->in_w = w;
			l->in_c = c;
		}
		l->view = 1;
		l->out_h = (int)oh;
		l->out_w = (int)ow;
	}
}

static int
need_nchw(lower *lw, const tens *x)
{
	char s[80];

	if (x->kind != T_DYN)
		return bad(lw, "its input '%s' is a constant (h4h lowers only "
		    "ops on activations)", x->name);
	if (x->rank != 4 || x->dims[0] != 1) {
		dims_str(x, s, sizeof s);
		return bad(lw, "input '%s' is %s; expected 1xCxHxW (export "
		    "with batch 1)", x->name, s);
	}
	return 0;
}

static int
op_conv(lower *lw)
{
	tens *x, *wt;
	sim_layer l;
	int64_t oh, ow, oc, g, dims[4];
	int stride, rc;

	if ((rc = need_in(lw, 0, &x)) != 0 || (rc = need_in(lw, 1, &wt)) != 0)
		return rc;
	if ((rc = need_nchw(lw, x)) != 0 || (rc = settle(lw, idx(lw, x))) != 0)
		return rc;
	if (wt->kind != T_CONST || wt->rank != 4)
		return bad(lw, "the weight '%s' must be a constant or weight "
		    "input of rank 4", wt->name);
	oc = wt->dims[0];
	g = attr_i(lw->node, "group", 1);
	if (g < 1 || wt->dims[1] * g != x->dims[1])
		return bad(lw, "group %lld and weight %lldx%lldx%lldx%lld do "
		    "not match the %lld input channels", (long long)g,
		    (long long)wt->dims[0], (long long)wt->dims[1],
		    (long long)wt->dims[2], (long long)wt->dims[3],
		    (long long)x->dims[1]);
	if ((rc = window(lw, x, wt->dims[2], wt->dims[3], &stride, &oh,
	    &ow)) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	if ((rc = read_t(lw, &l, x)) != 0)
		return rc;
	if (g == x->dims[1] && oc == x->dims[1] && g > 1) {
		l.op = SIM_OP_DWCONV;
	} else {
		l.op = SIM_OP_CONV;
		l.out_c = (int)oc;
		l.groups = (int)g;
	}
	set_window(lw, &l, x, (int)wt->dims[2], stride, oh, ow);
	if (l.op == SIM_OP_CONV)
		l.out_c = (int)oc;
	dims[0] = 1;
	dims[1] = oc;
	dims[2] = oh;
	dims[3] = ow;
	return emit(lw, &l, 0, dims, 4);
}

/* The largest map the U55 model pools globally in one pass: beyond it no
 * block configuration fits SHRAM (measured: 16x16 passes, 28x28 does not;
 * 14 leaves a margin), so a larger map is first reduced by pools of
 * kernel = stride <= 8.  The MACs differ from one global pool only in the
 * pool's own (uncounted) reads. */
#define GLOBAL_POOL_MAX 14

/* Reduces the map x (read by l, not yet emitted) below GLOBAL_POOL_MAX with
 * strided pools named NODE~pre1, ...; l then reads the last of them. */
static int
pre_pool(lower *lw, sim_layer *l)
{
	int h = l->view ? l->in_h : 0, w = 0, c, step = 0;

	if (!l->view)
		src_hwc(lw, l->inputs[0], &h, &w, &c);
	else
		w = l->in_w, c = l->in_c;
	while (h > GLOBAL_POOL_MAX || w > GLOBAL_POOL_MAX) {
		int m = h > w ? h : w;
		int k = (m + GLOBAL_POOL_MAX - 1) / GLOBAL_POOL_MAX;
		sim_layer p = *l;
		h4h_err sub;
		char base[SIM_NAME_MAX];
		int rc;

		k = k > 8 ? 8 : k;
		p.global = 0;
		p.kh = k;
		p.stride = k;
		p.out_h = p.out_w = 0;
		layer_name(lw, base);
		snprintf(p.name, sizeof p.name, "%.52s~pre%d", base, ++step % 100);
		if ((rc = sim_net_append(lw->net, &p, &sub)) != 0)
			return bad(lw, "%s", sub.msg);
		h = (h + k - 1) / k;
		w = (w + k - 1) / k;
		memset(l->name, 0, sizeof l->name);
		l->inputs[0] = lw->net->n_layers - 1;
		l->view = 0;
	}
	return 0;
}

static int
op_pool(lower *lw, sim_op op, int global)
{
	tens *x;
	sim_layer l;
	int64_t k[2] = { 0, 0 }, oh = 1, ow = 1, dims[4];
	int stride = 1, rc;

	if ((rc = need_in(lw, 0, &x)) != 0 || (rc = need_nchw(lw, x)) != 0 ||
	    (rc = settle(lw, idx(lw, x))) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	if ((rc = read_t(lw, &l, x)) != 0)
		return rc;
	l.op = op;
	if (global) {
		l.global = 1;
		if ((rc = pre_pool(lw, &l)) != 0)
			return rc;
	} else {
		if (attr_ints(lw->node, "kernel_shape", k, 2) != 2)
			return bad(lw, "'kernel_shape' must give 2 values");
		if ((rc = window(lw, x, k[0], k[1], &stride, &oh, &ow)) != 0)
			return rc;
		set_window(lw, &l, x, (int)k[0], stride, oh, ow);
	}
	dims[0] = 1;
	dims[1] = x->dims[1];
	dims[2] = oh;
	dims[3] = ow;
	return emit(lw, &l, 0, dims, 4);
}

/* fc: x [.., K] times a constant [K, N] (or [N, K] transposed). */
static int
emit_fc(lower *lw, tens *x, int64_t k, int64_t n)
{
	sim_layer l;
	int64_t dims[MAX_RANK];
	int h, w, c, rc;

	if (x->rank < 1 || x->dims[x->rank - 1] != k)
		return bad(lw, "input '%s' does not end in the weight's %lld "
		    "rows", x->name, (long long)k);
	if ((rc = settle(lw, idx(lw, x))) != 0 ||
	    (rc = hwc(lw, x, &h, &w, &c)) != 0)
		return rc;
	if (x->rank == 4)	/* a matmul over NCHW's last axis: rows */
		h = (int)(numel(x) / k), w = 1, c = (int)k;
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_FC;
	l.out_c = (int)n;
	read_as(lw, &l, x, h, w, c);
	memcpy(dims, x->dims, sizeof dims);
	dims[x->rank - 1] = n;
	return emit(lw, &l, 0, dims, x->rank);
}

/* A matmul of two activations, a [.., M, K] times b [.., K, N]. */
static int
emit_matmul(lower *lw, tens *a, tens *b)
{
	sim_layer l;
	int64_t m, k, n, heads = 1, dims[MAX_RANK];
	int ai = idx(lw, a), bi = idx(lw, b), r, rc;
	int sh, sw, sc;
	char sa[80], sb[80];

	if (a->rank < 2 || b->rank < 2)
		return bad(lw, "operands of rank %d and %d (expected at least "
		    "2)", a->rank, b->rank);
	m = a->dims[a->rank - 2];
	k = a->dims[a->rank - 1];
	n = b->dims[b->rank - 1];
	dims_str(a, sa, sizeof sa);
	dims_str(b, sb, sizeof sb);
	if (b->dims[b->rank - 2] != k)
		return bad(lw, "operands %s and %s do not chain", sa, sb);
	r = a->rank > b->rank ? a->rank : b->rank;
	for (int i = 0; i < r - 2; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t x = ia >= 0 ? a->dims[ia] : 1;
		int64_t y = ib >= 0 ? b->dims[ib] : 1;

		if (x != y && x != 1 && y != 1)
			return bad(lw, "batch dims of %s and %s do not "
			    "broadcast", sa, sb);
		dims[i] = x > y ? x : y;
		heads *= dims[i];
	}
	if (heads > (1 << 20) || m > (1 << 20) || k > (1 << 20) ||
	    n > (1 << 20))
		return bad(lw, "%s x %s is too large", sa, sb);
	if ((rc = settle(lw, ai)) != 0 || (rc = settle(lw, bi)) != 0)
		return rc;
	a = &lw->t[ai];
	b = &lw->t[bi];
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_MATMUL;
	l.heads = (int)heads;
	l.mm_m = (int)m;
	l.mm_k = (int)k;
	l.mm_n = (int)n;
	/* The first operand: its source's rows are the m rows, its channels
	 * the heads' k columns; else read it through a view. */
	src_hwc(lw, a->src, &sh, &sw, &sc);
	if ((long long)sh * sw == m && sc >= heads * k)
		l.inputs[0] = a->src, l.n_inputs = 1;
	else
		read_as(lw, &l, a, (int)m, 1, (int)(heads * k));
	/* The second: rows k (the k x n operand), or the transpose of the
	 * first operand's form (q.k^T: n == m, rows n). */
	src_hwc(lw, b->src, &sh, &sw, &sc);
	if ((long long)sh * sw == k && sc >= heads * n) {
		l.inputs[1] = b->src;
		l.n_inputs = 2;
	} else if (n == m && (long long)sh * sw == n && sc >= heads * k) {
		l.n_inputs = 1;
	} else {
		return bad(lw, "the second operand %s (held as %dx%dx%d) is "
		    "neither k x n rows nor the transpose of a token tensor",
		    sb, sh, sw, sc);
	}
	dims[r - 2] = m;
	dims[r - 1] = n;
	return emit(lw, &l, 0, dims, r);
}

static int
op_gemm_matmul(lower *lw, int gemm)
{
	tens *a, *b;
	int rc;

	if ((rc = need_in(lw, 0, &a)) != 0 || (rc = need_in(lw, 1, &b)) != 0)
		return rc;
	if (a->kind != T_DYN)
		return bad(lw, "the first operand '%s' is a constant (h4h "
		    "lowers x.W, not W.x: transpose the product)", a->name);
	if (gemm && attr_i(lw->node, "transA", 0) != 0)
		return bad(lw, "transA=1 is not supported (export x.W^T)");
	if (b->kind == T_CONST) {
		int tb = gemm && attr_i(lw->node, "transB", 0) != 0;

		if (b->rank != 2)
			return bad(lw, "the weight '%s' has rank %d (expected "
			    "2)", b->name, b->rank);
		return emit_fc(lw, a, b->dims[tb ? 1 : 0],
		    b->dims[tb ? 0 : 1]);
	}
	if (gemm)
		return bad(lw, "a Gemm of two activations (export it as "
		    "MatMul)");
	return emit_matmul(lw, a, b);
}

/* Elementwise add (or mul) of activations a and b, b broadcasting. */
static int
emit_eltwise(lower *lw, tens *a, tens *b)
{
	int ai = idx(lw, a), bi = idx(lw, b), rc;
	int64_t dims[MAX_RANK];
	int h, w, c, bh, bw, bc, rank;
	tens tmp;
	sim_layer l;

	memset(&tmp, 0, sizeof tmp);
	tmp.name = "";
	if ((rc = broadcast(lw, a, b, &tmp)) != 0)
		return rc;
	if (numel(b) > numel(a)) {
		int s = ai;

		ai = bi;
		bi = s;
	}
	if ((rc = settle(lw, ai)) != 0 || (rc = settle(lw, bi)) != 0)
		return rc;
	a = &lw->t[ai];
	b = &lw->t[bi];
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_ADD;
	if ((rc = hwc(lw, a, &h, &w, &c)) != 0)
		return rc;
	read_as(lw, &l, a, h, w, c);
	l.inputs[1] = b->src;
	l.n_inputs = 2;
	src_hwc(lw, b->src, &bh, &bw, &bc);
	if (bh != h || bw != w || bc != c) {
		l.view = 1;
		l.in_h = h;
		l.in_w = w;
		l.in_c = c;
	}
	rank = tmp.rank;
	memcpy(dims, tmp.dims, sizeof dims);
	return emit(lw, &l, 0, dims, rank);
}

/* Add, Sub, Mul, Div, Pow. */
static int
op_arith(lower *lw)
{
	const char *op = lw->node->op_type;
	int is_mul = strcmp(op, "Mul") == 0, is_div = strcmp(op, "Div") == 0;
	int is_sub = strcmp(op, "Sub") == 0, is_pow = strcmp(op, "Pow") == 0;
	tens *a, *b, *d, *cst, *t;
	int ai, bi, rc;

	if ((rc = need_in(lw, 0, &a)) != 0 || (rc = need_in(lw, 1, &b)) != 0)
		return rc;
	ai = idx(lw, a);
	bi = idx(lw, b);
	if (a->kind == T_CONST && b->kind == T_CONST) {
		t = out_t(lw, 0);
		a = &lw->t[ai];
		b = &lw->t[bi];
		if ((rc = broadcast(lw, a, b, t)) != 0)
			return rc;
		const_binary(op, a, b, t);
		return 0;
	}
	/* Patterns first. */
	if (a->kind == T_DYN && b->kind == T_DYN) {
		if (is_sub && b->pend == P_MEAN && b->pend_of == a->root) {
			t = alias(lw, &lw->t[ai], 0);
			t->pend = P_CENTER;
			t->pend_of = lw->t[ai].root;
			return 0;
		}
		if (is_div && a->pend == P_CENTER && b->pend == P_STD &&
		    a->pend_of == b->pend_of) {
			tens *x = &lw->t[a->pend_of];
			sim_layer l;

			memset(&l, 0, sizeof l);
			l.op = SIM_OP_LAYERNORM;
			if ((rc = read_flat(lw, &l, x)) != 0)
				return rc;
			x = &lw->t[lw->t[ai].pend_of];
			return emit(lw, &l, 0, x->dims, x->rank);
		}
		if (is_mul) {
			for (int s = 0; s < 2; s++) {
				tens *g = &lw->t[s ? ai : bi];
				tens *x = &lw->t[s ? bi : ai];

				if (g->pend == P_GATE && g->pend_of == x->root)
					return apply_act(lw, &lw->t[x->root],
					    g->gate_act, 2, 0);
				if (g->pend == P_ERF && g->pend_of == x->root)
					return apply_act(lw, &lw->t[x->root],
					    SIM_ACT_GELU, 2, 0);
			}
		}
		if (is_pow || is_div || is_sub)
			return bad(lw, "a %s of two activations outside a "
			    "layernorm pattern (h4h models Add and Mul of "
			    "activations)", op);
		return emit_eltwise(lw, &lw->t[ai], &lw->t[bi]);
	}
	d = a->kind == T_DYN ? a : b;
	cst = a->kind == T_DYN ? b : a;
	if (is_pow) {
		if (d != a || !is_scalar(cst) || cst->nval != 1 ||
		    cst->val[0] != 2 || d->pend != P_CENTER)
			return bad(lw, "a Pow outside a layernorm pattern "
			    "(h4h models x^2 of x - mean(x) only)");
		t = alias(lw, d, 0);
		t->pend = P_SQ;
		t->pend_of = lw->t[idx(lw, d) == ai ? ai : bi].pend_of;
		return 0;
	}
	/* A scalar: free, folded into the producer's output scale; the
	 * pattern tag goes through. */
	if (is_scalar(cst)) {
		int di = idx(lw, d);
		tens *x;

		if ((is_div || is_sub) && d != a)
			return bad(lw, "a constant %s an activation is not "
			    "modelled", is_div ? "divided by" : "minus");
		t = alias(lw, d, 0);
		x = &lw->t[di];
		t->root = x->root;
		t->pend = x->pend;
		t->pend_of = x->pend_of;
		t->fusable = x->fusable;
		t->gate_act = x->gate_act;
		t->solo_act = x->solo_act;
		t->gate_node = x->gate_node;
		return 0;
	}
	{
		int di = idx(lw, d), h, w, c;
		tens *x = &lw->t[di];

		if ((rc = settle(lw, di)) != 0)
			return rc;
		x = &lw->t[di];
		if ((rc = hwc(lw, x, &h, &w, &c)) != 0)
			return rc;
		/* A per-channel scale or bias folds into a producer that
		 * has no other reader (a bias, a BN, a layernorm's affine). */
		if (numel(cst) == c && numel(cst) < numel(x) &&
		    x->fusable && x->src >= 0 && lw->uses[di] <= 1 &&
		    lw->net->layers[x->src].act == SIM_ACT_NONE) {
			sim_op sop = lw->net->layers[x->src].op;

			if (sop == SIM_OP_CONV || sop == SIM_OP_DWCONV ||
			    sop == SIM_OP_FC || sop == SIM_OP_MATMUL ||
			    sop == SIM_OP_LAYERNORM) {
				alias(lw, &lw->t[di], 0)->fusable = 1;
				return 0;
			}
		}
		if (numel(cst) == c && lw->t[di].rank == 2 &&
		    lw->t[di].fusable && lw->uses[di] <= 1 &&
		    lw->t[di].src >= 0 &&
		    lw->net->layers[lw->t[di].src].op == SIM_OP_FC) {
			alias(lw, &lw->t[di], 0)->fusable = 1;
			return 0;
		}
		/* Otherwise an elementwise op with a constant operand,
		 * costed as an add that reads its input twice. */
		{
			sim_layer l;
			tens tmp;

			memset(&tmp, 0, sizeof tmp);
			tmp.name = "";
			if ((rc = broadcast(lw, x, cst, &tmp)) != 0)
				return rc;
			if (numel(&tmp) != numel(x))
				return bad(lw, "the constant '%s' widens the "
				    "activation (not modelled)", cst->name);
			memset(&l, 0, sizeof l);
			l.op = SIM_OP_ADD;
			read_as(lw, &l, x, h, w, c);
			l.inputs[1] = x->src;
			l.n_inputs = 2;
			l.view = 1;
			l.in_h = h;
			l.in_w = w;
			l.in_c = c;
			return emit(lw, &l, 0, x->dims, x->rank);
		}
	}
}

/* Relu, Clip, HardSwish, Sigmoid, HardSigmoid, Gelu. */
static int
op_act(lower *lw, const char *op)
{
	tens *x, *lo, *hi;
	int xi, rc;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	if (x->kind != T_DYN)
		return bad(lw, "an activation of a constant");
	xi = idx(lw, x);
	if ((rc = settle(lw, xi)) != 0)
		return rc;
	if (strcmp(op, "Relu") == 0)
		return apply_act(lw, &lw->t[xi], SIM_ACT_RELU, 1, 0);
	if (strcmp(op, "HardSwish") == 0)
		return apply_act(lw, &lw->t[xi], SIM_ACT_HSWISH, 1, 0);
	if (strcmp(op, "Gelu") == 0)
		return apply_act(lw, &lw->t[xi], SIM_ACT_GELU, 1, 0);
	if (strcmp(op, "Clip") == 0) {
		double mn = attr_f(lw->node, "min", -INFINITY);
		double mx = attr_f(lw->node, "max", INFINITY);

		if ((rc = in(lw, 1, &lo)) != 0 || (rc = in(lw, 2, &hi)) != 0)
			return rc;
		if (lo != NULL)
			mn = is_scalar(lo) && lo->nval == 1 ? lo->val[0] : NAN;
		if (hi != NULL)
			mx = is_scalar(hi) && hi->nval == 1 ? hi->val[0] : NAN;
		if (mn == 0 && mx == 6)
			return apply_act(lw, &lw->t[xi], SIM_ACT_RELU6, 1, 0);
		if (mn == 0 && isinf(mx))
			return apply_act(lw, &lw->t[xi], SIM_ACT_RELU, 1, 0);
		return bad(lw, "Clip to [%g, %g] is not modelled (use Relu or "
		    "Relu6, clip to [0, 6])", mn, mx);
	}
	/* Sigmoid and HardSigmoid wait: x * gate(x) is SiLU or HardSwish. */
	{
		tens *t = alias(lw, &lw->t[xi], 0);
		int hard = strcmp(op, "HardSigmoid") == 0;

		t->pend = P_GATE;
		t->pend_of = lw->t[xi].root;
		t->gate_act = hard ? SIM_ACT_HSWISH : SIM_ACT_SILU;
		t->solo_act = SIM_ACT_SIGMOID;
		t->gate_node = lw->node_i;
		t->fusable = 0;
		return 0;
	}
}

static int
op_softmax(lower *lw)
{
	tens *x;
	sim_layer l;
	int64_t axis = attr_i(lw->node, "axis", -1);
	int xi, rc;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	if (x->kind != T_DYN)
		return bad(lw, "a softmax of a constant");
	if (axis != -1 && axis != x->rank - 1)
		return bad(lw, "axis %lld is not the last (h4h normalises rows "
		    "over the last axis)", (long long)axis);
	xi = idx(lw, x);
	if ((rc = settle(lw, xi)) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_SOFTMAX;
	if ((rc = read_flat(lw, &l, &lw->t[xi])) != 0)
		return rc;
	x = &lw->t[xi];
	return emit(lw, &l, 0, x->dims, x->rank);
}

static int
op_layernorm(lower *lw)
{
	tens *x;
	sim_layer l;
	int64_t axis = attr_i(lw->node, "axis", -1);
	int xi, rc;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	if (x->kind != T_DYN)
		return bad(lw, "a layernorm of a constant");
	if (axis != -1 && axis != x->rank - 1)
		return bad(lw, "axis %lld is not the last", (long long)axis);
	xi = idx(lw, x);
	if ((rc = settle(lw, xi)) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_LAYERNORM;
	if ((rc = read_t(lw, &l, &lw->t[xi])) != 0)
		return rc;
	x = &lw->t[xi];
	return emit(lw, &l, 0, x->dims, x->rank);
}

/* ReduceMean: over the last axis it starts a layernorm; over H and W of
 * NCHW it is a global average pool. */
static int
op_reducemean(lower *lw)
{
	tens *x, *ax;
	int64_t axes[MAX_RANK];
	int na, xi, rc;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	xi = idx(lw, x);
	na = attr_ints(lw->node, "axes", axes, MAX_RANK);
	if (na < 0 && (rc = in(lw, 1, &ax)) == 0 && ax != NULL &&
	    (rc = const_ints(lw, ax, "'axes'", axes, &na)) != 0)
		return rc;
	if (rc != 0)
		return rc;
	x = &lw->t[xi];
	if (x->kind != T_DYN)
		return bad(lw, "a mean of a constant");
	for (int i = 0; i < na; i++)
		if (axes[i] < 0)
			axes[i] += x->rank;
	if (na == 1 && axes[0] == x->rank - 1 && x->rank != 4) {
		tens *t;
		int p = x->pend;

		if (p != P_NONE && p != P_SQ)
			return bad(lw, "reads '%s', which is part of %s pattern "
			    "that it does not complete", x->name,
			    pend_names[p]);
		t = alias(lw, &lw->t[xi], 0);
		t->pend = p == P_SQ ? P_VAR : P_MEAN;
		t->pend_of = p == P_SQ ? lw->t[xi].pend_of : lw->t[xi].root;
		t->dims[t->rank - 1] = 1;
		if (attr_i(lw->node, "keepdims", 1) == 0)
			t->rank--;
		return 0;
	}
	if (x->rank == 4 && na == 2 && ((axes[0] == 2 && axes[1] == 3) ||
	    (axes[0] == 3 && axes[1] == 2))) {
		sim_layer l;
		int64_t dims[4] = { 1, x->dims[1], 1, 1 };

		if ((rc = settle(lw, xi)) != 0)
			return rc;
		memset(&l, 0, sizeof l);
		l.op = SIM_OP_AVGPOOL;
		l.global = 1;
		if ((rc = read_t(lw, &l, &lw->t[xi])) != 0 ||
		    (rc = pre_pool(lw, &l)) != 0)
			return rc;
		if (attr_i(lw->node, "keepdims", 1) == 0)
			return emit(lw, &l, 0, dims, 2);
		return emit(lw, &l, 0, dims, 4);
	}
	return bad(lw, "a mean over these axes is not modelled (h4h models "
	    "the last axis, as in a layernorm, or H and W, as a global pool)");
}

static int
op_sqrt_erf(lower *lw, int is_erf)
{
	tens *x, *t;
	int xi, rc;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	xi = idx(lw, x);
	if (x->kind == T_CONST) {
		t = out_t(lw, 0);
		x = &lw->t[xi];
		if ((rc = set_dims(lw, t, x->rank, x->dims)) != 0)
			return rc;
		t->kind = T_CONST;
		if (x->nval >= 0) {
			t->nval = x->nval;
			for (int i = 0; i < x->nval; i++)
				t->val[i] = is_erf ? erf(x->val[i]) :
				    sqrt(x->val[i]);
		}
		return 0;
	}
	if (is_erf) {
		if (x->pend != P_NONE)
			return bad(lw, "reads '%s', which is part of %s "
			    "pattern", x->name, pend_names[x->pend]);
		t = alias(lw, &lw->t[xi], 0);
		t->pend = P_ERF;
		t->pend_of = lw->t[xi].root;
		return 0;
	}
	if (x->pend != P_VAR)
		return bad(lw, "a Sqrt outside a layernorm pattern is not "
		    "modelled");
	t = alias(lw, &lw->t[xi], 0);
	t->pend = P_STD;
	t->pend_of = lw->t[xi].pend_of;
	return 0;
}

static int
op_batchnorm(lower *lw)
{
	tens *x;
	int xi, rc;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	xi = idx(lw, x);
	if (x->kind == T_DYN && x->fusable && x->src >= 0 &&
	    lw->uses[xi] <= 1 && lw->net->layers[x->src].act == SIM_ACT_NONE &&
	    (lw->net->layers[x->src].op == SIM_OP_CONV ||
	    lw->net->layers[x->src].op == SIM_OP_DWCONV ||
	    lw->net->layers[x->src].op == SIM_OP_FC)) {
		alias(lw, &lw->t[xi], 0)->fusable = 1;
		return 0;
	}
	return bad(lw, "a BatchNormalization that does not directly follow a "
	    "conv or fc (with no other reader) cannot be folded (h4h models "
	    "BN folded into the conv before it)");
}

/* ---- layout ops --------------------------------------------------------- */

static int
layout_out(lower *lw, tens *x, size_t o, int rank, const int64_t *dims,
    tens **res)
{
	int xi = idx(lw, x);
	tens *t;
	int rc;

	if (x->kind == T_DYN) {
		t = alias(lw, x, o);
		x = &lw->t[xi];
		t->fusable = x->fusable && rank == x->rank &&
		    memcmp(dims, x->dims, (size_t)rank * sizeof *dims) == 0;
		t->pend = x->pend;
		t->pend_of = x->pend_of;
		t->gate_act = x->gate_act;
		t->solo_act = x->solo_act;
		t->gate_node = x->gate_node;
		if (x->pend != P_NONE)
			t->root = x->root;
	} else {
		t = out_t(lw, o);
		t->kind = T_CONST;
		t->nval = -1;
	}
	if ((rc = set_dims(lw, t, rank, dims)) != 0)
		return rc;
	*res = t;
	return 0;
}

static int
op_layout(lower *lw, const char *op)
{
	const Onnx__NodeProto *n = lw->node;
	tens *x, *s, *t;
	int64_t dims[MAX_RANK], v[MAX_VALS];
	int xi, rc, nv;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	xi = idx(lw, x);
	if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0 ||
	    strcmp(op, "Cast") == 0) {
		if ((rc = layout_out(lw, x, 0, x->rank, x->dims, &t)) != 0)
			return rc;
		x = &lw->t[xi];
		if (x->kind == T_CONST) {
			t->nval = x->nval;
			t->isint = x->isint || strcmp(op, "Cast") == 0;
			memcpy(t->val, x->val, sizeof t->val);
		}
		if (x->kind == T_DYN)
			t->root = x->root;
		return 0;
	}
	if (strcmp(op, "Shape") == 0) {
		int64_t st = attr_i(n, "start", 0), en = attr_i(n, "end",
		    x->rank);

		if (st < 0)
			st += x->rank;
		if (en < 0)
			en += x->rank;
		st = st < 0 ? 0 : st > x->rank ? x->rank : st;
		en = en < st ? st : en > x->rank ? x->rank : en;
		t = out_t(lw, 0);
		x = &lw->t[xi];
		t->kind = T_CONST;
		t->rank = 1;
		t->dims[0] = en - st;
		t->isint = 1;
		t->nval = (int)(en - st);
		for (int64_t i = st; i < en; i++)
			t->val[i - st] = (double)x->dims[i];
		return 0;
	}
	if (strcmp(op, "Size") == 0) {
		t = out_t(lw, 0);
		x = &lw->t[xi];
		t->kind = T_CONST;
		t->rank = 0;
		t->isint = 1;
		t->nval = 1;
		t->val[0] = (double)numel(x);
		return 0;
	}
	if (strcmp(op, "Reshape") == 0) {
		long long known = 1;
		int minus = -1;

		if ((rc = need_in(lw, 1, &s)) != 0 ||
		    (rc = const_ints(lw, s, "the shape", v, &nv)) != 0)
			return rc;
		x = &lw->t[xi];
		if (nv > MAX_RANK)
			return bad(lw, "a shape of rank %d", nv);
		for (int i = 0; i < nv; i++) {
			dims[i] = v[i] == 0 && !attr_i(n, "allowzero", 0) &&
			    i < x->rank ? x->dims[i] : v[i];
			if (dims[i] == -1) {
				if (minus >= 0)
					return bad(lw, "two -1 in the shape");
				minus = i;
			} else if (dims[i] < 0) {
				return bad(lw, "dimension %lld in the shape",
				    (long long)dims[i]);
			} else {
				known *= dims[i];
			}
		}
		if (minus >= 0)
			dims[minus] = known ? numel(x) / known : 0;
		{
			long long tot = 1;

			for (int i = 0; i < nv; i++)
				tot *= dims[i];
			if (tot != numel(x))
				return bad(lw, "reshapes %lld elements into "
				    "%lld", numel(x), tot);
		}
		if ((rc = layout_out(lw, x, 0, nv, dims, &t)) != 0)
			return rc;
		x = &lw->t[xi];
		if (x->kind == T_CONST && x->nval >= 0) {
			t->nval = x->nval;
			t->isint = x->isint;
			memcpy(t->val, x->val, sizeof t->val);
		}
		return 0;
	}
	if (strcmp(op, "Flatten") == 0) {
		int64_t axis = attr_i(n, "axis", 1);
		int64_t a = 1, b = 1;

		if (axis < 0)
			axis += x->rank;
		for (int i = 0; i < x->rank; i++)
			*(i < axis ? &a : &b) *= x->dims[i];
		dims[0] = a;
		dims[1] = b;
		return layout_out(lw, x, 0, 2, dims, &t);
	}
	if (strcmp(op, "Transpose") == 0) {
		int64_t perm[MAX_RANK];
		int np = attr_ints(n, "perm", perm, MAX_RANK);

		if (np < 0)
			for (int i = 0; i < x->rank; i++)
				perm[i] = x->rank - 1 - i;
		else if (np != x->rank)
			return bad(lw, "'perm' has %d values for rank %d", np,
			    x->rank);
		for (int i = 0; i < x->rank; i++) {
			if (perm[i] < 0 || perm[i] >= x->rank)
				return bad(lw, "'perm' value %lld",
				    (long long)perm[i]);
			dims[i] = x->dims[perm[i]];
		}
		rc = layout_out(lw, x, 0, x->rank, dims, &t);
		if (rc == 0 && lw->t[xi].kind == T_CONST && x->rank <= 1) {
			t->nval = lw->t[xi].nval;
			memcpy(t->val, lw->t[xi].val, sizeof t->val);
		}
		return rc;
	}
	if (strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0) {
		int64_t axes[MAX_RANK];
		int na = attr_ints(n, "axes", axes, MAX_RANK), r = 0;
		int sq = op[0] == 'S', outr;

		if (na < 0 && n->n_input > 1) {
			if ((rc = need_in(lw, 1, &s)) != 0 ||
			    (rc = const_ints(lw, s, "'axes'", axes, &na)) != 0)
				return rc;
			x = &lw->t[xi];
		}
		if (na > MAX_RANK)
			return bad(lw, "too many axes");
		outr = sq ? (na < 0 ? 0 : x->rank - na) : x->rank + na;
		if (outr < 0 || outr > MAX_RANK)
			return bad(lw, "rank %d", outr);
		for (int i = 0; i < na; i++)
			if (axes[i] < 0)
				axes[i] += sq ? x->rank : outr;
		if (sq) {
			for (int i = 0; i < x->rank; i++) {
				int drop = 0;

				for (int j = 0; j < na; j++)
					drop |= axes[j] == i;
				if (na < 0)
					drop = x->dims[i] == 1;
				if (!drop)
					dims[r++] = x->dims[i];
			}
		} else {
			for (int i = 0, k = 0; i < outr; i++) {
				int ins = 0;

				for (int j = 0; j < na; j++)
					ins |= axes[j] == i;
				dims[r++] = ins ? 1 : x->dims[k++];
			}
		}
		if ((rc = layout_out(lw, x, 0, r, dims, &t)) != 0)
			return rc;
		x = &lw->t[xi];
		if (x->kind == T_CONST && x->nval >= 0) {
			t->nval = x->nval;
			t->isint = x->isint;
			memcpy(t->val, x->val, sizeof t->val);
		}
		return 0;
	}
	if (strcmp(op, "Expand") == 0) {
		tens shp;

		if ((rc = need_in(lw, 1, &s)) != 0 ||
		    (rc = const_ints(lw, s, "the shape", v, &nv)) != 0)
			return rc;
		x = &lw->t[xi];
		memset(&shp, 0, sizeof shp);
		shp.name = "";
		if (nv > MAX_RANK)
			return bad(lw, "a shape of rank %d", nv);
		shp.rank = nv;
		for (int i = 0; i < nv; i++)
			shp.dims[i] = v[i];
		t = out_t(lw, 0);
		x = &lw->t[xi];
		{
			tens r;

			memset(&r, 0, sizeof r);
			r.name = "";
			if ((rc = broadcast(lw, x, &shp, &r)) != 0)
				return rc;
			if (x->kind == T_DYN && numel(&r) != numel(x))
				return bad(lw, "an Expand of an activation "
				    "(not modelled)");
			if ((rc = layout_out(lw, x, 0, r.rank, r.dims, &t)) !=
			    0)
				return rc;
		}
		return 0;
	}
	return bad(lw, "internal: layout op %s", op);
}

static int
op_concat(lower *lw)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t axis = attr_i(n, "axis", 0), dims[MAX_RANK];
	int first = -1, dyn = -1, allval = 1, nv = 0, rank, rc;
	double vals[MAX_VALS];
	tens *x, *t;

	for (size_t i = 0; i < n->n_input; i++) {
		if ((rc = need_in(lw, i, &x)) != 0)
			return rc;
		if (first < 0)
			first = idx(lw, x);
		if (x->rank != lw->t[first].rank)
			return bad(lw, "inputs of rank %d and %d", x->rank,
			    lw->t[first].rank);
		if (x->kind == T_DYN) {
			if ((rc = settle(lw, idx(lw, x))) != 0)
				return rc;
			if (dyn < 0 || x->src > lw->t[dyn].src)
				dyn = idx(lw, x);
			allval = 0;
		} else if (x->nval < 0 || x->rank != 1 ||
		    nv + x->nval > MAX_VALS) {
			allval = 0;
		} else {
			memcpy(vals + nv, x->val, (size_t)x->nval *
			    sizeof *vals);
			nv += x->nval;
		}
	}
	if (first < 0)
		return bad(lw, "no inputs");
	rank = lw->t[first].rank;
	if (axis < 0)
		axis += rank;
	if (axis < 0 || axis >= rank)
		return bad(lw, "axis %lld for rank %d", (long long)axis, rank);
	memcpy(dims, lw->t[first].dims, sizeof dims);
	dims[axis] = 0;
	for (size_t i = 0; i < n->n_input; i++) {
		in(lw, i, &x);
		dims[axis] += x->dims[axis];
	}
	/* Producers write into their slices of the output (as Vela lays
	 * out a concatenation): free; the reader reads the whole tensor,
	 * held, for the record, by the latest of its producers. */
	if (dyn >= 0) {
		rc = layout_out(lw, &lw->t[dyn], 0, rank, dims, &t);
		if (rc == 0)
			t->fusable = 0;
		return rc;
	}
	t = out_t(lw, 0);
	if ((rc = set_dims(lw, t, rank, dims)) != 0)
		return rc;
	t->kind = T_CONST;
	t->isint = 1;
	if (allval && nv == numel(t)) {
		t->nval = nv;
		memcpy(t->val, vals, (size_t)nv * sizeof *vals);
	}
	return 0;
}

/* Slice (opset 10+: starts, ends, axes, steps as inputs; 1-9: attrs). */
static int
op_slice(lower *lw)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t st[MAX_RANK], en[MAX_RANK], ax[MAX_RANK], sp[MAX_RANK];
	int64_t dims[MAX_RANK], first[MAX_RANK], step[MAX_RANK];
	int ns, ne, na = -1, np = -1, xi, rc;
	tens *x, *a, *t;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	xi = idx(lw, x);
	if (n->n_input >= 3) {
		if ((rc = need_in(lw, 1, &a)) != 0 ||
		    (rc = const_ints(lw, a, "'starts'", st, &ns)) != 0 ||
		    (rc = need_in(lw, 2, &a)) != 0 ||
		    (rc = const_ints(lw, a, "'ends'", en, &ne)) != 0)
			return rc;
		if ((rc = in(lw, 3, &a)) != 0 || (a != NULL &&
		    (rc = const_ints(lw, a, "'axes'", ax, &na)) != 0))
			return rc;
		if ((rc = in(lw, 4, &a)) != 0 || (a != NULL &&
		    (rc = const_ints(lw, a, "'steps'", sp, &np)) != 0))
			return rc;
	} else {
		ns = attr_ints(n, "starts", st, MAX_RANK);
		ne = attr_ints(n, "ends", en, MAX_RANK);
		na = attr_ints(n, "axes", ax, MAX_RANK);
	}
	x = &lw->t[xi];
	if (ns < 0 || ns != ne || ns > x->rank || (na >= 0 && na != ns) ||
	    (np >= 0 && np != ns))
		return bad(lw, "'starts', 'ends', 'axes' and 'steps' do not "
		    "match");
	memcpy(dims, x->dims, sizeof dims);
	for (int i = 0; i < x->rank; i++)
		first[i] = 0, step[i] = 1;
	for (int i = 0; i < ns; i++) {
		int64_t axis = na >= 0 ? ax[i] : i, d, s, e, k;

		if (axis < 0)
			axis += x->rank;
		if (axis < 0 || axis >= x->rank)
			return bad(lw, "axis %lld", (long long)axis);
		d = x->dims[axis];
		k = np >= 0 ? sp[i] : 1;
		if (k == 0)
			return bad(lw, "step 0");
		s = st[i] < 0 ? st[i] + d : st[i];
		e = en[i] < 0 ? en[i] + d : en[i];
		if (k > 0) {
			s = s < 0 ? 0 : s > d ? d : s;
			e = e < 0 ? 0 : e > d ? d : e;
			dims[axis] = e > s ? (e - s + k - 1) / k : 0;
		} else {
			s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
			e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
			dims[axis] = s > e ? (s - e - k - 1) / -k : 0;
		}
		first[axis] = s;
		step[axis] = k;
	}
	if ((rc = layout_out(lw, x, 0, x->rank, dims, &t)) != 0)
		return rc;
	x = &lw->t[xi];
	if (x->kind == T_CONST && x->nval >= 0 && x->rank == 1) {
		t->isint = x->isint;
		t->nval = (int)dims[0];
		for (int64_t i = 0; i < dims[0]; i++)
			t->val[i] = x->val[first[0] + i * step[0]];
	}
	if (x->kind == T_DYN && numel(t) == 0)
		return bad(lw, "an empty slice");
	return 0;
}

static int
op_split(lower *lw)
{
	const Onnx__NodeProto *n = lw->node;
	int64_t axis = attr_i(n, "axis", 0), sz[MAX_VALS], dims[MAX_RANK];
	int nsz, xi, rc;
	tens *x, *s, *t;

	if ((rc = need_in(lw, 0, &x)) != 0)
		return rc;
	xi = idx(lw, x);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return bad(lw, "axis %lld for rank %d", (long long)axis,
		    x->rank);
	nsz = attr_ints(n, "split", sz, MAX_VALS);
	if (nsz < 0 && n->n_input > 1) {
		if ((rc = need_in(lw, 1, &s)) != 0 ||
		    (rc = const_ints(lw, s, "'split'", sz, &nsz)) != 0)
			return rc;
	}
	x = &lw->t[xi];
	if (nsz < 0) {
		nsz = (int)n->n_output;
		for (int i = 0; i < nsz; i++)
			sz[i] = (x->dims[axis] + nsz - 1) / nsz;
		sz[nsz - 1] = x->dims[axis] - (nsz - 1) * sz[0];
	}
	if ((size_t)nsz != n->n_output)
		return bad(lw, "%d sizes for %zu outputs", nsz, n->n_output);
	for (int i = 0; i < nsz; i++) {
		memcpy(dims, lw->t[xi].dims, sizeof dims);
		dims[axis] = sz[i];
		if ((rc = layout_out(lw, &lw->t[xi], (size_t)i, lw->t[xi].rank,
		    dims, &t)) != 0)
			return rc;
		t->fusable = 0;
	}
	return 0;
}

static int
op_gather(lower *lw)
{
	int64_t axis = attr_i(lw->node, "axis", 0), dims[MAX_RANK];
	int r = 0, xi, ii, rc;
	tens *x, *ix, *t;

	if ((rc = need_in(lw, 0, &x)) != 0 || (rc = need_in(lw, 1, &ix)) != 0)
		return rc;
	xi = idx(lw, x);
	ii = idx(lw, ix);
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis >= x->rank)
		return bad(lw, "axis %lld for rank %d", (long long)axis,
		    x->rank);
	if (ix->kind != T_CONST)
		return bad(lw, "indices computed from the activations (not "
		    "modelled)");
	if (x->rank - 1 + ix->rank > MAX_RANK)
		return bad(lw, "a result of rank %d", x->rank - 1 + ix->rank);
	for (int i = 0; i < axis; i++)
		dims[r++] = x->dims[i];
	for (int i = 0; i < ix->rank; i++)
		dims[r++] = ix->dims[i];
	for (int i = (int)axis + 1; i < x->rank; i++)
		dims[r++] = x->dims[i];
	if ((rc = layout_out(lw, x, 0, r, dims, &t)) != 0)
		return rc;
	x = &lw->t[xi];
	ix = &lw->t[ii];
	t->fusable = 0;
	if (x->kind == T_CONST && x->rank == 1 && x->nval >= 0 &&
	    ix->nval >= 0) {
		t->isint = x->isint;
		t->nval = ix->nval;
		for (int i = 0; i < ix->nval; i++) {
			int64_t k = (int64_t)ix->val[i];

			if (k < 0)
				k += x->nval;
			if (k < 0 || k >= x->nval) {
				t->nval = -1;
				break;
			}
			t->val[i] = x->val[k];
		}
	}
	return 0;
}

/* Constant, ConstantOfShape, Range, Equal/Where and friends: CONST. */
static int
op_const(lower *lw, const char *op)
{
	const Onnx__NodeProto *n = lw->node;
	tens *t, *a, *b, *c;
	int64_t v[MAX_VALS];
	int nv, rc;

	if (strcmp(op, "Constant") == 0) {
		const Onnx__AttributeProto *at;

		t = out_t(lw, 0);
		t->kind = T_CONST;
		if ((at = attr(n, "value")) != NULL && at->t != NULL)
			return from_proto(lw, t, at->t);
		if ((at = attr(n, "value_float")) != NULL && at->has_f) {
			t->nval = 1;
			t->val[0] = at->f;
			return 0;
		}
		if ((at = attr(n, "value_int")) != NULL && at->has_i) {
			t->nval = 1;
			t->isint = 1;
			t->val[0] = (double)at->i;
			return 0;
		}
		if ((at = attr(n, "value_ints")) != NULL) {
			t->rank = 1;
			t->dims[0] = (int64_t)at->n_ints;
			t->isint = 1;
			if (at->n_ints <= MAX_VALS) {
				t->nval = (int)at->n_ints;
				for (size_t i = 0; i < at->n_ints; i++)
					t->val[i] = (double)at->ints[i];
			}
			return 0;
		}
		if ((at = attr(n, "value_floats")) != NULL) {
			t->rank = 1;
			t->dims[0] = (int64_t)at->n_floats;
			if (at->n_floats <= MAX_VALS) {
				t->nval = (int)at->n_floats;
				for (size_t i = 0; i < at->n_floats; i++)
					t->val[i] = at->floats[i];
			}
			return 0;
		}
		return bad(lw, "no value");
	}
	if (strcmp(op, "ConstantOfShape") == 0) {
		const Onnx__AttributeProto *at = attr(n, "value");
		tens fill;

		if ((rc = need_in(lw, 0, &a)) != 0 ||
		    (rc = const_ints(lw, a, "the shape", v, &nv)) != 0)
			return rc;
		if (nv > MAX_RANK)
			return bad(lw, "a shape of rank %d", nv);
		memset(&fill, 0, sizeof fill);
		fill.name = "";
		fill.nval = 1;
		if (at != NULL && at->t != NULL &&
		    (rc = from_proto(lw, &fill, at->t)) != 0)
			return rc;
		t = out_t(lw, 0);
		if ((rc = set_dims(lw, t, nv, v)) != 0)
			return rc;
		t->kind = T_CONST;
		t->isint = fill.isint;
		if (fill.nval >= 1 && numel(t) <= MAX_VALS) {
			t->nval = (int)numel(t);
			for (int i = 0; i < t->nval; i++)
				t->val[i] = fill.val[0];
		}
		return 0;
	}
	if (strcmp(op, "Where") == 0) {
		tens ab;

		if ((rc = need_in(lw, 0, &c)) != 0 ||
		    (rc = need_in(lw, 1, &a)) != 0 ||
		    (rc = need_in(lw, 2, &b)) != 0)
			return rc;
		if (c->kind == T_DYN || a->kind == T_DYN || b->kind == T_DYN)
			return bad(lw, "a Where on activations (not "
			    "modelled)");
		memset(&ab, 0, sizeof ab);
		ab.name = "";
		if ((rc = broadcast(lw, a, b, &ab)) != 0)
			return rc;
		t = out_t(lw, 0);
		need_in(lw, 0, &c);
		need_in(lw, 1, &a);
		need_in(lw, 2, &b);
		if ((rc = broadcast(lw, c, &ab, t)) != 0)
			return rc;
		t->kind = T_CONST;
		t->isint = a->isint && b->isint;
		if (c->nval >= 0 && a->nval >= 0 && b->nval >= 0 &&
		    numel(t) <= MAX_VALS) {
			int nn = (int)numel(t);

			t->nval = nn;
			for (int i = 0; i < nn; i++) {
				double cv = c->val[c->nval == 1 ? 0 : i %
				    (c->nval ? c->nval : 1)];

				t->val[i] = cv != 0 ?
				    a->val[a->nval == 1 ? 0 : i % a->nval] :
				    b->val[b->nval == 1 ? 0 : i % b->nval];
			}
		}
		return 0;
	}
	if (strcmp(op, "Range") == 0) {
		double s, l, d;
		int cnt;

		if ((rc = need_in(lw, 0, &a)) != 0 ||
		    (rc = need_in(lw, 1, &b)) != 0 ||
		    (rc = need_in(lw, 2, &c)) != 0)
			return rc;
		if (!is_scalar(a) || !is_scalar(b) || !is_scalar(c) ||
		    a->nval < 1 || b->nval < 1 || c->nval < 1)
			return bad(lw, "a Range of non-constant bounds");
		s = a->val[0];
		l = b->val[0];
		d = c->val[0];
		if (d == 0)
			return bad(lw, "a Range of step 0");
		cnt = (int)fmax(ceil((l - s) / d), 0);
		t = out_t(lw, 0);
		t->kind = T_CONST;
		t->rank = 1;
		t->dims[0] = cnt;
		t->isint = 1;
		if (cnt <= MAX_VALS) {
			t->nval = cnt;
			for (int i = 0; i < cnt; i++)
				t->val[i] = s + i * d;
		}
		return 0;
	}
	/* Comparisons and logic on constants. */
	if ((rc = need_in(lw, 0, &a)) != 0)
		return rc;
	if (n->n_input > 1 && (rc = need_in(lw, 1, &b)) != 0)
		return rc;
	if (n->n_input < 2)
		b = a;
	if (a->kind == T_DYN || b->kind == T_DYN)
		return bad(lw, "a %s on activations (not modelled)", op);
	{
		int ai = idx(lw, a), bi = idx(lw, b);

		t = out_t(lw, 0);
		if ((rc = broadcast(lw, &lw->t[ai], &lw->t[bi], t)) != 0)
			return rc;
		const_binary(op, &lw->t[ai], &lw->t[bi], t);
		if (strcmp(op, "Not") == 0 && lw->t[ai].nval >= 0) {
			t->nval = lw->t[ai].nval;
			for (int i = 0; i < t->nval; i++)
				t->val[i] = lw->t[ai].val[i] == 0;
		}
	}
	return 0;
}

/* An op h4h does not lower, with what to use instead. */
static const struct { const char *op, *alt; } unsupported[] = {
	{ "LeakyRelu", "Relu" },
	{ "PRelu", "Relu" },
	{ "Elu", "Relu" },
	{ "Selu", "Relu" },
	{ "Tanh", "Sigmoid, costed the same on the U55's LUT" },
	{ "ConvTranspose", "Resize followed by Conv" },
	{ "Resize", "a strided Conv or no resize" },
	{ "Upsample", "a strided Conv or no resize" },
	{ "LSTM", "MatMul layers" },
	{ "GRU", "MatMul layers" },
	{ "Einsum", "MatMul" },
	{ "InstanceNormalization", "BatchNormalization after a Conv" },
	{ "GroupNormalization", "LayerNormalization" },
	{ "ReduceMax", "MaxPool or GlobalMaxPool" },
	{ "ReduceSum", "ReduceMean or GlobalAveragePool" },
	{ "TopK", "none: h4h models inference up to the logits" },
	{ "ArgMax", "none: h4h models inference up to the logits" },
	{ "NonMaxSuppression", "none: export the backbone alone" },
	{ "QuantizeLinear", "an unquantised export (h4h costs int8 anyway)" },
	{ "DequantizeLinear", "an unquantised export (h4h costs int8 "
	    "anyway)" },
	{ "QLinearConv", "an unquantised export (h4h costs int8 anyway)" },
};

static int
lower_node(lower *lw)
{
	const char *op = lw->node->op_type;

	if (lw->node->domain != NULL && lw->node->domain[0] != '\0' &&
	    strcmp(lw->node->domain, "ai.onnx") != 0)
		return bad(lw, "op of domain '%s' (h4h reads the standard "
		    "ai.onnx ops)", lw->node->domain);
	if (lw->node->n_output < 1)
		return bad(lw, "no outputs");
	if (strcmp(op, "Conv") == 0)
		return op_conv(lw);
	if (strcmp(op, "Gemm") == 0)
		return op_gemm_matmul(lw, 1);
	if (strcmp(op, "MatMul") == 0)
		return op_gemm_matmul(lw, 0);
	if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 ||
	    strcmp(op, "Mul") == 0 || strcmp(op, "Div") == 0 ||
	    strcmp(op, "Pow") == 0)
		return op_arith(lw);
	if (strcmp(op, "Relu") == 0 || strcmp(op, "Clip") == 0 ||
	    strcmp(op, "HardSwish") == 0 || strcmp(op, "Sigmoid") == 0 ||
	    strcmp(op, "HardSigmoid") == 0 || strcmp(op, "Gelu") == 0)
		return op_act(lw, op);
	if (strcmp(op, "Sqrt") == 0 || strcmp(op, "Erf") == 0)
		return op_sqrt_erf(lw, op[0] == 'E');
	if (strcmp(op, "Softmax") == 0)
		return op_softmax(lw);
	if (strcmp(op, "LayerNormalization") == 0)
		return op_layernorm(lw);
	if (strcmp(op, "ReduceMean") == 0)
		return op_reducemean(lw);
	if (strcmp(op, "BatchNormalization") == 0)
		return op_batchnorm(lw);
	if (strcmp(op, "MaxPool") == 0)
		return op_pool(lw, SIM_OP_MAXPOOL, 0);
	if (strcmp(op, "AveragePool") == 0)
		return op_pool(lw, SIM_OP_AVGPOOL, 0);
	if (strcmp(op, "GlobalAveragePool") == 0)
		return op_pool(lw, SIM_OP_AVGPOOL, 1);
	if (strcmp(op, "GlobalMaxPool") == 0)
		return op_pool(lw, SIM_OP_MAXPOOL, 1);
	if (strcmp(op, "Concat") == 0)
		return op_concat(lw);
	if (strcmp(op, "Slice") == 0)
		return op_slice(lw);
	if (strcmp(op, "Split") == 0)
		return op_split(lw);
	if (strcmp(op, "Gather") == 0)
		return op_gather(lw);
	if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0 ||
	    strcmp(op, "Cast") == 0 || strcmp(op, "Shape") == 0 ||
	    strcmp(op, "Size") == 0 || strcmp(op, "Reshape") == 0 ||
	    strcmp(op, "Flatten") == 0 || strcmp(op, "Transpose") == 0 ||
	    strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0 ||
	    strcmp(op, "Expand") == 0)
		return op_layout(lw, op);
	if (strcmp(op, "Constant") == 0 || strcmp(op, "ConstantOfShape") == 0 ||
	    strcmp(op, "Range") == 0 || strcmp(op, "Where") == 0 ||
	    strcmp(op, "Equal") == 0 || strcmp(op, "Less") == 0 ||
	    strcmp(op, "Greater") == 0 || strcmp(op, "Not") == 0 ||
	    strcmp(op, "Max") == 0 || strcmp(op, "Min") == 0)
		return op_const(lw, op);
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0];
	    i++)
		if (strcmp(op, unsupported[i].op) == 0)
			return bad(lw, "unsupported op '%s' (use %s)", op,
			    unsupported[i].alt);
	return bad(lw, "unsupported op '%s' (doc/formats.md lists the ops "
	    "h4h lowers)", op);
}

/* ---- the graph ---------------------------------------------------------- */

/* A graph input's dims: a symbolic batch is 1; other symbolic dims are
 * errors (the sizes decide the cost). */
static int
value_dims(lower *lw, const Onnx__ValueInfoProto *vi, tens *t, int first)
{
	const Onnx__TypeProto *tp = vi->type;
	const Onnx__TensorShapeProto *sh;
	int64_t d[MAX_RANK];

	if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
	    || tp->tensor_type == NULL || tp->tensor_type->shape == NULL)
		return bad(lw, "graph input '%s' has no tensor shape", vi->name);
	sh = tp->tensor_type->shape;
	if (sh->n_dim > MAX_RANK)
		return bad(lw, "graph input '%s' has rank %zu", vi->name,
		    sh->n_dim);
	for (size_t i = 0; i < sh->n_dim; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];

		if (dm->value_case ==
		    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
		    dm->dim_value >= 1) {
			d[i] = dm->dim_value;
		} else if (i == 0 && first) {
			d[i] = 1;
		} else {
			return bad(lw, "graph input '%s' dimension %zu is "
			    "symbolic ('%s'): export with fixed sizes",
			    vi->name, i, dm->value_case ==
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
			    && dm->dim_param ? dm->dim_param : "?");
		}
	}
	return set_dims(lw, t, (int)sh->n_dim, d);
}

static void
stem(const char *label, char *buf)
{
	const char *b = strrchr(label, '/');
	const char *dot;
	size_t n;

	b = b ? b + 1 : label;
	dot = strrchr(b, '.');
	n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	if (n >= SIM_NAME_MAX)
		n = SIM_NAME_MAX - 1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, SIM_NAME_MAX, "onnx");
}

static int
lower_graph(lower *lw)
{
	const Onnx__GraphProto *g = lw->g;
	const Onnx__ValueInfoProto *data = NULL;
	size_t ntens = g->n_input + g->n_initializer;
	char name[SIM_NAME_MAX];
	tens *x;
	int h, w, c, rc;

	for (size_t i = 0; i < g->n_node; i++)
		ntens += g->node[i]->n_output;
	for (lw->hcap = 64; (size_t)lw->hcap < 2 * ntens + 1; lw->hcap *= 2)
		;
	lw->hash = h4h_xcalloc((size_t)lw->hcap, sizeof *lw->hash);
	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *p = g->initializer[i];

		if (p->name == NULL)
			return bad(lw, "an initializer without a name");
		if ((rc = from_proto(lw, add(lw, p->name), p)) != 0)
			return rc;
	}
	/* The first graph input without an initializer is the network
	 * input; the others are weights (export_params=False). */
	for (size_t i = 0; i < g->n_input; i++) {
		const Onnx__ValueInfoProto *vi = g->input[i];
		int k;

		if (vi->name == NULL)
			return bad(lw, "a graph input without a name");
		k = find(lw, vi->name);
		if (k >= 0 && lw->t[k].kind == T_CONST)
			continue;
		x = add(lw, vi->name);
		if ((rc = value_dims(lw, vi, x, data == NULL)) != 0)
			return rc;
		if (data == NULL) {
			data = vi;
			x->kind = T_DYN;
			x->src = -1;
		} else {
			x->kind = T_CONST;
		}
	}
	if (data == NULL)
		return bad(lw, "the graph has no input (every input has an "
		    "initializer)");
	x = &lw->t[find(lw, data->name)];
	if (x->rank == 4) {
		if (x->dims[0] != 1)
			return bad(lw, "input '%s' has batch %lld: export with "
			    "batch 1", x->name, (long long)x->dims[0]);
		h = (int)x->dims[2], w = (int)x->dims[3], c = (int)x->dims[1];
	} else if (x->rank >= 1 && x->rank <= 3) {
		if ((rc = hwc(lw, x, &h, &w, &c)) != 0)
			return rc;
	} else {
		return bad(lw, "input '%s' has rank %d (expected 1xCxHxW or "
		    "tokens)", x->name, x->rank);
	}
	if (h > (1 << 20) || w > (1 << 20) || c > (1 << 20))
		return bad(lw, "input '%s' is too large", x->name);
	stem(lw->label, name);
	lw->net = sim_net_new(name, h, w, c);

	lw->uses = h4h_xcalloc((size_t)lw->hcap, sizeof *lw->uses);
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *n = g->node[i];

		if (n->op_type == NULL)
			return bad(lw, "node %zu has no op", i);
		/* Outputs first, so that uses can count by index. */
		for (size_t o = 0; o < n->n_output; o++)
			if (n->output[o][0] != '\0' &&
			    find(lw, n->output[o]) < 0)
				add(lw, n->output[o])->kind = T_NONE;
	}
	for (size_t i = 0; i < g->n_node; i++)
		for (size_t j = 0; j < g->node[i]->n_input; j++) {
			int k = find(lw, g->node[i]->input[j]);

			if (k >= 0)
				lw->uses[k]++;
		}
	for (size_t i = 0; i < g->n_output; i++) {
		int k = g->output[i]->name ? find(lw, g->output[i]->name) : -1;

		if (k >= 0)
			lw->uses[k]++;
	}
	for (size_t i = 0; i < g->n_node; i++) {
		lw->node = g->node[i];
		lw->node_i = (int)i;
		if ((rc = lower_node(lw)) != 0)
			return rc;
	}
	lw->node = NULL;
	for (size_t i = 0; i < g->n_output; i++) {
		int k = g->output[i]->name ? find(lw, g->output[i]->name) : -1;

		if (k >= 0 && lw->t[k].kind == T_DYN && lw->t[k].pend != P_NONE &&
		    (rc = settle(lw, k)) != 0)
			return rc;
	}
	if (lw->net->n_layers == 0)
		return bad(lw, "the graph lowers to no layers");
	return 0;
}

int
sim_onnx_parse(const void *buf, size_t len, const char *label,
    sim_net **out, h4h_err *err)
{
	Onnx__ModelProto *m;
	lower lw;
	int rc;

	*out = NULL;
	memset(&lw, 0, sizeof lw);
	lw.label = label;
	lw.err = err;
	m = onnx__model_proto__unpack(NULL, len, buf);
	if (m == NULL)
		return h4h_errf(err, H4H_EINPUT, "'%s': not an ONNX model (the "
		    "protobuf does not parse: a truncated or non-ONNX file?)",
		    label);
	if (m->graph == NULL || m->graph->n_node == 0 || !m->has_ir_version) {
		onnx__model_proto__free_unpacked(m, NULL);
		return h4h_errf(err, H4H_EINPUT, "'%s': not an ONNX model (no "
		    "IR version or no graph)", label);
	}
	lw.g = m->graph;
	rc = lower_graph(&lw);
	if (rc == 0)
		*out = lw.net;
	else
		sim_net_destroy(lw.net);
	free(lw.t);
	free(lw.hash);
	free(lw.uses);
	onnx__model_proto__free_unpacked(m, NULL);
	return rc;
}

int
sim_onnx_load(const char *path, sim_net **out, h4h_err *err)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = h4h_file_read(path, H4H_FILE_PATH_LAST, &buf, &len,
	    err)) != 0)
		return rc;
	rc = sim_onnx_parse(buf, len, path, out, err);
	free(buf);
	return rc;
}
