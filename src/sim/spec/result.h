/*
 * result.h - what a simulation returns: a split candidate, a layer's and a
 * network's result, and the model revision that stamps them.
 *
 * These are vocabulary, not engine: the cost database stores them, the
 * reports print them, the trace and the canonical form stamp the revision,
 * and none of those should need the engine (sim.h) to say so.
 */
#ifndef H4H_SIM_SPEC_RESULT_H
#define H4H_SIM_SPEC_RESULT_H

#include <stdint.h>

#include "sim/spec/net.h"
#include "sim/spec/profile.h"

/*
 * The model revision: bumped whenever any model's arithmetic changes (a new
 * default counts only through the profile, which is part of the system
 * anyway).  It is part of a system's identity in the cost database
 * (canon.h), so a changed model never serves costs of an older one.
 *   1  the simulator of the first release
 *   2  Vela's softmax and layernorm lowering, one run per head, Shared_Sram
 *      weight DMA, LUT loads, NHCWB16 channel rounding, power-gated idle
 *      macros, the IFMP read port and fc across CUs, mlw weight sizes
 */
#define SIM_MODEL_REVISION 2

/* One way to split a layer: the NPU takes the first npu_channels output
 * channels, m macros share the rest in whole granules (partition.h). */
typedef struct sim_cand {
	int npu_channels;
	int cim_channels;
	int macros;			/* macros used (0 = NPU only) */
	double cim_weight_bytes;	/* resident weights, all macros */
	double max_macro_bytes;		/* largest share of one macro */
	double est_latency_s;
	double est_energy_j;
} sim_cand;

typedef struct sim_layer_result {
	const sim_layer *layer;
	int npu_channels, cim_channels, macros;
	double npu_fraction;		/* share of the layer's MACs on the NPU */
	uint64_t start_ps, end_ps;	/* on the network timeline */
	double latency_s;
	double cycles;			/* latency in NPU clock cycles */
	double e_npu_j, e_cim_j, e_noc_j, e_static_j, energy_j;
	double noc_bytes_npu, noc_bytes_cim;
	double noc_busy_s, npu_busy_s, cim_busy_s;
	long long macs;
	double est_latency_s;		/* the partitioner's estimate */
	int candidates;			/* splits considered */
	int simulated;			/* splits simulated */
} sim_layer_result;

typedef struct sim_result {
	char net_name[SIM_NAME_MAX];
	char system_name[64];
	char system_hash[17];		/* the cost database's systems.hash */
	sim_objective objective;
	int n_layers;
	sim_layer_result *layers;
	double latency_s, cycles, energy_j;
	double e_npu_j, e_cim_j, e_noc_j, e_static_j;
	double noc_bytes_npu, noc_bytes_cim, noc_busy_s;
	double npu_busy_s, cim_busy_s;	/* cim: summed over macros */
	long long macs;
	double cim_weight_bytes, cim_capacity_bytes;
	int partition_exact;
	int layer_sims;			/* layer simulations run */
	int layers_reused;		/* layer costs taken from the cache */
	uint64_t kernel_activations;	/* SystemC process activations */
} sim_result;

#endif
