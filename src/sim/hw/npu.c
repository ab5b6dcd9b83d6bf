/*
 * npu.c - layer-to-U55 lowering and the block pipeline (see npu.h).
 *
 * Lowerings (doc/u55-model.md has the operator tables):
 *   conv         one CONV_2D; a grouped dense conv one per group
 *   matmul       one FULLY_CONNECTED per head, the second activation as
 *                its weights (assumed: Vela maps BATCH_MATMUL so), each head
 *                a run of its own
 *   softmax      Vela 3.10 softmax.py get_graph_8bit: row max pool, SUB with
 *                the exp LUT to int32, SHR, REDUCE_SUM, 26 row-wise int32
 *                ops (Newton-Raphson reciprocal) on [rows, 1] tensors
 *                padded to 16 channels, MUL, SHR to int8
 *   layernorm    TFLite's chain: MEAN, SQUARED_DIFFERENCE (SUB to int32 and
 *                MUL), MEAN, ADD epsilon, RSQRT (LUT), SUB, MUL, MUL gamma,
 *                ADD beta (assumed: Vela runs MEAN over the channels as a
 *                1 x C depthwise conv of the reshaped tensor)
 * A softmax whose input is a multi-head matmul runs per head row:
 * [heads, tokens, tokens], as Vela reshapes the batched attention scores.
 */
#include "sim/hw/npu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hw/device.h"
#include "sim/hw/kernel.h"
#include "sim/hw/trace.h"

/* LUT tables are 256 entries of the LUT's output type (Vela
 * create_lut_tensor / softmax exp LUT: uint32 [1, 1, 1, 256]). */
#define LUT_ENTRIES 256
/* SHRAM's side of a LUT DMA: the U55's 64-bit AXI, 8 B per cycle
 * (architecture_features.py axi_port_width, Shram clock scale 1). */
#define SHRAM_BYTES_PER_CYCLE 8.0

