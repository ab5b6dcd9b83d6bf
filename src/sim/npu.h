/*
 * npu.h - the Ethos-U55 as an event-driven process on the shared NoC.
 *
 * sim_npu_plan() maps a layer (or its first `channels` output channels) onto
 * U55 operators through the Vela model (u55.h) and keeps the per-block
 * figures.  sim_npu_start() replays the blocks: the IFM of block b+1 is
 * fetched over the shared NoC, and its weights over the NPU's private
 * weight port (AXI M1), while block b is in the MAC stage; the output stage of block b overlaps the MAC stage of b+1 and
 * writes its OFM block over the NoC.  A stage ends when both its compute
 * time and its transfer are done, so a layer is as slow as the slower of
 * Vela's compute pipeline and the shared link (doc/u55-model.md).
 */
#ifndef H4H_SIM_NPU_H
#define H4H_SIM_NPU_H

#include <stdint.h>

#include "sim/net.h"
#include "sim/noc.h"
#include "sim/profile.h"
#include "sim/u55.h"

struct sim_trace;

typedef struct sim_npu_work {
	int channels;			/* output channels on the NPU */
	long long n_blocks;		/* incl. repeats (heads, passes) */
	double dpu_cycles;		/* MAC stage per block, NPU cycles */
	double out_cycles;		/* output stage per block */
	double block_ifm_bytes;		/* NoC bytes per block, burst-scaled */
	double block_weight_bytes;	/* over the weight port */
	double block_bias_bytes;	/* over the weight port */
	double block_ofm_bytes;
	double setup_cycles;		/* before the first block (knob) */
	double op_cycles;		/* compute cycles, whole layer */
	double noc_bytes;		/* feature maps over the shared NoC */
	double weight_port_bytes;	/* weights over the private port */
	double shram_bytes;		/* raw bytes through SHRAM */
	long long macs;
	double dyn_energy_j;		/* MACs + SHRAM */
	sim_u55_plan plan;		/* the (last) Vela plan used */
} sim_npu_work;

/* Vela memory settings seen by the NPU: the NoC in NPU cycles. */
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
