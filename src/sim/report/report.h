/*
 * report.h - a simulation's results printed for people and programs: a
 * per-layer table, a side-by-side comparison of systems, JSON and CSV
 * (doc/formats.md).  Pure formatting over sim_result (spec/result.h).
 */
#ifndef H4H_SIM_REPORT_REPORT_H
#define H4H_SIM_REPORT_REPORT_H

#include <stdio.h>

#include "core/err.h"
#include "sim/spec/result.h"

void sim_result_print_table(const sim_result *r, FILE *f);
void sim_result_print_compare(sim_result *const *rs, int n, FILE *f);
/* JSON with top-level latency_s, energy_j, layers[] (doc/formats.md). */
char *sim_result_json(sim_result *const *rs, int n);
int sim_result_write_csv(sim_result *const *rs, int n, const char *path,
    h4h_err *err);

#endif
