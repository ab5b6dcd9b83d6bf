/*
 * store.h - the cost database's identities and network costs: systems
 * and networks by canonical text (canon.h), the cost of a network per
 * (system, network, objective), and the flush that writes what is pending.
 */
#ifndef H4H_COST_STORE_H
#define H4H_COST_STORE_H

#include <stdint.h>

#include "core/err.h"
#include "cost/db.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"
#include "sim/spec/result.h"

/* Insert-or-get by canonical text. */
int h4h_db_system(h4h_db *db, const sim_profile *p, int64_t *id,
    h4h_err *err);
/* source: "net" or "arch"; arch_json: the architecture's canonical JSON
 * (NULL for a layer list). */
int h4h_db_network(h4h_db *db, const sim_net *net, const char *source,
    const char *arch_json, int64_t *id, h4h_err *err);

/* Network costs (kept in memory until flushed, like the layer costs). */
int h4h_db_net_cost_get(h4h_db *db, int64_t system_id, int64_t network_id,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err);
int h4h_db_net_cost_put(h4h_db *db, int64_t system_id, int64_t network_id,
    const sim_result *r, h4h_err *err);

/* The same for a network identified by its layer list, for the search
 * loop: after h4h_db_preload a network the file has no cost for is known
 * new without a query, and a new network's row is written with its cost at
 * the next flush instead of at once. */
int h4h_db_net_cost_find(h4h_db *db, int64_t system_id, const sim_net *net,
    sim_objective obj, double *latency_s, double *energy_j, int *found,
    h4h_err *err);
int h4h_db_net_cost_put_net(h4h_db *db, int64_t system_id, const sim_net *net,
    const char *source, const char *arch_json, const sim_result *r,
    h4h_err *err);

/* Write everything pending in one transaction. */
int h4h_db_flush(h4h_db *db, h4h_err *err);

#endif
