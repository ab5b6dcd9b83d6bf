/*
 * cim.c - MRAM CIM macro: slice arithmetic and the chunk pipeline (cim.h).
 *
 * Pipeline per macro: IFM chunk c+1 is fetched while chunk c computes
 * (double-buffered IFMP); a chunk computes only once its IFM is in the
 * buffer; its OFM chunk is written over the NoC when it finishes.  The
 * macro is done when the last OFM chunk is delivered.
 */
#include "sim/hw/cim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hw/device.h"
#include "sim/hw/kernel.h"
#include "sim/hw/trace.h"

static long long
ceil_div(long long a, long long b)
{
	return (a + b - 1) / b;
}

/* IFMP reads (per channel) for one output row: groups of up to C adjacent
 * outputs computed together; with dedup the group's overlapping windows are
 * read once. */
static double
dw_row_reads(int out_w, int kh, int kw, int stride, int cus, int dedup)
{
	double reads = 0;

	for (int x = 0; x < out_w; x += cus) {
		int c = out_w - x < cus ? out_w - x : cus;

		if (dedup && stride < kw)
			reads += (double)kh * (kw + (c - 1) * stride);
		else
			reads += (double)c * kh * kw;
	}
	return reads;
}

void
sim_cim_plan(const sim_cim_cfg *cfg, const sim_layer *l, int channels,
    sim_cim_work *w)
{
	int C = cfg->cus_per_macro;
	int A = cfg->cu_accumulations, P = cfg->cu_products;
	long long px = (long long)l->out_h * l->out_w;
	long long units, unit_px, units_per_chunk;
	double unit_ifm;

	memset(w, 0, sizeof *w);
	w->channels = channels;
	if (channels <= 0)
		return;
	if (l->op == SIM_OP_DWCONV) {
		/* Output rows are the unit: the dedup window slides along a
		 * row, and CUs take adjacent outputs of a row. */
		int taps = l->kh * l->kw;
		long long groups = ceil_div(l->out_w, C);

		units = l->out_h;
		unit_px = l->out_w;
		w->cycles = (double)units * groups * ceil_div(channels, A) *
		    ceil_div(taps, P);
		w->ifmp_reads = dw_row_reads(l->out_w, l->kh, l->kw, l->stride,
		    C, cfg->ifmp_dedup) * units * channels;
		/* Input rows stream in once; the window reuse is IFMP's. */
		w->ifm_bytes = (double)l->in_h * l->in_w * channels;
		w->macs = px * channels * taps;
		for (int j = 0; j < C && j < 64; j++)
			w->cu_busy_frac[j] = (double)ceil_div(l->out_w - j, C) /
			    groups;
	} else if (l->op == SIM_OP_FC) {
		/* fc: the CUs split the output channels, A at a time, each
		 * with its own weights, so a single row still uses them all.
		 * They read the same input vector: with dedup the IFMP
		 * controller broadcasts it to the CUs, without it each CU
		 * reads its own copy. */
		long long groups = ceil_div(channels, A);
		long long per_cu = ceil_div(groups, C);
		long long steps = ceil_div(l->in_c, P);

		units = px;
		unit_px = 1;
		w->cycles = (double)px * per_cu * steps;
		w->ifmp_reads = (double)px * steps * P *
		    (cfg->ifmp_dedup ? per_cu : groups);
		w->ifm_bytes = (double)px * l->in_c;
		w->macs = px * channels * l->in_c;
		w->weight_bits = (double)px * groups * steps * A * P * 8.0;
		for (int j = 0; j < C && j < 64; j++)
			w->cu_busy_frac[j] = (double)ceil_div(groups - j, C) /
			    per_cu;
	} else {
		/* Pointwise conv: one input vector per output pixel, no
		 * overlap, so pixels are the unit and CUs take adjacent ones. */
		long long groups = ceil_div(px, C);
		int cin = l->in_c;

		units = px;
		unit_px = 1;
		w->cycles = (double)groups * ceil_div(channels, A) *
		    ceil_div(cin, P);
		w->ifmp_reads = (double)px * ceil_div(channels, A) *
		    ceil_div(cin, P) * P;
		w->ifm_bytes = (double)px * cin;
		w->macs = px * channels * cin;
		for (int j = 0; j < C && j < 64; j++)
			w->cu_busy_frac[j] = (double)ceil_div(px - j, C) / groups;
	}
	/* The IFMP buffer feeds the CUs through one read port: when the CUs
	 * want more than it delivers, they wait for it, and dedup, which
	 * cuts the reads, then cuts the time too. */
	w->compute_cycles = w->cycles;
	w->port_cycles = ceil(w->ifmp_reads / cfg->ifmp_read_bytes_per_cycle -
	    1e-9);
	if (w->port_cycles > w->cycles)
		w->cycles = w->port_cycles;
	unit_ifm = w->ifm_bytes / units;
	/* As many units per chunk as half the IFMP buffer holds (the other half
	 * is being filled), at least one CU group. */
	units_per_chunk = (long long)(cfg->ifmp_buffer_bytes / 2 / unit_ifm);
	if (unit_px == 1)
		units_per_chunk -= units_per_chunk % C;
	if (units_per_chunk < (unit_px == 1 ? C : 1))
		units_per_chunk = unit_px == 1 ? C : 1;
	if (units_per_chunk > units)
		units_per_chunk = units;
	w->n_chunks = ceil_div(units, units_per_chunk);
	/* One weight word line (A x P bytes) per compute step, shared by
	 * all CUs working on adjacent outputs (fc: one per CU, set above). */
	if (l->op != SIM_OP_FC)
		w->weight_bits = w->compute_cycles * A * P * 8.0;
	/* Calibration knobs (time only), neutral by default. */
	w->cycles = w->cycles * cfg->mac_cycle_scale +
	    cfg->chunk_overhead_cycles * (double)w->n_chunks;
	w->ofm_bytes = (double)px * channels;
	w->chunk_cycles = w->cycles / w->n_chunks;
	/* A gated macro wakes before its first chunk computes. */
	w->wake_cycles = cfg->power_gating ? cfg->wake_latency_cycles : 0;
	w->chunk_ifm_bytes = w->ifm_bytes / w->n_chunks;
	w->chunk_ofm_bytes = w->ofm_bytes / w->n_chunks;
	w->dyn_energy_j = (w->weight_bits * cfg->e_mram_read_pj_per_bit +
	    (double)w->macs * cfg->e_mac_pj +
	    (w->ifmp_reads + w->ifm_bytes + w->ofm_bytes) *
	    cfg->e_buffer_byte_pj) * 1e-12;
}

