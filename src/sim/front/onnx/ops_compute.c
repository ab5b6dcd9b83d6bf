/*
 * ops_compute.c - the ONNX ops that emit layers: Conv, pools, Gemm and
 * MatMul, arithmetic (with the GELU, LayerNorm and x*sigmoid patterns),
 * activations, Softmax, LayerNormalization, ReduceMean, Sqrt and Erf,
 * BatchNormalization.
 */
#include "sim/front/onnx/onnxInt.h"

#include "sim/front/gpool.h"

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
	int ns = onnx_attr_ints(n, "strides", st, 2);
	int np = onnx_attr_ints(n, "pads", pads, 4);
	int ceil_mode = onnx_attr_i(n, "ceil_mode", 0) != 0;
	int nd = onnx_attr_ints(n, "dilations", dil, 2);

	if (kh != kw)
		return onnx_bad(lw,
		    "kernel %lldx%lld is not square (h4h models "
		    "square kernels)", (long long)kh, (long long)kw);
	if (ns == 2 && st[0] != st[1])
		return onnx_bad(lw, "strides %lldx%lld differ (h4h models one "
		    "stride for both axes)", (long long)st[0],
		    (long long)st[1]);
	if (dil[0] != 1 || dil[1] != 1)
		return onnx_bad(lw,
		    "dilation %lldx%lld is not modelled (use an "
		    "undilated kernel)", (long long)dil[0], (long long)dil[1]);
	if (np >= 0 && np != 4)
		return onnx_bad(lw, "'pads' has %d values (expected 4)", np);
	if (ns > 2 || nd > 2)
		return onnx_bad(lw, "'%s' has %d values (expected 2)",
		    ns > 2 ? "strides" : "dilations", ns > 2 ? ns : nd);
	if (st[0] < 1 || st[0] > 64 || kh < 1 || kh > 64)
		return onnx_bad(lw,
		    "kernel %lld or stride %lld is outside 1..64",
		    (long long)kh, (long long)st[0]);
	/* A pad of the kernel or more reads only padding (and a huge one
	 * would overflow the size arithmetic). */
	for (int i = 0; i < 4; i++)
		if (pads[i] < 0 || pads[i] >= kh)
			return onnx_bad(lw, "pad %lld is outside 0..%lld (the "
			    "kernel less one)", (long long)pads[i],
			    (long long)kh - 1);
	*stride = (int)st[0];
	if (onnx_attr_is(n, "auto_pad", "SAME_UPPER") ||
	    onnx_attr_is(n, "auto_pad", "SAME_LOWER")) {
		*oh = (x->dims[2] + st[0] - 1) / st[0];
		*ow = (x->dims[3] + st[0] - 1) / st[0];
	} else {
		*oh = conv_out(x->dims[2], kh, st[0], pads[0], pads[2],
		    ceil_mode);
		*ow = conv_out(x->dims[3], kw, st[0], pads[1], pads[3],
		    ceil_mode);
	}
	if (*oh < 1 || *ow < 1)
		return onnx_bad(lw, "the %lldx%lld kernel does not fit the "
		    "%lldx%lld input", (long long)kh, (long long)kw,
		    (long long)x->dims[2], (long long)x->dims[3]);
	if (*oh > (x->dims[2] + st[0] - 1) / st[0] ||
	    *ow > (x->dims[3] + st[0] - 1) / st[0])
		return onnx_bad(lw,
		    "padding gives a %lldx%lld output, more than "
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
			onnx_src_hwc(lw, x->src, &h, &w, &c);
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
		return onnx_bad(lw,
		    "its input '%s' is a constant (h4h lowers only "
		    "ops on activations)", x->name);
	if (x->rank != 4 || x->dims[0] != 1) {
		onnx_dims_str(x, s, sizeof s);
		return onnx_bad(lw,
		    "input '%s' is %s; expected 1xCxHxW (export "
		    "with batch 1)", x->name, s);
	}
	return 0;
}

