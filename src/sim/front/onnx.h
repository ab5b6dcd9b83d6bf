/*
 * onnx.h - the ONNX front end: a model exported from PyTorch (or any ONNX
 * producer) lowered into the simulator's layer list (net.h).
 *
 * Only the graph's structure and tensor shapes are read, never weight
 * values: a model exported with export_params=False (weights as shaped
 * graph inputs) imports like one with initializers.  doc/formats.md lists
 * the ops, what each lowers to and what it costs.
 */
#ifndef H4H_SIM_ONNX_H
#define H4H_SIM_ONNX_H

#include <stddef.h>

#include "core/err.h"
#include "sim/spec/net.h"

/* Reads an ONNX model file.  Bad input (a missing, truncated or non-ONNX
 * file, an unsupported op or layout) returns H4H_EINPUT with one line that
 * names the file and, where there is one, the node and its op. */
int sim_onnx_load(const char *path, sim_net **out, h4h_err *err);
/* The same, from a buffer; `label` names the source in messages and gives
 * the net its default name (the label's stem). */
int sim_onnx_parse(const void *buf, size_t len, const char *label,
    sim_net **out, h4h_err *err);

#endif
