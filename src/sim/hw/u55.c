/*
 * u55.c - Arm Ethos-U55 per-operator cost model, a C transcription of the
 * int8 path of Arm's Vela 3.10 performance estimator (doc/u55-model.md).
 *
 * Sources, all in ethosu/vela/ of Vela 3.10.0 (NXP mirror of Arm's
 * ethos-u-vela, HEAD a6f66566):
 *   architecture_features.py   per-configuration constants (ARCH below)
 *   architecture_allocator.py  find_block_config, _try_block_config
 *   npu_performance.py         _estimate_conv_cycles, measure_cycle_cost,
 *                              measure_element_access,
 *                              _estimate_memory_transfer_efficiency,
 *                              _estimate_minimum_memory_cycles,
 *                              _estimate_output_cycles_per_element
 *   tflite_graph_optimiser.py  convert_batched_fc_shape
 *
 * Invariants: int8 feature maps and weights with 32-bit accumulators only
 * (Vela's Acc32; the int16/Acc40 constants are deliberately left out, not
 * half-kept).  Tensors are NHWC (graph inputs/outputs of a single-op model,
 * storage quantum 1), batch 1, no dilation, no upscaling, one core.  The
 * block search evaluates the same candidates in the same order with the same
 * double-precision expressions as Vela, because Vela breaks ties between
 * block configurations by exact float comparison; keep the evaluation order
 * of those expressions (and do not build this file with -ffp-contract=fast
 * on an FMA target, which could fuse them).
 *
 * Pure arithmetic: no allocation, no mutable state.
 */
#include "sim/hw/u55.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Vela's NpuBlockType, as far as this model needs it. */
enum { BT_CONV, BT_DW, BT_FC, BT_POOL, BT_EW, BT_RS };

/* Indices into output_cycles_per_elem (_estimate_output_cycles_per_element). */
enum { OUT_EW32_BINARY = 0, OUT_EW32_UNARY = 1, OUT_MUL32 = 2, OUT_MUL = 3,
    OUT_ADDSUB = 5, OUT_MAXPOOL = 6, OUT_OTHER = 7 };
/* Indices into activation_cycles_per_elem. */
enum { ACT_LUT = 0, ACT_RELU = 1, ACT_NONE = 2 };

typedef struct arch {
	int macs;
	int ub_w, ub_h, ub_d;	/* OFM micro-block (accelerator_configs) */
	int banks;		/* SHRAM banks of 1 KiB (shram_banks) */
	int ifm_granule;	/* shram_granules[IFM8] */
	int ifm_ew_granule;	/* shram_granules[IFM8_Elementwise] */
	int acc_granule;	/* shram_granules[Acc32] */
	int ifm32_granule;	/* shram_granules[IFM32], also the elementwise
				 * granule of 32-bit IFMs (ifm_ew_bank_granules) */
	double out_cpe[8];	/* output_cycles_per_elem */
	double act_cpe[3];	/* activation_cycles_per_elem (LUT, ReLU, none) */
} arch;

/*
 * architecture_features.py: ArchitectureFeatures.accelerator_configs and
 * _generate_output_perf_tables.  Granules are the IFM8, IFM8_Elementwise and
 * Acc32 entries of shram_granules, then IFM32.
 */
static const arch ARCH[] = {
	{ 32, 1, 1, 4, 16, 2, 2, 4, 4,
	    { 2.0, 3.0, 3.0, 3.0, 4.0, 6.0, 1.0, 2.0 }, { 1.0, 1.0, 0.0 } },
	{ 64, 1, 1, 8, 16, 2, 2, 4, 4,
	    { 1.0, 1.5, 1.5, 1.5, 2.0, 3.0, 0.5, 1.0 }, { 1.0, 1.0, 0.0 } },
	{ 128, 2, 1, 8, 24, 4, 4, 8, 8,
	    { 0.75, 1.25, 0.75, 0.75, 1.0, 1.5, 0.25, 0.5 }, { 1.0, 0.5, 0.0 } },
	{ 256, 2, 2, 8, 48, 8, 8, 16, 16,
	    { 0.625, 1.125, 0.5, 0.375, 0.5, 0.75, 0.125, 0.25 },
	    { 1.0, 0.25, 0.0 } },
};

/* ArchitectureFeatures: ofm_block_max = Block(64, 32, 128). */
#define BLOCK_MAX_W	64
#define BLOCK_MAX_H	32
#define BLOCK_MAX_D	128
/* ArchitectureFeatures.OFMSplitDepth */
#define SPLIT_DEPTH	16
/* ArchitectureFeatures.SubKernelMax = Block(8, 8, 65536) */
#define SUBKERNEL_MAX	8
/* ifm_ublock.depth, 8 on every U55 configuration (_ifm_blockdepth) */
#define IFM_UBLOCK_D	8
/* SHRAMConfig(reserved_output_banks=2, bank_size_bytes=1024, ...) */
#define SHRAM_OUT_BANKS	2
#define SHRAM_BANK	1024
/* LUT banks when the activation uses a LUT (scheduler._get_block_config),
 * and SHRAMConfig.reserved_end_banks, 2 when shram_banks > 16 */
#define LUT_BANKS	2
#define SHRAM_END_BANKS	2
/* _AccumulatorBits[Acc32] */
#define ACC_BITS	32
/* Weight-feed floor per ublock-z per kernel step: cycles_wb = 32 * ub.D / 8
 * (_estimate_conv_cycles). */
#define CYCLES_WB(ubd)	(32 * (ubd) / 8)
/* Pipeline bubble per kernel step for Acc32 (_estimate_conv_cycles):
 * 3 on U55-32, 2 elsewhere. */
#define DELAY_U55_32	3
#define DELAY_OTHER	2
/* Scale/bias stream: 10 B per OFM channel (weight_compressor.encode_bias:
 * 40-bit bias, 32-bit scale, 6-bit shift, 2 pad bits), also the "10 *" of
 * cycles_bias_blk in _estimate_conv_cycles. */
