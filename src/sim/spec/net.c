/*
 * net.c - a network as a layer list: the shape checker both front ends
 * share (sim_net_append), and per-layer MAC and weight counts.
 *
 * Layers and their keys are described with the JSON front end
 * (front/net_json.c); the limits below hold however a net is built.
 * Invariants of a net built here: those of net.h, plus every tensor holds at most INT_MAX elements and every
 * layer at most 2^62 MACs, so the long long counts below cannot overflow.
 */
#include "sim/spec/net.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const op_names[SIM_OP_COUNT] = {
	[SIM_OP_CONV] = "conv",
	[SIM_OP_DWCONV] = "dwconv",
	[SIM_OP_FC] = "fc",
	[SIM_OP_MATMUL] = "matmul",
	[SIM_OP_SOFTMAX] = "softmax",
	[SIM_OP_LAYERNORM] = "layernorm",
	[SIM_OP_ADD] = "add",
	[SIM_OP_AVGPOOL] = "avgpool",
	[SIM_OP_MAXPOOL] = "maxpool",
	[SIM_OP_ACT] = "act",
};

static const char *const act_names[SIM_ACT_COUNT] = {
	[SIM_ACT_NONE] = "none",
	[SIM_ACT_RELU] = "relu",
	[SIM_ACT_RELU6] = "relu6",
	[SIM_ACT_HSWISH] = "hswish",
	[SIM_ACT_GELU] = "gelu",
	[SIM_ACT_SIGMOID] = "sigmoid",
	[SIM_ACT_SILU] = "silu",
};

const char *
sim_op_name(sim_op op)
{
	if ((int)op < 0 || op >= SIM_OP_COUNT)
		return "?";
	return op_names[op];
}

const char *
sim_act_name(sim_act act)
{
	if ((int)act < 0 || act >= SIM_ACT_COUNT)
		return "?";
	return act_names[act];
}

int
sim_op_from_name(const char *s)
{
	for (int i = 0; i < SIM_OP_COUNT; i++)
		if (strcmp(s, op_names[i]) == 0)
			return i;
	return -1;
}

int
sim_act_from_name(const char *s)
{
	for (int i = 0; i < SIM_ACT_COUNT; i++)
		if (strcmp(s, act_names[i]) == 0)
			return i;
	return -1;
}

/* ---- building and checking ---------------------------------------------- */

sim_net *
sim_net_new(const char *name, int in_h, int in_w, int in_c)
{
	sim_net *net = h4h_xcalloc(1, sizeof *net);

	snprintf(net->name, sizeof net->name, "%s", name);
	net->in_h = in_h;
	net->in_w = in_w;
	net->in_c = in_c;
	return net;
}

void
sim_net_destroy(sim_net *net)
{
	if (net == NULL)
		return;
	free(net->layers);
	free(net);
}

static int
ceil_div(int a, int b)
{
	return (a + b - 1) / b;
}

/* The shape layer `i` produces (-1: the network input). */
static void
src_shape(const sim_net *net, int i, int *h, int *w, int *c)
{
	if (i < 0) {
		*h = net->in_h;
		*w = net->in_w;
		*c = net->in_c;
	} else {
		*h = net->layers[i].out_h;
		*w = net->layers[i].out_w;
		*c = net->layers[i].out_c;
	}
}

static const char *
src_name(const sim_net *net, int i)
{
	return i < 0 ? "input" : net->layers[i].name;
}

