/*
 * check_cim.c - the MRAM CIM macro (cim.c): plan arithmetic and the
 * event-driven chunk pipeline on the shared NoC.
 *
 * Plan: hand-computed IFMP read counts with and without the dedup
 * controller (3x3 stride 1 and 2, partial CU groups), macro cycles for
 * pointwise, depthwise and fc layers on 1..N CUs, MRAM weight bits (one
 * 16x9-byte word line per macro cycle, shared by all CUs), MACs, NoC bytes,
 * chunking against the IFMP buffer, CU utilisation and dynamic energy.
 * Pipeline: one macro alone on the NoC finishes at the hand-computed time of
 * a compute-bound layer, never before its compute or NoC time, and calls
 * done exactly once.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/hw/cim.h"
#include "sim/hw/kernel.h"
#include "sim/spec/net.h"
#include "sim/hw/noc.h"
#include "sim/front/net_json.h"

#define CIM_PS 5000ULL		/* ps per macro cycle at 200 MHz */

/* The single layer of a one-layer net on an H x W x C input. */
static sim_layer
layer_of(int h, int w, int c, const char *layer_json)
{
	char json[512];
	h4h_err err = { "" };
	sim_net *net = NULL;
	sim_layer l;

	snprintf(json, sizeof json, "{\"name\": \"t\", \"input\": [%d, %d, %d],"
	    " \"layers\": [%s]}", h, w, c, layer_json);
	ck_assert_msg(sim_net_parse(json, "t.json", &net, &err) == 0, "%s",
	    err.msg);
	ck_assert_int_eq(net->n_layers, 1);
	l = net->layers[0];
	sim_net_destroy(net);
	ck_assert(sim_layer_cim_capable(&l));
	return l;
}

static sim_cim_cfg
cfg_with(int cus, int dedup)
{
	sim_profile p;

	sim_profile_defaults(&p);
	p.cim.cus_per_macro = cus;
	p.cim.ifmp_dedup = dedup;
	return p.cim;
}

static sim_cim_work
plan(int cus, int dedup, const sim_layer *l, int channels)
{
	sim_cim_cfg c = cfg_with(cus, dedup);
	sim_cim_work w;

	sim_cim_plan(&c, l, channels, &w);
	return w;
}

/* IFMP reads per output row per channel of a depthwise layer. */
static double
dw_reads_per_row(int cus, int dedup, const sim_layer *l)
{
	sim_cim_work w = plan(cus, dedup, l, l->out_c);

	return w.ifmp_reads / ((double)l->out_h * l->out_c);
}

#define DW3 "{\"name\": \"dw\", \"op\": \"dwconv\", \"kernel\": 3}"
#define DW3S2 "{\"name\": \"dw\", \"op\": \"dwconv\", \"kernel\": 3, " \
	"\"stride\": 2}"

/* ---- Core ---------------------------------------------------------------- */

START_TEST(test_dedup_3x3_stride1)
{
	sim_layer l = layer_of(8, 8, 16, DW3);

	ck_assert_int_eq(l.out_w, 8);
	/* 4 CUs: two groups of 4 outputs, each 3 rows x (3 + 3) columns. */
	ck_assert_double_eq(dw_reads_per_row(4, 1, &l), 36);
	/* Without dedup every output reads its own 9 taps. */
	ck_assert_double_eq(dw_reads_per_row(4, 0, &l), 72);
	/* One CU: nothing overlaps, 9 per output either way. */
	ck_assert_double_eq(dw_reads_per_row(1, 1, &l), 72);
	ck_assert_double_eq(dw_reads_per_row(1, 0, &l), 72);
	/* 8 CUs: one group, 3 x (3 + 7). */
	ck_assert_double_eq(dw_reads_per_row(8, 1, &l), 30);
}
END_TEST