#define BIAS_BYTES	10
/* storage_rounding_quantums[NHCWB16]: channels are stored in bricks of 16 */
#define BRICK		16
/* Input bounds (assumed, far above any real layer): with them every
 * integer product below fits a long long. */
#define DIM_MAX		65536	/* feature-map height, width, channels */
#define STRIDE_MAX	1024	/* stride; a kernel may span a whole map (the
				 * softmax row max pools 1 x tokens) */
#define MACS_MAX	1e18

/* The op after validation and Vela's FC reshape. */
typedef struct norm {
	int bt;
	int ih, iw, ic;
	int oh, ow, oc;
	int kh, kw, stride;
	int lut;		/* activation needs the LUT banks */
	int cpe_idx, act_idx;
	int binary, scalar2;	/* elementwise IFM2: present, scalar */
	int ibits, obits;	/* element sizes in bits */
	int inhcwb, onhcwb;	/* layouts */
} norm;

typedef struct choice {
	int oh, ow, od;		/* OFM block as Vela reports it (unclamped) */
	int ih, iw, id;		/* IFM block */
	int partkernel;
} choice;

static inline int
imin(int a, int b)
{
	return a < b ? a : b;
}

static inline int
imax(int a, int b)
{
	return a > b ? a : b;
}

static inline long long
cdiv(long long a, long long b)
{
	return (a + b - 1) / b;
}

static inline long long
rup(long long a, long long b)
{
	return cdiv(a, b) * b;
}

/* _choose_kernel_method for int8: part-kernel when it wastes less of the
 * 8-deep dot product and 4-step kernel groups than depth-first wastes of the
 * 32-deep IFM slice. */
static int
choose_partkernel(int ic, int k)
{
	double depth_util, part_util;

	if (ic <= 8)
		return 1;
	depth_util = (double)ic / (double)rup(ic, 32);
	part_util = (double)((long long)ic * k) /
	    (double)(rup(ic, 8) * rup(k, 4));
	return part_util > depth_util;
}

/* Candidate block rows and columns, precomputed once per op. */
typedef struct axis {
	int b;			/* OFM block extent tried */
	int fit;		/* extent after fit_block_for_ofm */
	int ifm;		/* IFM block extent feeding it */
	long long full;		/* ceil(OFM / fit) */
	double frac;		/* OFM / fit, as Vela's Shape4D division */
} axis;

/* round_up to a granule; every Acc32/IFM8 granule is a power of two */
static inline long long
rup_pow2(long long a, int g)
{
	return (a + g - 1) & ~(long long)(g - 1);
}

static int
axis_fill(axis *ax, int ub, int ss, int ofm, int k8, int stride, int clamp)
{
	int i, b;

	for (i = 0, b = ub; b <= ss; b += ub, i++) {
		ax[i].b = b;
		ax[i].fit = clamp ? imin(b, ofm) : b;
		/* _get_ifm_blocksize, no upscaling */
		ax[i].ifm = (int)rup((long long)(b - 1) * stride + k8, ub);
		ax[i].full = cdiv(ofm, ax[i].fit);
		ax[i].frac = (double)ofm / (double)ax[i].fit;
	}
	return i;
}

/*
 * find_block_config: smallest IFM+weight refetch per OFM element among the
 * OFM blocks whose double-buffered IFM and accumulator buffers fit SHRAM.
 *
 * Two shortcuts keep it fast without changing the result (checked against a
 * literal transcription on 300k random ops).  SHRAM use grows with the block
 * width and height, so once a width does not fit, no wider block in that row
 * does: the row stops, and its first failing width stands for Vela's wont_fit
 * marks (which only matter for widths above the row's height, never skipped,
 * so all evaluated).  A row whose narrowest block does not fit ends the
 * depth.
 */
