/*
 * npu.h - the Ethos-U55 as an event-driven process on the shared NoC.
 *
 * sim_npu_plan() lowers a layer (or its first `channels` output channels)
 * to the U55 operators Vela would run for it (a multi-head matmul is one
 * FULLY_CONNECTED per head, a softmax the 31 operators of Vela 3.10's int8
 * lowering, a layernorm TFLite's op chain; doc/u55-model.md) and keeps each
 * operator's per-block figures from the Vela model (u55.h).
 * sim_npu_start() replays the operators one after another, each run filling
 * and draining its own pipeline, as Vela's per-operator sum counts them.
 * Within an operator the IFM of block b+1 is fetched over the shared NoC,
 * and its weights over the NPU's private weight port, while block b is in
 * the MAC stage; the output stage of block b overlaps the MAC stage of b+1
 * and writes its OFM block over the NoC.  In shared_sram mode conv and
 * depthwise weights arrive instead as double-buffered DMA slices over the
 * flash port, and fc weights stream from flash per block.  A stage ends
 * when both its compute time and its transfer are done, so an operator is
 * as slow as the slower of Vela's compute pipeline, its weight supply and
 * the shared link.
 */
#ifndef H4H_SIM_NPU_H
#define H4H_SIM_NPU_H

#include <stdint.h>

#include "sim/spec/net.h"
#include "sim/hw/noc.h"
#include "sim/spec/profile.h"
#include "sim/hw/u55.h"

struct sim_trace;

/* The most U55 operators one layer lowers to (softmax: 31). */
#define SIM_NPU_MAX_OPS 40

/* Where an operator's per-block weights come from. */
enum {
	SIM_NPU_W_NONE,		/* no weights, or DMA'd into SRAM */
	SIM_NPU_W_PORT,		/* the weight port at SRAM speed (sram_only,
				 * and matmul's second operand) */
	SIM_NPU_W_FLASH,	/* read in place from flash (shared_sram fc) */
};

typedef struct sim_npu_op {
	sim_u55_kind kind;
	int runs;			/* each run fills and drains (heads) */
	long long n_blocks;		/* per run */
	double setup_cycles;		/* per run: op overhead knob + LUT load */
	double dpu_cycles;		/* MAC stage per block, NPU cycles */
	double out_cycles;		/* output stage per block */
	double block_ifm_bytes;		/* NoC bytes per block, burst-scaled */
	double block_ofm_bytes;
	int weight_src;			/* SIM_NPU_W_* */
	double block_weight_bytes;	/* from weight_src, per block */
	double block_bias_bytes;
	/* shared_sram weight DMA (u55.h): 0 none, 1 one buffer, 2 double */
	int dma, dma_slices, depth, dma_first_depth, dma_step_depth;
	double dma_first_bytes, dma_step_bytes, dma_last_bytes;
	double est_cycles;		/* Vela's Op Cycles, all runs */
} sim_npu_op;

typedef struct sim_npu_work {
	int channels;			/* output channels on the NPU */
	int n_ops;
	sim_npu_op ops[SIM_NPU_MAX_OPS];
	long long n_blocks;		/* all operators and runs */
	double op_cycles;		/* compute, weight DMA and set-up: the
					 * sum of Vela's "NPU" cycles (knobs
					 * applied) */
	double est_cycles;		/* sum of Vela's "Op Cycles" */
	double noc_bytes;		/* feature maps over the shared NoC */
	double weight_port_bytes;	/* over the SRAM-speed weight port */
	double flash_bytes;		/* read from flash (DMA, fc, LUTs) */
	double dma_bytes;		/* shared_sram: weights DMA'd to SRAM */
	double sram_weight_bytes;	/* shared_sram: DMA'd weights read
					 * back from their SRAM buffer */
	double shram_bytes;		/* raw bytes through SHRAM */
	long long macs;
	double dyn_energy_j;		/* MACs, SHRAM, weights */
	sim_u55_plan plan;		/* the layer's main operator */
} sim_npu_work;

/* Vela memory settings seen by the NPU: the NoC in NPU cycles, and the
 * weight flash in shared_sram mode. */
void sim_npu_mem(const sim_profile *p, sim_u55_mem *mem);

int sim_npu_plan(const sim_profile *p, const sim_layer *l, int channels,
    sim_npu_work *w, h4h_err *err);

typedef struct sim_npu sim_npu;

sim_npu *sim_npu_create(const sim_profile *p, sim_noc *noc);
void sim_npu_destroy(sim_npu *npu);
void sim_npu_start(sim_npu *npu, const sim_npu_work *w, struct sim_trace *tr,
    const char *name, uint64_t t0_ps, void (*done)(void *), void *ctx);
uint64_t sim_npu_busy_ps(const sim_npu *npu);

#endif