START_TEST(test_dedup_tends_to_two_thirds)
{
	sim_layer l = layer_of(2, 64, 16, DW3);
	double on = dw_reads_per_row(64, 1, &l), off = dw_reads_per_row(64, 0,
	    &l);

	ck_assert_double_eq(on, 3 * (3 + 63));
	ck_assert_double_eq(off, 64 * 9);
	ck_assert_double_eq_tol(1 - on / off, 1 - 198.0 / 576.0, 1e-15);
	ck_assert(1 - on / off > 0.65 && 1 - on / off < 2.0 / 3.0);
	/* The saving grows with the CU count and stays below 2/3. */
	for (int c = 2, prev_on = 1 << 30; c <= 64; c *= 2) {
		double r = dw_reads_per_row(c, 1, &l);

		ck_assert(r < prev_on);
		ck_assert(r > off / 3);
		prev_on = (int)r;
	}
}
END_TEST

START_TEST(test_dedup_stride2)
{
	sim_layer l = layer_of(8, 16, 4, DW3S2);

	ck_assert_int_eq(l.out_w, 8);
	ck_assert_int_eq(l.out_h, 4);
	/* Per group of c = 4: 3 x (3 + (c - 1) x 2) = 27; two groups. */
	ck_assert_double_eq(dw_reads_per_row(4, 1, &l), 54);
	ck_assert_double_eq(dw_reads_per_row(4, 0, &l), 72);
	/* Total over rows and channels. */
	ck_assert_double_eq(plan(4, 1, &l, 4).ifmp_reads, 54.0 * 4 * 4);
}
END_TEST

START_TEST(test_pointwise_cycles)
{
	sim_layer l = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_cim_work w1 = plan(1, 1, &l, 32), w4 = plan(4, 1, &l, 32);

	/* 196 pixels x ceil(32/16) x ceil(64/9). */
	ck_assert_double_eq(w1.cycles, 196 * 2 * 8);
	ck_assert_double_eq(w1.cycles, 3136);
	/* Four CUs take four adjacent pixels: 49 groups. */
	ck_assert_double_eq(w4.cycles, 49 * 2 * 8);
	ck_assert_int_eq(w1.macs, 196LL * 32 * 64);
	ck_assert_int_eq(w4.macs, w1.macs);
	ck_assert_int_eq(w1.macs, sim_layer_macs(&l));
	/* One 16 x 9 x 8-bit word line per macro cycle. */
	ck_assert_double_eq(w1.weight_bits, 3136.0 * 16 * 9 * 8);
	ck_assert_double_eq(w4.weight_bits, 784.0 * 16 * 9 * 8);
	/* NoC: one input vector per pixel in, one output vector out. */
	ck_assert_double_eq(w1.ifm_bytes, 196 * 64);
	ck_assert_double_eq(w1.ofm_bytes, 196 * 32);
	ck_assert_double_eq(w4.ifm_bytes, w1.ifm_bytes);
	ck_assert_double_eq(w4.ofm_bytes, w1.ofm_bytes);
	ck_assert_int_eq(w1.channels, 32);
}
END_TEST

START_TEST(test_pointwise_slice)
{
	sim_layer l = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 64}");
	/* 20 of the 64 channels: ceil(20/16) = 2 accumulation passes. */
	sim_cim_work w = plan(1, 1, &l, 20);

	ck_assert_double_eq(w.cycles, 196 * 2 * 8);
	ck_assert_int_eq(w.macs, 196LL * 20 * 64);
	ck_assert_double_eq(w.ifm_bytes, 196 * 64);	/* all inputs */
	ck_assert_double_eq(w.ofm_bytes, 196 * 20);
	ck_assert_int_eq(w.channels, 20);
}
END_TEST

