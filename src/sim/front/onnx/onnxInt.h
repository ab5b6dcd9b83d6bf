/*
 * onnxInt.h - the ONNX reader's private header: the tensor table, the
 * lowering state, and the helpers its files share.  Nothing outside
 * src/sim/front/onnx includes it.  The lowering's rules, for all its files:
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
 *
 * The files: reader.c (the graph: inputs, uses, the walk, the public
 * entry points), tensor.c (the tensor table, attributes, constants,
 * shapes as h4h sees them), emit.c (emitting layers, fusing activations,
 * settling patterns), ops_compute.c (ops that emit layers), ops_layout.c
 * (ops that only change a tensor's dims, and constant folding), optab.c
 * (the op table lower_node dispatches on).
 */
#ifndef H4H_SIM_FRONT_ONNX_ONNXINT_H
#define H4H_SIM_FRONT_ONNX_ONNXINT_H

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
/* The most elements a tensor may have: every count computed from dims
 * then fits an int64 and every h4h shape an int.  A model for a
 * microcontroller NPU is far below it (assumed bound). */
#define ONNX_MAX_ELEMS ((long long)INT_MAX)
/* The most nodes a graph may have: bounds the total work of a file (the
 * largest shipped model, vit_b_16, has about 1,400; assumed bound). */
#define ONNX_MAX_NODES 200000

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

/* What a pattern tag is, for messages (emit.c). */
extern const char *const onnx_pend_names[];

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
	uint64_t seed;		/* of the name hashes (tensor.c) */
	int *names;		/* layer names in use: layer index + 1 */
	int ncap;
	int named;		/* layers [0, named) are in `names` */
	int *next_dup;		/* per layer: the next "~N" to try for the
				 * names made from its node's (emit.c) */
	int *uses;		/* readers of each tensor */
	const Onnx__NodeProto *node;	/* the node being lowered */
	int node_i;			/* its index in the graph */
	h4h_err *err;
} lower;

/* An entry of the op table (optab.c): fn lowers the node with arg and sop
 * as the op needs them (Gemm or MatMul, Erf or Sqrt, a pool's kind and
 * whether it is global); fn NULL is an op h4h does not lower, alt says
 * what to use instead. */
typedef struct onnx_op {
	const char *name;
	int (*fn)(lower *lw, const struct onnx_op *e);
	int arg;
	sim_op sop;
	const char *alt;
} onnx_op;

#define ONNX_UNUSED __attribute__((unused))

/* "'FILE' node 'NAME' (Op): MSG" (reader.c) */
int onnx_bad(lower *lw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

tens *onnx_add(lower *lw, const char *name);
tens *onnx_alias(lower *lw, const tens *from, size_t o);
int onnx_apply_act(lower *lw, const tens *x, sim_act act, int readers,
    size_t o);
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n,
    const char *name);
double onnx_attr_f(const Onnx__NodeProto *n, const char *name, double def);
int64_t onnx_attr_i(const Onnx__NodeProto *n, const char *name, int64_t def);
int onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v,
    int max);
int onnx_attr_is(const Onnx__NodeProto *n, const char *name, const char *s);
int onnx_broadcast(lower *lw, const tens *a, const tens *b, tens *t);
void onnx_const_binary(const char *op, const tens *a, const tens *b, tens *t);
int onnx_check_attrs(lower *lw);
int onnx_const_ints(lower *lw, const tens *t, const char *what, int64_t *v,
    int max, int *n);
void onnx_dims_str(const tens *t, char *buf, size_t n);
int onnx_emit(lower *lw, sim_layer *l, size_t o, const int64_t *dims,
    int rank);
int onnx_find(const lower *lw, const char *name);
int onnx_from_proto(lower *lw, tens *t, const Onnx__TensorProto *p);
int onnx_hwc(lower *lw, const tens *t, int *h, int *w, int *c);
int onnx_idx(const lower *lw, const tens *t);
int onnx_in(lower *lw, size_t i, tens **out);
int onnx_is_scalar(const tens *t);
void onnx_layer_name(lower *lw, char *buf);
int onnx_layer_taken(lower *lw, const char *name);
uint64_t onnx_str_hash(const lower *lw, const char *s);
int onnx_lower_node(lower *lw);
int onnx_need_in(lower *lw, size_t i, tens **out);
const char *onnx_node_name(const Onnx__NodeProto *n);
long long onnx_numel(const tens *t);
tens *onnx_out_t(lower *lw, size_t i);
void onnx_read_as(const lower *lw, sim_layer *l, const tens *t, int h, int w,
    int c);
int onnx_read_flat(lower *lw, sim_layer *l, const tens *t);
int onnx_read_t(lower *lw, sim_layer *l, const tens *t);
int onnx_set_dims(lower *lw, tens *t, int rank, const int64_t *dims);
int onnx_settle(lower *lw, int ti);
void onnx_src_hwc(const lower *lw, int src, int *h, int *w, int *c);
int onnx_op_conv(lower *lw, const onnx_op *e);
int onnx_op_pool(lower *lw, const onnx_op *e);
int onnx_op_gemm_matmul(lower *lw, const onnx_op *e);
int onnx_op_arith(lower *lw, const onnx_op *e);
int onnx_op_act(lower *lw, const onnx_op *e);
int onnx_op_softmax(lower *lw, const onnx_op *e);
int onnx_op_layernorm(lower *lw, const onnx_op *e);
int onnx_op_reducemean(lower *lw, const onnx_op *e);
int onnx_op_sqrt_erf(lower *lw, const onnx_op *e);
int onnx_op_batchnorm(lower *lw, const onnx_op *e);
int onnx_op_layout(lower *lw, const onnx_op *e);
int onnx_op_concat(lower *lw, const onnx_op *e);
int onnx_op_slice(lower *lw, const onnx_op *e);
int onnx_op_split(lower *lw, const onnx_op *e);
int onnx_op_gather(lower *lw, const onnx_op *e);
int onnx_op_const(lower *lw, const onnx_op *e);

#endif
