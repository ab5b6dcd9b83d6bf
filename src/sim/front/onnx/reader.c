/*
 * reader.c - lowers an ONNX graph into the simulator's layer list (the
 * lowering's rules are in onnxInt.h's comment): the model's graph
 * inputs, the count of each tensor's readers, the walk over the nodes in
 * file order, and the public entry points (onnx.h).
 */
#include "sim/front/onnx/onnxInt.h"

#include <time.h>

#include "sim/front/read.h"

/* ---- messages ----------------------------------------------------------- */

const char *
onnx_node_name(const Onnx__NodeProto *n)
{
	if (n->name != NULL && n->name[0] != '\0')
		return n->name;
	if (n->n_output > 0 && n->output[0][0] != '\0')
		return n->output[0];
	return "?";
}

/* "'FILE' node 'NAME' (Op): MSG" */
int
onnx_bad(lower *lw, const char *fmt, ...)
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
	    lw->label, onnx_node_name(lw->node), lw->node->op_type, msg);
}

void
onnx_dims_str(const tens *t, char *buf, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->rank && k + 24 < n; i++)
		k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "x" : "",
		    (long long)t->dims[i]);
	if (t->rank == 0)
		snprintf(buf, n, "scalar");
}

/* ---- the graph ---------------------------------------------------------- */

/* A graph input's dims: a symbolic batch is 1; other symbolic dims are
 * errors (the sizes decide the cost), and so is a fixed one below 1. */