static int
find_block(const arch *a, const norm *n, choice *c)
{
	const int is_ew = n->bt == BT_EW;
	const int is_dw = n->bt == BT_DW;
	const int is_conv = n->bt == BT_CONV || is_dw;
	const int equal_depth = is_ew || is_dw || n->bt == BT_POOL;
	/* ifm_bank_granules / ifm_ew_bank_granules: IFM32 for 32-bit IFMs */
	const int ifm_gran = n->ibits == 32 ? a->ifm32_granule : is_ew ?
	    a->ifm_ew_granule : a->ifm_granule;
	/* ElementwiseUsage: Full needs an IFM2 buffer as large as IFM's,
	 * Scalar none */
	const int ew_bufs = n->scalar2 ? 1 : 2;
	const int acc_gran = a->acc_granule;
	const int lut = imax(n->lut ? LUT_BANKS : 0,
	    a->banks > 16 ? SHRAM_END_BANKS : 0);
	const int lut_start = a->banks - lut;
	const long long repeats = cdiv(n->kw, SUBKERNEL_MAX) *
	    cdiv(n->kh, SUBKERNEL_MAX);
	const int ss_h = (int)rup(imin(n->oh, BLOCK_MAX_H), a->ub_h);
	const int ss_w = (int)rup(imin(n->ow, BLOCK_MAX_W), a->ub_w);
	const int ss_d = (int)rup(imin(n->oc, BLOCK_MAX_D), a->ub_d);
	/* fit_block_for_ofm: 256/512 Conv1D optimisation */
	const int clamp1d = n->oh == 1 && n->kh == 1 && a->ub_h == 2;
	const long long ofm_elems = (long long)n->oh * n->ow * n->oc;
	const long long ifm_elems = (long long)n->ih * n->iw * n->ic;
	const long long ifm_wh = (long long)n->ih * n->iw;
	const long long wfetch_c = is_conv ?
	    (long long)n->kh * n->kw * n->ic : 0;
	const long long ifm_c_rep = (long long)n->ic * repeats;
	const double ofm_elems_d = (double)ofm_elems;
	axis hs[BLOCK_MAX_H], ws[BLOCK_MAX_W];
	int nh, nw, partkernel, ibd_conv, depth;
	int firstfail[BLOCK_MAX_H + 1];
	double best_cost = INFINITY, best_cov = INFINITY;

	partkernel = is_conv && choose_partkernel(n->ic, n->kh * n->kw);
	/* _ifm_blockdepth, int8 */
	ibd_conv = (int)rup(imin(n->ic, partkernel ? 16 : 32), IFM_UBLOCK_D);
	c->partkernel = n->bt == BT_CONV && partkernel;

	nh = axis_fill(hs, a->ub_h, ss_h, n->oh, imin(n->kh, SUBKERNEL_MAX),
	    n->stride, clamp1d);
	nw = axis_fill(ws, a->ub_w, ss_w, n->ow, imin(n->kw, SUBKERNEL_MAX),
	    n->stride, 0);

	depth = imax(a->ub_d, imin(ss_d, SPLIT_DEPTH));
	if (depth < n->oc)
		depth = (int)rup(depth, SPLIT_DEPTH);
	for (; depth <= ss_d;) {
		const int ibd = equal_depth ? depth : ibd_conv;
		const long long ibd_bytes = rup((long long)ibd * n->ibits / 8,
		    8);
		const long long acc_px = rup(depth, 8) * ACC_BITS / 8;
		const long long full_d = cdiv(n->oc, depth);
		const double wd = (double)depth * ((double)n->oc /
		    (double)depth);
		int j;

		for (j = 0; j < nh; j++) {
			const axis *hy = &hs[j];
			const int h = hy->b;
			const long long ifm_px_h = (long long)hy->ifm * ibd_bytes;
			const long long acc_px_h = (long long)hy->fit * acc_px;
			int i;

			firstfail[h] = INT_MAX;
			for (i = 0; i < nw; i++) {
				const axis *wx = &ws[i];
				const int w = wx->b;
				long long ifm_banks, acc_banks;
				double ifm_fetch, weight_fetch, cost;

				/* _try_block_config */
				ifm_banks = rup_pow2(((ifm_px_h * wx->ifm +
				    SHRAM_BANK - 1) / SHRAM_BANK) * 2,
				    ifm_gran);
				if (is_ew) {
					/* IFM2 takes as much as IFM */
					if (SHRAM_OUT_BANKS + ew_bufs *
					    ifm_banks > lut_start) {
						firstfail[h] = w;
						break;
					}
				} else {
					acc_banks = rup_pow2(((acc_px_h *
					    wx->fit + SHRAM_BANK - 1) /
					    SHRAM_BANK) * 2, acc_gran);
					if (SHRAM_OUT_BANKS + ifm_banks >
					    lut_start - acc_banks) {
						firstfail[h] = w;
						break;
					}
				}
				/* wont_fit: Vela skips a block whose transpose
				 * was tried earlier and failed; that transpose
				 * existed only if h is a width it tries */
				if (w < h && (h & (a->ub_w - 1)) == 0 && h <= ss_w &&
				    h >= firstfail[w])
					continue;

				/* the evaluation order below is Vela's */
				if (is_ew) {
					cost = ofm_elems_d /
					    (double)((long long)h * w * depth);
					if (cost < 1)
						cost = 1;
				} else {
					ifm_fetch = (double)((long long)
					    wx->ifm * hy->ifm * ifm_c_rep) *
					    (wx->frac * hy->frac);
					if (!equal_depth)
						ifm_fetch *= (double)full_d;
					weight_fetch = (double)wfetch_c *
					    (double)(wx->full * hy->full);
					if (!is_dw)
						weight_fetch *= wd;
					cost = (ifm_fetch + weight_fetch) /
					    ofm_elems_d;
				}
				/* whole IFM fits both buffers: bias to it */
				if (ifm_elems < (long long)hy->ifm * wx->ifm *
				    ibd * 2)
					cost = cost / 2;

				if (cost > best_cost)
					continue;
				if (cost == best_cost) {
					/* coverage, only for small blocks */
					double cov;

					if (h > 4 || w > 4)
						continue;
					cov = (double)ifm_wh / (double)((long
					    long)imin(n->ih, hy->ifm) *
					    imin(n->iw, wx->ifm));
					if (cov > best_cov)
						continue;
					best_cov = cov;
				} else
					best_cov = INFINITY;
				best_cost = cost;
				c->oh = h;
				c->ow = w;
				c->od = depth;
				c->ih = hy->ifm;
				c->iw = wx->ifm;
				c->id = ibd;
			}
			if (firstfail[h] == a->ub_w)
				break;	/* taller rows cannot fit either */
		}
		depth += a->ub_d;
		if (depth < n->oc)
			depth = (int)rup(depth, SPLIT_DEPTH);
	}
	return best_cost != INFINITY;
}

/*
 * _estimate_memory_transfer_efficiency: in NHWC the burst is the block depth
 * (the whole block row only when the C stride, bits / 8 bytes, equals the
 * block depth); in NHCWB16 it is 16 elements per block column.  Capped by
 * the memory's burst length.  Returns the factor bytes are scaled by.
 */
static double
burst_scale(int is_read, int nhcwb16, int bits, int block_d, int block_w,
    int burst_mem)
{
	const int c_stride_is_depth = bits / 8 == block_d;
	long long b, bytes;

	if (nhcwb16)	/* 16-deep bricks: read 16*bits*W, write x ncores (1) */
		b = 16LL * bits * block_w;
	else if (is_read)
		b = c_stride_is_depth ? (long long)bits * block_d * block_w :
		    (long long)bits * block_d;
	else if (block_d <= 16 && c_stride_is_depth)
		b = (long long)bits * block_d * block_w;
	else {
		/* min(64 * 8, 16 * element_bits * ncores, depth * bits) */
		b = 64 * 8;
		if (16LL * bits < b)
			b = 16LL * bits;
		if ((long long)block_d * bits < b)
			b = (long long)block_d * bits;
	}
	bytes = b / 8;
	if (bytes > burst_mem)
		bytes = burst_mem;
	return (double)burst_mem / (double)bytes;
}

