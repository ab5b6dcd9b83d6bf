/*
 * u55.h - Arm Ethos-U55 cost model for one operator, after Arm's published
 * Vela 3.10 estimator (doc/u55-model.md; the formulas are in
 * npu_performance.py / architecture_allocator.py).
 *
 * sim_u55_plan() is pure arithmetic: it picks the OFM block configuration the
 * way Vela does (SHRAM fit, min refetch cost), then gives per-block MAC-stage
 * and output-stage cycles and per-block memory traffic.  The event-driven NPU
 * (npu.c) replays those blocks on the shared NoC; the partitioner uses the
 * whole-op figures as its fast estimate.  Invariant: with the reference
 * memory settings (8 B/cycle, 32 B bursts, 32-cycle latency) op_cycles equals
 * Vela's "NPU" cycles and sram_ac_cycles Vela's "SRAM AC" in Sram_Only; in
 * Shared_Sram npu_cycles adds Vela's weight-DMA term.  Feature maps are int8
 * or int32 (the elementwise and ReduceSum ops of Vela's softmax lowering).
 */
#ifndef H4H_SIM_U55_H
#define H4H_SIM_U55_H

#include "core/err.h"

typedef enum sim_u55_kind {
	SIM_U55_CONV,		/* ConvolutionMxN, incl. 1x1 */
	SIM_U55_DEPTHWISE,
	SIM_U55_FC,		/* VectorProduct; ifm rows -> Vela's batched shape */
	SIM_U55_POOL,		/* avg pool (max pool: pool_max = 1) */
	SIM_U55_ELEMENTWISE,	/* binary (ADD) or unary */
	SIM_U55_REDUCE_SUM,	/* ReduceSum over the channels: [H,W,C] -> [H,W,1] */
} sim_u55_kind;

/* Elementwise operator class, for Vela's output-stage cost table
 * (_estimate_output_cycles_per_element). */
typedef enum sim_u55_ew {
	SIM_U55_EW_AUTO,	/* binary: ADD/SUB; unary: "everything else" */
	SIM_U55_EW_ADDSUB,
	SIM_U55_EW_MUL,
	SIM_U55_EW_OTHER,	/* shifts, CLZ, activations */
} sim_u55_ew;

typedef enum sim_u55_act {
	SIM_U55_ACT_NONE,
	SIM_U55_ACT_RELU,	/* relu / relu6: clamp in the output stage */
	SIM_U55_ACT_LUT,	/* hswish, gelu, sigmoid, tanh: LUT */
} sim_u55_act;

typedef struct sim_u55_mem {
	double bytes_per_cycle;	/* SRAM (AXI0) bandwidth in bytes per NPU cycle */
	int burst_bytes;
	int read_latency;	/* NPU cycles */
	int write_latency;
	/* Vela's memory mode.  0: Sram_Only, weights in an area with the
	 * SRAM's figures that does not load SRAM.  1: Shared_Sram, weights in
	 * flash on AXI1; conv and depthwise weights are DMA'd into SRAM
	 * (u55-model.md), fc reads them in place. */
	int weights_in_flash;
	double flash_bytes_per_cycle;
	int flash_latency;	/* NPU cycles */
	/* mlw weight encoding: bytes per real int8 weight (0: the default
	 * SIM_U55_MLW_BYTES_PER_WEIGHT). */
	double weight_bytes_per_weight;
} sim_u55_mem;

/* Vela 3.10's mlw encoding of the reference rows' int8 weights: bytes per
 * real weight, per padding slot of the brick layout, and per stream, fitted
 * to the 381 encoded sizes of hwprofiles/reference (doc/u55-model.md). */
#define SIM_U55_MLW_BYTES_PER_WEIGHT	0.862
#define SIM_U55_MLW_BYTES_PER_PAD	0.335
#define SIM_U55_MLW_STREAM_BYTES	49

typedef struct sim_u55_op {
	sim_u55_kind kind;
	int ifm_h, ifm_w, ifm_c;	/* FC: rows = ifm_h * ifm_w */
	int ofm_h, ofm_w, ofm_c;
	int kh, kw;
	int stride;
	sim_u55_act act;
	int binary;		/* elementwise: a second operand (full-size,
				 * or broadcast and read at OFM size) */
	int ifm2_scalar;	/* elementwise: the second operand is a scalar
				 * (no IFM2 buffer, no traffic) */
	sim_u55_ew ew;		/* elementwise operator class */
	int ifm_bits, ofm_bits;	/* element size: 8 or 32 (0 = 8) */
	int pool_max;		/* pooling: max instead of average */
	int ifm_nhcwb16;	/* tensor layouts: 0 = NHWC (a graph input or */
	int ofm_nhcwb16;	/* output), 1 = NHCWB16 (inside a network) */
} sim_u55_op;

typedef struct sim_u55_plan {
	/* Block configuration chosen as Vela does. */
	int ofm_block_h, ofm_block_w, ofm_block_d;
	int ifm_block_h, ifm_block_w, ifm_block_d;
	int partkernel;
	long long n_blocks;

	/* Per-block stage times after the command-overhead max (NPU cycles). */
	double dpu_block_cycles;	/* MAC stage */
	double out_block_cycles;	/* output stage */
	double op_cycles;		/* Vela's NPU cycles for the op */

	/* Whole-op traffic in bytes: raw, and scaled by burst efficiency. */
	double ifm_bytes, ifm_bytes_scaled;	/* incl. IFM2 for binary ops */
	double ofm_bytes, ofm_bytes_scaled;
	double weight_bytes;			/* weight elements fetched,
						 * re-reads per block included */
	double bias_bytes;			/* 10 B per output channel */
	double encoded_weight_bytes;		/* mlw stream + scale/bias of
						 * the whole depth (0: none) */
	double weight_read_bytes;		/* weight_bytes scaled by the
						 * encoding, + bias: read from
						 * the weight area */
	double sram_ac_cycles;			/* (ifm+ofm scaled) / bandwidth */
	double weight_ac_cycles;		/* weight area access cycles:
						 * weights read in place */
	/* Shared_Sram weight DMA of conv and depthwise (Vela's scheduler with
	 * no previous op to hide under): 0 none, 1 one buffer, 2 double
	 * buffered depth slices.  Slice 0 is dma_first_depth deep, the middle
	 * ones dma_step_depth, the last dma_last_depth. */
	int dma;
	int dma_slices;
	int dma_first_depth, dma_step_depth, dma_last_depth;
	double dma_first_bytes, dma_step_bytes, dma_last_bytes; /* encoded */
	double dma_full_cycles;			/* whole stream, flash -> SRAM */
	double dma_first_cycles;		/* first slice */
	double dma_tail_cycles;			/* op cycles of the last slice */
	double npu_cycles;			/* op_cycles + exposed DMA:
						 * Vela's "NPU" */
	double est_cycles;			/* max(npu, sram_ac, weight_ac):
						 * Vela's "Op Cycles" */
	long long macs;
} sim_u55_plan;

/* macs must be 32, 64, 128 or 256.  Shapes that do not describe a valid op
 * (zero dims, kernel larger than 8x8 subkernels allow is fine, etc.) return
 * H4H_EINPUT. */
int sim_u55_plan_op(int macs, const sim_u55_mem *mem, const sim_u55_op *op,
    sim_u55_plan *out, h4h_err *err);

#endif
