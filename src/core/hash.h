/*
 * hash.h - FNV-1a and the one open-addressing hash table of h4h's in-memory
 * tables (the cost database's, the oracle's memo).
 *
 * The table maps a 64-bit hash to an item pointer: linear probing in a
 * power-of-two array, grown to twice its size before it passes half load.
 * Items own a copy of their key; the stored hash only skips most
 * comparisons and `eq` decides (a NULL `eq` makes the hash the key).  A
 * hash of 0 is stored as 1, since 0 marks an empty slot.  Items are never
 * removed; the table is freed whole.
 */
#ifndef H4H_CORE_HASH_H
#define H4H_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a over n bytes from seed (H4H_HASH_SEED: the FNV offset basis). */
uint64_t h4h_hash64(const void *data, size_t n, uint64_t seed);
#define H4H_HASH_SEED 0xcbf29ce484222325ULL

/* Folds v into h and finalises (murmur3's multiplier): for hashes of
 * composite keys, and the table's slot index. */
static inline uint64_t
h4h_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

typedef struct h4h_htab {
	size_t cap, n;			/* cap: 0 or a power of two */
	uint64_t *hash;
	void **item;
} h4h_htab;

/* Zero-initialised is an empty table. */
#define H4H_HTAB_INIT { 0, 0, NULL, NULL }

typedef int (*h4h_htab_eq)(const void *item, const void *key);

/* The item stored under h for which eq(item, key) holds (with eq NULL: the
 * first stored under h), or NULL.  Inline: it is on the search's hot path
 * (every layer and network the oracle costs), where the call and the
 * indirect eq showed in bench_oracle. */
static inline void *
h4h_htab_find(const h4h_htab *t, uint64_t h, h4h_htab_eq eq, const void *key)
{
	if (t->cap == 0)
		return NULL;
	h = h ? h : 1;
	for (size_t i = (size_t)h4h_hash_mix(h, 0) & (t->cap - 1);
	    t->hash[i] != 0; i = (i + 1) & (t->cap - 1))
		if (t->hash[i] == h && (eq == NULL || eq(t->item[i], key)))
			return t->item[i];
	return NULL;
}

/* Stores item under h; the caller checked that no equal item is present. */
void h4h_htab_add(h4h_htab *t, uint64_t h, void *item);

/* Frees the table and, with free_item, every item; leaves it empty. */
void h4h_htab_free(h4h_htab *t, void (*free_item)(void *));

#endif