START_TEST(test_depthwise_cycles)
{
	sim_layer l = layer_of(28, 28, 64, DW3);
	sim_cim_work w = plan(2, 1, &l, 64), h = plan(2, 1, &l, 16);

	/* 28 rows x ceil(28/2) groups x ceil(64/16) x ceil(9/9). */
	ck_assert_double_eq(w.cycles, 28 * 14 * 4 * 1);
	ck_assert_double_eq(w.cycles, 1568);
	ck_assert_int_eq(w.macs, 28LL * 28 * 64 * 9);
	ck_assert_int_eq(w.macs, sim_layer_macs(&l));
	ck_assert_double_eq(w.weight_bits, 1568.0 * 16 * 9 * 8);
	/* Input rows stream in once, for this macro's channels only. */
	ck_assert_double_eq(w.ifm_bytes, 28 * 28 * 64);
	ck_assert_double_eq(w.ofm_bytes, 28 * 28 * 64);
	ck_assert_double_eq(h.ifm_bytes, 28 * 28 * 16);
	ck_assert_double_eq(h.ofm_bytes, 28 * 28 * 16);
	ck_assert_double_eq(h.cycles, 28 * 14 * 1 * 1);
	ck_assert_int_eq(h.macs, 28LL * 28 * 16 * 9);
}
END_TEST

START_TEST(test_depthwise_5x5_taps)
{
	sim_layer l = layer_of(10, 10, 32,
	    "{\"name\": \"dw\", \"op\": \"dwconv\", \"kernel\": 5}");
	sim_cim_work w = plan(1, 1, &l, 32);

	/* 25 taps need ceil(25/9) = 3 product passes. */
	ck_assert_double_eq(w.cycles, 10 * 10 * 2 * 3);
	ck_assert_int_eq(w.macs, 10LL * 10 * 32 * 25);
}
END_TEST

START_TEST(test_fc_cycles)
{
	sim_layer l = layer_of(4, 1, 96,
	    "{\"name\": \"fc\", \"op\": \"fc\", \"out\": 48}");
	sim_cim_work w1 = plan(1, 1, &l, 48), w2 = plan(2, 1, &l, 48);

	/* 4 token rows x ceil(48/16) channel groups x ceil(96/9); two CUs
	 * split the 3 groups 2 + 1. */
	ck_assert_double_eq(w1.cycles, 4 * 3 * 11);
	ck_assert_double_eq(w2.cycles, 4 * 2 * 11);
	ck_assert_double_eq(w2.weight_bits, w1.weight_bits);
	ck_assert_int_eq(w1.macs, 4LL * 96 * 48);
	ck_assert_int_eq(w1.macs, sim_layer_macs(&l));
	ck_assert_double_eq(w1.ifm_bytes, 4 * 96);
	ck_assert_double_eq(w1.ofm_bytes, 4 * 48);
}
END_TEST

START_TEST(test_more_cus_fewer_weight_bits)
{
	sim_layer pw = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_layer dw = layer_of(28, 28, 64, DW3);
	const sim_layer *ls[2] = { &pw, &dw };

	for (int k = 0; k < 2; k++) {
		sim_cim_work prev = plan(1, 1, ls[k], 32);

		for (int c = 2; c <= 16; c++) {
			sim_cim_work w = plan(c, 1, ls[k], 32);

			ck_assert(w.cycles <= prev.cycles);
			ck_assert(w.weight_bits <= prev.weight_bits);
			ck_assert_double_eq(w.weight_bits,
			    w.compute_cycles * 1152);
			ck_assert_int_eq(w.macs, prev.macs);
			ck_assert_double_eq(w.ifm_bytes, prev.ifm_bytes);
			ck_assert_double_eq(w.ofm_bytes, prev.ofm_bytes);
			prev = w;
		}
		/* 16 CUs read strictly fewer weight bits than 1. */
		ck_assert(plan(16, 1, ls[k], 32).weight_bits <
		    plan(1, 1, ls[k], 32).weight_bits);
	}
}
END_TEST