static int
validate(int macs, const sim_u55_mem *mem, const sim_u55_op *op,
    const arch **ap, norm *n, h4h_err *err)
{
	static const struct { const char *name; size_t off; } dims[] = {
		{ "ifm_h", offsetof(sim_u55_op, ifm_h) },
		{ "ifm_w", offsetof(sim_u55_op, ifm_w) },
		{ "ifm_c", offsetof(sim_u55_op, ifm_c) },
		{ "ofm_h", offsetof(sim_u55_op, ofm_h) },
		{ "ofm_w", offsetof(sim_u55_op, ofm_w) },
		{ "ofm_c", offsetof(sim_u55_op, ofm_c) },
		{ "kh", offsetof(sim_u55_op, kh) },
		{ "kw", offsetof(sim_u55_op, kw) },
		{ "stride", offsetof(sim_u55_op, stride) },
	};
	/* FC, elementwise and ReduceSum have no kernel: kh, kw, stride are
	 * ignored */
	const size_t ndims = op->kind == SIM_U55_FC ||
	    op->kind == SIM_U55_ELEMENTWISE || op->kind == SIM_U55_REDUCE_SUM ?
	    6 : 9;
	size_t i;
	long long rows;

	switch (macs) {
	case 32: *ap = &ARCH[0]; break;
	case 64: *ap = &ARCH[1]; break;
	case 128: *ap = &ARCH[2]; break;
	case 256: *ap = &ARCH[3]; break;
	default:
		return h4h_errf(err, H4H_EINPUT,
		    "u55: macs must be 32, 64, 128 or 256 (got %d)", macs);
	}
	if (!(mem->bytes_per_cycle > 0))
		return h4h_errf(err, H4H_EINPUT,
		    "u55: bytes_per_cycle must be > 0 (got %g)",
		    mem->bytes_per_cycle);
	if (mem->burst_bytes <= 0)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: burst_bytes must be > 0 (got %d)", mem->burst_bytes);
	if (mem->read_latency < 0 || mem->write_latency < 0)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: memory latency must be >= 0 (got %d/%d)",
		    mem->read_latency, mem->write_latency);
	for (i = 0; i < ndims; i++) {
		int v = *(const int *)(const void *)((const char *)op +
		    dims[i].off);
		int max = i < 8 ? DIM_MAX : STRIDE_MAX;

		if (v <= 0 || v > max)
			return h4h_errf(err, H4H_EINPUT,
			    "u55: %s must be in 1..%d (got %d)", dims[i].name,
			    max, v);
	}
	if ((unsigned)op->act > SIM_U55_ACT_LUT)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: unknown activation %d", (int)op->act);
	if ((unsigned)op->ew > SIM_U55_EW_OTHER)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: unknown elementwise class %d", (int)op->ew);
	n->ibits = op->ifm_bits == 0 ? 8 : op->ifm_bits;
	n->obits = op->ofm_bits == 0 ? 8 : op->ofm_bits;
	if ((n->ibits != 8 && n->ibits != 32) ||
	    (n->obits != 8 && n->obits != 32))
		return h4h_errf(err, H4H_EINPUT,
		    "u55: element sizes must be 8 or 32 bits (got %d/%d)",
		    n->ibits, n->obits);
	if (n->ibits == 32 && op->kind != SIM_U55_ELEMENTWISE &&
	    op->kind != SIM_U55_REDUCE_SUM)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: 32-bit inputs only for elementwise and reduce-sum "
		    "ops");
	if (mem->weights_in_flash && !(mem->flash_bytes_per_cycle > 0))
		return h4h_errf(err, H4H_EINPUT,
		    "u55: flash bytes_per_cycle must be > 0 (got %g)",
		    mem->flash_bytes_per_cycle);
	if (mem->flash_latency < 0 || mem->weight_bytes_per_weight < 0)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: flash latency and weight encoding must be >= 0");
	n->inhcwb = op->ifm_nhcwb16 != 0;
	n->onhcwb = op->ofm_nhcwb16 != 0;

	n->ih = op->ifm_h;
	n->iw = op->ifm_w;
	n->ic = op->ifm_c;
	n->oh = op->ofm_h;
	n->ow = op->ofm_w;
	n->oc = op->ofm_c;
	n->kh = op->kh;
	n->kw = op->kw;
	n->stride = op->stride;
	n->binary = 0;
	n->lut = op->act == SIM_U55_ACT_LUT;
	n->act_idx = op->act == SIM_U55_ACT_LUT ? ACT_LUT :
	    op->act == SIM_U55_ACT_RELU ? ACT_RELU : ACT_NONE;
	n->cpe_idx = OUT_OTHER;

	switch (op->kind) {
	case SIM_U55_CONV:
	case SIM_U55_DEPTHWISE:
	case SIM_U55_POOL:
		n->bt = op->kind == SIM_U55_CONV ? BT_CONV :
		    op->kind == SIM_U55_DEPTHWISE ? BT_DW : BT_POOL;
		/* SAME padding gives the most outputs a stride allows */
		if (n->oh > cdiv(n->ih, n->stride) ||
		    n->ow > cdiv(n->iw, n->stride))
			return h4h_errf(err, H4H_EINPUT,
			    "u55: ofm %dx%d too large for ifm %dx%d at "
			    "stride %d", n->oh, n->ow, n->ih, n->iw,
			    n->stride);
		if (n->bt != BT_CONV && n->oc != n->ic)
			return h4h_errf(err, H4H_EINPUT,
			    "u55: ofm_c must equal ifm_c %d for depthwise "
			    "and pooling (got %d)", n->ic, n->oc);
		if (n->bt == BT_POOL && op->pool_max)
			n->cpe_idx = OUT_MAXPOOL;
		break;
	case SIM_U55_FC:
		n->bt = BT_FC;
		rows = (long long)op->ifm_h * op->ifm_w;
		if (rows != (long long)op->ofm_h * op->ofm_w)
			return h4h_errf(err, H4H_EINPUT,
			    "u55: fc ofm rows %lld must equal ifm rows %lld",
			    (long long)op->ofm_h * op->ofm_w, rows);
		if (rows > DIM_MAX)
			return h4h_errf(err, H4H_EINPUT,
			    "u55: fc rows must be <= %d (got %lld)", DIM_MAX,
			    rows);
		/* convert_batched_fc_shape: rows 4 -> 2x2, 8 -> 2x4,
		 * 16 -> 4x4, else 1xN */
		n->ih = rows == 4 || rows == 8 ? 2 : rows == 16 ? 4 : 1;
		n->iw = (int)(rows / n->ih);
		n->oh = n->ih;
		n->ow = n->iw;
		n->kh = n->kw = n->stride = 1;
		break;
	case SIM_U55_ELEMENTWISE:
		n->bt = BT_EW;
		if (n->oh != n->ih || n->ow != n->iw || n->oc != n->ic)
			return h4h_errf(err, H4H_EINPUT,
			    "u55: elementwise ofm %dx%dx%d must equal ifm "
			    "%dx%dx%d", n->oh, n->ow, n->oc, n->ih, n->iw,
			    n->ic);
		n->kh = n->kw = n->stride = 1;
		n->binary = op->binary != 0 || op->ifm2_scalar != 0;
		n->scalar2 = op->ifm2_scalar != 0;
		/* _estimate_output_cycles_per_element: a 32-bit IFM decides
		 * first, then MUL, then ADD/SUB ("advanced" add, what Vela
		 * uses); AUTO makes a binary op an ADD and a unary one
		 * "everything else" */
		if (n->ibits == 32)
			n->cpe_idx = n->binary ? OUT_EW32_BINARY :
			    OUT_EW32_UNARY;
		else if (op->ew == SIM_U55_EW_MUL)
			n->cpe_idx = n->obits == 32 ? OUT_MUL32 : OUT_MUL;
		else if (op->ew == SIM_U55_EW_ADDSUB ||
		    (op->ew == SIM_U55_EW_AUTO && n->binary))
			n->cpe_idx = OUT_ADDSUB;
		else
			n->cpe_idx = OUT_OTHER;
		break;
	case SIM_U55_REDUCE_SUM:
		n->bt = BT_RS;
		if (n->oh != n->ih || n->ow != n->iw || n->oc != 1)
			return h4h_errf(err, H4H_EINPUT,
			    "u55: reduce-sum ofm must be %dx%dx1 (got "
			    "%dx%dx%d)", n->ih, n->iw, n->oh, n->ow, n->oc);
		n->kh = n->kw = n->stride = 1;
		break;
	default:
		return h4h_errf(err, H4H_EINPUT, "u55: unknown op kind %d",
		    (int)op->kind);
	}
	if ((double)n->oh * n->ow * n->oc * n->ic * n->kh * n->kw > MACS_MAX)
		return h4h_errf(err, H4H_EINPUT,
		    "u55: op too large (%dx%dx%d -> %dx%dx%d, kernel %dx%d)",
		    n->ih, n->iw, n->ic, n->oh, n->ow, n->oc, n->kh, n->kw);
	return 0;
}

