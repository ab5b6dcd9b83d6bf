/*
 * oracle.h - the cost oracle the architecture search queries: the latency
 * and energy of a network (an H4H arch or a layer list) on one system,
 * simulating only the layers the cost database has not seen.
 *
 * Three levels of memo: networks costed in this process (an in-memory table
 * keyed by the 64-bit hash of the arch or layer list: a collision would
 * return another network's cost, with probability ~n^2/2^64), networks in
 * the database, and layers in the database (db.h).  Everything new is
 * written at h4h_oracle_flush (and close), in one transaction.
 */
#ifndef H4H_SIM_ORACLE_H
#define H4H_SIM_ORACLE_H

#include "sim/front/arch.h"
#include "core/err.h"
#include "cost/db.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"
#include "sim/sim.h"

typedef struct h4h_oracle h4h_oracle;

typedef struct h4h_cost {
	double latency_s;
	double energy_j;
	int known;		/* 1: nothing had to be simulated (found, or
				 * every layer was stored) */
	int layers_simulated;	/* layer simulations this query ran */
} h4h_cost;

typedef struct h4h_oracle_stats {
	long long queries;
	long long memo_hits;		/* in this process */
	long long db_hits;		/* network found in the database */
	long long networks_costed;	/* engine runs */
	long long layers_simulated;
	long long layers_reused;
} h4h_oracle_stats;

/* The profile's objective decides the splits (and so the costs). */
int h4h_oracle_open(const char *db_path, const sim_profile *p,
    h4h_oracle **out, h4h_err *err);
/* Flushes; errors of that last flush are lost: flush first to see them. */
void h4h_oracle_close(h4h_oracle *o);

int h4h_oracle_cost_arch(h4h_oracle *o, const sim_arch *a, h4h_cost *out,
    h4h_err *err);
/* detail, if non-NULL, receives the per-layer result (caller destroys);
 * asking for it always runs the engine (from cached layers). */
int h4h_oracle_cost_net(h4h_oracle *o, const sim_net *net, h4h_cost *out,
    sim_result **detail, h4h_err *err);
int h4h_oracle_flush(h4h_oracle *o, h4h_err *err);
/* The oracle's database handle (for h4h_db_bad_rows). */
const h4h_db *h4h_oracle_db(const h4h_oracle *o);
void h4h_oracle_get_stats(const h4h_oracle *o, h4h_oracle_stats *s);

#endif
