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
 * Vela's "NPU" cycles and sram_ac_cycles Vela's "SRAM AC".
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
} sim_u55_kind;

typedef enum sim_u55_act {
	SIM_U55_ACT_NONE,
	SIM_U55_ACT_RELU,	/* relu / relu6: clamp in the output stage */
	SIM_U55_ACT_LUT,	/* hswish, gelu, sigmoid, tanh: LUT */
} sim_u55_act;

typedef struct sim_u55_mem {
	double bytes_per_cycle;	/* bandwidth in bytes per NPU cycle */
	int burst_bytes;
	int read_latency;	/* NPU cycles */
	int write_latency;
} sim_u55_mem;

typedef struct sim_u55_op {
	sim_u55_kind kind;
	int ifm_h, ifm_w, ifm_c;	/* FC: rows = ifm_h * ifm_w */
	int ofm_h, ofm_w, ofm_c;
	int kh, kw;
	int stride;
	sim_u55_act act;
	int binary;		/* elementwise: two full-size operands */
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
	double weight_bytes;			/* re-reads per block included */
	double bias_bytes;			/* 10 B per output channel */
	double sram_ac_cycles;			/* (ifm+ofm scaled) / bandwidth */
	double est_cycles;			/* max(op_cycles, sram_ac_cycles) */
	long long macs;
} sim_u55_plan;

/* macs must be 32, 64, 128 or 256.  Shapes that do not describe a valid op
 * (zero dims, kernel larger than 8x8 subkernels allow is fine, etc.) return
 * H4H_EINPUT. */
int sim_u55_plan_op(int macs, const sim_u55_mem *mem, const sim_u55_op *op,
    sim_u55_plan *out, h4h_err *err);

#endif