/* _estimate_conv_cycles up to (not including) the output stage: MAC-stage
 * cycles of one OFM block. */
static double
dpu_cycles(const arch *a, const norm *n, int partkernel, int ub_w, int ub_h,
    int ob_h, int ob_w, int ob_d, int ib_d)
{
	const int sk_max = n->bt == BT_FC ? 1 : SUBKERNEL_MAX;
	const long long nx = cdiv(ob_w, ub_w), ny = cdiv(ob_h, ub_h);
	const long long nxy = nx * ny, nz = cdiv(ob_d, a->ub_d);
	const long long cwb = CYCLES_WB(a->ub_d);
	const long long xy4 = 4 * nxy;
	const long long ibd8 = cdiv(ib_d, 8);
	const int delay = a->macs == 32 ? DELAY_U55_32 : DELAY_OTHER;
	long long total = 0;
	int y, x;

	for (y = 0; y < n->kh; y += sk_max) {
		for (x = 0; x < n->kw; x += sk_max) {
			const long long e = (long long)imin(n->kh - y,
			    sk_max) * imin(n->kw - x, sk_max);
			long long steps, cyc, dly = 0;

			switch (n->bt) {
			case BT_POOL:
				steps = 1;
				cyc = (e > 4 ? e : 4) * nxy * nz;
				break;
			case BT_DW:
				steps = cdiv(e, 4);
				cyc = (cwb > xy4 ? cwb : xy4) * steps * nz;
				break;
			default:
				if (n->bt == BT_CONV && partkernel) {
					steps = cdiv(e, 4);
					cyc = (cwb > xy4 ? cwb : xy4) *
					    (steps * ibd8 * nz);
				} else {
					steps = e;
					cyc = (cwb > xy4 ? cwb : xy4) * steps *
					    nz;
				}
				break;
			}
			/* pipeline bubbles when the block is one ublock in
			 * xy */
			if (nx == 1 && ny == 1) {
				if (nz == 1)
					dly = delay * steps;
				else if (steps > 1)
					dly = delay * (steps - 1) * nz;
			}
			if (n->bt == BT_CONV && partkernel)
				dly *= ibd8;
			total += cyc + dly;
		}
	}
	if (n->bt == BT_CONV || n->bt == BT_FC || n->bt == BT_RS)
		total *= cdiv(n->ic, ib_d);	/* IFM-depth slices */
	return (double)total;	/* / ncores, 1 on U55 */
}

/*
 * measure_cycle_cost and measure_element_access for block choice c.  n->oc
 * may be a weight slice's depth (the scheduler's estimate_op_performance);
 * bias_latency is the read latency of the memory the scale/bias stream comes
 * from.
 */