START_TEST(test_chunking)
{
	sim_layer pw = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_layer dw = layer_of(28, 28, 64, DW3);
	sim_cim_work w;

	/* Half of 4096 B holds 32 pixels of 64 B: ceil(196/32) = 7. */
	w = plan(1, 1, &pw, 32);
	ck_assert_int_eq(w.n_chunks, 7);
	ck_assert_double_eq(w.chunk_ifm_bytes, 196.0 * 64 / 7);
	ck_assert_double_eq(w.chunk_ofm_bytes, 196.0 * 32 / 7);
	ck_assert_double_eq(w.chunk_cycles, 3136.0 / 7);
	/* 12 CUs: whole groups only, 24 pixels: ceil(196/24) = 9. */
	w = plan(12, 1, &pw, 32);
	ck_assert_int_eq(w.n_chunks, 9);
	/* Depthwise: a row of 28 x 64 B = 1792 B; one row per chunk. */
	w = plan(2, 1, &dw, 64);
	ck_assert_int_eq(w.n_chunks, 28);
	/* 16 channels: 448 B a row, four rows per chunk. */
	w = plan(2, 1, &dw, 16);
	ck_assert_int_eq(w.n_chunks, 7);
	/* A bigger buffer: everything in one chunk. */
	{
		sim_cim_cfg c = cfg_with(1, 1);

		c.ifmp_buffer_bytes = 1 << 20;
		sim_cim_plan(&c, &pw, 32, &w);
		ck_assert_int_eq(w.n_chunks, 1);
		ck_assert_double_eq(w.chunk_ifm_bytes, 196 * 64);
	}
}
END_TEST

START_TEST(test_chunk_invariants)
{
	sim_layer ls[3] = {
		layer_of(14, 14, 64, "{\"name\": \"pw\", \"op\": \"conv\", "
		    "\"kernel\": 1, \"out\": 48}"),
		layer_of(28, 28, 64, DW3),
		layer_of(16, 1, 200, "{\"name\": \"fc\", \"op\": \"fc\", "
		    "\"out\": 40}"),
	};
	static const int bufs[] = { 64, 256, 1000, 4096, 65536 };

	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 5; b++)
			for (int cus = 1; cus <= 8; cus++) {
				sim_cim_cfg c = cfg_with(cus, 1);
				sim_cim_work w;
				double unit;

				c.ifmp_buffer_bytes = bufs[b];
				sim_cim_plan(&c, &ls[i], 16, &w);
				ck_assert_int_ge(w.n_chunks, 1);
				ck_assert_double_eq_tol(w.chunk_cycles *
				    w.n_chunks, w.cycles, 1e-9 * w.cycles);
				ck_assert_double_eq_tol(w.chunk_ifm_bytes *
				    w.n_chunks, w.ifm_bytes, 1e-9 * w.ifm_bytes);
				ck_assert_double_eq_tol(w.chunk_ofm_bytes *
				    w.n_chunks, w.ofm_bytes, 1e-9 * w.ofm_bytes);
				/* A chunk fits half the buffer unless even one
				 * row (dw) or one CU group of pixels does not. */
				unit = ls[i].op == SIM_OP_DWCONV ?
				    w.ifm_bytes / ls[i].out_h :
				    w.ifm_bytes / (ls[i].out_h * ls[i].out_w) *
				    cus;
				if (unit <= bufs[b] / 2)
					ck_assert_msg(w.chunk_ifm_bytes <=
					    bufs[b] / 2.0 + 1e-9, "layer %d buf %d "
					    "cus %d: chunk %g B", i, bufs[b], cus,
					    w.chunk_ifm_bytes);
			}
}
END_TEST

START_TEST(test_cu_busy_fraction)
{
	sim_layer l = layer_of(2, 5, 16,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 16}");
	sim_cim_work w = plan(4, 1, &l, 16);

	/* 10 pixels on 4 CUs: 3 groups; CUs 0, 1 take 3 pixels, 2, 3 take 2. */
	ck_assert_double_eq(w.cycles, 3 * 1 * 2);
	ck_assert_double_eq(w.cu_busy_frac[0], 1);
	ck_assert_double_eq(w.cu_busy_frac[1], 1);
	ck_assert_double_eq_tol(w.cu_busy_frac[2], 2.0 / 3, 1e-15);
	ck_assert_double_eq_tol(w.cu_busy_frac[3], 2.0 / 3, 1e-15);
	ck_assert_double_eq(w.cu_busy_frac[4], 0);
}
END_TEST

