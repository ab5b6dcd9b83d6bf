/*
 * check_noc.c - the shared NoC link (noc.c) on the SystemC kernel.
 *
 * With the profile defaults (4 GB/s at 500 MHz: 8 B per 2000 ps cycle, a
 * 32-cycle warm-up) every delivery time below is computed by hand: a
 * transfer holds the link for ceil(bytes / 8) cycles, a read is delivered
 * 32 cycles after it leaves the link, a write is done when it leaves it, and
 * grants are FIFO across masters.  A small reference model (link free time
 * + occupancy, in issue order) checks longer mixed sequences, and the
 * per-master statistics are checked to the picosecond.  The times checked
 * are the ones the done callback reports, which it may do as early as the
 * transfer leaves the link (noc.h), never later than the reported time.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "sim/hw/kernel.h"
#include "sim/hw/noc.h"

#define CYC 2000ULL		/* ps per NoC cycle at 500 MHz */
#define LAT (32 * CYC)		/* default warm-up */
#define MAX_DONE 64

/* Delivery log: which transfer (by tag) completed when, in order. */
typedef struct dlog {
	int n;
	int tag[MAX_DONE];
	uint64_t at[MAX_DONE];
} dlog;

typedef struct done_ctx {
	dlog *lg;
	int tag;
} done_ctx;

/* Records the time the callback reports: the delivery time of a read, the
 * time a write left the link.  The callback may run at that time or earlier
 * (when the transfer leaves the link), never later. */
static void
on_done(void *ctx, uint64_t avail_ps)
{
	done_ctx *d = ctx;

	ck_assert_uint_ge(avail_ps, h4h_kernel_now_ps());
	ck_assert_int_lt(d->lg->n, MAX_DONE);
	d->lg->tag[d->lg->n] = d->tag;
	d->lg->at[d->lg->n] = avail_ps;
	d->lg->n++;
}

/* Writes are done when their data leaves the link: at once. */
static void
on_write_done(void *ctx, uint64_t avail_ps)
{
	ck_assert_uint_eq(avail_ps, h4h_kernel_now_ps());
	on_done(ctx, avail_ps);
}

/* When the transfer tagged `tag` completed. */
static uint64_t
at_of(const dlog *lg, int tag)
{
	for (int k = 0; k < lg->n; k++)
		if (lg->tag[k] == tag)
			return lg->at[k];
	ck_abort_msg("transfer %d never completed", tag);
	return 0;
}

static sim_noc_cfg
cfg_default(void)
{
	sim_profile p;

	sim_profile_defaults(&p);
	return p.noc;
}

static sim_noc *
noc_new(const sim_noc_cfg *cfg, int masters)
{
	h4h_err err = { "" };
	sim_noc *noc;

	ck_assert_msg(h4h_kernel_init(&err) == 0, "%s", err.msg);
	noc = sim_noc_create(cfg, masters);
	ck_assert_ptr_nonnull(noc);
	return noc;
}

static void
run_ok(void)
{
	h4h_err err = { "" };

	ck_assert_msg(h4h_kernel_run(&err) == 0, "%s", err.msg);
}

/* A transfer issued later, from a timer callback. */
typedef struct later {
	sim_noc *noc;
	int master, posted;
	double bytes;
	done_ctx *dc;
	h4h_timer *t;
} later;

static void
issue_later(void *ctx)
{
	later *l = ctx;

	sim_noc_transfer(l->noc, l->master, l->bytes, l->posted, 1, on_done,
	    l->dc);
}

static void
schedule(later *l, uint64_t delay)
{
	l->t = h4h_timer_acquire(issue_later, l);
	ck_assert_ptr_nonnull(l->t);
	h4h_timer_notify(l->t, delay);
}

/* ---- Core ---------------------------------------------------------------- */

START_TEST(test_defaults_are_8_bytes_per_2000ps)
{
	sim_noc_cfg c = cfg_default();

	ck_assert_double_eq(c.bandwidth_gbps, 4);
	ck_assert_double_eq(c.clock_mhz, 500);
	ck_assert_int_eq(c.latency_cycles, 32);
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 800), 100 * CYC);
	ck_assert_uint_eq(sim_noc_latency_ps(&c), LAT);
}
END_TEST