static void
compute(const arch *a, const norm *n, const choice *c, const sim_u55_mem *mem,
    int bias_latency, sim_u55_plan *out)
{
	const int ibytes = n->ibits / 8, obytes = n->obits / 8;
	/* storage_rounding_quantums: NHCWB16 stores channels in bricks */
	const long long ic_store = n->inhcwb ? rup(n->ic, BRICK) : n->ic;
	const long long oc_store = n->onhcwb ? rup(n->oc, BRICK) : n->oc;
	int ib_h, ib_w, ib_d, ob_h, ob_w, ob_d;
	long long ofm_elems, ofm_store, ifm_blk_elems, ofm_blk_elems;
	double cpe, ifm_blk_mem, ofm_blk_mem, rscale, wscale;

	/* Blocks clamped to the tensors (Shape4D.min in the estimator) */
	ib_h = imin(n->ih, c->ih);
	ib_w = imin(n->iw, c->iw);
	ib_d = imin(n->ic, c->id);
	ob_h = imin(n->oh, c->oh);
	ob_w = imin(n->ow, c->ow);
	ob_d = imin(n->oc, c->od);
	ofm_elems = (long long)n->oh * n->ow * n->oc;
	ofm_store = (long long)n->oh * n->ow * oc_store;

	/* _estimate_minimum_memory_cycles: the burst follows the unclamped
	 * config blocks; Vela counts the blocks' elements, not bytes. */
	rscale = burst_scale(1, n->inhcwb, n->ibits, c->id, c->iw,
	    mem->burst_bytes);
	wscale = burst_scale(0, n->onhcwb, n->obits, c->od, c->ow,
	    mem->burst_bytes);
	ifm_blk_elems = (long long)ib_h * ib_w * ib_d;
	ofm_blk_elems = (long long)ob_h * ob_w * ob_d;
	ifm_blk_mem = mem->read_latency +
	    (double)ifm_blk_elems * rscale / mem->bytes_per_cycle;
	ofm_blk_mem = mem->write_latency +
	    (double)ofm_blk_elems * wscale / mem->bytes_per_cycle;

	cpe = a->out_cpe[n->cpe_idx];
	if (a->act_cpe[n->act_idx] > cpe)
		cpe = a->act_cpe[n->act_idx];

	if (n->bt == BT_EW) {
		/* measure_cycle_cost: elementwise is output-stage bound, with
		 * the command overhead spread over the config block */
		const double nblk = (double)((long long)c->oh * c->ow * c->od);
		double cmd = ifm_blk_mem + ofm_blk_mem;
		double cyc;

		cmd = (cmd + cpe * nblk) / 4;	/* "/ 4  # per DPU" */
		if (cmd / nblk > cpe)
			cpe = cmd / nblk;
		cyc = ceil(cpe * (double)ofm_store);
		out->n_blocks = cdiv(n->oh, ob_h) * cdiv(n->ow, ob_w) *
		    cdiv(n->oc, ob_d);
		/* no MAC stage; the output stage carries the op evenly */
		out->dpu_block_cycles = 0;
		out->out_block_cycles = cyc / (double)out->n_blocks;
		out->op_cycles = cyc;
		out->macs = 0;
	} else {
		int ub_w = a->ub_w, ub_h = a->ub_h, blk_h = ob_h;
		double dpu, outb, cmd, total;

		/* 1-D optimisation on 2-high ublocks: ublock 4 W x 1 H
		 * (_estimate_conv_cycles: conv, depthwise and fc) */
		if (a->ub_h == 2 && n->bt != BT_POOL && n->bt != BT_RS &&
		    n->oh == 1 && n->ow % 2 == 0 && n->kh == 1) {
			ub_w = 4;
			ub_h = 1;
			blk_h = 1;
		}
		dpu = dpu_cycles(a, n, c->partkernel, ub_w, ub_h, blk_h, ob_w,
		    ob_d, ib_d);
		out->n_blocks = cdiv(n->oh, blk_h) * cdiv(n->ow, ob_w) *
		    cdiv(n->oc, ob_d);
		outb = ceil(cpe * (double)((long long)blk_h * ob_w * ob_d));
		if (n->bt != BT_POOL && n->bt != BT_RS) {
			/* scale/bias fetch per block: 10 B per channel at
			 * the constant memory's latency, / 256 as in
			 * _estimate_conv_cycles */
			double bias = (double)(BIAS_BYTES * ob_d *
			    (long long)bias_latency) / 256;

			if (bias > outb)
				outb = bias;
		}
		/* command overhead, "/ 4  # per DPU" in Vela */
		cmd = ifm_blk_mem + ofm_blk_mem;
		cmd = (cmd + outb + dpu) / 4;
		if (cmd > dpu)
			dpu = cmd;
		if (cmd > outb)
			outb = cmd;
		/* two-stage pipeline: the slower stage runs every block */
		if (dpu > outb)
			total = dpu * (double)out->n_blocks + outb;
		else
			total = outb * (double)out->n_blocks + dpu;
		out->dpu_block_cycles = dpu;
		out->out_block_cycles = outb;
		out->op_cycles = floor(total);	/* int() in measure_cycle_cost */
		out->macs = (long long)n->kh * n->kw * ofm_elems *
		    (n->bt == BT_CONV || n->bt == BT_FC || n->bt == BT_RS ?
		    n->ic : 1);
	}

	/* measure_element_access */
	out->weight_bytes = 0;
	out->bias_bytes = 0;
	if (n->bt == BT_EW) {
		/* IFM1 and a full IFM2 are read at OFM size; a scalar IFM2
		 * wider than 8 bits is one element */
		double el = (double)((long long)n->oh * n->ow *
		    (n->inhcwb ? rup(n->oc, BRICK) : n->oc));

		out->ifm_bytes = el * ibytes;
		if (n->binary)
			out->ifm_bytes += n->scalar2 ? (n->ibits > 8 ?
			    ibytes : 0) : el * ibytes;
	} else {
		const int per_ch = n->bt == BT_DW || n->bt == BT_POOL;
		const long long nxy = cdiv(n->oh, ob_h) * cdiv(n->ow, ob_w);
		const long long nblk = nxy * (per_ch ? 1 : cdiv(n->oc, ob_d));
		const long long obd = per_ch ? n->ic : ob_d;
		const long long subk = cdiv(n->kw, n->bt == BT_FC ? 1 :
		    SUBKERNEL_MAX) * cdiv(n->kh, n->bt == BT_FC ? 1 :
		    SUBKERNEL_MAX);
		const long long kread = (long long)n->kh * n->kw *
		    (per_ch ? 1 : n->ic);

		out->ifm_bytes = (double)((long long)ib_h * ib_w * ic_store) *
		    (double)(subk * nblk) * ibytes;
		if (n->bt != BT_POOL && n->bt != BT_RS) {
			out->weight_bytes = (double)(kread * obd) *
			    (double)nblk;
			out->bias_bytes = (double)BIAS_BYTES * n->oc;
		}
	}
	out->ofm_bytes = (double)ofm_store * obytes;
	out->ifm_bytes_scaled = out->ifm_bytes * rscale;
	out->ofm_bytes_scaled = out->ofm_bytes * wscale;
	/* update_summary_cycles: SRAM carries the feature maps; weights are
	 * on their own area (Sram_Only's "OnChipFlash", Shared_Sram's flash)
	 * or DMA'd, which Vela does not count against SRAM */
	out->sram_ac_cycles = (out->ifm_bytes_scaled + out->ofm_bytes_scaled) /
	    mem->bytes_per_cycle;
}