START_TEST(test_dynamic_energy_hand_computed)
{
	sim_layer l = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_cim_work w = plan(1, 1, &l, 32);
	/* weights 3136 x 1152 bit x 0.0019 pJ = 6864.0768 pJ
	 * MACs 401408 x 0.0054 pJ = 2167.6032 pJ
	 * buffers (196 x 2 x 8 x 9 IFMP reads + 12544 in + 6272 out) B
	 *   x 0.05 pJ = 47040 x 0.05 = 2352 pJ */
	ck_assert_double_eq(w.ifmp_reads, 196 * 2 * 8 * 9);
	ck_assert_double_eq_tol(w.dyn_energy_j, 11383.68e-12, 1e-20);
}
END_TEST

/*
 * 3x3 depthwise, 28x28x64, on 4 CUs.  Compute: 28 rows x 7 groups of 4
 * outputs x 4 channel groups = 784 cycles.  IFMP reads per row and channel:
 * with dedup 7 x 3 x (3 + 3) = 126, without 28 x 9 = 252; x 28 x 64 =
 * 225792 or 451584 bytes over the 288 B/cycle port = 784 or 1568 cycles.
 * So dedup keeps the CUs busy, and without it the port halves their speed.
 */
START_TEST(test_dedup_saves_reads_and_time)
{
	sim_layer l = layer_of(28, 28, 64, DW3);
	sim_cim_work on = plan(4, 1, &l, 64), off = plan(4, 0, &l, 64);
	sim_cim_work one_on = plan(1, 1, &l, 64), one_off = plan(1, 0, &l, 64);

	ck_assert_double_eq(on.compute_cycles, 784);
	ck_assert_double_eq(on.ifmp_reads, 225792);
	ck_assert_double_eq(off.ifmp_reads, 451584);
	ck_assert_double_eq(on.cycles, 784);
	ck_assert_double_eq(off.cycles, 1568);
	ck_assert(on.cycles < off.cycles);
	ck_assert_double_eq(on.weight_bits, off.weight_bits);
	/* Exactly the buffer energy of the reads saved. */
	ck_assert_double_eq_tol(off.dyn_energy_j - on.dyn_energy_j,
	    (off.ifmp_reads - on.ifmp_reads) * 0.05e-12, 1e-20);
	/* One CU has no neighbour to share a window with. */
	ck_assert_double_eq(one_on.cycles, one_off.cycles);
	ck_assert_double_eq(one_on.ifmp_reads, one_off.ifmp_reads);
}
END_TEST

/* A narrow port bounds even pointwise work: cycles = ceil(reads / port). */
START_TEST(test_ifmp_port_bound)
{
	sim_layer l = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_cim_cfg c = cfg_with(1, 1);
	sim_cim_work wide, narrow;

	sim_cim_plan(&c, &l, 32, &wide);
	c.ifmp_read_bytes_per_cycle = 4;
	sim_cim_plan(&c, &l, 32, &narrow);
	/* 196 px x 2 channel groups x 8 steps = 3136 cycles; 9 B a step */
	ck_assert_double_eq(wide.cycles, 3136);
	ck_assert_double_eq(narrow.ifmp_reads, 3136.0 * 9);
	ck_assert_double_eq(narrow.cycles, ceil(3136.0 * 9 / 4));
	ck_assert_double_eq(narrow.compute_cycles, wide.cycles);
}
END_TEST