/* Checks `l` against the net so far and fills its derived fields. */
static int
resolve(const sim_net *net, sim_layer *l, int check_names, h4h_err *err)
{
	const char *nm = l->name;
	int h2, w2, c2;
	long long elems;
	double macs;

	if (l->name[0] == '\0')
		return h4h_errf(err, H4H_EINPUT, "layer %d: empty name",
		    net->n_layers);
	if (memchr(l->name, '\0', SIM_NAME_MAX) == NULL)
		return h4h_errf(err, H4H_EINPUT, "layer %d: name longer than "
		    "%d characters", net->n_layers, SIM_NAME_MAX - 1);
	if (strcmp(nm, "input") == 0)
		return h4h_errf(err, H4H_EINPUT, "layer 'input': the name "
		    "'input' is reserved for the network input");
	for (int i = 0; check_names && i < net->n_layers; i++)
		if (strcmp(net->layers[i].name, nm) == 0)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': "
			    "duplicate name (also layer %d)", nm, i);
	if ((int)l->op < 0 || l->op >= SIM_OP_COUNT)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': bad op %d", nm,
		    (int)l->op);
	if ((int)l->act < 0 || l->act >= SIM_ACT_COUNT)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': bad act %d", nm,
		    (int)l->act);
	if (l->n_inputs < 1 || l->n_inputs > 2)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': 'inputs' must "
		    "name 1 or 2 layers (got %d)", nm, l->n_inputs);
	for (int i = 0; i < l->n_inputs; i++)
		if (l->inputs[i] < -1 || l->inputs[i] >= net->n_layers)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': input "
			    "%d is not an earlier layer", nm, l->inputs[i]);
	if (l->n_inputs == 1)
		l->inputs[1] = -1;
	int want = l->op == SIM_OP_ADD ? 2 : l->op == SIM_OP_MATMUL ? 0 : 1;
	if (want != 0 && l->n_inputs != want)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': 'inputs' must "
		    "name %d layer%s for op '%s' (got %d)", nm, want,
		    want == 1 ? "" : "s", sim_op_name(l->op), l->n_inputs);

	if (l->view) {
		/* The front end read the input through layout ops. */
		if (l->in_h < 1 || l->in_h > SIM_DIM_MAX || l->in_w < 1 ||
		    l->in_w > SIM_DIM_MAX || l->in_c < 1 || l->in_c > SIM_DIM_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': input "
			    "view %dx%dx%d must have dimensions in 1..%d", nm,
			    l->in_h, l->in_w, l->in_c, SIM_DIM_MAX);
		if ((long long)l->in_h * l->in_w * l->in_c > INT_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': input "
			    "view %dx%dx%d has more than %d elements", nm,
			    l->in_h, l->in_w, l->in_c, INT_MAX);
	} else {
		src_shape(net, l->inputs[0], &l->in_h, &l->in_w, &l->in_c);
	}
	src_shape(net, l->inputs[1], &h2, &w2, &c2);
	int view_out_h = l->view ? l->out_h : 0;
	int view_out_w = l->view ? l->out_w : 0;

	int fused = l->op == SIM_OP_CONV || l->op == SIM_OP_DWCONV ||
	    l->op == SIM_OP_FC || l->op == SIM_OP_ADD;
	if (l->op == SIM_OP_ACT && l->act == SIM_ACT_NONE)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': 'act' must not "
		    "be 'none' for op 'act'", nm);
	if (!fused && l->op != SIM_OP_ACT && l->act != SIM_ACT_NONE)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': op '%s' takes "
		    "no 'act' (got '%s')", nm, sim_op_name(l->op),
		    sim_act_name(l->act));

	if (l->op != SIM_OP_MATMUL) {
		l->heads = 1;
		l->mm_m = l->mm_k = l->mm_n = 0;
	}
	/* A softmax of multi-head attention scores normalises each head's
	 * rows: it takes the heads of the matmul it reads (the NPU lowers it
	 * per [heads, tokens, keys], npu.c). */
	if (l->op == SIM_OP_SOFTMAX && l->inputs[0] >= 0 &&
	    net->layers[l->inputs[0]].op == SIM_OP_MATMUL)
		l->heads = net->layers[l->inputs[0]].heads;
	if (l->op != SIM_OP_CONV && l->op != SIM_OP_DWCONV)
		l->groups = 1;
	if (l->op != SIM_OP_AVGPOOL && l->op != SIM_OP_MAXPOOL)
		l->global = 0;
	l->out_h = l->in_h;
	l->out_w = l->in_w;
	l->out_c = l->op == SIM_OP_CONV || l->op == SIM_OP_FC ? l->out_c :
	    l->in_c;

	switch (l->op) {
	case SIM_OP_CONV:
	case SIM_OP_DWCONV:
	case SIM_OP_AVGPOOL:
	case SIM_OP_MAXPOOL:
		if (l->global) {
			l->kh = l->in_h;
			l->kw = l->in_w;
			l->stride = l->in_h > l->in_w ? l->in_h : l->in_w;
			l->out_h = l->out_w = 1;
			break;
		}
		if (l->kh < 1 || l->kh > SIM_KERNEL_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'kernel' "
			    "must be in 1..%d (got %d)", nm, SIM_KERNEL_MAX, l->kh);
		if (l->stride < 1 || l->stride > SIM_STRIDE_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'stride' "
			    "must be in 1..%d (got %d)", nm, SIM_STRIDE_MAX,
			    l->stride);
		l->kw = l->kh;
		l->out_h = ceil_div(l->in_h, l->stride);
		l->out_w = ceil_div(l->in_w, l->stride);
		/* Explicit padding (a view) may give a smaller output. */
		if (view_out_h > 0 || view_out_w > 0) {
			if (view_out_h < 1 || view_out_h > l->out_h ||
			    view_out_w < 1 || view_out_w > l->out_w)
				return h4h_errf(err, H4H_EINPUT, "layer '%s': "
				    "output %dx%d must be in 1x1..%dx%d (SAME "
				    "padding at stride %d)", nm, view_out_h,
				    view_out_w, l->out_h, l->out_w, l->stride);
			l->out_h = view_out_h;
			l->out_w = view_out_w;
		}
		if (l->op == SIM_OP_DWCONV)
			l->groups = l->in_c;
		if (l->op != SIM_OP_CONV)
			break;
		if (l->out_c < 1 || l->out_c > SIM_DIM_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'out' "
			    "must be in 1..%d (got %d)", nm, SIM_DIM_MAX, l->out_c);
		if (l->groups < 1)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'groups' "
			    "must be >= 1 (got %d)", nm, l->groups);
		if (l->in_c % l->groups != 0)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'groups' "
			    "%d does not divide the %d input channels", nm,
			    l->groups, l->in_c);
		if (l->out_c % l->groups != 0)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'groups' "
			    "%d does not divide 'out' %d", nm, l->groups,
			    l->out_c);
		break;
	case SIM_OP_FC:
		if (l->out_c < 1 || l->out_c > SIM_DIM_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'out' "
			    "must be in 1..%d (got %d)", nm, SIM_DIM_MAX, l->out_c);
		l->kh = l->kw = l->stride = 1;
		break;
	case SIM_OP_MATMUL:
		if (l->heads < 1 || l->heads > SIM_DIM_MAX || l->mm_m < 1 ||
		    l->mm_m > SIM_DIM_MAX || l->mm_k < 1 || l->mm_k > SIM_DIM_MAX ||
		    l->mm_n < 1 || l->mm_n > SIM_DIM_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'heads', "
			    "'m', 'k', 'n' must be in 1..%d (got %d, %d, %d, "
			    "%d)", nm, SIM_DIM_MAX, l->heads, l->mm_m, l->mm_k,
			    l->mm_n);
		if ((long long)l->in_h * l->in_w != l->mm_m)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'm' %d "
			    "does not match input '%s' (%dx%dx%d has %lld "
			    "rows)", nm, l->mm_m, src_name(net, l->inputs[0]),
			    l->in_h, l->in_w, l->in_c,
			    (long long)l->in_h * l->in_w);
		if ((long long)l->heads * l->mm_k > l->in_c)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'heads' "
			    "x 'k' = %d x %d exceeds the %d channels of input "
			    "'%s'", nm, l->heads, l->mm_k, l->in_c,
			    src_name(net, l->inputs[0]));
		if (l->n_inputs == 1 && l->mm_n != l->mm_m)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'n' %d "
			    "must equal 'm' %d when one input is given (its "
			    "transpose is the second operand)", nm, l->mm_n,
			    l->mm_m);
		if (l->n_inputs == 2 && (long long)h2 * w2 != l->mm_k)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'k' %d "
			    "does not match second input '%s' (%dx%dx%d has "
			    "%lld rows)", nm, l->mm_k,
			    src_name(net, l->inputs[1]), h2, w2, c2,
			    (long long)h2 * w2);
		if (l->n_inputs == 2 && (long long)l->heads * l->mm_n > c2)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'heads' "
			    "x 'n' = %d x %d exceeds the %d channels of second "
			    "input '%s'", nm, l->heads, l->mm_n, c2,
			    src_name(net, l->inputs[1]));
		if ((long long)l->heads * l->mm_n > INT_MAX)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'heads' "
			    "x 'n' is too large", nm);
		l->out_c = l->heads * l->mm_n;
		l->kh = l->kw = l->stride = 1;
		break;
	case SIM_OP_ADD:
		/* Through a view, the second operand may broadcast (ONNX Mul
		 * of a squeeze-excite gate) or be the first read twice (an
		 * add of a constant tensor). */
		if (l->view && (long long)h2 * w2 * c2 <=
		    (long long)l->in_h * l->in_w * l->in_c)
			goto same_shape;
		if (h2 != l->in_h || w2 != l->in_w || c2 != l->in_c)
			return h4h_errf(err, H4H_EINPUT, "layer '%s': 'inputs' "
			    "differ in shape: '%s' is %dx%dx%d, '%s' is "
			    "%dx%dx%d", nm, src_name(net, l->inputs[0]),
			    l->in_h, l->in_w, l->in_c,
			    src_name(net, l->inputs[1]), h2, w2, c2);
		/* fall through */
	case SIM_OP_SOFTMAX:
	case SIM_OP_LAYERNORM:
	case SIM_OP_ACT:
	default:
	same_shape:
		l->kh = l->kw = l->stride = 1;
		break;
	}

	elems = (long long)l->out_h * l->out_w * l->out_c;
	if (elems > INT_MAX)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': output %dx%dx%d "
		    "has more than %d elements", nm, l->out_h, l->out_w,
		    l->out_c, INT_MAX);
	/* Bound the MACs in floating point before anyone multiplies them. */
	switch (l->op) {
	case SIM_OP_CONV:
		macs = (double)l->kh * l->kw * (l->in_c / l->groups) *
		    (double)elems;
		break;
	case SIM_OP_FC:
		macs = (double)l->in_h * l->in_w * l->in_c * l->out_c;
		break;
	case SIM_OP_MATMUL:
		macs = (double)l->heads * l->mm_m * l->mm_k * l->mm_n;
		break;
	default:
		macs = (double)l->kh * l->kw * (double)elems;
		break;
	}
	if (macs > (double)SIM_MACS_MAX)
		return h4h_errf(err, H4H_EINPUT, "layer '%s': %.3g MACs exceed "
		    "the %.3g a layer may have", nm, macs, (double)SIM_MACS_MAX);
	return 0;
}

