/*
 * canon.h - canonical forms and hashes of layers, networks and profiles:
 * what makes two of them "the same" for the cost database.
 *
 * A layer's key holds everything its cost depends on (op, shapes, kernel,
 * stride, groups, heads, activation, and whether it reads the network input
 * or writes its output, which sets the NPU's tensor layout) and nothing else
 * (not its name or position).  A network's canonical text is its input shape
 * plus every layer's key and inputs, in order; a profile's is the model
 * revision (sim.h) and its dump (profile.h) without the name and the
 * objective.  Hashes are 64 bits,
 * printed as 16 hex digits: an index, not an identity (the text is the
 * identity).  Layer and network hashes mix the fields word by word (they
 * are computed for every layer the search costs); text hashes are FNV-1a.
 */
#ifndef H4H_SIM_CANON_H
#define H4H_SIM_CANON_H

#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"

#define SIM_LAYER_KEY_MAX 160

/* e.g. "conv k3x3 s1 g1 h1 mm0x0x0 56x56x32>56x56x64 relu io0" */
void sim_layer_key(const sim_layer *l, char *buf, size_t n);
/* The layer a key describes (name empty, inputs[0] -1 if it reads the
 * network input, else 0): sim_layer_key of it gives the key back.  0, or
 * -1 if the text is not a key. */
int sim_layer_key_parse(const char *key, sim_layer *out);
/* Hash of the key, without formatting it. */
uint64_t sim_layer_hash(const sim_layer *l);
/* 1 if two layers have the same key (compared field by field). */
int sim_layer_same_key(const sim_layer *a, const sim_layer *b);

/* Caller frees. */
char *sim_net_canon(const sim_net *net);
/* Hash of the canonical text's content, without formatting it. */
uint64_t sim_net_hash(const sim_net *net);
char *sim_profile_canon(const sim_profile *p);

#endif
