/*
 * gpool.h - a global pool over a large map, lowered as Vela lowers a large
 * MEAN: strided pools first.  The U55 model finds no block configuration
 * that fits SHRAM for a global pool of a map much larger than 16x16
 * (measured: 16x16 passes, 28x28 does not), so every front end (the JSON
 * layer list, the ONNX importer) brings the map down to at most
 * SIM_GLOBAL_POOL_MAX per side with pools of kernel = stride <= 8 before
 * the global pool.  Their MACs differ from one global pool's only in the
 * pools' own (uncounted) reads.
 */
#ifndef H4H_SIM_FRONT_GPOOL_H
#define H4H_SIM_FRONT_GPOOL_H

#include "core/err.h"
#include "sim/spec/net.h"

/* The largest map pooled globally in one pass (16 passes; 14 leaves a
 * margin). */
#define SIM_GLOBAL_POOL_MAX 14

/* The most pools sim_front_pre_pool appends (a map of SIM_DIM_MAX per
 * side, divided by 8 at each). */
#define SIM_PRE_POOL_MAX 7

/* l is a global pool not yet appended to net (its input, or its view,
 * set).  Appends the strided pools that bring the map it reads to at most
 * SIM_GLOBAL_POOL_MAX per side, named BASE~pre1, BASE~pre2, ... (BASE cut
 * to 52 bytes), and makes l read the last of them; nothing if the map is
 * small enough.  A name already in the net is an error (sim_net_append's
 * message), unless `unique`: the caller has made sure there is none, and
 * the O(layers) check is skipped. */
int sim_front_pre_pool(sim_net *net, sim_layer *l, const char *base,
    int unique, h4h_err *err);

#endif
