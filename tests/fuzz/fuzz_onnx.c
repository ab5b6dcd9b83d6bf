/*
 * fuzz_onnx.c - ONNX models (sim_onnx_parse: the protobuf, then the
 * lowering into layers), and for a model that lowers, its canonical layer
 * keys (what the cost database stores).  The regression corpus under
 * tests/fuzz/regress/onnx/ is written by tests/fuzz/mkonnx.c: one model
 * per class of finding of issue 19 and structure-aware mutants (dims,
 * attributes, axes, graph shape) of small graphs and the shipped models;
 * the shipped models seed it too.
 */
#include "tests/fuzz/fuzz.h"

#include "sim/spec/canon.h"
#include "sim/spec/net.h"
#include "sim/front/onnx.h"

int
h4h_fuzz_onnx(const uint8_t *data, size_t size)
{
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc = sim_onnx_parse(data, size, "fuzz.onnx", &net, &err);

	fuzz_check("onnx", rc, &err);
	for (int i = 0; rc == 0 && i < net->n_layers; i++)
		(void)sim_layer_hash(&net->layers[i]);
	sim_net_destroy(net);
	return 0;
}
