/*
 * netbody.h - a network's identity in the cost database (schema v5): its
 * body, the bytes that stand for its canonical text (canon.h).
 *
 * The canonical text is the input shape and, per layer, its key and its
 * inputs.  Keys are stored once, in `layers`, so a body holds the key's
 * layers.id instead: unsigned LEB128 varints of in_h, in_w, in_c and the
 * layer count, then per layer its layers.id, its input count and each
 * input as the zigzag varint of (layer index - input index), where the
 * network input is index -1.  Equal texts give equal bodies in one file
 * (a key has one id there), so (hash, body) identifies a network.  A body
 * is about 3 bytes a layer where the text was about 25.
 *
 * Version 6 (DB_BODY_V6) stores each layer's id as the zigzag varint of
 * its difference from the previous layer's, shifted left by one; a low
 * bit of 1 means "one input, the layer before" and nothing follows, else
 * the input count and inputs follow as in version 5.  Most layers then
 * take one or two bytes (a body about 290 bytes, half of version 5's).
 * Migrations write the version of their schema, so they stay frozen.
 */
#ifndef H4H_COST_NETBODY_H
#define H4H_COST_NETBODY_H

#include <stddef.h>
#include <stdint.h>

#define DB_BODY_V5 5
#define DB_BODY_V6 6
#define DB_BODY_VERSION DB_BODY_V6	/* what the store writes */
#define DB_BODY_MAX_INPUTS 2		/* a layer reads one or two */

typedef struct db_body {
	unsigned char *p;
	size_t n, cap;
	int version;
	int64_t prev;			/* the last layer's id (version 6) */
} db_body;

void db_body_start(db_body *b, int version, int in_h, int in_w, int in_c,
    int n_layers);
/* Layer i (in order): its key's id and its inputs. */
void db_body_layer(db_body *b, int i, int64_t layer_id, int n_inputs,
    const int *inputs);
void db_body_free(db_body *b);

/* A body read back: the input shape and layer count, then fn(ctx, i, id,
 * n_inputs, inputs) per layer, inputs as layer indices (-1 the network's
 * input).  0, or -1 if the bytes are not a body of that version (fn's own
 * nonzero return is passed on).  For migrations and merges. */
typedef int (*db_body_layer_fn)(void *ctx, int i, int64_t layer_id,
    int n_inputs, const int *inputs);
int db_body_walk(const void *body, size_t n, int version, int *in_h,
    int *in_w, int *in_c, int *n_layers, db_body_layer_fn fn, void *ctx);

/* A network's canonical text split into what a body holds (for the v4 -> 5
 * migration): fn(ctx, i, key, n_inputs, inputs) per layer after the input
 * shape.  0, or -1 if the text is not canonical (fn's own nonzero return
 * is passed on). */
typedef int (*db_canon_layer_fn)(void *ctx, int i, const char *key,
    int n_inputs, const int *inputs);
int db_canon_split(const char *canon, int *in_h, int *in_w, int *in_c,
    int *n_layers, db_canon_layer_fn fn, void *ctx);

#endif
