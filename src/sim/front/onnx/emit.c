/*
 * emit.c - emitting layers: naming them, appending them to the net,
 * folding an activation or BatchNormalization into the layer before it,
 * and settling a tensor left halfway through a multi-node pattern.
 */
#include "sim/front/onnx/onnxInt.h"

/* ---- emitting layers ---------------------------------------------------- */

const char *const onnx_pend_names[] = {
	[P_NONE] = "", [P_GATE] = "a sigmoid gate", [P_ERF] = "a GELU",
	[P_MEAN] = "a layernorm", [P_CENTER] = "a layernorm",
	[P_SQ] = "a layernorm", [P_VAR] = "a layernorm",
	[P_STD] = "a layernorm",
};

/* ---- layer names in use: a hash set, so that naming is O(1) ----------- */

static void
names_put(lower *lw, int layer)
{
	const char *nm = lw->net->layers[layer].name;
	size_t i = (size_t)(onnx_str_hash(lw, nm) & (uint64_t)(lw->ncap - 1));

	while (lw->names[i] != 0)
		i = (i + 1) & (size_t)(lw->ncap - 1);
	lw->names[i] = layer + 1;
}

/* Brings the set up to the net's layers (however they were appended). */
static void
names_sync(lower *lw)
{
	int n = lw->net->n_layers;

	if (2 * (n + 1) > lw->ncap) {
		int cap = lw->ncap ? lw->ncap : 256;

		while (2 * (n + 1) > cap)
			cap *= 2;
		free(lw->names);
		lw->names = h4h_xcalloc((size_t)cap, sizeof *lw->names);
		lw->next_dup = h4h_xrealloc(lw->next_dup, (size_t)cap *
		    sizeof *lw->next_dup);
		for (int i = lw->ncap; i < cap; i++)
			lw->next_dup[i] = 1;
		lw->ncap = cap;
		lw->named = 0;
	}
	for (; lw->named < n; lw->named++)
		names_put(lw, lw->named);
}

/* The layer named nm, or -1. */
static int
names_find(const lower *lw, const char *nm);

int
onnx_layer_taken(lower *lw, const char *nm)
{
	names_sync(lw);
	return names_find(lw, nm) >= 0;
}

static int
names_find(const lower *lw, const char *nm)
{
	size_t i = (size_t)(onnx_str_hash(lw, nm) & (uint64_t)(lw->ncap - 1));

	for (; lw->names[i] != 0; i = (i + 1) & (size_t)(lw->ncap - 1))
		if (strcmp(lw->net->layers[lw->names[i] - 1].name, nm) == 0)
			return lw->names[i] - 1;
	return -1;
}

/* A layer name from the node name: "/features/0/Conv" -> "features/0/Conv",
 * with characters that CSV or a terminal would mangle replaced, the tail
 * kept if it is too long, and "~N" added to repeat names unique (N counts
 * on from the last one given to that name, so that 10,000 nodes of one
 * name cost 10,000 lookups, not 10,000^2). */
void
onnx_layer_name(lower *lw, char *buf)
{
	const char *s = onnx_node_name(lw->node);
	char tmp[SIM_NAME_MAX];
	size_t n;
	int first;

	while (*s == '/')
		s++;
	if (*s == '\0')
		s = lw->node->op_type;
	/* Only the tail is kept: start at a component boundary within the
	 * last 400 bytes (or at the cut, if it has none). */
	if ((n = strlen(s)) > 400) {
		const char *slash = strchr(s + n - 400, '/');

		s = slash != NULL && slash[1] != '\0' ? slash + 1 :
		    s + n - 400;
	}
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
	if (tmp[0] == '\0')
		snprintf(tmp, sizeof tmp, "%.40s", lw->node->op_type[0] ?
		    lw->node->op_type : "node");
	if (strcmp(tmp, "input") == 0)
		snprintf(tmp, sizeof tmp, "input~1");
	snprintf(buf, SIM_NAME_MAX, "%s", tmp);
	names_sync(lw);
	if ((first = names_find(lw, buf)) < 0)
		return;
	for (int dup = lw->next_dup[first];;) {
		snprintf(buf, SIM_NAME_MAX, "%.52s~%u", tmp, (unsigned)++dup);
		if (names_find(lw, buf) < 0) {
			lw->next_dup[first] = dup;
			return;
		}
	}
}

/* Appends l (named after the node) and makes output o its DYN tensor. */
int
onnx_emit(lower *lw, sim_layer *l, size_t o, const int64_t *dims, int rank)
{
	h4h_err sub;
	tens *t;
	int rc;

	onnx_layer_name(lw, l->name);
	if ((rc = sim_net_append_named(lw->net, l, &sub)) != 0)
		return onnx_bad(lw, "%s", sub.msg);
	t = onnx_out_t(lw, o);
	t->kind = T_DYN;
	t->src = lw->net->n_layers - 1;
	t->fusable = 1;
	return onnx_set_dims(lw, t, rank, dims);
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
int
onnx_apply_act(lower *lw, const tens *x, sim_act act, int readers, size_t o)
{
	int xi = onnx_idx(lw, x);
	sim_layer l;
	int rc;

	if (x->kind != T_DYN)
		return onnx_bad(lw, "an activation of a constant");
	if (x->fusable && x->src >= 0 && lw->uses[xi] <= readers &&
	    fuse_capable(&lw->net->layers[x->src]) &&
	    lw->net->layers[x->src].act == SIM_ACT_NONE) {
		lw->net->layers[x->src].act = act;
		onnx_alias(lw, &lw->t[xi], o)->fusable = 1;
		return 0;
	}
	memset(&l, 0, sizeof l);
	l.op = SIM_OP_ACT;
	l.act = act;
	if ((rc = onnx_read_flat(lw, &l, &lw->t[xi])) != 0)
		return rc;
	return onnx_emit(lw, &l, o, lw->t[xi].dims, lw->t[xi].rank);
}

/* A DYN tensor about to be read by a layer: a pending sigmoid gate becomes
 * its act now; a tensor halfway through a pattern is an error. */
int
onnx_settle(lower *lw, int ti)
{
	const Onnx__NodeProto *saved = lw->node;
	tens *t = &lw->t[ti];
	int rc;

	if (t->kind != T_DYN || t->pend == P_NONE)
		return 0;
	if (t->pend != P_GATE)
		return onnx_bad(lw,
		    "reads '%s', which is part of %s pattern that "
		    "it does not complete (export with LayerNormalization or "
		    "Gelu, or simplify the model)", t->name,
		    onnx_pend_names[t->pend]);
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
		rc = onnx_read_flat(lw, &l, &x);
		if (rc == 0) {
			onnx_layer_name(lw, l.name);
			h4h_err sub;

			if ((rc = sim_net_append_named(lw->net, &l, &sub)) != 0)
				rc = onnx_bad(lw, "%s", sub.msg);
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
