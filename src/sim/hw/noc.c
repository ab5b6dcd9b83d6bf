/*
 * noc.c - the shared link (see noc.h): a FIFO of requests, one transfer on
 * the link at a time, a FIFO of transfers in their warm-up.
 *
 * One timer drives it: it fires when the transfer on the link leaves it.
 * The requester is told then when its data will be available, so a
 * transfer costs one kernel activation, not two: the requester folds the
 * availability time into the end time of the stage that needs the data.
 */
#include "sim/hw/noc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hw/kernel.h"
#include "sim/hw/trace.h"

typedef struct req {
	double bytes;
	int master;
	int posted;
	sim_noc_done_fn done;
	void *ctx;
	uint64_t t_request;
	struct req *next;
} req;

struct sim_noc {
	sim_noc_cfg cfg;
	int n_masters;
	sim_noc_stats *stats;
	uint64_t busy_ps;

	req *queue_head, *queue_tail;	/* waiting for the link */
	req *on_link;
	req *free_reqs;

	h4h_timer *link_timer;

	struct sim_trace *trace;
	uint64_t t0_ps;
};

uint64_t
sim_noc_occupancy_ps(const sim_noc_cfg *cfg, double bytes)
{
	double bytes_per_cycle = cfg->bandwidth_gbps * 1e3 / cfg->clock_mhz;
	double cycles = ceil(bytes / bytes_per_cycle - 1e-9);

	if (cycles <= 0)
		return 0;
	cycles += cfg->transfer_overhead_cycles;	/* calibration knob */
	return (uint64_t)(cycles * 1e6 / cfg->clock_mhz + 0.5);
}

uint64_t
sim_noc_latency_ps(const sim_noc_cfg *cfg)
{
	return (uint64_t)llround(cfg->latency_cycles * 1e6 / cfg->clock_mhz);
}

static void grant_next(sim_noc *noc);

/* The transfer on the link leaves it: tell the requester when its data is
 * available (reads: after the warm-up; writes: now), grant the next. */
static void
on_link_free(void *ctx)
{
	sim_noc *noc = ctx;
	uint64_t now = h4h_kernel_now_ps();
	req *r = noc->on_link;

	noc->on_link = NULL;
	r->done(r->ctx, r->posted ? now : now + sim_noc_latency_ps(&noc->cfg));
	r->next = noc->free_reqs;
	noc->free_reqs = r;
	grant_next(noc);
}

static void
grant_next(sim_noc *noc)
{
	uint64_t now, occ;
	req *r = noc->queue_head;

	if (r == NULL || noc->on_link != NULL)
		return;
	noc->queue_head = r->next;
	if (noc->queue_head == NULL)
		noc->queue_tail = NULL;
	now = h4h_kernel_now_ps();
	occ = sim_noc_occupancy_ps(&noc->cfg, r->bytes);
	noc->on_link = r;
	noc->busy_ps += occ;
	noc->stats[r->master].busy_ps += occ;
	noc->stats[r->master].wait_ps += now - r->t_request;
	if (noc->trace != NULL && occ > 0)
		sim_trace_span(noc->trace, SIM_TRACK_NOC,
		    r->master == 0 ? "npu" : "cim", now - noc->t0_ps,
		    now + occ - noc->t0_ps, r->master, r->bytes);
	h4h_timer_notify(noc->link_timer, occ);
}

sim_noc *
sim_noc_create(const sim_noc_cfg *cfg, int n_masters)
{
	sim_noc *noc = h4h_xcalloc(1, sizeof *noc);

	noc->cfg = *cfg;
	noc->n_masters = n_masters;
	noc->stats = h4h_xcalloc((size_t)n_masters, sizeof *noc->stats);
	noc->link_timer = h4h_timer_acquire(on_link_free, noc);
	if (noc->link_timer == NULL) {
		sim_noc_destroy(noc);
		return NULL;
	}
	return noc;
}

static void
free_list(req *r)
{
	while (r != NULL) {
		req *next = r->next;

		free(r);
		r = next;
	}
}

void
sim_noc_destroy(sim_noc *noc)
{
	if (noc == NULL)
		return;
	h4h_timer_release(noc->link_timer);
	free_list(noc->queue_head);
	free_list(noc->free_reqs);
	free(noc->on_link);
	free(noc->stats);
	free(noc);
}

void
sim_noc_reset(sim_noc *noc, struct sim_trace *trace, uint64_t t0_ps)
{
	memset(noc->stats, 0, (size_t)noc->n_masters * sizeof *noc->stats);
	noc->busy_ps = 0;
	noc->trace = trace;
	noc->t0_ps = t0_ps;
}

void
sim_noc_transfer(sim_noc *noc, int master, double bytes, int posted,
    sim_noc_done_fn done, void *ctx)
{
	req *r = noc->free_reqs;

	if (r != NULL)
		noc->free_reqs = r->next;
	else
		r = h4h_xmalloc(sizeof *r);
	r->bytes = bytes;
	r->master = master;
	r->posted = posted;
	r->done = done;
	r->ctx = ctx;
	r->t_request = h4h_kernel_now_ps();
	r->next = NULL;
	if (noc->queue_tail != NULL)
		noc->queue_tail->next = r;
	else
		noc->queue_head = r;
	noc->queue_tail = r;
	noc->stats[master].bytes += bytes;
	noc->stats[master].transfers++;
	grant_next(noc);
}

const sim_noc_stats *
sim_noc_stats_of(const sim_noc *noc, int master)
{
	return &noc->stats[master];
}

uint64_t
sim_noc_busy_ps(const sim_noc *noc)
{
	return noc->busy_ps;
}
