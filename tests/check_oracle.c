/*
 * check_oracle.c - the cost oracle (oracle.c) over the cost database, and
 * the engine's use of a sim_cache.
 *
 * Core: a network costed through the database equals a plain simulation
 * bit for bit, cold and warm; the second query of a network runs nothing;
 * a fresh process (oracle) finds networks and layers in the database; an
 * arch and its lowered layer list cost the same.  Limits: a changed profile
 * value is a different system (nothing stale); a different objective keeps
 * its own network costs.
 */
#define _POSIX_C_SOURCE 200809L
#include "check_util.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/front/arch.h"
#include "cost/db.h"
#include "cost/oracle.h"

static tu_tmpdir tmp = TU_TMPDIR_INIT;
static char db_path[sizeof tmp.path[0]];

static void
setup(void)
{
	tu_tmpdir_make(&tmp, "check_oracle");
	snprintf(db_path, sizeof db_path, "%s", tu_tmpdir_path(&tmp, 0,
	    "costs.db"));
}

static void
teardown(void)
{
	tu_tmpdir_remove(&tmp);
}

static void
profile(const char *rel, sim_profile *p)
{
	char path[1024];
	h4h_err err = { "" };

	tu_src_path(path, sizeof path, rel);
	ck_assert_msg(sim_profile_load(path, p, &err) == 0, "%s", err.msg);
}

static void
arch(const char *rel, sim_arch *a)
{
	char path[1024];
	h4h_err err = { "" };

	tu_src_path(path, sizeof path, rel);
	ck_assert_msg(sim_arch_read_file(path, a, &err) == 0, "%s", err.msg);
}

START_TEST(test_matches_plain_simulation)
{
	sim_profile p;
	sim_arch a;
	sim_net *net;
	sim_result *plain, *detail;
	h4h_oracle *o;
	h4h_cost c1, c2;
	h4h_err err = { "" };

	profile("hwprofiles/system-npu-8cim.ini", &p);
	arch("nets/h4h-min.json", &a);
	ck_assert(sim_arch_lower(&a, "min", &net, &err) == 0);
	ck_assert(sim_run(&p, net, NULL, &plain, &err) == 0);

	ck_assert_msg(h4h_oracle_open(db_path, &p, &o, &err) == 0, "%s",
	    err.msg);
	ck_assert_msg(h4h_oracle_cost_arch(o, &a, &c1, &err) == 0, "%s",
	    err.msg);
	ck_assert(c1.known == 0);
	ck_assert_int_gt(c1.layers_simulated, 0);
	ck_assert(memcmp(&c1.latency_s, &plain->latency_s, sizeof(double)) ==
	    0);
	ck_assert(memcmp(&c1.energy_j, &plain->energy_j, sizeof(double)) == 0);
	/* Same arch again: the memo answers. */
	ck_assert(h4h_oracle_cost_arch(o, &a, &c2, &err) == 0);
	ck_assert(c2.known == 1);
	ck_assert(c2.latency_s == c1.latency_s);
	/* The lowered layer list, with detail: runs the engine on stored
	 * layers only, and gives the same per-layer numbers. */
	ck_assert(h4h_oracle_cost_net(o, net, &c2, &detail, &err) == 0);
	ck_assert_int_eq(c2.layers_simulated, 0);
	ck_assert(c2.latency_s == plain->latency_s);
	for (int i = 0; i < plain->n_layers; i++) {
		ck_assert(detail->layers[i].latency_s ==
		    plain->layers[i].latency_s);
		ck_assert(detail->layers[i].energy_j ==
		    plain->layers[i].energy_j);
		ck_assert(detail->layers[i].cim_channels ==
		    plain->layers[i].cim_channels);
	}
	sim_result_destroy(detail);
	ck_assert(h4h_oracle_flush(o, &err) == 0);
	h4h_oracle_close(o);

	/* A new process: the database knows the network. */
	ck_assert(h4h_oracle_open(db_path, &p, &o, &err) == 0);
	ck_assert(h4h_oracle_cost_arch(o, &a, &c2, &err) == 0);
	ck_assert(c2.known == 1);
	ck_assert_int_eq(c2.layers_simulated, 0);
	ck_assert(c2.latency_s == c1.latency_s && c2.energy_j == c1.energy_j);
	{
		h4h_oracle_stats st;

		h4h_oracle_get_stats(o, &st);
		ck_assert_int_eq(st.db_hits, 1);
		ck_assert_int_eq(st.networks_costed, 0);
	}
	h4h_oracle_close(o);
	sim_result_destroy(plain);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_changed_value_is_new_system)
{
	sim_profile p, q;
	sim_arch a;
	h4h_oracle *o;
	h4h_cost c1, c2;
	h4h_err err = { "" };

	profile("hwprofiles/system-npu-4cim.ini", &p);
	arch("nets/h4h-min.json", &a);
	ck_assert(h4h_oracle_open(db_path, &p, &o, &err) == 0);
	ck_assert(h4h_oracle_cost_arch(o, &a, &c1, &err) == 0);
	h4h_oracle_close(o);

	q = p;
	ck_assert(sim_profile_set(&q, "noc.bandwidth_gbps=8", &err) == 0);
	ck_assert(h4h_oracle_open(db_path, &q, &o, &err) == 0);
	ck_assert(h4h_oracle_cost_arch(o, &a, &c2, &err) == 0);
	ck_assert(c2.known == 0);
	ck_assert_int_gt(c2.layers_simulated, 0);
	ck_assert(c2.latency_s < c1.latency_s);
	h4h_oracle_close(o);

	/* A renamed copy of the first system is the same system. */
	q = p;
	snprintf(q.name, sizeof q.name, "renamed");
	ck_assert(h4h_oracle_open(db_path, &q, &o, &err) == 0);
	ck_assert(h4h_oracle_cost_arch(o, &a, &c2, &err) == 0);
	ck_assert(c2.known == 1 && c2.latency_s == c1.latency_s);
	h4h_oracle_close(o);
}
END_TEST

