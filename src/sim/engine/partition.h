/*
 * partition.h - where each layer runs: output channels (or Q/K/V columns)
 * split between the NPU and the CIM macros.
 *
 * A candidate gives the NPU the first n granules of `granularity` output
 * channels and spreads the remaining granules over m macros as evenly as
 * granules allow.  Each candidate gets a fast analytical estimate (the Vela
 * model for the NPU part, the CIM arithmetic, the NoC as total bytes over the
 * bandwidth).  The choice minimises the objective summed over the network
 * under the macros' total weight capacity: each layer's best candidate when
 * everything fits; otherwise an exact dynamic program over (bytes, cost)
 * Pareto fronts for small problems, a Lagrangian relaxation for large ones.
 * Layers a macro cannot run (conv kxk, matmul, softmax, layernorm, add,
 * pooling) have one candidate: all on the NPU.  With zero macros every layer
 * is NPU-only.
 */
#ifndef H4H_SIM_PARTITION_H
#define H4H_SIM_PARTITION_H

#include "sim/hw/cim.h"
#include "sim/spec/net.h"
#include "sim/hw/npu.h"
#include "sim/spec/profile.h"
#include "sim/sim.h"


typedef struct sim_layer_plan {
	int n_cands;
	const sim_cand *cands;		/* owned, or borrowed (see owned) */
	int owned;			/* cands is ours to free */
	int chosen;			/* index into cands */
	int same_as;			/* earlier layer of identical shape
					 * (same candidates), or -1 */
	int *macro_ids;			/* physical macros of the chosen
					 * candidate (cands[chosen].macros) */
} sim_layer_plan;

typedef struct sim_partition {
	int n_layers;
	sim_layer_plan *layers;
	double capacity_bytes;		/* all macros */
	double used_bytes;
	int exact;			/* 1 if the DP (or no constraint) chose */
} sim_partition;

/* cache may be NULL; with one, candidate lists of known layers are taken
 * from it and new ones stored in it. */
int sim_partition_build(const sim_profile *p, const sim_net *net,
    const sim_cache *cache, sim_partition **out, h4h_err *err);
void sim_partition_destroy(sim_partition *part);

/* The per-layer cost the objective sums (EDP: linearised around totals). */
double sim_cand_cost(const sim_cand *c, sim_objective obj, double tot_lat,
    double tot_energy);

/* The candidates of a layer on a system, in the partitioner's order, with
 * their splits and weight bytes but no estimates: what a stored list
 * need not store (cost/memo.c keeps only the estimates).  c holds
 * sim_cands_max(p, l) entries; returns how many were filled. */
size_t sim_cands_max(const sim_profile *p, const sim_layer *l);
int sim_cands_layout(const sim_profile *p, const sim_layer *l, sim_cand *c);

/* Channels of the j-th macro (0-based) a candidate uses. */
int sim_cand_macro_channels(const sim_cand *c, int granularity, int j);

#endif