int
onnx_op_conv(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	tens *x, *wt;
	sim_layer l;
	int64_t oh, ow, oc, g, dims[4];
	int stride, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0 || (rc = onnx_need_in(lw, 1,
	    &wt)) != 0)
		return rc;
	if ((rc = need_nchw(lw, x)) != 0 || (rc = onnx_settle(lw, onnx_idx(lw,
	    x))) != 0)
		return rc;
	if (wt->kind != T_CONST || wt->rank != 4)
		return onnx_bad(lw,
		    "the weight '%s' must be a constant or weight "
		    "input of rank 4", wt->name);
	oc = wt->dims[0];
	g = onnx_attr_i(lw->node, "group", 1);
	/* g <= the channels first: then the product cannot overflow */
	if (g < 1 || g > x->dims[1] || wt->dims[1] * g != x->dims[1])
		return onnx_bad(lw,
		    "group %lld and weight %lldx%lldx%lldx%lld do "
		    "not match the %lld input channels", (long long)g,
		    (long long)wt->dims[0], (long long)wt->dims[1],
		    (long long)wt->dims[2], (long long)wt->dims[3],
		    (long long)x->dims[1]);
	if ((rc = window(lw, x, wt->dims[2], wt->dims[3], &stride, &oh,
	    &ow)) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	if ((rc = onnx_read_t(lw, &l, x)) != 0)
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
	return onnx_emit(lw, &l, 0, dims, 4);
}

/* A global pool over a large map: strided pools first (gpool.h), named
 * NODE~pre1, ...; l then reads the last of them.  The names are looked up
 * in the layer-name set first, so that many such pools do not each scan
 * every layer. */
static int
pre_pool(lower *lw, sim_layer *l)
{
	char base[SIM_NAME_MAX], name[SIM_NAME_MAX];
	h4h_err sub;
	int unique = 1;

	onnx_layer_name(lw, base);
	for (int i = 1; i <= SIM_PRE_POOL_MAX && unique; i++) {
		snprintf(name, sizeof name, "%.52s~pre%d", base, i);
		unique = !onnx_layer_taken(lw, name);
	}
	if (sim_front_pre_pool(lw->net, l, base, unique, &sub) != 0)
		return onnx_bad(lw, "%s", sub.msg);
	return 0;
}

int
onnx_op_pool(lower *lw, const onnx_op *e)
{
	sim_op op = e->sop;
	int global = e->arg;
	tens *x;
	sim_layer l;
	int64_t k[2] = { 0, 0 }, oh = 1, ow = 1, dims[4];
	int stride = 1, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0 || (rc = need_nchw(lw,
	    x)) != 0 ||
	    (rc = onnx_settle(lw, onnx_idx(lw, x))) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	if ((rc = onnx_read_t(lw, &l, x)) != 0)
		return rc;
	l.op = op;
	if (global) {
		l.global = 1;
		if ((rc = pre_pool(lw, &l)) != 0)
			return rc;
	} else {
		if (onnx_attr_ints(lw->node, "kernel_shape", k, 2) != 2)
			return onnx_bad(lw,
			    "'kernel_shape' must give 2 values");
		if ((rc = window(lw, x, k[0], k[1], &stride, &oh, &ow)) != 0)
			return rc;
		set_window(lw, &l, x, (int)k[0], stride, oh, ow);
	}
	dims[0] = 1;
	dims[1] = x->dims[1];
	dims[2] = oh;
	dims[3] = ow;
	return onnx_emit(lw, &l, 0, dims, 4);
}

/* fc: x [.., K] times a constant [K, N] (or [N, K] transposed). */
static int
emit_fc(lower *lw, tens *x, int64_t k, int64_t n)
{
	sim_layer l;
	int64_t dims[MAX_RANK];
	int h, w, c, rc;

	if (k < 1 || n < 1)
		return onnx_bad(lw, "the weight is %lldx%lld (an empty "
		    "matrix)", (long long)k, (long long)n);
	if (x->rank < 1 || x->dims[x->rank - 1] != k)
		return onnx_bad(lw,
		    "input '%s' does not end in the weight's %lld "
		    "rows", x->name, (long long)k);
	if ((rc = onnx_settle(lw, onnx_idx(lw, x))) != 0 ||
	    (rc = onnx_hwc(lw, x, &h, &w, &c)) != 0)
		return rc;
	if (x->rank == 4)	/* a matmul over NCHW's last axis: rows */
		h = (int)(onnx_numel(x) / k), w = 1, c = (int)k;
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_FC;
	l.out_c = (int)n;
	onnx_read_as(lw, &l, x, h, w, c);
	memcpy(dims, x->dims, sizeof dims);
	dims[x->rank - 1] = n;
	return onnx_emit(lw, &l, 0, dims, x->rank);
}

