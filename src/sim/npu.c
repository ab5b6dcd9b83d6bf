/*
 * npu.c - layer-to-U55 mapping and the block pipeline (see npu.h).
 *
 * Mapping of ops Vela 3.10 does not run as one NPU operator (assumed, see
 * doc/u55-model.md): matmul = one FULLY_CONNECTED per head with the second
 * activation as its weights; softmax and layernorm = npu.softmax_passes /
 * npu.layernorm_passes elementwise passes over the tensor; a grouped dense
 * conv = one conv per group.
 */
#include "sim/npu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/kernel.h"
#include "sim/trace.h"

void
sim_npu_mem(const sim_profile *p, sim_u55_mem *mem)
{
	/* The NoC is the NPU's path to SRAM: its bandwidth in NPU cycles, its
	 * warm-up converted from NoC to NPU cycles. */
	mem->bytes_per_cycle = p->noc.bandwidth_gbps * 1e3 / p->npu.clock_mhz;
	mem->burst_bytes = p->noc.burst_bytes;
	mem->read_latency = (int)lround(p->noc.latency_cycles *
	    p->npu.clock_mhz / p->noc.clock_mhz);
	mem->write_latency = mem->read_latency;
}

static sim_u55_act
u55_act(sim_act a)
{
	switch (a) {
	case SIM_ACT_RELU:
	case SIM_ACT_RELU6:
		return SIM_U55_ACT_RELU;
	case SIM_ACT_HSWISH:
	case SIM_ACT_GELU:
		return SIM_U55_ACT_LUT;
	default:
		return SIM_U55_ACT_NONE;
	}
}

/* Which calibration knob applies to a layer. */
static int
kind_of(const sim_layer *l)
{
	switch (l->op) {
	case SIM_OP_CONV:
		return l->kh * l->kw == 1 ? SIM_KIND_PWCONV : SIM_KIND_CONV;
	case SIM_OP_DWCONV:
		return SIM_KIND_DWCONV;
	case SIM_OP_FC:
	case SIM_OP_MATMUL:
		return SIM_KIND_FC;
	case SIM_OP_AVGPOOL:
	case SIM_OP_MAXPOOL:
		return SIM_KIND_POOL;
	default:
		return SIM_KIND_ELEMENTWISE;
	}
}

static void
set_shape(sim_u55_op *op, int ih, int iw, int ic, int oh, int ow, int oc)
{
	op->ifm_h = ih;
	op->ifm_w = iw;
	op->ifm_c = ic;
	op->ofm_h = oh;
	op->ofm_w = ow;
	op->ofm_c = oc;
}