#define RING 4

struct sim_cim {
	sim_cim_cfg cfg;
	int index;
	sim_noc *noc;
	h4h_timer *timer;

	const sim_cim_work *w;
	struct sim_trace *trace;
	const char *name;
	uint64_t t0;
	void (*done)(void *);
	void *done_ctx;

	long long ifm_requested, ifm_known;
	long long comp_started, comp_done;
	long long ofm_left;
	uint64_t ifm_avail[RING];
	int running;
	int waking;		/* the wake-up time runs */
	uint64_t comp_t0;
	uint64_t busy_ps;
};

static void try_advance(sim_cim *m);

static uint64_t
cycles_ps(const sim_cim_cfg *cfg, double cycles)
{
	return sim_device_cycles_ps(cfg->clock_mhz, cycles);
}

static void
on_ifm(void *ctx, uint64_t avail)
{
	sim_cim *m = ctx;

	/* This macro's reads leave the FIFO link in request order. */
	m->ifm_avail[m->ifm_known % RING] = avail;
	m->ifm_known++;
	try_advance(m);
}

static void
on_ofm(void *ctx, uint64_t avail)
{
	sim_cim *m = ctx;

	(void)avail;
	m->ofm_left++;
	if (m->ofm_left == m->w->n_chunks)
		m->done(m->done_ctx);
}