/* A matmul of two activations, a [.., M, K] times b [.., K, N]. */
static int
emit_matmul(lower *lw, tens *a, tens *b)
{
	sim_layer l;
	int64_t m, k, n, heads = 1, dims[MAX_RANK];
	int ai = onnx_idx(lw, a), bi = onnx_idx(lw, b), r, rc;
	int sh, sw, sc;
	char sa[80], sb[80];

	if (a->rank < 2 || b->rank < 2)
		return onnx_bad(lw,
		    "operands of rank %d and %d (expected at least "
		    "2)", a->rank, b->rank);
	m = a->dims[a->rank - 2];
	k = a->dims[a->rank - 1];
	n = b->dims[b->rank - 1];
	onnx_dims_str(a, sa, sizeof sa);
	onnx_dims_str(b, sb, sizeof sb);
	if (b->dims[b->rank - 2] != k)
		return onnx_bad(lw, "operands %s and %s do not chain", sa, sb);
	r = a->rank > b->rank ? a->rank : b->rank;
	for (int i = 0; i < r - 2; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t x = ia >= 0 ? a->dims[ia] : 1;
		int64_t y = ib >= 0 ? b->dims[ib] : 1;

		if (x != y && x != 1 && y != 1)
			return onnx_bad(lw, "batch dims of %s and %s do not "
			    "broadcast", sa, sb);
		dims[i] = x > y ? x : y;
		/* heads <= 2^20 before, dims[i] <= INT_MAX: no overflow */
		heads *= dims[i];
		if (heads > (1 << 20))
			break;
	}
	if (heads > (1 << 20) || m > (1 << 20) || k > (1 << 20) ||
	    n > (1 << 20) || heads * k > INT_MAX || heads * n > INT_MAX)
		return onnx_bad(lw, "%s x %s is too large", sa, sb);
	if ((rc = onnx_settle(lw, ai)) != 0 || (rc = onnx_settle(lw, bi)) != 0)
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
	onnx_src_hwc(lw, a->src, &sh, &sw, &sc);
	if ((long long)sh * sw == m && sc >= heads * k)
		l.inputs[0] = a->src, l.n_inputs = 1;
	else
		onnx_read_as(lw, &l, a, (int)m, 1, (int)(heads * k));
	/* The second: rows k (the k x n operand), or the transpose of the
	 * first operand's form (q.k^T: n == m, rows n). */
	onnx_src_hwc(lw, b->src, &sh, &sw, &sc);
	if ((long long)sh * sw == k && sc >= heads * n) {
		l.inputs[1] = b->src;
		l.n_inputs = 2;
	} else if (n == m && (long long)sh * sw == n && sc >= heads * k) {
		l.n_inputs = 1;
	} else {
		return onnx_bad(lw,
		    "the second operand %s (held as %dx%dx%d) is "
		    "neither k x n rows nor the transpose of a token tensor",
		    sb, sh, sw, sc);
	}
	dims[r - 2] = m;
	dims[r - 1] = n;
	return onnx_emit(lw, &l, 0, dims, r);
}

int
onnx_op_gemm_matmul(lower *lw, const onnx_op *e)
{
	int gemm = e->arg;
	tens *a, *b;
	int rc;

	if ((rc = onnx_need_in(lw, 0, &a)) != 0 || (rc = onnx_need_in(lw, 1,
	    &b)) != 0)
		return rc;
	if (a->kind != T_DYN)
		return onnx_bad(lw, "the first operand '%s' is a constant (h4h "
		    "lowers x.W, not W.x: transpose the product)", a->name);
	if (gemm && onnx_attr_i(lw->node, "transA", 0) != 0)
		return onnx_bad(lw, "transA=1 is not supported (export x.W^T)");
	if (b->kind == T_CONST) {
		int tb = gemm && onnx_attr_i(lw->node, "transB", 0) != 0;

		if (b->rank != 2)
			return onnx_bad(lw,
			    "the weight '%s' has rank %d (expected "
			    "2)", b->name, b->rank);
		return emit_fc(lw, a, b->dims[tb ? 1 : 0],
		    b->dims[tb ? 0 : 1]);
	}
	if (gemm)
		return onnx_bad(lw, "a Gemm of two activations (export it as "
		    "MatMul)");
	return emit_matmul(lw, a, b);
}

