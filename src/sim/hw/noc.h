/*
 * noc.h - the shared NoC link between the NPU, the CIM macros and the system
 * SRAM.
 *
 * One link, FIFO arbitration: a transfer is granted when every earlier
 * request has left the link, holds it for ceil(bytes / bytes_per_cycle) NoC
 * cycles, and is delivered latency_cycles after it leaves the link (the
 * per-transfer warm-up; several warm-ups overlap, as AXI outstanding
 * transactions do, but occupancy never does).  Writes are posted: the
 * writer is done once its data has left the link.  So the NPU and the macros
 * never hold the link at once, and deliveries come in grant order.
 * Statistics are kept per master.
 */
#ifndef H4H_SIM_NOC_H
#define H4H_SIM_NOC_H

#include <stdint.h>

#include "sim/spec/profile.h"

struct sim_trace;

/* Called when the transfer leaves the link, with the time its data is
 * available to the requester (>= now: reads add the warm-up). */
typedef void (*sim_noc_done_fn)(void *ctx, uint64_t avail_ps);

typedef struct sim_noc_stats {
	double bytes;
	uint64_t busy_ps;	/* link occupancy */
	uint64_t wait_ps;	/* queued behind other transfers */
	long long transfers;
} sim_noc_stats;

typedef struct sim_noc sim_noc;

/* masters: 0 = NPU, 1 + i = macro i. */
sim_noc *sim_noc_create(const sim_noc_cfg *cfg, int n_masters);
void sim_noc_destroy(sim_noc *noc);
/* Forget statistics (between layers, with the link idle). */
void sim_noc_reset(sim_noc *noc, struct sim_trace *trace, uint64_t t0_ps);

/* Queue a read (posted = 0) or write (posted = 1) of `bytes` for `master`;
 * done(ctx, avail) tells the delivery time (reads: + warm-up) or the time
 * a write leaves the link.  A read of 0 bytes is delivered after the
 * warm-up alone.  The link serves in request order, so the grant is known
 * at the request; done runs when the transfer leaves the link if at_free
 * (a requester whose reaction must come then: its next requests join the
 * FIFO behind those others made meanwhile, and events at one time keep
 * the order the link-by-link model gave them), or at once, before this
 * returns, when the NoC is solo: with one master nothing can come between,
 * and a delivery told early costs no kernel activation (half of them in a
 * layer on the NPU alone; h4h sim's results are the same to the bit). */
void sim_noc_transfer(sim_noc *noc, int master, double bytes, int posted,
    int at_free, sim_noc_done_fn done, void *ctx);
/* The latest delivery time handed out at once since the reset: a layer
 * ends no earlier. */
uint64_t sim_noc_horizon_ps(const sim_noc *noc);
/* One master alone on the link for the next layer (the engine knows). */
void sim_noc_set_solo(sim_noc *noc, int solo);

/* Link occupancy of one transfer in ps (exposed for the estimator). */
uint64_t sim_noc_occupancy_ps(const sim_noc_cfg *cfg, double bytes);
uint64_t sim_noc_latency_ps(const sim_noc_cfg *cfg);

const sim_noc_stats *sim_noc_stats_of(const sim_noc *noc, int master);
uint64_t sim_noc_busy_ps(const sim_noc *noc);

#endif
