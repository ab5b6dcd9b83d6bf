/*
 * net.h - a network as the simulator sees it: an ordered list of layers with
 * resolved shapes.
 *
 * The front ends build a sim_net (src/sim/front): net_json.c parses the
 * JSON layer list (doc/formats.md), arch.c lowers an H4H architecture (a
 * subnet of the paper's Table 1) into the same list, onnx/ an ONNX graph.  Invariants after a successful load:
 * every layer's input shape equals the output shape of the layer(s) it reads,
 * all dimensions are >= 1, and inputs[] only name earlier layers (-1 is the
 * network input).  Shapes are H x W x C (rows x 1 x C for token tensors).
 */
#ifndef H4H_SIM_NET_H
#define H4H_SIM_NET_H

#include <stddef.h>

#include "core/err.h"

typedef enum sim_op {
	SIM_OP_CONV,		/* kernel, stride, groups */
	SIM_OP_DWCONV,		/* depthwise: groups == channels, out_c == in_c */
	SIM_OP_FC,		/* input [rows,1,C] (or any H,W: rows = H*W) */
	/* activation x activation, per head: [m x k] * [k x n].  The first
	 * input holds the m rows (its H*W == m, its C >= heads*k); the
	 * second input, if any, holds the k x n operand (its H*W == k, its
	 * C >= heads*n); with one input the second operand is the transpose
	 * of the first (q.k^T: n == m).  The output keeps the first input's
	 * H and W: [H, W, heads*n], so token tensors stay [H,W,C] and a
	 * residual add with the block input chains. */
	SIM_OP_MATMUL,
	SIM_OP_SOFTMAX,
	SIM_OP_LAYERNORM,
	SIM_OP_ADD,		/* residual: two inputs of equal shape */
	SIM_OP_AVGPOOL,		/* kernel/stride, or global */
	SIM_OP_MAXPOOL,
	SIM_OP_ACT,		/* standalone activation (act field says which) */
	SIM_OP_COUNT
} sim_op;

typedef enum sim_act {
	SIM_ACT_NONE,
	SIM_ACT_RELU,
	SIM_ACT_RELU6,
	SIM_ACT_HSWISH,		/* LUT on the U55 */
	SIM_ACT_GELU,		/* LUT on the U55 */
	SIM_ACT_SIGMOID,	/* LUT on the U55 (ONNX Sigmoid, HardSigmoid) */
	SIM_ACT_SILU,		/* LUT on the U55 (ONNX x * Sigmoid(x)) */
	SIM_ACT_COUNT
} sim_act;

/* Limits every net obeys however it is built (net.c checks them), so the
 * long long counts cannot overflow. */
#define SIM_DIM_MAX (1 << 20)	/* any one H, W, C, out, m, k, n: assumed */
#define SIM_KERNEL_MAX 64
#define SIM_STRIDE_MAX 64
#define SIM_MACS_MAX (1LL << 62)
#define SIM_NAME_MAX 64

typedef struct sim_layer {
	char name[SIM_NAME_MAX];
	sim_op op;
	sim_act act;		/* fused activation (or the op itself for ACT) */
	int in_h, in_w, in_c;	/* first input's shape */
	int out_h, out_w, out_c;
	int kh, kw;		/* conv/dwconv/pool kernel; 1x1 for fc;
				 * global pool: in_h x in_w */
	int stride;		/* out = ceil(in / stride) (SAME) */
	int groups;		/* conv only; 1 for dense */
	int heads;		/* matmul: heads; others 1 */
	int mm_m, mm_k, mm_n;	/* matmul per head: [m x k] * [k x n] */
	int global;		/* pool over the whole map */
	int is_output;		/* the network's last layer */
	int n_inputs;		/* 1 or 2 */
	int inputs[2];		/* layer indices; -1 = network input */
	/* 1: the front end gives in_h, in_w, in_c itself, because the first
	 * input reaches the layer through layout ops (ONNX Reshape,
	 * Transpose, Concat, Slice, Gather) that change its shape; they are
	 * not compared with the source's output.  An add's second input may
	 * then broadcast (hold fewer elements).  A conv or pool may then give
	 * out_h, out_w (explicit padding), at most the SAME size.  Not part
	 * of the layer's key: the cost depends on the shapes alone. */
	int view;
} sim_layer;

typedef struct sim_net {
	char name[SIM_NAME_MAX];
	int in_h, in_w, in_c;
	int n_layers;
	sim_layer *layers;
} sim_net;

void sim_net_destroy(sim_net *net);

/* Building a net, for the two front ends.  sim_net_new() returns an empty
 * net reading an in_h x in_w x in_c input.  sim_net_append() takes a layer
 * with name, op, act, n_inputs, inputs[] and the op's parameters filled
 * (kh = kernel, stride, groups and out_c for conv; kh, stride for dwconv;
 * out_c for fc; heads, mm_m, mm_k, mm_n for matmul; kh, stride or global
 * for pools), checks them and the shapes it reads, fills every other field
 * and appends it.  On error the net is unchanged and the message (no file
 * name) starts with "layer 'NAME': ". */
sim_net *sim_net_new(const char *name, int in_h, int in_w, int in_c);
int sim_net_append(sim_net *net, const sim_layer *l, h4h_err *err);
/* The same, for a caller whose names are unique by construction (the arch
 * lowering): skips the quadratic duplicate-name check. */
int sim_net_append_named(sim_net *net, const sim_layer *l, h4h_err *err);

/* Multiply-accumulates of one layer (0 for ops without MACs). */
long long sim_layer_macs(const sim_layer *l);
/* Weight bytes (int8) of a layer with static weights, 0 otherwise. */
long long sim_layer_weight_bytes(const sim_layer *l);
/* 1 if the layer has static weights and a CIM macro can run it
 * (conv 1x1 dense / pointwise, dwconv, fc). */
int sim_layer_cim_capable(const sim_layer *l);

const char *sim_op_name(sim_op op);
const char *sim_act_name(sim_act act);
/* Returns -1 if the name is unknown. */
int sim_op_from_name(const char *s);
int sim_act_from_name(const char *s);

#endif