static void
on_compute_end(void *ctx)
{
	sim_cim *m = ctx;
	uint64_t now = h4h_kernel_now_ps();

	if (m->waking) {
		m->waking = 0;
		try_advance(m);
		return;
	}
	m->running = 0;
	m->comp_done++;
	m->busy_ps += now - m->comp_t0;
	if (m->trace != NULL) {
		int cus = m->cfg.cus_per_macro;

		sim_trace_span(m->trace, sim_trace_cim_track(m->trace, m->index,
		    -1), m->name, m->comp_t0 - m->t0, now - m->t0, 0,
		    m->w->channels);
		for (int j = 0; j < cus && j < 64; j++) {
			uint64_t d = (uint64_t)llround((now - m->comp_t0) *
			    m->w->cu_busy_frac[j]);

			if (d > 0)
				sim_trace_span(m->trace,
				    sim_trace_cim_track(m->trace, m->index, j),
				    m->name, m->comp_t0 - m->t0,
				    m->comp_t0 + d - m->t0, 0, 0);
		}
	}
	sim_noc_transfer(m->noc, 1 + m->index, m->w->chunk_ofm_bytes, 1, 1,
	    on_ofm, m);
	try_advance(m);
}

static void
try_advance(sim_cim *m)
{
	const sim_cim_work *w = m->w;
	uint64_t now = h4h_kernel_now_ps();

	/* A chunk computes once its IFM is in the buffer (it may be known to
	 * arrive later than now: then the chunk starts then). */
	if (!m->running && !m->waking && m->comp_started < w->n_chunks &&
	    m->ifm_known > m->comp_started) {
		uint64_t avail = m->ifm_avail[m->comp_started % RING];

		long long c = m->comp_started;
		/* Whole cycles per chunk that add up to the plan's total. */
		double cyc = floor((c + 1) * w->cycles / w->n_chunks + 1e-9) -
		    floor(c * w->cycles / w->n_chunks + 1e-9);

		m->running = 1;
		m->comp_started++;
		m->comp_t0 = avail > now ? avail : now;
		h4h_timer_notify(m->timer, m->comp_t0 - now +
		    cycles_ps(&m->cfg, cyc));
	}
	/* Two IFMP buffers: fetch chunk c once chunk c-2 has computed, and no
	 * further ahead than the chunk after the one computing. */
	while (m->ifm_requested < w->n_chunks &&
	    m->ifm_requested < m->comp_done + 2 &&
	    m->ifm_requested <= m->comp_started) {
		m->ifm_requested++;
		/* At the link-free time: the macro's next requests follow
		 * from its arrival, and they must enter the link's FIFO
		 * then, behind whatever others asked for meanwhile. */
		sim_noc_transfer(m->noc, 1 + m->index, w->chunk_ifm_bytes, 0,
		    1, on_ifm, m);
	}
}

sim_cim *
sim_cim_create(const sim_cim_cfg *cfg, int index, sim_noc *noc)
{
	static const h4h_kernel_fn fns[1] = { on_compute_end };
	sim_cim *m = h4h_xcalloc(1, sizeof *m);

	m->cfg = *cfg;
	m->index = index;
	m->noc = noc;
	if (sim_device_timers(&m->timer, fns, 1, m) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

void
sim_cim_destroy(sim_cim *m)
{
	if (m == NULL)
		return;
	h4h_timer_release(m->timer);
	free(m);
}

void
sim_cim_start(sim_cim *m, const sim_cim_work *w, struct sim_trace *tr,
    const char *name, uint64_t t0_ps, void (*done)(void *), void *ctx)
{
	m->w = w;
	m->trace = tr;
	m->name = name;
	m->t0 = t0_ps;
	m->done = done;
	m->done_ctx = ctx;
	m->ifm_requested = m->ifm_known = 0;
	m->comp_started = m->comp_done = 0;
	m->ofm_left = 0;
	m->running = 0;
	m->busy_ps = 0;
	/* The IFM streams into the buffer while the macro wakes. */
	m->waking = w->wake_cycles > 0;
	if (m->waking)
		h4h_timer_notify(m->timer, cycles_ps(&m->cfg, w->wake_cycles));
	try_advance(m);
}

uint64_t
sim_cim_busy_ps(const sim_cim *m)
{
	return m->busy_ps;
}
