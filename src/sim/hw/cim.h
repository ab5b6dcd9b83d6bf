/*
 * cim.h - one MRAM near-memory-compute macro with C compute units.
 *
 * Model (paper §3.2 and §6.3; constants in hwprofiles/cim/): weights stay
 * resident in the macro (non-volatile, loaded once: no weight traffic at
 * inference).  Each CU computes cu_accumulations (16) accumulations of
 * cu_products (9) 8b x 8b products per macro cycle.  Several CUs work on
 * adjacent output pixels of the same channels, so one MRAM weight read
 * serves all of them.  Input feature maps stream over the NoC into the
 * double-buffered IFMP buffer in chunks of output rows; the IFMP dedup
 * controller fetches the overlapping windows of simultaneously computed
 * outputs once (3x3, stride 1: 3 x (C + 2) reads instead of 9C, up to 2/3
 * fewer).  The IFMP buffer feeds the CUs through one read port
 * (cim.ifmp_read_bytes_per_cycle): a layer takes the longer of its CU steps
 * and its IFMP reads over the port, so with the port as the bottleneck dedup
 * saves time as well as reads.  An fc splits its output channels across the
 * CUs instead (one row still uses them all).  A macro that power gating
 * left off wakes (cim.wake_latency_cycles) before its first chunk.  Runs
 * pointwise conv, depthwise conv and fc; anything else stays on the NPU.
 *
 * sim_cim_plan() is the arithmetic for one macro's channel slice of a layer;
 * sim_cim_* run it as an event-driven process on the shared NoC.
 */
#ifndef H4H_SIM_CIM_H
#define H4H_SIM_CIM_H

#include <stdint.h>

#include "sim/spec/net.h"
#include "sim/hw/noc.h"
#include "sim/spec/profile.h"

struct sim_trace;

typedef struct sim_cim_work {
	int channels;			/* output channels on this macro */
	long long n_chunks;		/* row chunks streamed through IFMP */
	double chunk_cycles;		/* macro cycles per chunk (mean) */
	double compute_cycles;		/* CU steps, before the port bound */
	double port_cycles;		/* IFMP reads / the read port */
	double wake_cycles;		/* before the first chunk (gating) */
	double chunk_ifm_bytes;		/* NoC bytes into IFMP per chunk */
	double chunk_ofm_bytes;		/* NoC bytes out per chunk */
	double cycles;			/* total macro cycles */
	double ifm_bytes, ofm_bytes;	/* NoC totals */
	double ifmp_reads;		/* IFMP buffer -> CU reads, bytes */
	double weight_bits;		/* MRAM bits read */
	long long macs;
	double cu_busy_frac[64];	/* share of cycles each CU computes */
	double dyn_energy_j;		/* weights + MACs + buffers */
} sim_cim_work;

/* Plan `channels` output channels of layer l on one macro.  The layer must
 * be CIM-capable (sim_layer_cim_capable). */
void sim_cim_plan(const sim_cim_cfg *cfg, const sim_layer *l, int channels,
    sim_cim_work *w);

typedef struct sim_cim sim_cim;

sim_cim *sim_cim_create(const sim_cim_cfg *cfg, int index, sim_noc *noc);
void sim_cim_destroy(sim_cim *m);
/* Run `w` (not copied: it must live until done); done(ctx) when the last
 * OFM chunk is delivered. */
void sim_cim_start(sim_cim *m, const sim_cim_work *w, struct sim_trace *tr,
    const char *name, uint64_t t0_ps, void (*done)(void *), void *ctx);
uint64_t sim_cim_busy_ps(const sim_cim *m);

#endif