START_TEST(test_objectives_kept_apart)
{
	sim_profile p, q;
	sim_arch a;
	h4h_oracle *o;
	h4h_cost lat, en;
	h4h_err err = { "" };

	profile("hwprofiles/system-npu-8cim.ini", &p);
	arch("nets/h4h-min.json", &a);
	ck_assert(h4h_oracle_open(db_path, &p, &o, &err) == 0);
	ck_assert(h4h_oracle_cost_arch(o, &a, &lat, &err) == 0);
	h4h_oracle_close(o);
	q = p;
	q.part.objective = SIM_OBJ_ENERGY;
	ck_assert(h4h_oracle_open(db_path, &q, &o, &err) == 0);
	ck_assert(h4h_oracle_cost_arch(o, &a, &en, &err) == 0);
	/* The energy objective costs the network anew (layer costs of
	 * splits already simulated are reused) and spends no more energy. */
	ck_assert(en.known == 0);
	ck_assert(en.energy_j <= lat.energy_j * (1 + 1e-12));
	h4h_oracle_close(o);
}
END_TEST

START_TEST(test_bad_database_refused)
{
	sim_profile p;
	h4h_oracle *o = NULL;
	h4h_err err = { "" };
	FILE *f = fopen(db_path, "w");

	ck_assert(f != NULL);
	fputs("not a database\n", f);
	fclose(f);
	profile("hwprofiles/system-npu-only.ini", &p);
	ck_assert_int_eq(h4h_oracle_open(db_path, &p, &o, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, db_path) != NULL);
	ck_assert(o == NULL);
}
END_TEST

static Suite *
oracle_suite(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("Core");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_matches_plain_simulation);
	suite_add_tcase(s, tc);
	tc = tcase_create("Limits");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_changed_value_is_new_system);
	tcase_add_test(tc, test_objectives_kept_apart);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bad_database_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(oracle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
