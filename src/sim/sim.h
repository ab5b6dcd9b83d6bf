/*
 * sim.h - h4h's simulator, the public C API.
 *
 * Replays a network layer by layer on one system (profile.h): every layer's
 * output channels are split between the NPU and the CIM macros
 * (partition.h), the split's devices run as event-driven processes on the
 * SystemC kernel sharing one NoC, and the layer ends when its last OFM byte
 * is delivered (the next layer needs it).  Results carry latency, energy by
 * component and device statistics per layer and in total.
 *
 * An engine holds the device models and is reused for any number of
 * networks; the SystemC kernel lives as long as the process.  Results are
 * deterministic: the same profile and net give the same numbers.
 */
#ifndef H4H_SIM_SIM_H
#define H4H_SIM_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "sim/net.h"
#include "sim/profile.h"
#include "sim/trace.h"

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
	double est_noc_bytes;
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

/*
 * A memo of per-layer work for one system, so a layer already seen costs a
 * lookup (the cost database implements it, db.h).  Keys are the layer's
 * canonical form (canon.h) and, for costs, the split; a split's simulated
 * cost does not depend on the objective, so it is stored once for all.
 * get_* return 1 when found.  Candidates returned stay valid while the cache
 * lives.  The engine calls put_* only for what it computed itself.
 */
typedef struct sim_cache {
	void *ctx;
	int (*get_cands)(void *ctx, const sim_layer *l, const sim_cand **c,
	    int *n);
	void (*put_cands)(void *ctx, const sim_layer *l, const sim_cand *c,
	    int n);
	int (*get_cost)(void *ctx, const sim_layer *l, const sim_cand *split,
	    sim_layer_result *r);
	void (*put_cost)(void *ctx, const sim_layer *l, const sim_cand *split,
	    const sim_layer_result *r);
	/* May be NULL: get_cands returned a list that cannot be this
	 * system's (why says how); it was ignored as a miss. */
	void (*bad_cands)(void *ctx, const sim_layer *l, const char *why);
} sim_cache;

typedef struct sim_engine sim_engine;

int sim_engine_create(const sim_profile *p, sim_engine **out, h4h_err *err);
void sim_engine_destroy(sim_engine *e);
/* trace and cache may be NULL; a trace must have been created with the
 * profile's macros and cus_per_macro.  With a trace every layer is replayed
 * on the kernel even if the cache knows its cost. */
int sim_engine_run(sim_engine *e, const sim_net *net, sim_trace *trace,
    const sim_cache *cache, sim_result **out, h4h_err *err);

/* One-shot conveniences. */
int sim_run(const sim_profile *p, const sim_net *net, sim_trace *trace,
    sim_result **out, h4h_err *err);
int sim_run_cached(const sim_profile *p, const sim_net *net,
    const sim_cache *cache, sim_result **out, h4h_err *err);
void sim_result_destroy(sim_result *r);

/* Reports (report.c). */
void sim_result_print_table(const sim_result *r, FILE *f);
void sim_result_print_compare(sim_result *const *rs, int n, FILE *f);
/* JSON with top-level latency_s, energy_j, layers[] (doc/formats.md). */
char *sim_result_json(sim_result *const *rs, int n);
int sim_result_write_csv(sim_result *const *rs, int n, const char *path,
    h4h_err *err);

#endif