void
sim_npu_mem(const sim_profile *p, sim_u55_mem *mem)
{
	memset(mem, 0, sizeof *mem);
	/* The NoC is the NPU's path to SRAM: its bandwidth in NPU cycles, its
	 * warm-up converted from NoC to NPU cycles. */
	mem->bytes_per_cycle = p->noc.bandwidth_gbps * 1e3 / p->npu.clock_mhz;
	mem->burst_bytes = p->noc.burst_bytes;
	mem->read_latency = (int)lround(p->noc.latency_cycles *
	    p->npu.clock_mhz / p->noc.clock_mhz);
	mem->write_latency = mem->read_latency;
	mem->weights_in_flash = p->npu.memory_mode == SIM_MEM_SHARED_SRAM;
	mem->flash_bytes_per_cycle = p->npu.flash_bandwidth_gbps * 1e3 /
	    p->npu.clock_mhz;
	mem->flash_latency = p->npu.flash_latency_cycles;
	mem->weight_bytes_per_weight = p->npu.weight_compression;
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
	case SIM_ACT_SIGMOID:
	case SIM_ACT_SILU:
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

/* measure_mem2mem_cycles from the weight area into SHRAM. */
static double
lut_cycles(const sim_u55_mem *m, double bytes)
{
	double bw = m->weights_in_flash ? m->flash_bytes_per_cycle :
	    m->bytes_per_cycle;
	int lat = m->weights_in_flash ? m->flash_latency : m->read_latency;
	double from = floor(bytes / bw) + lat;
	double to = floor(bytes / SHRAM_BYTES_PER_CYCLE);

	return from > to ? from : to;
}

/* The lowering under way. */
typedef struct lower {
	const sim_profile *p;
	const sim_layer *l;
	sim_u55_mem mem;
	sim_npu_work *w;
	int kind;			/* calibration knob */
	int matmul;			/* weights are an activation */
	h4h_err *err;
} lower;

/* Plan one U55 operator, `runs` times, and add it to the work. */
static int
add_op(lower *lw, const sim_u55_op *op, int runs, int keep_plan)
{
	const sim_profile *p = lw->p;
	sim_npu_work *w = lw->w;
	sim_npu_op *o;
	sim_u55_plan pl;
	double scale = p->npu.cycle_scale[lw->kind];
	double lut = 0, weights, npu, est, dma_bytes = 0;
	int rc;

	if (w->n_ops == SIM_NPU_MAX_OPS)
		return h4h_errf(lw->err, H4H_ESIM, "layer '%s': more than %d "
		    "NPU operators", lw->l->name, SIM_NPU_MAX_OPS);
	rc = sim_u55_plan_op(p->npu.macs, &lw->mem, op, &pl, lw->err);
	if (rc != 0) {
		char why[sizeof lw->err->msg];

		snprintf(why, sizeof why, "%s", lw->err ? lw->err->msg :
		    "cannot plan");
		return h4h_errf(lw->err, rc, "layer '%s': %s", lw->l->name,
		    why);
	}
	if (keep_plan)
		w->plan = pl;
	o = &w->ops[w->n_ops++];
	memset(o, 0, sizeof *o);
	o->kind = op->kind;
	o->runs = runs;
	o->n_blocks = pl.n_blocks;
	if (op->act == SIM_U55_ACT_LUT)
		lut = lut_cycles(&lw->mem, (double)LUT_ENTRIES *
		    (op->ofm_bits > 8 ? op->ofm_bits / 8 : 1));
	o->setup_cycles = p->npu.op_overhead_cycles + lut;
	if (op->kind == SIM_U55_ELEMENTWISE) {
		/* Vela costs elementwise ops as a whole, not per block. */
		o->dpu_cycles = 0;
		o->out_cycles = pl.op_cycles / (double)pl.n_blocks * scale;
	} else {
		o->dpu_cycles = pl.dpu_block_cycles * scale +
		    p->npu.block_overhead_cycles;
		o->out_cycles = pl.out_block_cycles * scale;
	}
	o->block_ifm_bytes = pl.ifm_bytes_scaled / (double)pl.n_blocks;
	o->block_ofm_bytes = pl.ofm_bytes_scaled / (double)pl.n_blocks;

	/* Weights: a matmul's second operand is an activation in SRAM, read
	 * raw over the weight port; stored weights as the memory mode puts
	 * them (u55.c). */
	weights = lw->matmul ? pl.weight_bytes : pl.weight_read_bytes;
	if (lw->matmul || (weights > 0 && pl.dma == 0)) {
		o->weight_src = lw->matmul || !lw->mem.weights_in_flash ?
		    SIM_NPU_W_PORT : SIM_NPU_W_FLASH;
		o->block_bias_bytes = lw->matmul ? 0 : pl.bias_bytes /
		    (double)pl.n_blocks;
		o->block_weight_bytes = (weights - (lw->matmul ? 0 :
		    pl.bias_bytes)) / (double)pl.n_blocks;
	}
	if (pl.dma != 0) {
		o->dma = pl.dma;
		o->dma_slices = pl.dma_slices;
		o->depth = op->ofm_c;
		o->dma_first_depth = pl.dma_first_depth;
		o->dma_step_depth = pl.dma_step_depth;
		o->dma_first_bytes = pl.dma_first_bytes;
		o->dma_step_bytes = pl.dma_step_bytes;
		o->dma_last_bytes = pl.dma_last_bytes;
		dma_bytes = pl.dma_slices == 1 ? pl.dma_first_bytes :
		    pl.dma_first_bytes + (pl.dma_slices - 2) *
		    pl.dma_step_bytes + pl.dma_last_bytes;
	}

	/* Vela's NPU cycles with the knobs on the compute part, and its Op
	 * Cycles: the max with the SRAM and weight-area access cycles. */
	npu = pl.npu_cycles + (scale - 1) * pl.op_cycles +
	    (op->kind == SIM_U55_ELEMENTWISE ? 0 :
	    p->npu.block_overhead_cycles * (double)pl.n_blocks) +
	    o->setup_cycles;
	est = npu;
	if (pl.sram_ac_cycles > est)
		est = pl.sram_ac_cycles;
	if (pl.weight_ac_cycles > est)
		est = pl.weight_ac_cycles;
	o->est_cycles = est * runs;
	w->op_cycles += npu * runs;
	w->est_cycles += o->est_cycles;
	w->n_blocks += pl.n_blocks * runs;
	w->noc_bytes += (pl.ifm_bytes_scaled + pl.ofm_bytes_scaled) * runs;
	if (o->weight_src == SIM_NPU_W_PORT)
		w->weight_port_bytes += weights * runs;
	else if (o->weight_src == SIM_NPU_W_FLASH)
		w->flash_bytes += weights * runs;
	w->flash_bytes += dma_bytes * runs;
	w->dma_bytes += dma_bytes * runs;
	if (pl.dma != 0)
		w->sram_weight_bytes += weights * runs;
	if (lut > 0) {
		double lb = (double)LUT_ENTRIES * (op->ofm_bits > 8 ?
		    op->ofm_bits / 8 : 1);

		if (lw->mem.weights_in_flash)
			w->flash_bytes += lb * runs;
		else
			w->weight_port_bytes += lb * runs;
	}
	w->shram_bytes += (pl.ifm_bytes + weights + pl.ofm_bytes) * runs;
	w->macs += pl.macs * runs;
	return 0;
}

/* An elementwise U55 operator on [h, w, c] with element sizes ib/ob. */
static sim_u55_op
ew(int h, int wd, int c, int ib, int ob, sim_u55_ew cls, int binary,
    int scalar2, sim_u55_act act)
{
	sim_u55_op op;

	memset(&op, 0, sizeof op);
	op.kind = SIM_U55_ELEMENTWISE;
	op.kh = op.kw = op.stride = 1;
	set_shape(&op, h, wd, c, h, wd, c);
	op.ifm_bits = ib;
	op.ofm_bits = ob;
	op.ew = cls;
	op.binary = binary;
	op.ifm2_scalar = scalar2;
	op.act = act;
	op.ifm_nhcwb16 = op.ofm_nhcwb16 = 1;
	return op;
}

/* The rows of a softmax or layernorm as Vela sees them: [H, W, C] with
 * the normalised axis last; a softmax over multi-head scores is
 * [heads, tokens, keys]. */
static void
rows_of(const sim_layer *l, int channels, int *h, int *wd, int *c)
{
	if (l->op == SIM_OP_SOFTMAX && l->heads > 1) {
		*h = l->heads;
		*wd = l->out_h * l->out_w;
		*c = channels / l->heads > 0 ? channels / l->heads : 1;
	} else {
		*h = l->out_h;
		*wd = l->out_w;
		*c = channels;
	}
}

/*
 * Vela 3.10 softmax.py get_graph_8bit, pass by pass.  Full-size tensors are
 * [H, W, C]; row tensors [H, W, 1], which NHCWB16 stores 16 deep.  Passes
 * 5-28 read a row tensor and either a second row tensor (full) or a
 * constant (scalar).
 */
static int
lower_softmax(lower *lw, int channels)
{
	const sim_layer *l = lw->l;
	int H, W, C, rc, i;
	sim_u55_op op;
	/* passes 5-28 after CLZ: (class, second operand full?) */
	static const struct { sim_u55_ew cls; int full; } rowops[] = {
		{ SIM_U55_EW_ADDSUB, 0 },	/* 5 SUB headroom_offset - x */
		{ SIM_U55_EW_ADDSUB, 0 },	/* 6 SUB x - 1 */
		{ SIM_U55_EW_OTHER, 1 },	/* 7 SHL sum << headroom */
		{ SIM_U55_EW_ADDSUB, 0 },	/* 8 SUB x - 1 << 30 */
		{ SIM_U55_EW_OTHER, 0 },	/* 9 SHL x << 1 */
		{ SIM_U55_EW_ADDSUB, 0 },	/* 10 ADD x + F0_one */
		{ SIM_U55_EW_MUL, 0 },		/* 11 MUL x * -32/17 */
		{ SIM_U55_EW_ADDSUB, 0 },	/* 12 ADD x + 48/17 */
	};
	static const struct { sim_u55_ew cls; int full; } nr[] = {
		{ SIM_U55_EW_MUL, 1 },		/* MUL nr_x * half_denominator */
		{ SIM_U55_EW_ADDSUB, 0 },	/* SUB F2_one - x */
		{ SIM_U55_EW_MUL, 1 },		/* MUL nr_x * x */
		{ SIM_U55_EW_MUL, 0 },		/* MUL x * 4 */
		{ SIM_U55_EW_ADDSUB, 1 },	/* ADD nr_x + x */
	};

	rows_of(l, channels, &H, &W, &C);
	/* PASS 0: depthwise max pool of [1, H*W, C, 1] with a 1 x C kernel
	 * (create_depthwise_maxpool); the reshaped view is NHWC (assumed) */
	memset(&op, 0, sizeof op);
	op.kind = SIM_U55_POOL;
	op.pool_max = 1;
	op.kh = 1;
	op.kw = C;
	op.stride = 1;
	set_shape(&op, H * W, C, 1, H * W, 1, 1);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	/* PASS 1: SUB x - max (broadcast, read at full size) to int32, exp
	 * LUT */
	op = ew(H, W, C, 8, 32, SIM_U55_EW_ADDSUB, 1, 0, SIM_U55_ACT_LUT);
	op.ifm_nhcwb16 = l->inputs[0] != -1;
	if ((rc = add_op(lw, &op, 1, 1)) != 0)
		return rc;
	/* PASS 2: SHR by 12 */
	op = ew(H, W, C, 32, 32, SIM_U55_EW_OTHER, 1, 1, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	/* PASS 3: REDUCE_SUM over C */
	memset(&op, 0, sizeof op);
	op.kind = SIM_U55_REDUCE_SUM;
	op.kh = op.kw = op.stride = 1;
	set_shape(&op, H, W, C, H, W, 1);
	op.ifm_bits = op.ofm_bits = 32;
	op.ifm_nhcwb16 = op.ofm_nhcwb16 = 1;
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	/* PASS 4: CLZ (unary) */
	op = ew(H, W, 1, 32, 32, SIM_U55_EW_OTHER, 0, 0, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	for (i = 0; i < (int)(sizeof rowops / sizeof rowops[0]); i++) {
		op = ew(H, W, 1, 32, 32, rowops[i].cls, 1, !rowops[i].full,
		    SIM_U55_ACT_NONE);
		if ((rc = add_op(lw, &op, 1, 0)) != 0)
			return rc;
	}
	/* PASSES 13-27: three Newton-Raphson steps */
	for (int step = 0; step < 3; step++)
		for (i = 0; i < (int)(sizeof nr / sizeof nr[0]); i++) {
			op = ew(H, W, 1, 32, 32, nr[i].cls, 1, !nr[i].full,
			    SIM_U55_ACT_NONE);
			if ((rc = add_op(lw, &op, 1, 0)) != 0)
				return rc;
		}
	/* PASS 28: MUL x * 2 */
	op = ew(H, W, 1, 32, 32, SIM_U55_EW_MUL, 1, 1, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	/* PASS 29: MUL exp * scale factor (broadcast) */
	op = ew(H, W, C, 32, 32, SIM_U55_EW_MUL, 1, 0, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	/* PASS 30: SHR by the row's shift, to int8 */
	op = ew(H, W, C, 32, 8, SIM_U55_EW_OTHER, 1, 0, SIM_U55_ACT_NONE);
	op.ofm_nhcwb16 = !l->is_output;
	return add_op(lw, &op, 1, 0);
}

/* MEAN over the channels: a 1 x C depthwise conv of [1, H*W, C, 1]. */
static int
add_mean(lower *lw, int H, int W, int C)
{
	sim_u55_op op;

	memset(&op, 0, sizeof op);
	op.kind = SIM_U55_DEPTHWISE;
	op.kh = 1;
	op.kw = C;
	op.stride = 1;
	set_shape(&op, H * W, C, 1, H * W, 1, 1);
	return add_op(lw, &op, 1, 0);
}

static int
lower_layernorm(lower *lw, int channels)
{
	const sim_layer *l = lw->l;
	int H, W, C, rc;
	sim_u55_op op;

	rows_of(l, channels, &H, &W, &C);
	if ((rc = add_mean(lw, H, W, C)) != 0)		/* mean */
		return rc;
	/* SQUARED_DIFFERENCE(x, mean): SUB to int32, then MUL (x)^2 to int8 */
	op = ew(H, W, C, 8, 32, SIM_U55_EW_ADDSUB, 1, 0, SIM_U55_ACT_NONE);
	op.ifm_nhcwb16 = l->inputs[0] != -1;
	if ((rc = add_op(lw, &op, 1, 1)) != 0)
		return rc;
	op = ew(H, W, C, 32, 8, SIM_U55_EW_MUL, 1, 0, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	if ((rc = add_mean(lw, H, W, C)) != 0)		/* variance */
		return rc;
	/* ADD epsilon (scalar), RSQRT as a LUT, on the row tensor */
	op = ew(H, W, 1, 8, 8, SIM_U55_EW_ADDSUB, 1, 1, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	op = ew(H, W, 1, 8, 8, SIM_U55_EW_OTHER, 0, 0, SIM_U55_ACT_LUT);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	/* SUB x - mean, MUL by rsqrt (broadcast), MUL gamma, ADD beta
	 * ([1, 1, C] constants, read at full size) */
	op = ew(H, W, C, 8, 8, SIM_U55_EW_ADDSUB, 1, 0, SIM_U55_ACT_NONE);
	op.ifm_nhcwb16 = l->inputs[0] != -1;
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	op = ew(H, W, C, 8, 8, SIM_U55_EW_MUL, 1, 0, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	op = ew(H, W, C, 8, 8, SIM_U55_EW_MUL, 1, 0, SIM_U55_ACT_NONE);
	if ((rc = add_op(lw, &op, 1, 0)) != 0)
		return rc;
	op = ew(H, W, C, 8, 8, SIM_U55_EW_ADDSUB, 1, 0, SIM_U55_ACT_NONE);
	op.ofm_nhcwb16 = !l->is_output;
	return add_op(lw, &op, 1, 0);
}

int
sim_npu_plan(const sim_profile *p, const sim_layer *l, int channels,
    sim_npu_work *w, h4h_err *err)
{
	lower lw;
	sim_u55_op op;
	int runs = 1, rc;

	memset(w, 0, sizeof *w);
	w->channels = channels;
	if (channels <= 0)
		return 0;
	memset(&lw, 0, sizeof lw);
	lw.p = p;
	lw.l = l;
	lw.w = w;
	lw.err = err;
	lw.kind = kind_of(l);
	lw.matmul = l->op == SIM_OP_MATMUL;
	sim_npu_mem(p, &lw.mem);
	memset(&op, 0, sizeof op);
	op.kh = op.kw = 1;
	op.stride = 1;
	op.act = u55_act(l->act);
	/* Vela keeps a network's own input and output NHWC and lays out the
	 * tensors between its layers in 16-deep bricks (NHCWB16), which read
	 * and write at full burst efficiency. */
	op.ifm_nhcwb16 = l->inputs[0] != -1;
	op.ofm_nhcwb16 = !l->is_output;
	switch (l->op) {
	case SIM_OP_CONV:
		op.kind = SIM_U55_CONV;
		op.kh = l->kh;
		op.kw = l->kw;
		op.stride = l->stride;
		runs = l->groups;
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
		/* one FULLY_CONNECTED per head, each its own operator */
		op.kind = SIM_U55_FC;
		runs = l->heads;
		set_shape(&op, l->mm_m, 1, l->mm_k, l->mm_m, 1, l->mm_n);
		break;
	case SIM_OP_SOFTMAX:
		rc = lower_softmax(&lw, channels);
		goto done;
	case SIM_OP_LAYERNORM:
		rc = lower_layernorm(&lw, channels);
		goto done;
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
	rc = add_op(&lw, &op, runs, 1);
done:
	if (rc != 0)
		return rc;
	/* Weights over the weight port come from system memory behind the
	 * link; flash reads cost npu.e_flash_byte_pj; DMA'd weights are
	 * written into SRAM once and read back per block. */
	w->dyn_energy_j = ((double)w->macs * p->npu.e_mac_pj +
	    w->shram_bytes * p->npu.e_shram_byte_pj +
	    (w->weight_port_bytes + w->sram_weight_bytes) * (p->noc.e_byte_pj +
	    p->noc.e_sram_byte_pj) + w->flash_bytes * p->npu.e_flash_byte_pj +
	    w->dma_bytes * p->noc.e_sram_byte_pj) * 1e-12;
	return 0;
}

/* Blocks in flight at once (IFM double buffer, accumulators, output stage)
 * stay below this; times are kept in rings indexed by block number. */
#define RING 8
#define UNKNOWN UINT64_MAX

/* A private port (weights at SRAM speed, or the flash) needs no events: it
 * has one master, so a transfer's arrival follows from its next idle time. */
typedef struct port {
	sim_noc_cfg cfg;
	uint64_t free;
} port;

struct sim_npu {
	sim_npu_cfg cfg;
	sim_noc *noc;
	port wport;		/* sram_only weight port (AXI M1) */
	port flash;		/* shared_sram weight flash (AXI1) */
	h4h_timer *mac_timer, *out_timer;

	const sim_npu_work *w;
	const sim_npu_op *o;	/* the operator running */
	int op, run;
	struct sim_trace *trace;
	const char *name;
	uint64_t t0;
	void (*done)(void *);
	void *done_ctx;

	long long ifm_requested, ifm_known;
	long long mac_started, mac_done;
	long long out_started, out_done;
	uint64_t ifm_avail[RING], w_avail[RING], bias_avail[RING];
	int dma_requested;
	uint64_t dma_first, dma_all;	/* slice 0 and every slice in SRAM */
	int setting_up;		/* the operator's set-up time runs */
	int mac_running, mac_armed;
	int out_running, out_armed;
	uint64_t out_write_avail;
	uint64_t mac_t0, out_t0;
	uint64_t busy_ps;
};

static void advance(sim_npu *npu);
static void begin_run(sim_npu *npu);

static uint64_t
cycles_ps(const sim_npu_cfg *cfg, double cycles)
{
	return sim_device_cycles_ps(cfg->clock_mhz, cycles);
}

static uint64_t
max3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a > b ? a : b;

	return m > c ? m : c;
}

static uint64_t
port_read(port *pt, double bytes)
{
	uint64_t now = h4h_kernel_now_ps();
	uint64_t start = pt->free > now ? pt->free : now;

	if (bytes <= 0)
		return now;
	pt->free = start + sim_noc_occupancy_ps(&pt->cfg, bytes);
	return pt->free + sim_noc_latency_ps(&pt->cfg);
}

/* The share of block b's channels in the last DMA slice: blocks are taken
 * to cover the depth in order, in equal shares. */
static double
last_slice_share(const sim_npu_op *o, long long b)
{
	double per = (double)o->depth / (double)o->n_blocks;
	double start = o->dma_slices > 1 ? (double)(o->dma_first_depth +
	    (long long)(o->dma_slices - 2) * o->dma_step_depth) : 0;
	double f = ((double)(b + 1) * per - start) / per;

	return f < 0 ? 0 : f > 1 ? 1 : f;
}

static double
slice_bytes(const sim_npu_op *o, int s)
{
	if (s == 0)
		return o->dma_first_bytes;
	return s == o->dma_slices - 1 ? o->dma_last_bytes : o->dma_step_bytes;
}

/* The weight DMA of an operator: all slices queue on the flash port when
 * it starts, back to back.  As in Vela's estimate (npu_performance.py,
 * double-buffered case), the first block waits for the first slice, and
 * the work on the last slice's channels for the whole stream; the middle
 * slices are taken as hidden under the compute, and a full buffer never
 * holds the DMA back (u55-model.md has the formula this reproduces). */
static void
request_dma(sim_npu *npu)
{
	const sim_npu_op *o = npu->o;
	uint64_t t = 0;

	for (int s = 0; s < o->dma_slices; s++) {
		t = port_read(&npu->flash, slice_bytes(o, s));
		if (s == 0)
			npu->dma_first = t;
	}
	npu->dma_all = t;
	npu->dma_requested = o->dma_slices;
}

/* Arm the MAC-stage timer once the block's input availability is known:
 * the stage ends when its compute time has passed and its IFM and weights
 * have arrived (both stream in during the stage); a DMA'd weight slice
 * must have arrived before the stage computes. */
static void
arm_mac(sim_npu *npu)
{
	const sim_npu_op *o = npu->o;
	long long b = npu->mac_started - 1;
	uint64_t now = h4h_kernel_now_ps(), end, t0 = npu->mac_t0;
	double share = 0;

	if (!npu->mac_running || npu->mac_armed || npu->ifm_known <= b)
		return;
	if (o->dma != 0) {
		/* A DMA'd slice must be in SRAM before the channels it holds
		 * compute: the first block starts after the first slice, and
		 * a block's share of the last slice after the whole stream. */
		if (b == 0 && npu->dma_first > t0)
			t0 = npu->dma_first;
		share = last_slice_share(o, b);
	}
	end = max3(t0 + cycles_ps(&npu->cfg, o->dpu_cycles),
	    npu->ifm_avail[b % RING], npu->w_avail[b % RING]);
	if (share > 0 && npu->dma_all + cycles_ps(&npu->cfg, share *
	    o->dpu_cycles) > end)
		end = npu->dma_all + cycles_ps(&npu->cfg, share *
		    o->dpu_cycles);
	npu->mac_armed = 1;
	h4h_timer_notify(npu->mac_timer, end > now ? end - now : 0);
}

/* The output stage ends when its time has passed, its scale/bias has
 * arrived and its OFM block has left on the NoC (and, for elementwise ops,
 * which stream, when the block's input has arrived). */
static void
arm_out(sim_npu *npu)
{
	const sim_npu_op *o = npu->o;
	long long b = npu->out_started - 1;
	uint64_t now = h4h_kernel_now_ps(), end;

	if (!npu->out_running || npu->out_armed ||
	    npu->out_write_avail == UNKNOWN)
		return;
	end = max3(npu->out_t0 + cycles_ps(&npu->cfg, o->out_cycles),
	    npu->bias_avail[b % RING], npu->out_write_avail);
	if (o->dpu_cycles == 0) {
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
	if (npu->trace != NULL && npu->o->dpu_cycles > 0)
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
	if (npu->o->dpu_cycles == 0)
		npu->busy_ps += now - npu->out_t0;
	if (npu->trace != NULL)
		sim_trace_span(npu->trace, SIM_TRACK_NPU_OUT, npu->name,
		    npu->out_t0 - npu->t0, now - npu->t0, 0, npu->w->channels);
	if (npu->out_done < npu->o->n_blocks) {
		advance(npu);
		return;
	}
	/* This run has drained: the next run, the next operator, or done. */
	if (++npu->run < npu->o->runs) {
		begin_run(npu);
		return;
	}
	npu->run = 0;
	if (++npu->op < npu->w->n_ops) {
		npu->o = &npu->w->ops[npu->op];
		begin_run(npu);
		return;
	}
	npu->done(npu->done_ctx);
}

static void
request_ifm(sim_npu *npu)
{
	const sim_npu_op *o = npu->o;
	port *wp = o->weight_src == SIM_NPU_W_FLASH ? &npu->flash :
	    &npu->wport;

	/* IFM buffers are double: block b's IFM (on the shared NoC) and its
	 * weights and scale/bias (on the weight port or the flash, in that
	 * order) stream in while block b-1 is in the MAC stage, not
	 * earlier. */
	while (npu->ifm_requested < o->n_blocks &&
	    npu->ifm_requested <= npu->mac_started &&
	    npu->ifm_requested < npu->mac_done + 2) {
		long long b = npu->ifm_requested++;

		npu->w_avail[b % RING] = port_read(wp, o->block_weight_bytes);
		npu->bias_avail[b % RING] = port_read(wp, o->block_bias_bytes);
		/* Told at once: an arrival only arms a stage's timer for
		 * a time it fixes, so the NPU needs no event for it. */
		sim_noc_transfer(npu->noc, 0, o->block_ifm_bytes, 0, 1,
		    on_ifm, npu);
	}
}

static void
advance(sim_npu *npu)
{
	const sim_npu_op *o = npu->o;

	if (o->dma != 0 && npu->dma_requested == 0)
		request_dma(npu);
	request_ifm(npu);
	/* MAC stage: the block's IFM is streaming in; the accumulators are
	 * double-buffered, so block b needs the output stage of b-2 done. */
	if (!npu->mac_running && npu->mac_started < o->n_blocks &&
	    npu->ifm_requested > npu->mac_started &&
	    npu->mac_started < npu->out_done + 2) {
		npu->mac_running = 1;
		npu->mac_armed = 0;
		npu->mac_started++;
		npu->mac_t0 = h4h_kernel_now_ps();
		request_ifm(npu);
	}
	arm_mac(npu);
	/* Output stage: drains block b while b+1 computes; its OFM block
	 * streams out over the NoC as it is produced.  Elementwise ops have no
	 * MAC stage: their output stage streams with the block's input. */
	if (!npu->out_running && npu->out_started <
	    (o->dpu_cycles > 0 ? npu->mac_done : npu->mac_started)) {
		npu->out_running = 1;
		npu->out_armed = 0;
		npu->out_started++;
		npu->out_t0 = h4h_kernel_now_ps();
		npu->out_write_avail = UNKNOWN;
		sim_noc_transfer(npu->noc, 0, o->block_ofm_bytes, 1, 1,
		    on_ofm, npu);
	}
}

/* A run starts on an empty pipeline, after its set-up time (the op
 * overhead knob and any LUT load). */
static void
begin_run(sim_npu *npu)
{
	npu->ifm_requested = npu->ifm_known = 0;
	npu->mac_started = npu->mac_done = 0;
	npu->out_started = npu->out_done = 0;
	npu->mac_running = npu->out_running = 0;
	npu->mac_armed = npu->out_armed = 0;
	npu->dma_requested = 0;
	npu->setting_up = npu->o->setup_cycles > 0;
	if (npu->setting_up)
		h4h_timer_notify(npu->mac_timer, cycles_ps(&npu->cfg,
		    npu->o->setup_cycles));
	else
		advance(npu);
}

sim_npu *
sim_npu_create(const sim_profile *p, sim_noc *noc)
{
	static const h4h_kernel_fn fns[2] = { on_mac_timer, on_out_timer };
	sim_npu *npu = h4h_xcalloc(1, sizeof *npu);
	h4h_timer *t[2];

	npu->wport.cfg = p->noc;
	npu->wport.cfg.bandwidth_gbps = p->npu.weight_bandwidth_gbps;
	npu->wport.cfg.latency_cycles = p->npu.weight_latency_cycles;
	npu->wport.cfg.clock_mhz = p->npu.clock_mhz;
	npu->flash.cfg = p->noc;
	npu->flash.cfg.bandwidth_gbps = p->npu.flash_bandwidth_gbps;
	npu->flash.cfg.latency_cycles = p->npu.flash_latency_cycles;
	npu->flash.cfg.clock_mhz = p->npu.clock_mhz;
	npu->cfg = p->npu;
	npu->noc = noc;
	if (sim_device_timers(t, fns, 2, npu) != 0) {
		free(npu);
		return NULL;
	}
	npu->mac_timer = t[0];
	npu->out_timer = t[1];
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
	npu->wport.free = npu->flash.free = t0_ps;
	npu->busy_ps = 0;
	npu->op = npu->run = 0;
	npu->o = &w->ops[0];
	begin_run(npu);
}

uint64_t
sim_npu_busy_ps(const sim_npu *npu)
{
	return npu->busy_ps;
}
