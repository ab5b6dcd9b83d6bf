/*
 * optab.c - the op table: every ONNX op h4h reads, the function that
 * lowers it and the argument it needs, and every op h4h refuses with what
 * to use instead.  lower_node looks a node's op up here; adding an op is a
 * line in this table and a function in ops_compute.c or ops_layout.c.
 */
#include "sim/front/onnx/onnxInt.h"

static const onnx_op optab[] = {
	/* ops that emit layers (ops_compute.c) */
	{ "Conv", onnx_op_conv, 0, 0, NULL },
	{ "Gemm", onnx_op_gemm_matmul, 1, 0, NULL },
	{ "MatMul", onnx_op_gemm_matmul, 0, 0, NULL },
	{ "Add", onnx_op_arith, 0, 0, NULL },
	{ "Sub", onnx_op_arith, 0, 0, NULL },
	{ "Mul", onnx_op_arith, 0, 0, NULL },
	{ "Div", onnx_op_arith, 0, 0, NULL },
	{ "Pow", onnx_op_arith, 0, 0, NULL },
	{ "Relu", onnx_op_act, 0, 0, NULL },
	{ "Clip", onnx_op_act, 0, 0, NULL },
	{ "HardSwish", onnx_op_act, 0, 0, NULL },
	{ "Sigmoid", onnx_op_act, 0, 0, NULL },
	{ "HardSigmoid", onnx_op_act, 0, 0, NULL },
	{ "Gelu", onnx_op_act, 0, 0, NULL },
	{ "Sqrt", onnx_op_sqrt_erf, 0, 0, NULL },
	{ "Erf", onnx_op_sqrt_erf, 1, 0, NULL },
	{ "Softmax", onnx_op_softmax, 0, 0, NULL },
	{ "LayerNormalization", onnx_op_layernorm, 0, 0, NULL },
	{ "ReduceMean", onnx_op_reducemean, 0, 0, NULL },
	{ "BatchNormalization", onnx_op_batchnorm, 0, 0, NULL },
	{ "MaxPool", onnx_op_pool, 0, SIM_OP_MAXPOOL, NULL },
	{ "AveragePool", onnx_op_pool, 0, SIM_OP_AVGPOOL, NULL },
	{ "GlobalAveragePool", onnx_op_pool, 1, SIM_OP_AVGPOOL, NULL },
	{ "GlobalMaxPool", onnx_op_pool, 1, SIM_OP_MAXPOOL, NULL },
	/* ops that change dims only (ops_layout.c) */
	{ "Concat", onnx_op_concat, 0, 0, NULL },
	{ "Slice", onnx_op_slice, 0, 0, NULL },
	{ "Split", onnx_op_split, 0, 0, NULL },
	{ "Gather", onnx_op_gather, 0, 0, NULL },
	{ "Identity", onnx_op_layout, 0, 0, NULL },
	{ "Dropout", onnx_op_layout, 0, 0, NULL },
	{ "Cast", onnx_op_layout, 0, 0, NULL },
	{ "Shape", onnx_op_layout, 0, 0, NULL },
	{ "Size", onnx_op_layout, 0, 0, NULL },
	{ "Reshape", onnx_op_layout, 0, 0, NULL },
	{ "Flatten", onnx_op_layout, 0, 0, NULL },
	{ "Transpose", onnx_op_layout, 0, 0, NULL },
	{ "Squeeze", onnx_op_layout, 0, 0, NULL },
	{ "Unsqueeze", onnx_op_layout, 0, 0, NULL },
	{ "Expand", onnx_op_layout, 0, 0, NULL },
	/* constants and the shape arithmetic on them (ops_layout.c) */
	{ "Constant", onnx_op_const, 0, 0, NULL },
	{ "ConstantOfShape", onnx_op_const, 0, 0, NULL },
	{ "Range", onnx_op_const, 0, 0, NULL },
	{ "Where", onnx_op_const, 0, 0, NULL },
	{ "Equal", onnx_op_const, 0, 0, NULL },
	{ "Less", onnx_op_const, 0, 0, NULL },
	{ "Greater", onnx_op_const, 0, 0, NULL },
	{ "Not", onnx_op_const, 0, 0, NULL },
	{ "Max", onnx_op_const, 0, 0, NULL },
	{ "Min", onnx_op_const, 0, 0, NULL },
	/* ops h4h does not lower, with what to use instead */
	{ "LeakyRelu", NULL, 0, 0, "Relu" },
	{ "PRelu", NULL, 0, 0, "Relu" },
	{ "Elu", NULL, 0, 0, "Relu" },
	{ "Selu", NULL, 0, 0, "Relu" },
	{ "Tanh", NULL, 0, 0, "Sigmoid, costed the same on the U55's LUT" },
	{ "ConvTranspose", NULL, 0, 0, "Resize followed by Conv" },
	{ "Resize", NULL, 0, 0, "a strided Conv or no resize" },
	{ "Upsample", NULL, 0, 0, "a strided Conv or no resize" },
	{ "LSTM", NULL, 0, 0, "MatMul layers" },
	{ "GRU", NULL, 0, 0, "MatMul layers" },
	{ "Einsum", NULL, 0, 0, "MatMul" },
	{ "InstanceNormalization", NULL, 0, 0,
	    "BatchNormalization after a Conv" },
	{ "GroupNormalization", NULL, 0, 0, "LayerNormalization" },
	{ "ReduceMax", NULL, 0, 0, "MaxPool or GlobalMaxPool" },
	{ "ReduceSum", NULL, 0, 0, "ReduceMean or GlobalAveragePool" },
	{ "TopK", NULL, 0, 0, "none: h4h models inference up to the logits" },
	{ "ArgMax", NULL, 0, 0,
	    "none: h4h models inference up to the logits" },
	{ "NonMaxSuppression", NULL, 0, 0, "none: export the backbone alone" },
	{ "QuantizeLinear", NULL, 0, 0,
	    "an unquantised export (h4h costs int8 anyway)" },
	{ "DequantizeLinear", NULL, 0, 0,
	    "an unquantised export (h4h costs int8 anyway)" },
	{ "QLinearConv", NULL, 0, 0,
	    "an unquantised export (h4h costs int8 anyway)" },
};

int
onnx_lower_node(lower *lw)
{
	const char *op = lw->node->op_type;
	int rc;

	if (lw->node->domain != NULL && lw->node->domain[0] != '\0' &&
	    strcmp(lw->node->domain, "ai.onnx") != 0)
		return onnx_bad(lw, "op of domain '%s' (h4h reads the standard "
		    "ai.onnx ops)", lw->node->domain);
	if (lw->node->n_output < 1)
		return onnx_bad(lw, "no outputs");
	for (size_t i = 0; i < sizeof optab / sizeof optab[0]; i++) {
		const onnx_op *e = &optab[i];

		if (strcmp(op, e->name) != 0)
			continue;
		if (e->fn == NULL)
			return onnx_bad(lw, "unsupported op '%s' (use %s)", op,
			    e->alt);
		if ((rc = onnx_check_attrs(lw)) != 0)
			return rc;
		return e->fn(lw, e);
	}
	return onnx_bad(lw, "unsupported op '%s' (doc/formats.md lists the ops "
	    "h4h lowers)", op);
}