START_TEST(test_one_read)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 1);
	uint64_t t0 = h4h_kernel_now_ps();
	dlog lg = { 0 };
	done_ctx d = { &lg, 1 };

	sim_noc_transfer(noc, 0, 800, 0, 1, on_done, &d);
	run_ok();
	ck_assert_int_eq(lg.n, 1);
	ck_assert_uint_eq(lg.at[0], t0 + (100 + 32) * CYC);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_two_reads_serialize)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 3);
	uint64_t t0 = h4h_kernel_now_ps();
	dlog lg = { 0 };
	done_ctx a = { &lg, 0 }, b = { &lg, 1 };

	/* Same instant, different masters: 800 B then 400 B. */
	sim_noc_transfer(noc, 2, 800, 0, 1, on_done, &a);
	sim_noc_transfer(noc, 0, 400, 0, 1, on_done, &b);
	run_ok();
	ck_assert_int_eq(lg.n, 2);
	ck_assert_int_eq(lg.tag[0], 0);
	ck_assert_int_eq(lg.tag[1], 1);
	ck_assert_uint_eq(lg.at[0], t0 + (100 + 32) * CYC);
	/* The second leaves the link 50 cycles after the first did; the
	 * warm-ups overlap. */
	ck_assert_uint_eq(lg.at[1] - lg.at[0], 50 * CYC);
	ck_assert_uint_eq(lg.at[1] - lg.at[0], sim_noc_occupancy_ps(&c, 400));
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_write_done_when_off_link)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 2);
	uint64_t t0 = h4h_kernel_now_ps();
	dlog lg = { 0 };
	done_ctx w = { &lg, 0 }, r = { &lg, 1 };

	/* A write, then a read queued behind it. */
	sim_noc_transfer(noc, 1, 800, 1, 1, on_write_done, &w);
	sim_noc_transfer(noc, 0, 80, 0, 1, on_done, &r);
	run_ok();
	ck_assert_int_eq(lg.n, 2);
	ck_assert_uint_eq(at_of(&lg, 0), t0 + 100 * CYC);
	ck_assert_uint_eq(at_of(&lg, 1), t0 + (100 + 10 + 32) * CYC);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_fifo_across_masters)
{
	enum { N = 10 };
	static const int master[N] = { 2, 0, 1, 2, 0, 3, 1, 1, 0, 3 };
	static const double bytes[N] = { 64, 800, 8, 1000, 0, 17, 4096,
	    16, 333, 72 };
	static const int posted[N] = { 0, 1, 0, 0, 1, 0, 1, 0, 0, 1 };
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 4);
	uint64_t t0 = h4h_kernel_now_ps(), free_at = t0;
	uint64_t expect[N];
	dlog lg = { 0 };
	done_ctx d[N];

	for (int i = 0; i < N; i++) {
		d[i] = (done_ctx){ &lg, i };
		sim_noc_transfer(noc, master[i], bytes[i], posted[i], 1,
		    posted[i] ? on_write_done : on_done, &d[i]);
		/* Reference: in issue order, back to back on the link. */
		free_at += (uint64_t)((bytes[i] + 7) / 8) * CYC;
		expect[i] = free_at + (posted[i] ? 0 : LAT);
	}
	run_ok();
	ck_assert_int_eq(lg.n, N);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(at_of(&lg, i), expect[i]);
	/* Reads alone are reported in issue order, at increasing times. */
	for (int k = 0, last = -1; k < N; k++)
		if (!posted[lg.tag[k]]) {
			ck_assert_int_gt(lg.tag[k], last);
			if (last >= 0)
				ck_assert_uint_gt(lg.at[k], expect[last]);
			last = lg.tag[k];
		}
	ck_assert_uint_eq(sim_noc_busy_ps(noc), free_at - t0);
	sim_noc_destroy(noc);
}
END_TEST

/* A master alone on the link (sim_noc_set_solo) hears of each delivery
 * before the transfer call returns, at the times the link-free events
 * would have reported, and the horizon is the last of them. */