static double
rup16(double x)
{
	return ceil(x / 16) * 16;
}

/*
 * Encoded size of one OFM-depth slice of `depth` channels: the scale/bias
 * stream (10 B a channel, padded to 16 when a weight stream follows) plus
 * the mlw weight stream, padded to 16.  The stream's slots follow reorder()
 * in mlw_encode.c: kernel elements padded to 4 for part-kernel and
 * depthwise, IFM depth padded to 8 (part-kernel) or 32 (depth-first), OFM
 * depth to the ublock in each block.  Bytes per real weight, per padding
 * slot and per stream are fitted constants (u55.h), so this is an
 * estimate: the encoded size depends on the weight values, which h4h does
 * not know.  *scale_bytes gets the unpadded scale/bias part.
 */
static double
slice_bytes(const arch *a, const norm *n, int block_d, int depth,
    double per_weight, double *stream_bytes)
{
	const int dw = n->bt == BT_DW;
	const int sk = n->bt == BT_FC ? 1 : SUBKERNEL_MAX;
	/* encode_weight_and_scale_tensor: part-kernel first on ties too
	 * (>=), and only for ConvolutionMxN */
	int partk = 0;
	long long nub, ksl = 0, ifm_slots, real, slots;
	double w;
	int y, x;

	if (n->bt == BT_CONV) {
		long long k = (long long)n->kh * n->kw;
		double du = (double)n->ic / (double)rup(n->ic, 32);
		double pu = (double)n->ic / (double)rup(n->ic, 8) *
		    ((double)k / (double)rup(k, 4));

		partk = n->ic <= 8 || pu >= du;
	}
	nub = (depth / block_d) * cdiv(block_d, a->ub_d) +
	    cdiv(depth % block_d, a->ub_d);
	for (y = 0; y < n->kh; y += sk)
		for (x = 0; x < n->kw; x += sk) {
			long long e = (long long)imin(n->kh - y, sk) *
			    imin(n->kw - x, sk);

			ksl += partk || dw ? rup(e, 4) : e;
		}
	ifm_slots = dw ? 1 : partk ? rup(n->ic, 8) : rup(n->ic, 32);
	slots = nub * a->ub_d * ksl * ifm_slots;
	real = (long long)n->kh * n->kw * (dw ? 1 : n->ic) * depth;
	w = rup16(ceil((double)real * per_weight + (double)(slots - real) *
	    SIM_U55_MLW_BYTES_PER_PAD + SIM_U55_MLW_STREAM_BYTES));
	*stream_bytes = w;
	return (double)BIAS_BYTES * depth + w;
}

/* Whole encoded tensor of slices: each slice's scale/bias padded to 16. */
static double
encoded_bytes(const arch *a, const norm *n, int block_d, int depth,
    double per_weight)
{
	double w, total = slice_bytes(a, n, block_d, depth, per_weight, &w);

	return total - (double)BIAS_BYTES * depth +
	    rup16((double)BIAS_BYTES * depth);
}

/* measure_mem2mem_cycles: flash to SRAM, floor divisions as in Vela. */
static double
mem2mem(const sim_u55_mem *m, double bytes)
{
	double from = floor(bytes / m->flash_bytes_per_cycle) +
	    m->flash_latency;
	double to = floor(bytes / m->bytes_per_cycle);

	return from > to ? from : to;
}

/*
 * Shared_Sram weight DMA of a conv or depthwise op, as Vela's scheduler
 * (propose_weight_buffering) and estimate_full_op_performance do it for an
 * op with no previous op to prefetch under (slack 0, as in a single-op
 * network and in h4h, where each layer starts on an idle system) and an
 * arena large enough for any buffer (the reference runs' 4 GiB
 * --arena-cache-size).  Nothing can be prebuffered, so the first slice is
 * 16 channels; the others are as deep as the op computes while their
 * transfer runs, in whole blocks.  One slice is a single buffer: the
 * transfer precedes the op.  Several are double-buffered: the op ends after
 * the whole transfer plus the last slice, or after itself plus the first
 * slice's transfer, whichever is later.
 */
