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

/* A layer name from the node name: "/features/0/Conv" -> "features/0/Conv",
 * with characters that CSV or a terminal would mangle replaced, the tail
 * kept if it is too long, and "~N" added to repeat names unique. */
void
onnx_layer_name(const lower *lw, char *buf)
{
	const char *s = onnx_node_name(lw->node);
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