static int
append(sim_net *net, const sim_layer *proto, int check_names, h4h_err *err)
{
	sim_layer l = *proto;
	int n = net->n_layers;
	int rc;

	if ((rc = resolve(net, &l, check_names, err)) != 0)
		return rc;
	/* Capacity doubles at each power of two, so it needs no field. */
	if ((n & (n - 1)) == 0)
		net->layers = h4h_xrealloc(net->layers,
		    (size_t)(n == 0 ? 1 : 2 * n) * sizeof *net->layers);
	/* The last layer is the network's output (its tensor leaves NHWC). */
	if (n > 0)
		net->layers[n - 1].is_output = 0;
	l.is_output = 1;
	net->layers[n] = l;
	net->n_layers = n + 1;
	return 0;
}

int
sim_net_append(sim_net *net, const sim_layer *l, h4h_err *err)
{
	return append(net, l, 1, err);
}

int
sim_net_append_named(sim_net *net, const sim_layer *l, h4h_err *err)
{
	return append(net, l, 0, err);
}

/* ---- counts -------------------------------------------------------------- */

long long
sim_layer_macs(const sim_layer *l)
{
	long long out;

	if (l == NULL)
		return 0;
	out = (long long)l->out_h * l->out_w * l->out_c;
	switch (l->op) {
	case SIM_OP_CONV:
		return (long long)l->kh * l->kw * (l->in_c / l->groups) * out;
	case SIM_OP_DWCONV:
		return (long long)l->kh * l->kw * out;
	case SIM_OP_FC:
		return (long long)l->in_h * l->in_w * l->in_c * l->out_c;
	case SIM_OP_MATMUL:
		return (long long)l->heads * l->mm_m * l->mm_k * l->mm_n;
	case SIM_OP_AVGPOOL:
	case SIM_OP_MAXPOOL:
		if (l->global)
			return (long long)l->in_h * l->in_w * l->in_c;
		return (long long)l->kh * l->kw * out;
	default:
		return 0;
	}
}

long long
sim_layer_weight_bytes(const sim_layer *l)
{
	if (l == NULL)
		return 0;
	switch (l->op) {
	case SIM_OP_CONV:
		return (long long)l->kh * l->kw * (l->in_c / l->groups) *
		    l->out_c;
	case SIM_OP_DWCONV:
		return (long long)l->kh * l->kw * l->in_c;
	case SIM_OP_FC:
		return (long long)l->in_c * l->out_c;
	default:
		return 0;
	}
}

int
sim_layer_cim_capable(const sim_layer *l)
{
	if (l == NULL)
		return 0;
	switch (l->op) {
	case SIM_OP_CONV:
		return l->kh == 1 && l->kw == 1 && l->groups == 1;
	case SIM_OP_DWCONV:
	case SIM_OP_FC:
		return 1;
	default:
		return 0;
	}
}
