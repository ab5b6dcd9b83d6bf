/*
 * noc.c - the shared link (see noc.h): a FIFO of requests, one transfer on
 * the link at a time, a FIFO of transfers in their warm-up.
 *
 * Grants are arithmetic: a FIFO link starts each transfer at the later of
 * its request and the end of the one before, so no event is needed to
 * grant.  One timer delivers, at the link-free time, what the requester
 * asked to hear of then; a solo master hears at once (noc.h).  The
 * requester folds the availability time into the end time of the stage
 * that needs the data.
 */
#include "sim/hw/noc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hw/kernel.h"
#include "sim/hw/trace.h"

/* A delivery that must wait for the link-free time (see sim_noc_transfer):
 * deliveries are made in grant order, so they wait in a FIFO. */
typedef struct pend {
	uint64_t t_free, avail;
	sim_noc_done_fn done;
	void *ctx;
	struct pend *next;
} pend;

struct sim_noc {
	sim_noc_cfg cfg;
	int n_masters;
	sim_noc_stats *stats;
	uint64_t busy_ps;
	/* Per transfer constants of the link, computed once. */
	double bytes_per_cycle;
	uint64_t latency_ps;

	uint64_t free_at;	/* the link is busy until then */
	uint64_t horizon;	/* the latest delivery handed out at once */
	int solo;		/* one master: every delivery at once */
	pend *head, *tail, *free_pends;
	h4h_timer *timer;	/* fires at the head's link-free time */
	int armed;		/* the timer is set for the head */

	struct sim_trace *trace;
	uint64_t t0_ps;
};

static uint64_t
occupancy_ps(const sim_noc_cfg *cfg, double bytes_per_cycle, double bytes)
{
	double cycles = ceil(bytes / bytes_per_cycle - 1e-9);

	if (cycles <= 0)
		return 0;
	cycles += cfg->transfer_overhead_cycles;	/* calibration knob */
	return (uint64_t)(cycles * 1e6 / cfg->clock_mhz + 0.5);
}

uint64_t
sim_noc_occupancy_ps(const sim_noc_cfg *cfg, double bytes)
{
	return occupancy_ps(cfg, cfg->bandwidth_gbps * 1e3 / cfg->clock_mhz,
	    bytes);
}

uint64_t
sim_noc_latency_ps(const sim_noc_cfg *cfg)
{
	return (uint64_t)llround(cfg->latency_cycles * 1e6 / cfg->clock_mhz);
}

static void
arm(sim_noc *noc, uint64_t now)
{
	if (noc->armed || noc->head == NULL)
		return;
	noc->armed = 1;
	h4h_timer_notify(noc->timer, noc->head->t_free > now ?
	    noc->head->t_free - now : 0);
}

/* The head delivery's link-free time has come: deliver it, arm for the
 * next (one activation per delivery, as one per transfer before). */
static void
on_deliver(void *ctx)
{
	sim_noc *noc = ctx;
	uint64_t now = h4h_kernel_now_ps();
	pend *d = noc->head;

	noc->head = d->next;
	if (noc->head == NULL)
		noc->tail = NULL;
	noc->armed = 0;
	/* The requester first, then the next delivery's timer (unless a
	 * request the requester made armed it): the order the link-by-link
	 * model notified in, so that events at one time keep their order. */
	d->done(d->ctx, d->avail);
	d->next = noc->free_pends;
	noc->free_pends = d;
	arm(noc, now);
}

sim_noc *
sim_noc_create(const sim_noc_cfg *cfg, int n_masters)
{
	sim_noc *noc = h4h_xcalloc(1, sizeof *noc);

	noc->cfg = *cfg;
	noc->n_masters = n_masters;
	noc->bytes_per_cycle = cfg->bandwidth_gbps * 1e3 / cfg->clock_mhz;
	noc->latency_ps = sim_noc_latency_ps(cfg);
	noc->stats = h4h_xcalloc((size_t)n_masters, sizeof *noc->stats);
	noc->timer = h4h_timer_acquire(on_deliver, noc);
	if (noc->timer == NULL) {
		sim_noc_destroy(noc);
		return NULL;
	}
	return noc;
}

static void
free_list(pend *d)
{
	while (d != NULL) {
		pend *next = d->next;

		free(d);
		d = next;
	}
}

void
sim_noc_destroy(sim_noc *noc)
{
	if (noc == NULL)
		return;
	h4h_timer_release(noc->timer);
	free_list(noc->head);
	free_list(noc->free_pends);
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
	noc->free_at = noc->horizon = t0_ps;
}

/* One FIFO link serves its requests in the order they come, each from the
 * later of its request and the end of the one before: the grant follows
 * at the request, with no event.  The requester learns the delivery time
 * at once (done runs before this returns) unless it asked to hear of it at
 * the link-free time, when the link-by-link event model told it. */
void
sim_noc_transfer(sim_noc *noc, int master, double bytes, int posted,
    int at_free, sim_noc_done_fn done, void *ctx)
{
	uint64_t now = h4h_kernel_now_ps();
	uint64_t start = noc->free_at > now ? noc->free_at : now;
	uint64_t occ = occupancy_ps(&noc->cfg, noc->bytes_per_cycle, bytes);
	uint64_t t_free = start + occ;
	uint64_t avail = posted ? t_free : t_free + noc->latency_ps;

	noc->free_at = t_free;
	noc->busy_ps += occ;
	noc->stats[master].bytes += bytes;
	noc->stats[master].transfers++;
	noc->stats[master].busy_ps += occ;
	noc->stats[master].wait_ps += start - now;
	if (noc->trace != NULL && occ > 0)
		sim_trace_span(noc->trace, SIM_TRACK_NOC,
		    master == 0 ? "npu" : "cim", start - noc->t0_ps,
		    t_free - noc->t0_ps, master, bytes);
	if (!at_free || noc->solo) {
		if (avail > noc->horizon)
			noc->horizon = avail;
		done(ctx, avail);
		return;
	}
	{
		pend *d = noc->free_pends;

		if (d != NULL)
			noc->free_pends = d->next;
		else
			d = h4h_xmalloc(sizeof *d);
		*d = (pend){ t_free, avail, done, ctx, NULL };
		if (noc->tail != NULL)
			noc->tail->next = d;
		else
			noc->head = d;
		noc->tail = d;
		arm(noc, now);
	}
}

void
sim_noc_set_solo(sim_noc *noc, int solo)
{
	noc->solo = solo;
}

uint64_t
sim_noc_horizon_ps(const sim_noc *noc)
{
	return noc->horizon;
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
