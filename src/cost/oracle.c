/*
 * oracle.c - network costs for the search loop (see oracle.h).
 *
 * The in-memory memo is a core/hash.h table keyed by the 64-bit network
 * hash alone (arch hashes and layer-list hashes are salted apart).
 */
#include "cost/oracle.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sim/spec/canon.h"
#include "cost/db.h"
#include "cost/memo.h"
#include "cost/store.h"

typedef struct memo_entry {
	double latency_s, energy_j;
} memo_entry;

struct h4h_oracle {
	sim_profile p;
	h4h_db *db;
	int64_t system_id;
	sim_cache cache;
	sim_engine *engine;
	h4h_htab memo;			/* memo_entry by key */
	h4h_oracle_stats stats;
};

#define ARCH_SALT 0x9e3779b97f4a7c15ULL

static void
memo_put(h4h_oracle *o, uint64_t key, double lat, double energy)
{
	memo_entry *e = h4h_htab_find(&o->memo, key, NULL, NULL);

	if (e == NULL) {
		e = h4h_xmalloc(sizeof *e);
		h4h_htab_add(&o->memo, key, e);
	}
	e->latency_s = lat;
	e->energy_j = energy;
}

static const memo_entry *
memo_get(h4h_oracle *o, uint64_t key)
{
	return h4h_htab_find(&o->memo, key, NULL, NULL);
}

const h4h_db *
h4h_oracle_db(const h4h_oracle *o)
{
	return o->db;
}

int
h4h_oracle_open(const char *db_path, const sim_profile *p, h4h_oracle **out,
    h4h_err *err)
{
	h4h_oracle *o = h4h_xcalloc(1, sizeof *o);
	int rc;

	o->p = *p;
	if ((rc = h4h_db_open(db_path, H4H_DB_CREATE, &o->db, err)) != 0 ||
	    (rc = h4h_db_system(o->db, p, &o->system_id, err)) != 0 ||
	    (rc = h4h_db_cache(o->db, o->system_id, p, &o->cache,
	    err)) != 0 ||
	    (rc = h4h_db_preload(o->db, o->system_id, err)) != 0 ||
	    (rc = sim_engine_create(p, &o->engine, err)) != 0) {
		h4h_oracle_close(o);
		return rc;
	}
	*out = o;
	return 0;
}

int
h4h_oracle_flush(h4h_oracle *o, h4h_err *err)
{
	return h4h_db_flush(o->db, err);
}

void
h4h_oracle_close(h4h_oracle *o)
{
	if (o == NULL)
		return;
	if (o->db != NULL)
		h4h_db_flush(o->db, NULL);
	sim_engine_destroy(o->engine);
	h4h_db_close(o->db);
	h4h_htab_free(&o->memo, free);
	free(o);
}

/* The database's answer for a network, or the engine's (then stored at the
 * next flush). */
static int
cost_uncached(h4h_oracle *o, const sim_net *net, const char *source,
    const char *arch_json, h4h_cost *c, sim_result **detail, h4h_err *err)
{
	int found = 0, rc;
	sim_result *r;

	if (detail == NULL) {
		rc = h4h_db_net_cost_find(o->db, o->system_id, net,
		    o->p.part.objective, &c->latency_s, &c->energy_j, &found,
		    err);
		if (rc != 0)
			return rc;
		if (found) {
			c->known = 1;
			o->stats.db_hits++;
			return 0;
		}
	}
	rc = sim_engine_run(o->engine, net, NULL, &o->cache, &r, err);
	if (rc != 0)
		return rc;
	o->stats.networks_costed++;
	o->stats.layers_simulated += r->layer_sims;
	o->stats.layers_reused += r->layers_reused;
	c->latency_s = r->latency_s;
	c->energy_j = r->energy_j;
	c->known = r->layer_sims == 0;
	c->layers_simulated = r->layer_sims;
	rc = h4h_db_net_cost_put_net(o->db, o->system_id, net, source,
	    arch_json, r, err);
	if (detail != NULL && rc == 0)
		*detail = r;
	else
		sim_result_destroy(r);
	return rc;
}

int
h4h_oracle_cost_net(h4h_oracle *o, const sim_net *net, h4h_cost *out,
    sim_result **detail, h4h_err *err)
{
	uint64_t key = sim_net_hash(net);
	const memo_entry *e;
	int rc;

	memset(out, 0, sizeof *out);
	o->stats.queries++;
	if (detail == NULL && (e = memo_get(o, key)) != NULL) {
		out->latency_s = e->latency_s;
		out->energy_j = e->energy_j;
		out->known = 1;
		o->stats.memo_hits++;
		return 0;
	}
	rc = cost_uncached(o, net, "net", NULL, out, detail, err);
	if (rc == 0)
		memo_put(o, key, out->latency_s, out->energy_j);
	return rc;
}

int
h4h_oracle_cost_arch(h4h_oracle *o, const sim_arch *a, h4h_cost *out,
    h4h_err *err)
{
	uint64_t key = sim_arch_hash(a) ^ ARCH_SALT;
	const memo_entry *e;
	sim_net *net;
	char *json;
	int rc;

	memset(out, 0, sizeof *out);
	o->stats.queries++;
	if ((e = memo_get(o, key)) != NULL) {
		out->latency_s = e->latency_s;
		out->energy_j = e->energy_j;
		out->known = 1;
		o->stats.memo_hits++;
		return 0;
	}
	if ((rc = sim_arch_lower(a, a->name, &net, err)) != 0)
		return rc;
	json = sim_arch_canon(a);
	rc = cost_uncached(o, net, "arch", json, out, NULL, err);
	free(json);
	sim_net_destroy(net);
	if (rc == 0)
		memo_put(o, key, out->latency_s, out->energy_j);
	return rc;
}

void
h4h_oracle_get_stats(const h4h_oracle *o, h4h_oracle_stats *s)
{
	*s = o->stats;
}