/* Elementwise add (or mul) of activations a and b, b broadcasting. */
static int
emit_eltwise(lower *lw, tens *a, tens *b)
{
	int ai = onnx_idx(lw, a), bi = onnx_idx(lw, b), rc;
	int64_t dims[MAX_RANK];
	int h, w, c, bh, bw, bc, rank;
	tens tmp;
	sim_layer l;

	memset(&tmp, 0, sizeof tmp);
	tmp.name = lw->node->output[0];
	if ((rc = onnx_broadcast(lw, a, b, &tmp)) != 0)
		return rc;
	if (onnx_numel(b) > onnx_numel(a)) {
		int s = ai;

		ai = bi;
		bi = s;
	}
	if ((rc = onnx_settle(lw, ai)) != 0 || (rc = onnx_settle(lw, bi)) != 0)
		return rc;
	a = &lw->t[ai];
	b = &lw->t[bi];
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_ADD;
	if ((rc = onnx_hwc(lw, a, &h, &w, &c)) != 0)
		return rc;
	onnx_read_as(lw, &l, a, h, w, c);
	l.inputs[1] = b->src;
	l.n_inputs = 2;
	onnx_src_hwc(lw, b->src, &bh, &bw, &bc);
	if (bh != h || bw != w || bc != c) {
		l.view = 1;
		l.in_h = h;
		l.in_w = w;
		l.in_c = c;
	}
	rank = tmp.rank;
	memcpy(dims, tmp.dims, sizeof dims);
	return onnx_emit(lw, &l, 0, dims, rank);
}

