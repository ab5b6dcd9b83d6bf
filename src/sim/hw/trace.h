/*
 * trace.h - busy intervals of every device, written as Chrome trace-event
 * JSON (the format Perfetto's UI and chrome://tracing open).
 *
 * Tracks: the layer timeline, the NPU MAC stage, the NPU output stage, the
 * NoC, and per macro one track for the macro plus one per compute unit.
 * Models report spans relative to the start of the layer being simulated;
 * the engine sets the layer's offset on the network timeline.  Names are
 * stored as pointers: they must outlive the trace (string literals or the
 * net's layer names).
 */
#ifndef H4H_SIM_TRACE_H
#define H4H_SIM_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

enum {
	SIM_TRACK_LAYER,
	SIM_TRACK_NPU_MAC,
	SIM_TRACK_NPU_OUT,
	SIM_TRACK_NOC,
	SIM_TRACK_CIM_BASE,	/* + macro * (1 + cus) + (0 | 1 + cu) */
};

typedef struct sim_trace sim_trace;

sim_trace *sim_trace_create(int macros, int cus_per_macro);
void sim_trace_destroy(sim_trace *tr);

void sim_trace_set_offset(sim_trace *tr, uint64_t offset_ps);
int sim_trace_cim_track(const sim_trace *tr, int macro, int cu);

/* value: bytes for NoC spans, channels for compute spans (or 0); master:
 * for NoC spans, which master held the link. */
void sim_trace_span(sim_trace *tr, int track, const char *name,
    uint64_t t0_ps, uint64_t t1_ps, int master, double value);

/* A layer's span on the layer track, with its op, split and energy. */
void sim_trace_layer(sim_trace *tr, const char *name, const char *op,
    uint64_t t1_ps, int npu_channels, int cim_channels, int macros,
    double energy_j);
/* The system the trace is of: the process is named after it, and the
 * file records it with h4h's version and model revision.  Both strings
 * are copied. */
void sim_trace_set_system(sim_trace *tr, const char *name, const char *hash);

size_t sim_trace_count(const sim_trace *tr);

/* Writes atomically: a temporary file in the same directory, then rename. */
int sim_trace_write(const sim_trace *tr, const char *path, h4h_err *err);

#endif