/* One fc row: 4 CUs take 4 of the 64 channel groups each round. */
START_TEST(test_fc_faster_on_more_cus)
{
	sim_layer l = layer_of(1, 1, 1024,
	    "{\"name\": \"fc\", \"op\": \"fc\", \"out\": 1024}");
	sim_cim_work one = plan(1, 1, &l, 1024), four = plan(4, 1, &l, 1024);

	/* 64 groups x ceil(1024/9) = 114 steps */
	ck_assert_double_eq(one.cycles, 64 * 114);
	ck_assert_double_eq(four.cycles, 16 * 114);
	ck_assert(four.cycles < one.cycles);
	ck_assert_double_eq(four.weight_bits, one.weight_bits);
	ck_assert_int_eq(four.macs, one.macs);
	ck_assert_double_eq(four.cu_busy_frac[3], 1);
}
END_TEST

/* ---- the event-level pipeline ------------------------------------------ */

typedef struct fin {
	int calls;
	uint64_t at;
} fin;

static void
on_fin(void *ctx)
{
	fin *f = ctx;

	f->calls++;
	f->at = h4h_kernel_now_ps();
}

/* Runs `w` on macro 0 of a fresh NoC; returns the finish time after t0. */
static uint64_t
run_macro(const sim_profile *p, const sim_cim_work *w, sim_noc_stats *st,
    uint64_t *noc_busy, uint64_t *cim_busy)
{
	h4h_err err = { "" };
	sim_noc *noc;
	sim_cim *m;
	fin f = { 0 };
	uint64_t t0;

	ck_assert_msg(h4h_kernel_init(&err) == 0, "%s", err.msg);
	noc = sim_noc_create(&p->noc, 2);
	ck_assert_ptr_nonnull(noc);
	m = sim_cim_create(&p->cim, 0, noc);
	ck_assert_ptr_nonnull(m);
	t0 = h4h_kernel_now_ps();
	sim_noc_reset(noc, NULL, t0);
	sim_cim_start(m, w, NULL, "l", t0, on_fin, &f);
	ck_assert_msg(h4h_kernel_run(&err) == 0, "%s", err.msg);
	ck_assert_int_eq(f.calls, 1);
	if (st != NULL)
		*st = *sim_noc_stats_of(noc, 1);
	ck_assert_int_eq(sim_noc_stats_of(noc, 0)->transfers, 0);
	if (noc_busy != NULL)
		*noc_busy = sim_noc_busy_ps(noc);
	if (cim_busy != NULL)
		*cim_busy = sim_cim_busy_ps(m);
	sim_cim_destroy(m);
	sim_noc_destroy(noc);
	return f.at - t0;
}

START_TEST(test_pipeline_compute_bound_exact)
{
	sim_layer l = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_profile p;
	sim_cim_work w;
	sim_noc_stats st;
	uint64_t noc_busy, cim_busy, t;

	sim_profile_defaults(&p);
	sim_cim_plan(&p.cim, &l, 32, &w);
	ck_assert_int_eq(w.n_chunks, 7);
	t = run_macro(&p, &w, &st, &noc_busy, &cim_busy);
	/* 7 chunks of 448 cycles (2.24 us) compute; an IFM chunk of 1792 B
	 * takes 224 NoC cycles + 32 warm-up (0.512 us), an OFM chunk of
	 * 896 B 112 cycles (0.224 us): compute-bound.  Finish = first IFM
	 * delivery + 7 x compute + last OFM write. */
	ck_assert_uint_eq(cim_busy, 7 * 448 * CIM_PS);
	ck_assert_uint_eq(noc_busy, 7 * (224 + 112) * 2000ULL);
	ck_assert_uint_eq(t, 512000 + 7 * 2240000ULL + 224000);
	ck_assert_uint_ge(t, cim_busy);
	ck_assert_uint_ge(t, noc_busy);
	ck_assert_double_eq(st.bytes, w.ifm_bytes + w.ofm_bytes);
	ck_assert_int_eq(st.transfers, 2 * w.n_chunks);
}
END_TEST

