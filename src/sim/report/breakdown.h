/*
 * breakdown.h - where the time goes: a simulated network's latency and
 * energy by op kind and by device, each layer's bound, and its slowest
 * layers (h4h sim --breakdown).
 *
 * A layer's bound is the resource with the longest busy time during it:
 * the NPU's MAC stage, its output stage, its weight port (or flash), the
 * shared NoC, the busiest macro's compute units, or that macro's IFMP read
 * port.  The device times come from re-planning the layer's split
 * (sim_npu_plan, sim_cim_plan: pure functions of the profile, the layer and
 * the split), so a result served from the cost database has a bound too;
 * the NoC time is the simulated link occupancy.
 */
#ifndef H4H_SIM_BREAKDOWN_H
#define H4H_SIM_BREAKDOWN_H

#include <stdio.h>

#include "core/err.h"
#include "sim/spec/profile.h"
#include "sim/sim.h"

typedef enum sim_bound {
	SIM_BOUND_NPU_MAC,
	SIM_BOUND_NPU_OUT,
	SIM_BOUND_WEIGHT,
	SIM_BOUND_NOC,
	SIM_BOUND_CIM,
	SIM_BOUND_IFMP,
	SIM_BOUND_COUNT
} sim_bound;

#define SIM_BREAKDOWN_TOP 5

typedef struct sim_breakdown {
	int n_layers;
	sim_bound *bound;			/* per layer */
	double (*busy_s)[SIM_BOUND_COUNT];	/* per layer and resource */
	struct {
		int layers;
		double latency_s, energy_j;
	} by_op[SIM_OP_COUNT];
	struct {
		int layers;
		double latency_s;
	} by_bound[SIM_BOUND_COUNT];
	/* Latency of the layers that ran on the NPU alone, on macros alone,
	 * and split between them. */
	double lat_npu_s, lat_cim_s, lat_split_s;
	int n_top;
	int top[SIM_BREAKDOWN_TOP];		/* layer indices, slowest first */
} sim_breakdown;

/* The breakdown of r, simulated with profile p. */
int sim_breakdown_make(const sim_profile *p, const sim_result *r,
    sim_breakdown **out, h4h_err *err);
void sim_breakdown_destroy(sim_breakdown *b);

const char *sim_bound_name(sim_bound b);
/* The text report, after the per-layer table. */
void sim_breakdown_print(const sim_breakdown *b, const sim_result *r, FILE *f);
/* sim_result_json's text with a "breakdown" object added to each system's
 * object (bd[i] for rs[i]); caller frees. */
char *sim_breakdown_json(sim_result *const *rs, sim_breakdown *const *bd,
    int n);

#endif