int
sim_npu_plan(const sim_profile *p, const sim_layer *l, int channels,
    sim_npu_work *w, h4h_err *err)
{
	sim_u55_mem mem;
	sim_u55_op op;
	sim_u55_plan *pl = &w->plan;
	long long repeats = 1;
	double weight_bytes, bias_bytes, scale;
	int rc;

	memset(w, 0, sizeof *w);
	w->channels = channels;
	if (channels <= 0)
		return 0;
	memset(&op, 0, sizeof op);
	op.kh = op.kw = 1;
	op.stride = 1;
	op.act = u55_act(l->act);
	switch (l->op) {
	case SIM_OP_CONV:
		op.kind = SIM_U55_CONV;
		op.kh = l->kh;
		op.kw = l->kw;
		op.stride = l->stride;
		repeats = l->groups;
		set_shape(&op, l->in_h, l->in_w, l->in_c / l->groups, l->out_h,
		    l->out_w, channels / l->groups > 0 ? channels / l->groups : 1);
		break;
	case SIM_OP_DWCONV:
		op.kind = SIM_U55_DEPTHWISE;
		op.kh = l->kh;
		op.kw = l->kw;
		op.stride = l->stride;
		set_shape(&op, l->in_h, l->in_w, channels, l->out_h, l->out_w,
		    channels);
		break;
	case SIM_OP_FC:
		op.kind = SIM_U55_FC;
		set_shape(&op, l->in_h, l->in_w, l->in_c, l->out_h, l->out_w,
		    channels);
		break;
	case SIM_OP_MATMUL:
		op.kind = SIM_U55_FC;
		repeats = l->heads;
		set_shape(&op, l->mm_m, 1, l->mm_k, l->mm_m, 1, l->mm_n);
		break;
	case SIM_OP_SOFTMAX:
	case SIM_OP_LAYERNORM:
		op.kind = SIM_U55_ELEMENTWISE;
		op.act = SIM_U55_ACT_LUT;
		repeats = l->op == SIM_OP_SOFTMAX ? p->npu.softmax_passes :
		    p->npu.layernorm_passes;
		set_shape(&op, l->out_h, l->out_w, l->out_c, l->out_h, l->out_w,
		    l->out_c);
		break;
	case SIM_OP_ADD:
		op.kind = SIM_U55_ELEMENTWISE;
		op.binary = 1;
		set_shape(&op, l->out_h, l->out_w, l->out_c, l->out_h, l->out_w,
		    l->out_c);
		break;
	case SIM_OP_ACT:
		op.kind = SIM_U55_ELEMENTWISE;
		set_shape(&op, l->out_h, l->out_w, l->out_c, l->out_h, l->out_w,
		    l->out_c);
		break;
	case SIM_OP_AVGPOOL:
	case SIM_OP_MAXPOOL:
		op.kind = SIM_U55_POOL;
		op.pool_max = l->op == SIM_OP_MAXPOOL;
		op.kh = l->kh;
		op.kw = l->kw;
		op.stride = l->stride;
		set_shape(&op, l->in_h, l->in_w, l->in_c, l->out_h, l->out_w,
		    l->out_c);
		break;
	default:
		return h4h_errf(err, H4H_EINPUT, "layer '%s': op %s has no NPU "
		    "mapping", l->name, sim_op_name(l->op));
	}
	/* Vela keeps a network's own input and output NHWC and lays out the
	 * tensors between its layers in 16-deep bricks (NHCWB16), which read
	 * and write at full burst efficiency. */
	op.ifm_nhcwb16 = l->inputs[0] != -1;
	op.ofm_nhcwb16 = !l->is_output;
	sim_npu_mem(p, &mem);
	rc = sim_u55_plan_op(p->npu.macs, &mem, &op, pl, err);
	if (rc != 0)
		return h4h_errf(err, rc, "layer '%s': %s", l->name,
		    err ? err->msg : "cannot plan");

	w->n_blocks = pl->n_blocks * repeats;
	scale = p->npu.cycle_scale[kind_of(l)];
	if (op.kind == SIM_U55_ELEMENTWISE) {
		/* Vela costs elementwise ops as a whole, not per block. */
		w->dpu_cycles = 0;
		w->out_cycles = pl->op_cycles / pl->n_blocks * scale;
	} else {
		w->dpu_cycles = pl->dpu_block_cycles * scale +
		    p->npu.block_overhead_cycles;
		w->out_cycles = pl->out_block_cycles * scale;
	}
	w->setup_cycles = p->npu.op_overhead_cycles;
	/* The scale/bias stream feeds the output stage, the weights the MAC
	 * stage (Vela: the bias term bounds out_blk, cycles_wb the dpu). */
	bias_bytes = l->op == SIM_OP_MATMUL ? 0 : pl->bias_bytes;
	weight_bytes = pl->weight_bytes * (l->op == SIM_OP_MATMUL ? 1 :
	    p->npu.weight_compression);
	w->block_ifm_bytes = pl->ifm_bytes_scaled / pl->n_blocks;
	w->block_weight_bytes = weight_bytes / pl->n_blocks;
	w->block_bias_bytes = bias_bytes / pl->n_blocks;
	w->block_ofm_bytes = pl->ofm_bytes_scaled / pl->n_blocks;
	w->op_cycles = pl->op_cycles * repeats * scale + w->setup_cycles +
	    (op.kind == SIM_U55_ELEMENTWISE ? 0 :
	    p->npu.block_overhead_cycles * (double)w->n_blocks);
	w->noc_bytes = (pl->ifm_bytes_scaled + pl->ofm_bytes_scaled) * repeats;
	w->weight_port_bytes = (weight_bytes + bias_bytes) * repeats;
	w->shram_bytes = (pl->ifm_bytes + weight_bytes + pl->ofm_bytes) *
	    repeats;
	w->macs = pl->macs * repeats;
	/* Weights come over the NPU's private port from the system memory. */
	w->dyn_energy_j = ((double)w->macs * p->npu.e_mac_pj +
	    w->shram_bytes * p->npu.e_shram_byte_pj +
	    w->weight_port_bytes * (p->noc.e_byte_pj +
	    p->noc.e_sram_byte_pj)) * 1e-12;
	return 0;
}

/* Blocks in flight at once (IFM double buffer, accumulators, output stage)
 * stay below this; times are kept in rings indexed by block number. */
#define RING 8
#define UNKNOWN UINT64_MAX

struct sim_npu {
	sim_npu_cfg cfg;
	sim_noc *noc;
	sim_noc_cfg port;	/* private weight port (AXI M1) */
	uint64_t port_free;	/* when the port is next idle */
	h4h_timer *mac_timer, *out_timer;