START_TEST(test_pipeline_noc_bound)
{
	sim_layer l = layer_of(28, 28, 64, DW3);
	sim_profile p;
	sim_cim_work w;
	uint64_t noc_busy, cim_busy, t, occ_in, occ_out, lat;

	sim_profile_defaults(&p);
	p.noc.bandwidth_gbps = 0.1;
	p.cim.cus_per_macro = 4;
	sim_cim_plan(&p.cim, &l, 64, &w);
	t = run_macro(&p, &w, NULL, &noc_busy, &cim_busy);
	occ_in = sim_noc_occupancy_ps(&p.noc, w.chunk_ifm_bytes);
	occ_out = sim_noc_occupancy_ps(&p.noc, w.chunk_ofm_bytes);
	lat = sim_noc_latency_ps(&p.noc);
	ck_assert_uint_gt(noc_busy, cim_busy);
	ck_assert_uint_ge(cim_busy, (uint64_t)(w.cycles * CIM_PS));
	ck_assert_uint_eq(noc_busy, (uint64_t)w.n_chunks * (occ_in + occ_out));
	/* No earlier than the link's work, nor than the first input, all the
	 * compute and the last output in a row... */
	ck_assert_uint_ge(t, noc_busy);
	ck_assert_uint_ge(t, occ_in + lat + cim_busy + occ_out);
	/* ...and no later than doing every chunk one after the other. */
	ck_assert_uint_le(t, (uint64_t)w.n_chunks * (occ_in + lat + occ_out) +
	    cim_busy);
	/* Less bandwidth is never faster. */
	p.noc.bandwidth_gbps = 0.05;
	ck_assert_uint_gt(run_macro(&p, &w, NULL, NULL, NULL), t);
}
END_TEST

START_TEST(test_pipeline_restart_and_single_chunk)
{
	sim_layer l = layer_of(4, 1, 96,
	    "{\"name\": \"fc\", \"op\": \"fc\", \"out\": 48}");
	sim_profile p;
	sim_cim_work w;
	uint64_t t1, t2, cim_busy;

	sim_profile_defaults(&p);
	sim_cim_plan(&p.cim, &l, 48, &w);
	ck_assert_int_eq(w.n_chunks, 1);
	/* One chunk: IFM read (384 B = 48 cycles + 32), 132 macro cycles,
	 * OFM write (192 B = 24 cycles). */
	t1 = run_macro(&p, &w, NULL, NULL, &cim_busy);
	ck_assert_uint_eq(cim_busy, 132 * CIM_PS);
	ck_assert_uint_eq(t1, (48 + 32) * 2000ULL + 132 * CIM_PS +
	    24 * 2000ULL);
	/* Same again later: the same duration. */
	t2 = run_macro(&p, &w, NULL, NULL, NULL);
	ck_assert_uint_eq(t2, t1);
}
END_TEST

/* ---- Limits -------------------------------------------------------------- */

START_TEST(test_zero_channels)
{
	sim_layer l = layer_of(14, 14, 64,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 32}");
	sim_cim_work w = plan(4, 1, &l, 0);

	ck_assert_double_eq(w.cycles, 0);
	ck_assert_int_eq(w.macs, 0);
	ck_assert_double_eq(w.ifm_bytes + w.ofm_bytes, 0);
	ck_assert_double_eq(w.weight_bits, 0);
	ck_assert_double_eq(w.dyn_energy_j, 0);
}
END_TEST

START_TEST(test_partial_group)
{
	sim_layer l = layer_of(3, 10, 8, DW3);
	sim_cim_work w = plan(4, 1, &l, 8);

	/* Groups of 4, 4, 2: 18 + 18 + 3 x (3 + 1) = 48 reads a row. */
	ck_assert_double_eq(w.ifmp_reads, 48.0 * 3 * 8);
	ck_assert_double_eq(w.cycles, 3 * 3 * 1 * 1);
	ck_assert_double_eq(w.cu_busy_frac[0], 1);
	ck_assert_double_eq(w.cu_busy_frac[1], 1);
	ck_assert_double_eq_tol(w.cu_busy_frac[2], 2.0 / 3, 1e-15);
	ck_assert_double_eq_tol(w.cu_busy_frac[3], 2.0 / 3, 1e-15);
}
END_TEST