START_TEST(test_solo_told_at_once)
{
	enum { N = 6 };
	static const double bytes[N] = { 800, 8, 0, 4096, 17, 333 };
	static const int posted[N] = { 0, 1, 0, 0, 1, 1 };
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 1);
	uint64_t t0 = h4h_kernel_now_ps(), free_at = t0;
	dlog lg = { 0 };
	done_ctx d[N];

	sim_noc_reset(noc, NULL, t0);
	sim_noc_set_solo(noc, 1);
	for (int i = 0; i < N; i++) {
		d[i] = (done_ctx){ &lg, i };
		sim_noc_transfer(noc, 0, bytes[i], posted[i], 1, on_done,
		    &d[i]);
		ck_assert_int_eq(lg.n, i + 1);
		free_at += (uint64_t)((bytes[i] + 7) / 8) * CYC;
		ck_assert_uint_eq(lg.at[i], free_at + (posted[i] ? 0 : LAT));
	}
	/* The last delivery is a posted write: the horizon is its time. */
	ck_assert_uint_eq(sim_noc_horizon_ps(noc), t0 + (100 + 1 + 512 + 3 +
	    42) * CYC);
	run_ok();
	ck_assert_int_eq(lg.n, N);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), free_at - t0);
	sim_noc_set_solo(noc, 0);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_stats_exact)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 3);
	later l1, l2;
	dlog lg = { 0 };
	done_ctx d[4] = { { &lg, 0 }, { &lg, 1 }, { &lg, 2 }, { &lg, 3 } };
	uint64_t t0 = h4h_kernel_now_ps();
	const sim_noc_stats *s0, *s1, *s2;

	/* t0: master 0 reads 800 B (link busy until +100 cycles) and master 1
	 * writes 160 B (queued: waits 100 cycles, holds 20). */
	sim_noc_transfer(noc, 0, 800, 0, 1, on_done, &d[0]);
	sim_noc_transfer(noc, 1, 160, 1, 1, on_write_done, &d[1]);
	/* +75 cycles: master 1 reads 80 B: waits until +120, holds 10. */
	l1 = (later){ noc, 1, 0, 80, &d[2], NULL };
	schedule(&l1, 75 * CYC);
	/* +500 cycles: master 0 reads 8 B on an idle link: no wait. */
	l2 = (later){ noc, 0, 0, 8, &d[3], NULL };
	schedule(&l2, 500 * CYC);
	run_ok();
	ck_assert_int_eq(lg.n, 4);
	ck_assert_uint_eq(at_of(&lg, 0), t0 + 132 * CYC);
	ck_assert_uint_eq(at_of(&lg, 1), t0 + 120 * CYC);
	ck_assert_uint_eq(at_of(&lg, 2), t0 + (130 + 32) * CYC);
	ck_assert_uint_eq(at_of(&lg, 3), t0 + (501 + 32) * CYC);

	s0 = sim_noc_stats_of(noc, 0);
	s1 = sim_noc_stats_of(noc, 1);
	s2 = sim_noc_stats_of(noc, 2);
	ck_assert_double_eq(s0->bytes, 808);
	ck_assert_int_eq(s0->transfers, 2);
	ck_assert_uint_eq(s0->busy_ps, 101 * CYC);
	ck_assert_uint_eq(s0->wait_ps, 0);
	ck_assert_double_eq(s1->bytes, 240);
	ck_assert_int_eq(s1->transfers, 2);
	ck_assert_uint_eq(s1->busy_ps, 30 * CYC);
	ck_assert_uint_eq(s1->wait_ps, (100 + 45) * CYC);
	ck_assert_double_eq(s2->bytes, 0);
	ck_assert_int_eq(s2->transfers, 0);
	ck_assert_uint_eq(s2->busy_ps, 0);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 131 * CYC);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), s0->busy_ps + s1->busy_ps);

	h4h_timer_release(l1.t);
	h4h_timer_release(l2.t);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_double_bandwidth_halves_occupancy)
{
	sim_noc_cfg c4 = cfg_default(), c8 = c4;
	sim_noc *noc;
	dlog lg = { 0 };
	done_ctx a = { &lg, 0 }, b = { &lg, 1 };
	uint64_t t0;

	c8.bandwidth_gbps = 8;
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c8, 800), 50 * CYC);
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c8, 800) * 2,
	    sim_noc_occupancy_ps(&c4, 800));
	/* The latency is in cycles: bandwidth does not change it. */
	ck_assert_uint_eq(sim_noc_latency_ps(&c8), sim_noc_latency_ps(&c4));
	noc = noc_new(&c8, 2);
	t0 = h4h_kernel_now_ps();
	sim_noc_transfer(noc, 0, 800, 0, 1, on_done, &a);
	sim_noc_transfer(noc, 1, 800, 0, 1, on_done, &b);
	run_ok();
	ck_assert_uint_eq(at_of(&lg, 0), t0 + (50 + 32) * CYC);
	ck_assert_uint_eq(at_of(&lg, 1), t0 + (100 + 32) * CYC);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 100 * CYC);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_reset_clears_stats)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 2);
	dlog lg = { 0 };
	done_ctx a = { &lg, 0 }, b = { &lg, 1 };
	const sim_noc_stats *s;
	uint64_t t1;

	sim_noc_transfer(noc, 0, 800, 0, 1, on_done, &a);
	sim_noc_transfer(noc, 1, 800, 0, 1, on_done, &a);
	run_ok();
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 200 * CYC);
	t1 = h4h_kernel_now_ps();
	sim_noc_reset(noc, NULL, t1);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 0);
	for (int m = 0; m < 2; m++) {
		s = sim_noc_stats_of(noc, m);
		ck_assert_double_eq(s->bytes, 0);
		ck_assert_int_eq(s->transfers, 0);
		ck_assert_uint_eq(s->busy_ps, 0);
		ck_assert_uint_eq(s->wait_ps, 0);
	}
	/* The link works after a reset and counts afresh. */
	sim_noc_transfer(noc, 1, 24, 0, 1, on_done, &b);
	run_ok();
	ck_assert_int_eq(lg.n, 3);
	ck_assert_uint_eq(lg.at[2], t1 + (3 + 32) * CYC);
	s = sim_noc_stats_of(noc, 1);
	ck_assert_double_eq(s->bytes, 24);
	ck_assert_int_eq(s->transfers, 1);
	ck_assert_uint_eq(s->busy_ps, 3 * CYC);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 3 * CYC);
	ck_assert_int_eq(sim_noc_stats_of(noc, 0)->transfers, 0);
	sim_noc_destroy(noc);
}
END_TEST

