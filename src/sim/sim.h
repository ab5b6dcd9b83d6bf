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
 *
 * The result types are the simulator's shared vocabulary (spec/result.h);
 * printing them is the reports' job (report/report.h).
 */
#ifndef H4H_SIM_SIM_H
#define H4H_SIM_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"
#include "sim/spec/result.h"
#include "sim/hw/trace.h"

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
	/* 0: a miss; 1: a list the engine must check before it trusts it
	 * (a database row may be corrupt); 2: one it checked before (below). */
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
	/* May be NULL: get_cands' list for l passed the check, and may be
	 * returned as checked (2) from now on: a network of a few hundred
	 * layers need not check them all again. */
	void (*good_cands)(void *ctx, const sim_layer *l);
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

#endif