	const sim_npu_work *w;
	struct sim_trace *trace;
	const char *name;
	uint64_t t0;
	void (*done)(void *);
	void *done_ctx;

	long long ifm_requested, ifm_known;
	long long mac_started, mac_done;
	long long out_started, out_done;
	uint64_t ifm_avail[RING], w_avail[RING], bias_avail[RING];
	int setting_up;		/* the operator's set-up time runs */
	int mac_running, mac_armed;
	int out_running, out_armed;
	uint64_t out_write_avail;
	uint64_t mac_t0, out_t0;
	uint64_t busy_ps;
};

static void advance(sim_npu *npu);

static uint64_t
cycles_ps(const sim_npu_cfg *cfg, double cycles)
{
	return (uint64_t)llround(ceil(cycles - 1e-9) * 1e6 / cfg->clock_mhz);
}

static uint64_t
max3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a > b ? a : b;

	return m > c ? m : c;
}

/* The weight port is private to the NPU, so its FIFO needs no events: the
 * time a transfer queued now becomes available follows from the port's
 * next idle time. */
static uint64_t
port_read(sim_npu *npu, double bytes)
{
	uint64_t now = h4h_kernel_now_ps();
	uint64_t start = npu->port_free > now ? npu->port_free : now;

	if (bytes <= 0)
		return now;
	npu->port_free = start + sim_noc_occupancy_ps(&npu->port, bytes);
	return npu->port_free + sim_noc_latency_ps(&npu->port);
}

/* Arm the MAC-stage timer once the block's input availability is known:
 * the stage ends when its compute time has passed and its IFM and weights
 * have arrived. */
static void
arm_mac(sim_npu *npu)
{
	long long b = npu->mac_started - 1;
	uint64_t now = h4h_kernel_now_ps(), end;

	if (!npu->mac_running || npu->mac_armed || npu->ifm_known <= b)
		return;
	end = max3(npu->mac_t0 + cycles_ps(&npu->cfg, npu->w->dpu_cycles),
	    npu->ifm_avail[b % RING], npu->w_avail[b % RING]);
	npu->mac_armed = 1;
	h4h_timer_notify(npu->mac_timer, end > now ? end - now : 0);
}

/* The output stage ends when its time has passed, its scale/bias has
 * arrived and its OFM block has left on the NoC (and, for elementwise ops,
 * which stream, when the block's input has arrived). */
static void
arm_out(sim_npu *npu)
{
	long long b = npu->out_started - 1;
	uint64_t now = h4h_kernel_now_ps(), end;

	if (!npu->out_running || npu->out_armed ||
	    npu->out_write_avail == UNKNOWN)
		return;
	end = max3(npu->out_t0 + cycles_ps(&npu->cfg, npu->w->out_cycles),
	    npu->bias_avail[b % RING], npu->out_write_avail);
	if (npu->w->dpu_cycles == 0) {
		if (npu->ifm_known <= b)
			return;
		if (npu->ifm_avail[b % RING] > end)
			end = npu->ifm_avail[b % RING];
	}
	npu->out_armed = 1;
	h4h_timer_notify(npu->out_timer, end > now ? end - now : 0);
}

static void
on_ifm(void *ctx, uint64_t avail)
{
	sim_npu *npu = ctx;

	/* IFM reads of this NPU leave the FIFO link in request order. */
	npu->ifm_avail[npu->ifm_known % RING] = avail;
	npu->ifm_known++;
	arm_mac(npu);
	arm_out(npu);
}

static void
on_ofm(void *ctx, uint64_t avail)
{
	sim_npu *npu = ctx;

	npu->out_write_avail = avail;
	arm_out(npu);
}

static void
on_mac_timer(void *ctx)
{
	sim_npu *npu = ctx;
	uint64_t now = h4h_kernel_now_ps();

	if (npu->setting_up) {
		npu->setting_up = 0;
		advance(npu);
		return;
	}
	npu->mac_running = 0;
	npu->mac_done++;
	npu->busy_ps += now - npu->mac_t0;
	if (npu->trace != NULL && npu->w->dpu_cycles > 0)
		sim_trace_span(npu->trace, SIM_TRACK_NPU_MAC, npu->name,
		    npu->mac_t0 - npu->t0, now - npu->t0, 0, npu->w->channels);
	advance(npu);
}