/* Add, Sub, Mul, Div, Pow. */
int
onnx_op_arith(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	const char *op = lw->node->op_type;
	int is_mul = strcmp(op, "Mul") == 0, is_div = strcmp(op, "Div") == 0;
	int is_sub = strcmp(op, "Sub") == 0, is_pow = strcmp(op, "Pow") == 0;
	tens *a, *b, *d, *cst, *t;
	int ai, bi, rc;

	if ((rc = onnx_need_in(lw, 0, &a)) != 0 || (rc = onnx_need_in(lw, 1,
	    &b)) != 0)
		return rc;
	ai = onnx_idx(lw, a);
	bi = onnx_idx(lw, b);
	if (a->kind == T_CONST && b->kind == T_CONST) {
		t = onnx_out_t(lw, 0);
		a = &lw->t[ai];
		b = &lw->t[bi];
		if ((rc = onnx_broadcast(lw, a, b, t)) != 0)
			return rc;
		onnx_const_binary(op, a, b, t);
		return 0;
	}
	/* Patterns first. */
	if (a->kind == T_DYN && b->kind == T_DYN) {
		if (is_sub && b->pend == P_MEAN && b->pend_of == a->root) {
			t = onnx_alias(lw, &lw->t[ai], 0);
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
			if ((rc = onnx_read_flat(lw, &l, x)) != 0)
				return rc;
			x = &lw->t[lw->t[ai].pend_of];
			return onnx_emit(lw, &l, 0, x->dims, x->rank);
		}
		if (is_mul) {
			for (int s = 0; s < 2; s++) {
				tens *g = &lw->t[s ? ai : bi];
				tens *x = &lw->t[s ? bi : ai];

				if (g->pend == P_GATE && g->pend_of == x->root)
					return onnx_apply_act(lw,
					    &lw->t[x->root],
					    g->gate_act, 2, 0);
				if (g->pend == P_ERF && g->pend_of == x->root)
					return onnx_apply_act(lw,
					    &lw->t[x->root],
					    SIM_ACT_GELU, 2, 0);
			}
		}
		if (is_pow || is_div || is_sub)
			return onnx_bad(lw, "a %s of two activations outside a "
			    "layernorm pattern (h4h models Add and Mul of "
			    "activations)", op);
		return emit_eltwise(lw, &lw->t[ai], &lw->t[bi]);
	}
	d = a->kind == T_DYN ? a : b;
	cst = a->kind == T_DYN ? b : a;
	if (is_pow) {
		if (d != a || !onnx_is_scalar(cst) || cst->nval != 1 ||
		    cst->val[0] != 2 || d->pend != P_CENTER)
			return onnx_bad(lw, "a Pow outside a layernorm pattern "
			    "(h4h models x^2 of x - mean(x) only)");
		t = onnx_alias(lw, d, 0);
		t->pend = P_SQ;
		t->pend_of = lw->t[onnx_idx(lw, d) == ai ? ai : bi].pend_of;
		return 0;
	}
	/* A scalar: free, folded into the producer's output scale; the
	 * pattern tag goes through. */
	if (onnx_is_scalar(cst)) {
		int di = onnx_idx(lw, d);
		tens *x;

		if ((is_div || is_sub) && d != a)
			return onnx_bad(lw,
			    "a constant %s an activation is not "
			    "modelled", is_div ? "divided by" : "minus");
		t = onnx_alias(lw, d, 0);
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
		int di = onnx_idx(lw, d), h, w, c;
		tens *x = &lw->t[di];

		if ((rc = onnx_settle(lw, di)) != 0)
			return rc;
		x = &lw->t[di];
		if ((rc = onnx_hwc(lw, x, &h, &w, &c)) != 0)
			return rc;
		/* A per-channel scale or bias folds into a producer that
		 * has no other reader (a bias, a BN, a layernorm's affine). */
		if (onnx_numel(cst) == c && onnx_numel(cst) < onnx_numel(x) &&
		    x->fusable && x->src >= 0 && lw->uses[di] <= 1 &&
		    lw->net->layers[x->src].act == SIM_ACT_NONE) {
			sim_op sop = lw->net->layers[x->src].op;

			if (sop == SIM_OP_CONV || sop == SIM_OP_DWCONV ||
			    sop == SIM_OP_FC || sop == SIM_OP_MATMUL ||
			    sop == SIM_OP_LAYERNORM) {
				onnx_alias(lw, &lw->t[di], 0)->fusable = 1;
				return 0;
			}
		}
		if (onnx_numel(cst) == c && lw->t[di].rank == 2 &&
		    lw->t[di].fusable && lw->uses[di] <= 1 &&
		    lw->t[di].src >= 0 &&
		    lw->net->layers[lw->t[di].src].op == SIM_OP_FC) {
			onnx_alias(lw, &lw->t[di], 0)->fusable = 1;
			return 0;
		}
		/* Otherwise an elementwise op with a constant operand,
		 * costed as an add that reads its input twice. */
		{
			sim_layer l;
			tens tmp;

			memset(&tmp, 0, sizeof tmp);
			tmp.name = lw->node->output[0];
			if ((rc = onnx_broadcast(lw, x, cst, &tmp)) != 0)
				return rc;
			if (onnx_numel(&tmp) != onnx_numel(x))
				return onnx_bad(lw,
				    "the constant '%s' widens the "
				    "activation (not modelled)", cst->name);
			memset(&l, 0, sizeof l);
			l.op = SIM_OP_ADD;
			onnx_read_as(lw, &l, x, h, w, c);
			l.inputs[1] = x->src;
			l.n_inputs = 2;
			l.view = 1;
			l.in_h = h;
			l.in_w = w;
			l.in_c = c;
			return onnx_emit(lw, &l, 0, x->dims, x->rank);
		}
	}
}