START_TEST(test_more_cus_than_outputs)
{
	sim_layer l = layer_of(3, 3, 16, DW3);
	sim_cim_work w8 = plan(8, 1, &l, 16), w3 = plan(3, 1, &l, 16);

	/* Row of 3: one group of 3 however many CUs there are. */
	ck_assert_double_eq(w8.cycles, w3.cycles);
	ck_assert_double_eq(w8.ifmp_reads, w3.ifmp_reads);
	ck_assert_double_eq(w8.ifmp_reads, 3.0 * 5 * 3 * 16);
	ck_assert_double_eq(w8.cu_busy_frac[2], 1);
	ck_assert_double_eq(w8.cu_busy_frac[3], 0);
	ck_assert_double_eq(w8.cu_busy_frac[7], 0);
}
END_TEST

START_TEST(test_unit_larger_than_buffer)
{
	sim_layer l = layer_of(2, 2, 4096,
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 16}");
	sim_cim_work w1 = plan(1, 1, &l, 16), w2 = plan(2, 1, &l, 16);

	/* A 4096 B input vector exceeds half the 4096 B buffer: the chunk
	 * is still one CU group. */
	ck_assert_int_eq(w1.n_chunks, 4);
	ck_assert_int_eq(w2.n_chunks, 2);
	ck_assert_double_eq(w2.chunk_ifm_bytes, 2 * 4096);
}
END_TEST

/* ---- Errors -------------------------------------------------------------- */

START_TEST(test_destroy_null)
{
	sim_cim_destroy(NULL);
	/* A macro with nothing started has done no work. */
	{
		sim_profile p;
		sim_noc *noc;
		sim_cim *m;

		sim_profile_defaults(&p);
		noc = sim_noc_create(&p.noc, 2);
		m = sim_cim_create(&p.cim, 0, noc);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(sim_cim_busy_ps(m), 0);
		sim_cim_destroy(m);
		sim_noc_destroy(noc);
	}
}
END_TEST

static Suite *
cim_suite(void)
{
	Suite *s = suite_create("cim");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");
	TCase *errors = tcase_create("Errors");

	tcase_add_test(core, test_dedup_3x3_stride1);
	tcase_add_test(core, test_dedup_tends_to_two_thirds);
	tcase_add_test(core, test_dedup_stride2);
	tcase_add_test(core, test_pointwise_cycles);
	tcase_add_test(core, test_pointwise_slice);
	tcase_add_test(core, test_depthwise_cycles);
	tcase_add_test(core, test_depthwise_5x5_taps);
	tcase_add_test(core, test_fc_cycles);
	tcase_add_test(core, test_more_cus_fewer_weight_bits);
	tcase_add_test(core, test_chunking);
	tcase_add_test(core, test_chunk_invariants);
	tcase_add_test(core, test_cu_busy_fraction);
	tcase_add_test(core, test_dynamic_energy_hand_computed);
	tcase_add_test(core, test_dedup_saves_reads_and_time);
	tcase_add_test(core, test_ifmp_port_bound);
	tcase_add_test(core, test_fc_faster_on_more_cus);
	tcase_add_test(core, test_pipeline_compute_bound_exact);
	tcase_add_test(core, test_pipeline_noc_bound);
	tcase_add_test(core, test_pipeline_restart_and_single_chunk);
	suite_add_tcase(s, core);

	tcase_add_test(limits, test_zero_channels);
	tcase_add_test(limits, test_partial_group);
	tcase_add_test(limits, test_more_cus_than_outputs);
	tcase_add_test(limits, test_unit_larger_than_buffer);
	suite_add_tcase(s, limits);

	tcase_add_test(errors, test_destroy_null);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