/* ---- Limits -------------------------------------------------------------- */

START_TEST(test_zero_byte_read_is_latency_alone)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 1);
	uint64_t t0 = h4h_kernel_now_ps(), t1;
	dlog lg = { 0 };
	done_ctx d = { &lg, 0 }, w = { &lg, 1 };

	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 0), 0);
	sim_noc_transfer(noc, 0, 0, 0, 1, on_done, &d);
	run_ok();
	ck_assert_int_eq(lg.n, 1);
	ck_assert_uint_eq(lg.at[0], t0 + LAT);
	/* A zero-byte write is done at once. */
	t1 = h4h_kernel_now_ps();
	sim_noc_transfer(noc, 0, 0, 1, 1, on_write_done, &w);
	run_ok();
	ck_assert_int_eq(lg.n, 2);
	ck_assert_uint_eq(lg.at[1], t1);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 0);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_occupancy_rounds_up_to_cycles)
{
	sim_noc_cfg c = cfg_default(), c333 = c;

	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 1), 1 * CYC);
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 8), 1 * CYC);
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 9), 2 * CYC);
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 801), 101 * CYC);
	/* Chunks can be fractional bytes (means over chunks). */
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 800.25), 101 * CYC);
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c, 799.75), 100 * CYC);
	/* 333 MHz: 4000/333 = 12.012 B/cycle; 800 B -> 67 cycles =
	 * 67e6/333 = 201201.2 ps -> 201201. */
	c333.clock_mhz = 333;
	ck_assert_uint_eq(sim_noc_occupancy_ps(&c333, 800), 201201);
	ck_assert_uint_eq(sim_noc_latency_ps(&c333), 96096);
}
END_TEST

