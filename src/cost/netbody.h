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
 */
#ifndef H4H_COST_NETBODY_H
#define H4H_COST_NETBODY_H

#include <stddef.h>
#include <stdint.h>

typedef struct db_body {
	unsigned char *p;
	size_t n, cap;
} db_body;

void db_body_start(db_body *b, int in_h, int in_w, int in_c, int n_layers);
/* Layer i (in order): its key's id and its inputs. */
void db_body_layer(db_body *b, int i, int64_t layer_id, int n_inputs,
    const int *inputs);
void db_body_free(db_body *b);

/* A network's canonical text split into what a body holds (for the v4 -> 5
 * migration): fn(ctx, i, key, n_inputs, inputs) per layer after the input
 * shape.  0, or -1 if the text is not canonical (fn's own nonzero return
 * is passed on). */
typedef int (*db_canon_layer_fn)(void *ctx, int i, const char *key,
    int n_inputs, const int *inputs);
int db_canon_split(const char *canon, int *in_h, int *in_w, int *in_c,
    int *n_layers, db_canon_layer_fn fn, void *ctx);

#endif