static int
value_dims(lower *lw, const Onnx__ValueInfoProto *vi, tens *t, int first)
{
	const Onnx__TypeProto *tp = vi->type;
	const Onnx__TensorShapeProto *sh;
	int64_t d[MAX_RANK];

	if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
	    || tp->tensor_type == NULL || tp->tensor_type->shape == NULL)
		return onnx_bad(lw, "graph input '%s' has no tensor shape",
		    vi->name);
	sh = tp->tensor_type->shape;
	if (sh->n_dim > MAX_RANK)
		return onnx_bad(lw, "graph input '%s' has rank %zu", vi->name,
		    sh->n_dim);
	for (size_t i = 0; i < sh->n_dim; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];

		if (dm->value_case ==
		    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
			if (dm->dim_value < 1)
				return onnx_bad(lw, "graph input '%s' "
				    "dimension %zu is %lld (a size must be at "
				    "least 1)", vi->name, i,
				    (long long)dm->dim_value);
			d[i] = dm->dim_value;
		} else if (i == 0 && first) {
			d[i] = 1;
		} else {
			return onnx_bad(lw, "graph input '%s' dimension %zu is "
			    "symbolic ('%s'): export with fixed sizes",
			    vi->name, i, dm->value_case ==
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
			    && dm->dim_param ? dm->dim_param : "?");
		}
	}
	return onnx_set_dims(lw, t, (int)sh->n_dim, d);
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

	if (g->n_node > ONNX_MAX_NODES)
		return onnx_bad(lw, "the graph has %zu nodes (at most %d)",
		    g->n_node, ONNX_MAX_NODES);
	for (size_t i = 0; i < g->n_node; i++)
		ntens += g->node[i]->n_output;
	if (ntens > (size_t)1 << 24)
		return onnx_bad(lw, "the graph has %zu tensors (at most %d)",
		    ntens, 1 << 24);
	for (lw->hcap = 64; (size_t)lw->hcap < 2 * ntens + 1; lw->hcap *= 2)
		;
	lw->hash = h4h_xcalloc((size_t)lw->hcap, sizeof *lw->hash);
	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *p = g->initializer[i];

		if (p->name == NULL)
			return onnx_bad(lw, "an initializer without a name");
		if ((rc = onnx_from_proto(lw, onnx_add(lw, p->name), p)) != 0)
			return rc;
	}
	/* The first graph input without an initializer is the network
	 * input; the others are weights (export_params=False). */
	for (size_t i = 0; i < g->n_input; i++) {
		const Onnx__ValueInfoProto *vi = g->input[i];
		int k;

		if (vi->name == NULL)
			return onnx_bad(lw, "a graph input without a name");
		k = onnx_find(lw, vi->name);
		if (k >= 0 && lw->t[k].kind == T_CONST)
			continue;
		x = onnx_add(lw, vi->name);
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
		return onnx_bad(lw,
		    "the graph has no input (every input has an "
		    "initializer)");
	x = &lw->t[onnx_find(lw, data->name)];
	if (x->rank == 4) {
		if (x->dims[0] != 1)
			return onnx_bad(lw,
			    "input '%s' has batch %lld: export with "
			    "batch 1", x->name, (long long)x->dims[0]);
		h = (int)x->dims[2], w = (int)x->dims[3], c = (int)x->dims[1];
	} else if (x->rank >= 1 && x->rank <= 3) {
		if ((rc = onnx_hwc(lw, x, &h, &w, &c)) != 0)
			return rc;
	} else {
		return onnx_bad(lw,
		    "input '%s' has rank %d (expected 1xCxHxW or "
		    "tokens)", x->name, x->rank);
	}
	if (h > (1 << 20) || w > (1 << 20) || c > (1 << 20))
		return onnx_bad(lw, "input '%s' is too large", x->name);
	stem(lw->label, name);
	lw->net = sim_net_new(name, h, w, c);

	lw->uses = h4h_xcalloc((size_t)lw->hcap, sizeof *lw->uses);
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *n = g->node[i];

		if (n->op_type == NULL)
			return onnx_bad(lw, "node %zu has no op", i);
		/* Outputs first, so that uses can count by index. */
		for (size_t o = 0; o < n->n_output; o++)
			if (n->output[o][0] != '\0' &&
			    onnx_find(lw, n->output[o]) < 0)
				onnx_add(lw, n->output[o])->kind = T_NONE;
	}
	for (size_t i = 0; i < g->n_node; i++)
		for (size_t j = 0; j < g->node[i]->n_input; j++) {
			int k = onnx_find(lw, g->node[i]->input[j]);

			if (k >= 0)
				lw->uses[k]++;
		}
	for (size_t i = 0; i < g->n_output; i++) {
		int k = g->output[i]->name ? onnx_find(lw,
		    g->output[i]->name) : -1;

		if (k >= 0)
			lw->uses[k]++;
	}
	for (size_t i = 0; i < g->n_node; i++) {
		lw->node = g->node[i];
		lw->node_i = (int)i;
		if ((rc = onnx_lower_node(lw)) != 0)
			return rc;
	}
	lw->node = NULL;
	for (size_t i = 0; i < g->n_output; i++) {
		int k = g->output[i]->name ? onnx_find(lw,
		    g->output[i]->name) : -1;

		if (k >= 0 && lw->t[k].kind == T_DYN &&
		    lw->t[k].pend != P_NONE &&
		    (rc = onnx_settle(lw, k)) != 0)
			return rc;
	}
	if (lw->net->n_layers == 0)
		return onnx_bad(lw, "the graph lowers to no layers");
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
	lw.seed = ((uint64_t)(uintptr_t)&lw * 0x9e3779b97f4a7c15ULL) ^
	    (uint64_t)time(NULL);
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
	free(lw.names);
	free(lw.next_dup);
	free(lw.uses);
	onnx__model_proto__free_unpacked(m, NULL);
	return rc;
}

/* sim_onnx_parse as sim_front_load calls a parser. */
static int
parse_file(const char *buf, size_t len, const char *label, void *out,
    h4h_err *err)
{
	return sim_onnx_parse(buf, len, label, out, err);
}

int
sim_onnx_load(const char *path, sim_net **out, h4h_err *err)
{
	*out = NULL;
	return sim_front_load(path, parse_file, out, err);
}