START_TEST(test_no_latency)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc;
	dlog lg = { 0 };
	done_ctx a = { &lg, 0 }, b = { &lg, 1 };
	uint64_t t0;

	c.latency_cycles = 0;
	noc = noc_new(&c, 2);
	t0 = h4h_kernel_now_ps();
	sim_noc_transfer(noc, 0, 16, 0, 1, on_done, &a);
	sim_noc_transfer(noc, 1, 16, 1, 1, on_write_done, &b);
	run_ok();
	/* A read and a write now complete when they leave the link. */
	ck_assert_uint_eq(at_of(&lg, 0), t0 + 2 * CYC);
	ck_assert_uint_eq(at_of(&lg, 1), t0 + 4 * CYC);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_warmups_overlap_occupancy_does_not)
{
	enum { N = 20 };
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 1);
	uint64_t t0 = h4h_kernel_now_ps();
	dlog lg = { 0 };
	done_ctx d[N];

	/* 20 one-cycle reads: the last arrives after 20 cycles on the link
	 * plus one warm-up, not 20 warm-ups. */
	for (int i = 0; i < N; i++) {
		d[i] = (done_ctx){ &lg, i };
		sim_noc_transfer(noc, 0, 8, 0, 1, on_done, &d[i]);
	}
	run_ok();
	ck_assert_int_eq(lg.n, N);
	for (int k = 0; k < N; k++) {
		ck_assert_int_eq(lg.tag[k], k);
		ck_assert_uint_eq(lg.at[k], t0 + (uint64_t)(k + 1) * CYC + LAT);
	}
	ck_assert_uint_eq(sim_noc_stats_of(noc, 0)->wait_ps,
	    (uint64_t)(N * (N - 1) / 2) * CYC);
	sim_noc_destroy(noc);
}
END_TEST

START_TEST(test_idle_gap_not_busy)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 1);
	later l;
	dlog lg = { 0 };
	done_ctx a = { &lg, 0 }, b = { &lg, 1 };
	uint64_t t0 = h4h_kernel_now_ps();

	/* A read issued long after the link went idle starts at once. */
	sim_noc_transfer(noc, 0, 80, 0, 1, on_done, &a);
	l = (later){ noc, 0, 0, 80, &b, NULL };
	schedule(&l, 1000 * CYC);
	run_ok();
	ck_assert_uint_eq(lg.at[1], t0 + (1000 + 10 + 32) * CYC);
	ck_assert_uint_eq(sim_noc_busy_ps(noc), 20 * CYC);
	ck_assert_uint_eq(sim_noc_stats_of(noc, 0)->wait_ps, 0);
	h4h_timer_release(l.t);
	sim_noc_destroy(noc);
}
END_TEST

/* ---- Errors -------------------------------------------------------------- */

START_TEST(test_destroy_null_and_pending)
{
	sim_noc_cfg c = cfg_default();
	sim_noc *noc = noc_new(&c, 1), *other;
	dlog lg = { 0 };
	done_ctx a = { &lg, 0 };
	uint64_t t0 = h4h_kernel_now_ps();

	sim_noc_destroy(NULL);
	/* Destroying a NoC with transfers queued and on the link must not
	 * leave its timers firing into freed memory. */
	sim_noc_transfer(noc, 0, 800, 0, 1, on_done, &a);
	sim_noc_transfer(noc, 0, 800, 0, 1, on_done, &a);
	sim_noc_destroy(noc);
	run_ok();
	ck_assert_int_eq(lg.n, 0);
	ck_assert_uint_eq(h4h_kernel_now_ps(), t0);
	/* A fresh NoC reuses the pooled timers cleanly. */
	other = noc_new(&c, 1);
	sim_noc_transfer(other, 0, 8, 0, 1, on_done, &a);
	run_ok();
	ck_assert_int_eq(lg.n, 1);
	ck_assert_uint_eq(lg.at[0], t0 + CYC + LAT);
	sim_noc_destroy(other);
}
END_TEST

static Suite *
noc_suite(void)
{
	Suite *s = suite_create("noc");
	TCase *core = tcase_create("Core");
	TCase *limits = tcase_create("Limits");
	TCase *errors = tcase_create("Errors");

	tcase_add_test(core, test_defaults_are_8_bytes_per_2000ps);
	tcase_add_test(core, test_one_read);
	tcase_add_test(core, test_two_reads_serialize);
	tcase_add_test(core, test_write_done_when_off_link);
	tcase_add_test(core, test_fifo_across_masters);
	tcase_add_test(core, test_stats_exact);
	tcase_add_test(core, test_solo_told_at_once);
	tcase_add_test(core, test_double_bandwidth_halves_occupancy);
	tcase_add_test(core, test_reset_clears_stats);
	suite_add_tcase(s, core);

	tcase_add_test(limits, test_zero_byte_read_is_latency_alone);
	tcase_add_test(limits, test_occupancy_rounds_up_to_cycles);
	tcase_add_test(limits, test_no_latency);
	tcase_add_test(limits, test_warmups_overlap_occupancy_does_not);
	tcase_add_test(limits, test_idle_gap_not_busy);
	suite_add_tcase(s, limits);

	tcase_add_test(errors, test_destroy_null_and_pending);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(noc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