/* Relu, Clip, HardSwish, Sigmoid, HardSigmoid, Gelu. */
int
onnx_op_act(lower *lw, const onnx_op *e)
{
	const char *op = e->name;
	tens *x, *lo, *hi;
	int xi, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	if (x->kind != T_DYN)
		return onnx_bad(lw, "an activation of a constant");
	xi = onnx_idx(lw, x);
	if ((rc = onnx_settle(lw, xi)) != 0)
		return rc;
	if (strcmp(op, "Relu") == 0)
		return onnx_apply_act(lw, &lw->t[xi], SIM_ACT_RELU, 1, 0);
	if (strcmp(op, "HardSwish") == 0)
		return onnx_apply_act(lw, &lw->t[xi], SIM_ACT_HSWISH, 1, 0);
	if (strcmp(op, "Gelu") == 0)
		return onnx_apply_act(lw, &lw->t[xi], SIM_ACT_GELU, 1, 0);
	if (strcmp(op, "Clip") == 0) {
		double mn = onnx_attr_f(lw->node, "min", -INFINITY);
		double mx = onnx_attr_f(lw->node, "max", INFINITY);

		if ((rc = onnx_in(lw, 1, &lo)) != 0 || (rc = onnx_in(lw, 2,
		    &hi)) != 0)
			return rc;
		if (lo != NULL)
			mn = onnx_is_scalar(lo) &&
			    lo->nval == 1 ? lo->val[0] : NAN;
		if (hi != NULL)
			mx = onnx_is_scalar(hi) &&
			    hi->nval == 1 ? hi->val[0] : NAN;
		if (mn == 0 && mx == 6)
			return onnx_apply_act(lw, &lw->t[xi], SIM_ACT_RELU6, 1,
			    0);
		if (mn == 0 && isinf(mx))
			return onnx_apply_act(lw, &lw->t[xi], SIM_ACT_RELU, 1,
			    0);
		return onnx_bad(lw,
		    "Clip to [%g, %g] is not modelled (use Relu or "
		    "Relu6, clip to [0, 6])", mn, mx);
	}
	/* Sigmoid and HardSigmoid wait: x * gate(x) is SiLU or HardSwish. */
	{
		tens *t = onnx_alias(lw, &lw->t[xi], 0);
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

int
onnx_op_softmax(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	tens *x;
	sim_layer l;
	int64_t axis = onnx_attr_i(lw->node, "axis", -1);
	int xi, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	if (x->kind != T_DYN)
		return onnx_bad(lw, "a softmax of a constant");
	if (axis != -1 && axis != x->rank - 1)
		return onnx_bad(lw,
		    "axis %lld is not the last (h4h normalises rows "
		    "over the last axis)", (long long)axis);
	xi = onnx_idx(lw, x);
	if ((rc = onnx_settle(lw, xi)) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_SOFTMAX;
	if ((rc = onnx_read_flat(lw, &l, &lw->t[xi])) != 0)
		return rc;
	x = &lw->t[xi];
	return onnx_emit(lw, &l, 0, x->dims, x->rank);
}

int
onnx_op_layernorm(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	tens *x;
	sim_layer l;
	int64_t axis = onnx_attr_i(lw->node, "axis", -1);
	int xi, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	if (x->kind != T_DYN)
		return onnx_bad(lw, "a layernorm of a constant");
	if (axis != -1 && axis != x->rank - 1)
		return onnx_bad(lw, "axis %lld is not the last",
		    (long long)axis);
	xi = onnx_idx(lw, x);
	if ((rc = onnx_settle(lw, xi)) != 0)
		return rc;
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_LAYERNORM;
	if ((rc = onnx_read_t(lw, &l, &lw->t[xi])) != 0)
		return rc;
	x = &lw->t[xi];
	return onnx_emit(lw, &l, 0, x->dims, x->rank);
}

/* ReduceMean: over the last axis it starts a layernorm; over H and W of
 * NCHW it is a global average pool. */
int
onnx_op_reducemean(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	tens *x, *ax;
	int64_t axes[MAX_RANK];
	int na, xi, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	na = onnx_attr_ints(lw->node, "axes", axes, MAX_RANK);
	if (na < 0 && (rc = onnx_in(lw, 1, &ax)) == 0 && ax != NULL &&
	    (rc = onnx_const_ints(lw, ax, "'axes'", axes, MAX_RANK,
	    &na)) != 0)
		return rc;
	if (rc != 0)
		return rc;
	x = &lw->t[xi];
	if (x->kind != T_DYN)
		return onnx_bad(lw, "a mean of a constant");
	if (na > MAX_RANK)
		return onnx_bad(lw, "'axes' has %d values (at most %d)", na,
		    MAX_RANK);
	for (int i = 0; i < na; i++) {
		if (axes[i] < 0)
			axes[i] += x->rank;
		if (axes[i] < 0 || axes[i] >= x->rank)
			return onnx_bad(lw, "axis %lld for rank %d",
			    (long long)axes[i], x->rank);
	}
	if (na == 1 && axes[0] == x->rank - 1 && x->rank != 4) {
		tens *t;
		int p = x->pend;

		if (p != P_NONE && p != P_SQ)
			return onnx_bad(lw,
			    "reads '%s', which is part of %s pattern "
			    "that it does not complete", x->name,
			    onnx_pend_names[p]);
		t = onnx_alias(lw, &lw->t[xi], 0);
		t->pend = p == P_SQ ? P_VAR : P_MEAN;
		t->pend_of = p == P_SQ ? lw->t[xi].pend_of : lw->t[xi].root;
		t->dims[t->rank - 1] = 1;
		if (onnx_attr_i(lw->node, "keepdims", 1) == 0)
			t->rank--;
		return 0;
	}
	if (x->rank == 4 && na == 2 && ((axes[0] == 2 && axes[1] == 3) ||
	    (axes[0] == 3 && axes[1] == 2))) {
		sim_layer l;
		int64_t dims[4] = { 1, x->dims[1], 1, 1 };

		if ((rc = onnx_settle(lw, xi)) != 0)
			return rc;
		memset(&l, 0, sizeof l);
		l.op = SIM_OP_AVGPOOL;
		l.global = 1;
		if ((rc = onnx_read_t(lw, &l, &lw->t[xi])) != 0 ||
		    (rc = pre_pool(lw, &l)) != 0)
			return rc;
		if (onnx_attr_i(lw->node, "keepdims", 1) == 0)
			return onnx_emit(lw, &l, 0, dims, 2);
		return onnx_emit(lw, &l, 0, dims, 4);
	}
	return onnx_bad(lw,
	    "a mean over these axes is not modelled (h4h models "
	    "the last axis, as in a layernorm, or H and W, as a global pool)");
}

int
onnx_op_sqrt_erf(lower *lw, const onnx_op *e)
{
	int is_erf = e->arg;
	tens *x, *t;
	int xi, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	if (x->kind == T_CONST) {
		t = onnx_out_t(lw, 0);
		x = &lw->t[xi];
		if ((rc = onnx_set_dims(lw, t, x->rank, x->dims)) != 0)
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
			return onnx_bad(lw, "reads '%s', which is part of %s "
			    "pattern", x->name, onnx_pend_names[x->pend]);
		t = onnx_alias(lw, &lw->t[xi], 0);
		t->pend = P_ERF;
		t->pend_of = lw->t[xi].root;
		return 0;
	}
	if (x->pend != P_VAR)
		return onnx_bad(lw, "a Sqrt outside a layernorm pattern is not "
		    "modelled");
	t = onnx_alias(lw, &lw->t[xi], 0);
	t->pend = P_STD;
	t->pend_of = lw->t[xi].pend_of;
	return 0;
}

int
onnx_op_batchnorm(lower *lw, const onnx_op *e ONNX_UNUSED)
{
	tens *x;
	int xi, rc;

	if ((rc = onnx_need_in(lw, 0, &x)) != 0)
		return rc;
	xi = onnx_idx(lw, x);
	if (x->kind == T_DYN && x->fusable && x->src >= 0 &&
	    lw->uses[xi] <= 1 && lw->net->layers[x->src].act == SIM_ACT_NONE &&
	    (lw->net->layers[x->src].op == SIM_OP_CONV ||
	    lw->net->layers[x->src].op == SIM_OP_DWCONV ||
	    lw->net->layers[x->src].op == SIM_OP_FC)) {
		onnx_alias(lw, &lw->t[xi], 0)->fusable = 1;
		return 0;
	}
	return onnx_bad(lw,
	    "a BatchNormalization that does not directly follow a "
	    "conv or fc (with no other reader) cannot be folded (h4h models "
	    "BN folded into the conv before it)");
}