static void
on_out_timer(void *ctx)
{
	sim_npu *npu = ctx;
	uint64_t now = h4h_kernel_now_ps();

	npu->out_running = 0;
	npu->out_done++;
	if (npu->w->dpu_cycles == 0)
		npu->busy_ps += now - npu->out_t0;
	if (npu->trace != NULL)
		sim_trace_span(npu->trace, SIM_TRACK_NPU_OUT, npu->name,
		    npu->out_t0 - npu->t0, now - npu->t0, 0, npu->w->channels);
	if (npu->out_done == npu->w->n_blocks) {
		npu->done(npu->done_ctx);
		return;
	}
	advance(npu);
}

static void
request_ifm(sim_npu *npu)
{
	/* IFM buffers are double: block b's IFM (on the shared NoC) and its
	 * weights and scale/bias (on the private port, in that order) stream
	 * in while block b-1 is in the MAC stage, not earlier. */
	while (npu->ifm_requested < npu->w->n_blocks &&
	    npu->ifm_requested <= npu->mac_started &&
	    npu->ifm_requested < npu->mac_done + 2) {
		long long b = npu->ifm_requested++;

		npu->w_avail[b % RING] = port_read(npu,
		    npu->w->block_weight_bytes);
		npu->bias_avail[b % RING] = port_read(npu,
		    npu->w->block_bias_bytes);
		sim_noc_transfer(npu->noc, 0, npu->w->block_ifm_bytes, 0, on_ifm,
		    npu);
	}
}

static void
advance(sim_npu *npu)
{
	const sim_npu_work *w = npu->w;

	request_ifm(npu);
	/* MAC stage: the block's IFM is streaming in; the accumulators are
	 * double-buffered, so block b needs the output stage of b-2 done. */
	if (!npu->mac_running && npu->mac_started < w->n_blocks &&
	    npu->ifm_requested > npu->mac_started &&
	    npu->mac_started < npu->out_done + 2) {
		npu->mac_running = 1;
		npu->mac_armed = 0;
		npu->mac_started++;
		npu->mac_t0 = h4h_kernel_now_ps();
		request_ifm(npu);
		arm_mac(npu);
	}
	/* Output stage: drains block b while b+1 computes; its OFM block
	 * streams out over the NoC as it is produced.  Elementwise ops have no
	 * MAC stage: their output stage streams with the block's input. */
	if (!npu->out_running && npu->out_started <
	    (w->dpu_cycles > 0 ? npu->mac_done : npu->mac_started)) {
		npu->out_running = 1;
		npu->out_armed = 0;
		npu->out_started++;
		npu->out_t0 = h4h_kernel_now_ps();
		npu->out_write_avail = UNKNOWN;
		sim_noc_transfer(npu->noc, 0, w->block_ofm_bytes, 1, on_ofm, npu);
	}
}

sim_npu *
sim_npu_create(const sim_profile *p, sim_noc *noc)
{
	sim_npu *npu = h4h_xcalloc(1, sizeof *npu);

	npu->port = p->noc;
	npu->port.bandwidth_gbps = p->npu.weight_bandwidth_gbps;
	npu->port.latency_cycles = p->npu.weight_latency_cycles;
	npu->port.clock_mhz = p->npu.clock_mhz;
	npu->cfg = p->npu;
	npu->noc = noc;
	npu->mac_timer = h4h_timer_acquire(on_mac_timer, npu);
	npu->out_timer = h4h_timer_acquire(on_out_timer, npu);
	if (npu->mac_timer == NULL || npu->out_timer == NULL) {
		sim_npu_destroy(npu);
		return NULL;
	}
	return npu;
}

void
sim_npu_destroy(sim_npu *npu)
{
	if (npu == NULL)
		return;
	h4h_timer_release(npu->mac_timer);
	h4h_timer_release(npu->out_timer);
	free(npu);
}

void
sim_npu_start(sim_npu *npu, const sim_npu_work *w, struct sim_trace *tr,
    const char *name, uint64_t t0_ps, void (*done)(void *), void *ctx)
{
	npu->w = w;
	npu->trace = tr;
	npu->name = name;
	npu->t0 = t0_ps;
	npu->done = done;
	npu->done_ctx = ctx;
	npu->port_free = t0_ps;
	npu->ifm_requested = npu->ifm_known = 0;
	npu->mac_started = npu->mac_done = 0;
	npu->out_started = npu->out_done = 0;
	npu->mac_running = npu->out_running = 0;
	npu->busy_ps = 0;
	/* A fixed set-up time (a calibration knob) before the first block. */
	npu->setting_up = w->setup_cycles > 0;
	if (npu->setting_up)
		h4h_timer_notify(npu->mac_timer, cycles_ps(&npu->cfg,
		    w->setup_cycles));
	else
		advance(npu);
}

uint64_t
sim_npu_busy_ps(const sim_npu *npu)
{
	return npu->busy_ps;
}
