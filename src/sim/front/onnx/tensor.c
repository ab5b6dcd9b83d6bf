/*
 * tensor.c - the ONNX reader's tensor table (a hash on names),
 * attribute access, constants read from TensorProtos and folded through
 * the shape arithmetic exporters emit, and a tensor's dims as h4h sees
 * them (NCHW as HWC, tokens as Tx1xE).
 */
#include "sim/front/onnx/onnxInt.h"

/* ---- the tensor table --------------------------------------------------- */

/* FNV-1a from a per-graph seed (lower.seed, from the clock and the
 * table's address), so that no file can be made of names that all collide
 * and turn every lookup into a scan. */
uint64_t
onnx_str_hash(const lower *lw, const char *s)
{
	uint64_t h = 1469598103934665603ULL ^ lw->seed;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

int
onnx_find(const lower *lw, const char *name)
{
	size_t i = (size_t)(onnx_str_hash(lw, name) & (uint64_t)(lw->hcap - 1));

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
tens *
onnx_add(lower *lw, const char *name)
{
	int k = onnx_find(lw, name);
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
	for (i = (size_t)(onnx_str_hash(lw, name) & (uint64_t)(lw->hcap - 1));
	    lw->hash[i] != 0; i = (i + 1) & (size_t)(lw->hcap - 1))
		;
	lw->hash[i] = k + 1;
	return &lw->t[k];
}

int
onnx_idx(const lower *lw, const tens *t)
{
	return (int)(t - lw->t);
}

/* The element count; onnx_set_dims bounds it by ONNX_MAX_ELEMS, and a
 * tensor whose dims were set otherwise (rank 1, a count) is below it too,
 * but the product saturates rather than wrap all the same. */
long long
onnx_numel(const tens *t)
{
	long long n = 1;

	for (int i = 0; i < t->rank; i++)
		if (t->dims[i] <= 0)
			return 0;
	for (int i = 0; i < t->rank; i++)
		if (__builtin_mul_overflow(n, (long long)t->dims[i], &n))
			return LLONG_MAX;
	return n;
}

/* Input i of the node (NULL if absent); an error if it was never made. */
int
onnx_in(lower *lw, size_t i, tens **out)
{
	const Onnx__NodeProto *n = lw->node;
	int k;

	*out = NULL;
	if (i >= n->n_input || n->input[i][0] == '\0')
		return 0;
	if ((k = onnx_find(lw, n->input[i])) < 0 || lw->t[k].kind == T_NONE)
		return onnx_bad(lw,
		    "reads '%s', which no earlier node or graph "
		    "input defines (a truncated file?)", n->input[i]);
	*out = &lw->t[k];
	return 0;
}

int
onnx_need_in(lower *lw, size_t i, tens **out)
{
	int rc = onnx_in(lw, i, out);

	if (rc == 0 && *out == NULL)
		return onnx_bad(lw, "input %zu is missing", i);
	return rc;
}

/* The node's output i (created). */
tens *
onnx_out_t(lower *lw, size_t i)
{
	return onnx_add(lw, lw->node->output[i]);
}

/* Sets t's dims: each in 0..INT_MAX (an activation's in 1..INT_MAX), at
 * most ONNX_MAX_ELEMS elements in all, so that no count computed from
 * them overflows. */
int
onnx_set_dims(lower *lw, tens *t, int rank, const int64_t *dims)
{
	long long n = 1;

	if (rank < 0 || rank > MAX_RANK)
		return onnx_bad(lw, "tensor '%s' has rank %d (at most %d)",
		    t->name, rank, MAX_RANK);
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0 || dims[i] > INT_MAX)
			return onnx_bad(lw, "tensor '%s' has dimension %d of "
			    "%lld", t->name, i, (long long)dims[i]);
		if (dims[i] == 0 && t->kind == T_DYN)
			return onnx_bad(lw, "activation '%s' has dimension %d "
			    "of 0 (an empty tensor)", t->name, i);
	}
	for (int i = 0; i < rank; i++)
		if (dims[i] == 0)
			n = 0;
	for (int i = 0; i < rank && n > 0; i++) {
		n *= dims[i];
		if (n > ONNX_MAX_ELEMS)
			return onnx_bad(lw, "tensor '%s' has more than %lld "
			    "elements", t->name, (long long)ONNX_MAX_ELEMS);
	}
	t->rank = rank;
	for (int i = 0; i < rank; i++)
		t->dims[i] = dims[i];
	return 0;
}

/* A DYN output that aliases `from` with new dims. */
tens *
onnx_alias(lower *lw, const tens *from, size_t o)
{
	int fi = onnx_idx(lw, from);
	tens *t = onnx_out_t(lw, o);
	int k = onnx_idx(lw, t);

	from = &lw->t[fi];	/* out_t may have moved the table */
	*t = *from;
	t->name = lw->node->output[o];
	t->nval = -1;
	t->root = k;
	t->pend = P_NONE;
	return t;
}