static void
weight_dma(const arch *a, const norm *n, const choice *c,
    const sim_u55_mem *mem, double per_weight, sim_u55_plan *out)
{
	const int D = n->oc, bd = c->od;
	double full = out->encoded_weight_bytes, stream, first;
	norm m = *n;
	sim_u55_plan t;

	out->dma_full_cycles = mem2mem(mem, full);
	if (D <= SPLIT_DEPTH) {
		out->dma = 1;
		out->dma_slices = 1;
		out->dma_first_depth = out->dma_step_depth =
		    out->dma_last_depth = D;
		out->dma_first_bytes = out->dma_step_bytes =
		    out->dma_last_bytes = full;
		out->dma_first_cycles = out->dma_full_cycles;
		out->dma_tail_cycles = out->op_cycles;
		out->npu_cycles = out->op_cycles + out->dma_full_cycles;
		return;
	}
	{
		double pre_op, depth;
		int step;

		m.oc = SPLIT_DEPTH;
		compute(a, &m, c, mem, mem->read_latency, &t);
		pre_op = t.op_cycles;
		/* round_up(D * pre_op / full_transfer, block depth), then
		 * whole blocks, at least 16 */
		depth = (double)D * (pre_op / out->dma_full_cycles);
		depth = floor((depth + bd - 1) / bd) * bd;
		if (depth > bd)
			depth = floor(depth / bd) * bd;
		else
			depth = floor(depth / SPLIT_DEPTH) * SPLIT_DEPTH;
		step = depth > SPLIT_DEPTH ? (int)depth : SPLIT_DEPTH;
		out->dma = 2;
		out->dma_first_depth = SPLIT_DEPTH;
		out->dma_step_depth = step;
		out->dma_slices = 1 + (int)cdiv(D - SPLIT_DEPTH, step);
		out->dma_last_depth = D - SPLIT_DEPTH -
		    (out->dma_slices - 2) * step;
	}
	first = slice_bytes(a, n, bd, out->dma_first_depth, per_weight,
	    &stream);
	out->dma_first_bytes = rup16(first);
	out->dma_step_bytes = rup16(slice_bytes(a, n, bd, out->dma_step_depth,
	    per_weight, &stream));
	out->dma_last_bytes = rup16(slice_bytes(a, n, bd, out->dma_last_depth,
	    per_weight, &stream));
	/* the first DMA moves round_up(range bytes, 16) */
	out->dma_first_cycles = mem2mem(mem, rup16(first));
	m.oc = out->dma_last_depth;
	compute(a, &m, c, mem, mem->read_latency, &t);
	out->dma_tail_cycles = t.op_cycles;
	out->npu_cycles = out->dma_full_cycles + out->dma_tail_cycles;
	if (out->op_cycles + out->dma_first_cycles > out->npu_cycles)
		out->npu_cycles = out->op_cycles + out->dma_first_cycles;
}

int
sim_u55_plan_op(int macs, const sim_u55_mem *mem, const sim_u55_op *op,
    sim_u55_plan *out, h4h_err *err)
{
	/* initialised only because the compiler cannot see that h4h_errf
	 * returns its (non-zero) code */
	const arch *a = NULL;
	norm n = { 0 };
	choice c = { 0 };
	int rc, has_weights, in_place, bias_latency;
	double per_weight;

	if (mem == NULL || op == NULL || out == NULL)
		return h4h_errf(err, H4H_EINPUT, "u55: null argument");
	if ((rc = validate(macs, mem, op, &a, &n, err)) != 0)
		return rc;
	if (!find_block(a, &n, &c))
		return h4h_errf(err, H4H_EINPUT,
		    "u55: no block configuration fits SHRAM (ofm %dx%dx%d, "
		    "kernel %dx%d, stride %d)", n.oh, n.ow, n.oc, n.kh, n.kw,
		    n.stride);

	memset(out, 0, sizeof *out);
	out->ofm_block_h = c.oh;
	out->ofm_block_w = c.ow;
	out->ofm_block_d = c.od;
	out->ifm_block_h = c.ih;
	out->ifm_block_w = c.iw;
	out->ifm_block_d = c.id;
	out->partkernel = c.partkernel;

	has_weights = n.bt == BT_CONV || n.bt == BT_DW || n.bt == BT_FC;
	/* Shared_Sram: fc reads its weights in place from flash, conv and
	 * depthwise from their SRAM buffer (weights_needs_dma) */
	in_place = !mem->weights_in_flash || n.bt == BT_FC;
	bias_latency = mem->weights_in_flash && n.bt == BT_FC ?
	    mem->flash_latency : mem->read_latency;
	compute(a, &n, &c, mem, bias_latency, out);
	out->npu_cycles = out->op_cycles;
	if (has_weights) {
		const double raw = (double)n.kh * n.kw *
		    (n.bt == BT_DW ? 1 : n.ic) * n.oc;
		double scale;

		per_weight = mem->weight_bytes_per_weight > 0 ?
		    mem->weight_bytes_per_weight :
		    SIM_U55_MLW_BYTES_PER_WEIGHT;
		out->encoded_weight_bytes = encoded_bytes(a, &n, c.od, n.oc,
		    per_weight);
		/* bandwidth_compression_scale_approx: encoded bytes less the
		 * scale/bias, per original weight */
		scale = (out->encoded_weight_bytes - out->bias_bytes) / raw;
		out->weight_read_bytes = out->weight_bytes * scale +
		    out->bias_bytes;
		if (in_place)
			out->weight_ac_cycles = out->weight_read_bytes /
			    (mem->weights_in_flash ?
			    mem->flash_bytes_per_cycle : mem->bytes_per_cycle);
		else
			weight_dma(a, &n, &c, mem, per_weight, out);
	}
	out->est_cycles = out->npu_cycles;
	if (out->sram_ac_cycles > out->est_cycles)
		out->est_cycles = out->sram_ac_cycles;
	if (out->weight_ac_cycles > out->est_cycles)
		out->est_cycles = out->weight_ac_cycles;
	return 0;
}