/* ---- attributes --------------------------------------------------------- */

const Onnx__AttributeProto *
onnx_attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i]->name != NULL &&
		    strcmp(n->attribute[i]->name, name) == 0)
			return n->attribute[i];
	return NULL;
}

int64_t
onnx_attr_i(const Onnx__NodeProto *n, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	return a != NULL && a->has_i ? a->i : def;
}

double
onnx_attr_f(const Onnx__NodeProto *n, const char *name, double def)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	return a != NULL && a->has_f ? a->f : def;
}

/* Up to `max` ints of a list attribute into v; returns how many the
 * attribute has (-1 absent), which may be more than max: the caller
 * refuses that. */
int
onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, int max)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	if (a == NULL)
		return -1;
	for (size_t i = 0; i < a->n_ints && (int)i < max; i++)
		v[i] = a->ints[i];
	return a->n_ints > (size_t)INT_MAX ? INT_MAX : (int)a->n_ints;
}

/* The attributes h4h reads, with the type each must have: one of another
 * type is refused, not read as absent (float strides would be stride 1). */
static const struct {
	const char *name;
	Onnx__AttributeProto__AttributeType type;
} attr_types[] = {
	{ "axis", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "group", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "keepdims", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "ceil_mode", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "transA", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "transB", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "allowzero", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "start", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "end", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "value_int", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT },
	{ "strides", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "pads", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "dilations", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "kernel_shape", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "perm", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "axes", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "split", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "starts", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "ends", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "value_ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS },
	{ "min", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT },
	{ "max", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT },
	{ "value_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT },
	{ "value_floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS },
	{ "auto_pad", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING },
	{ "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR },
};

static const char *
attr_type_name(int type)
{
	switch (type) {
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "FLOAT";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "INT";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "STRING";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "TENSOR";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "FLOATS";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "INTS";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED:
		return "of no type";
	default: return "of another type";
	}
}

/* The type an attribute has: the one it declares, else (IR version 1
 * files) the one its value field says. */
static int
attr_type(const Onnx__AttributeProto *a)
{
	if (a->has_type &&
	    a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
		return (int)a->type;
	if (a->has_i)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	if (a->has_f)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
	if (a->has_s)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
	if (a->t != NULL)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
	if (a->n_ints > 0)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	if (a->n_floats > 0)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
	return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

/* Every attribute of the node that h4h reads has the type it must have
 * and a value of that type. */
int
onnx_check_attrs(lower *lw)
{
	const Onnx__NodeProto *n = lw->node;

	for (size_t i = 0; i < n->n_attribute; i++) {
		const Onnx__AttributeProto *a = n->attribute[i];
		int want = -1, got, has;

		if (a->name == NULL)
			continue;
		for (size_t k = 0; k < sizeof attr_types /
		    sizeof attr_types[0]; k++)
			if (strcmp(a->name, attr_types[k].name) == 0)
				want = (int)attr_types[k].type;
		if (want < 0)
			continue;
		got = attr_type(a);
		if (got != want)
			return onnx_bad(lw, "attribute '%.60s' is %s (expected "
			    "%s)", a->name, attr_type_name(got),
			    attr_type_name(want));
		switch (got) {
		case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
			has = a->has_i;
			break;
		case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
			has = a->has_f;
			break;
		case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
			has = a->has_s;
			break;
		case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
			has = a->t != NULL;
			break;
		default:	/* a list may be empty */
			has = 1;
			break;
		}
		if (!has)
			return onnx_bad(lw, "attribute '%.60s' is %s but has "
			    "no value", a->name, attr_type_name(got));
	}
	return 0;
}

int
onnx_attr_is(const Onnx__NodeProto *n, const char *name, const char *s)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	return a != NULL && a->has_s && a->s.len == strlen(s) &&
	    memcmp(a->s.data, s, a->s.len) == 0;
}

/* ---- constants ---------------------------------------------------------- */

/* A TensorProto as a CONST: dims, and its values if few. */
int
onnx_from_proto(lower *lw, tens *t, const Onnx__TensorProto *p)
{
	int rc;
	long long n;

	if ((rc = onnx_set_dims(lw, t, (int)p->n_dims, p->dims)) != 0)
		return rc;
	t->kind = T_CONST;
	t->nval = -1;
	n = onnx_numel(t);
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
		} else if (p->has_raw_data &&
		    p->raw_data.len == (size_t)n * 8) {
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
		} else if (p->has_raw_data &&
		    p->raw_data.len == (size_t)n * 4) {
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
		} else if (p->has_raw_data &&
		    p->raw_data.len == (size_t)n * 8) {
			memcpy(t->val, p->raw_data.data, (size_t)n * 8);
			t->nval = (int)n;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* The values of a CONST input as integers, at most `max` of them:
 * required. */
int
onnx_const_ints(lower *lw, const tens *t, const char *what, int64_t *v,
    int max, int *n)
{
	if (t == NULL || t->kind != T_CONST || t->nval < 0)
		return onnx_bad(lw,
		    "%s must be a constant (it is computed from %s)",
		    what, t != NULL && t->kind == T_DYN ? "the activations" :
		    "values h4h does not fold");
	if (t->nval > max)
		return onnx_bad(lw, "%s has %d values (at most %d)", what,
		    t->nval, max);
	for (int i = 0; i < t->nval; i++) {
		double x = t->val[i];

		/* an integer; a fraction or NaN there is not a count.
		 * Exporters write INT64_MAX for "to the end", which the
		 * double holding it rounds up to 2^63: saturate. */
		if (isnan(x) || (x != floor(x) && !isinf(x)))
			return onnx_bad(lw, "%s holds %g, not an integer",
			    what, x);
		v[i] = x >= 0x1p63 ? INT64_MAX : x <= -0x1p63 ? INT64_MIN :
		    (int64_t)x;
	}
	*n = t->nval;
	return 0;
}

int
onnx_is_scalar(const tens *t)
{
	return t != NULL && t->kind == T_CONST && onnx_numel(t) == 1;
}

/* Broadcast dims of a and b (numpy rules) into t. */
int
onnx_broadcast(lower *lw, const tens *a, const tens *b, tens *t)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	int64_t d[MAX_RANK];

	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t x = ia >= 0 ? a->dims[ia] : 1;
		int64_t y = ib >= 0 ? b->dims[ib] : 1;

		if (x != y && x != 1 && y != 1) {
			char sa[80], sb[80];

			onnx_dims_str(a, sa, sizeof sa);
			onnx_dims_str(b, sb, sizeof sb);
			return onnx_bad(lw, "shapes %s and %s do not broadcast",
			    sa,
			    sb);
		}
		d[i] = x == 1 ? y : x;
	}
	return onnx_set_dims(lw, t, r, d);
}

/* Elementwise arithmetic on constant values (shape arithmetic). */
void
onnx_const_binary(const char *op, const tens *a, const tens *b, tens *t)
{
	int n = (int)onnx_numel(t);

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
int
onnx_hwc(lower *lw, const tens *t, int *h, int *w, int *c)
{
	long long rows = 1;

	if (t->rank == 4) {
		if (t->dims[0] != 1)
			return onnx_bad(lw,
			    "tensor '%s' has batch %lld: export the "
			    "model with batch 1", t->name,
			    (long long)t->dims[0]);
		*h = (int)t->dims[2];
		*w = (int)t->dims[3];
		*c = (int)t->dims[1];
		return 0;
	}
	if (t->rank > 4)
		return onnx_bad(lw,
		    "tensor '%s' has rank %d where a layer reads it "
		    "(h4h layers read [H, W, C] or token tensors)", t->name,
		    t->rank);
	for (int i = 0; i + 1 < t->rank; i++)
		rows *= t->dims[i];
	if (rows > INT_MAX)
		return onnx_bad(lw, "tensor '%s' has %lld rows", t->name, rows);
	*h = (int)rows;
	*w = 1;
	*c = t->rank == 0 ? 1 : (int)t->dims[t->rank - 1];
	return 0;
}

void
onnx_src_hwc(const lower *lw, int src, int *h, int *w, int *c)
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
void
onnx_read_as(const lower *lw, sim_layer *l, const tens *t, int h, int w, int c)
{
	int sh, sw, sc;

	l->inputs[0] = t->src;
	l->n_inputs = 1;
	onnx_src_hwc(lw, t->src, &sh, &sw, &sc);
	if (sh != h || sw != w || sc != c) {
		l->view = 1;
		l->in_h = h;
		l->in_w = w;
		l->in_c = c;
	}
}

/* Reads t in its own [H, W, C] form. */
int
onnx_read_t(lower *lw, sim_layer *l, const tens *t)
{
	int h, w, c, rc;

	if ((rc = onnx_hwc(lw, t, &h, &w, &c)) != 0)
		return rc;
	onnx_read_as(lw, l, t, h, w, c);
	return 0;
}

/* An elementwise reader that does not care how the elements are arranged
 * (an act, a softmax reading its matmul): the source's own shape if the
 * element count is the same. */
int
onnx_read_flat(lower *lw, sim_layer *l, const tens *t)
{
	int sh, sw, sc;

	onnx_src_hwc(lw, t->src, &sh, &sw, &sc);
	if ((long long)sh * sw * sc == onnx_numel(t)) {
		l->inputs[0] = t->src;
		l->n_inputs = 1;
		return 0;
	}
	return onnx_read_t(lw, l, t);
}
