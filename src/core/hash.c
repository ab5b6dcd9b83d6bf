/*
 * hash.c - FNV-1a and the open-addressing table (see hash.h).
 */
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

uint64_t
h4h_hash64(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
nonzero(uint64_t h)
{
	return h ? h : 1;
}

static void
insert(h4h_htab *t, uint64_t h, void *item)
{
	size_t i;

	for (i = (size_t)h4h_hash_mix(h, 0) & (t->cap - 1); t->hash[i] != 0;
	    i = (i + 1) & (t->cap - 1))
		;
	t->hash[i] = h;
	t->item[i] = item;
}

void
h4h_htab_add(h4h_htab *t, uint64_t h, void *item)
{
	h = nonzero(h);
	if (2 * (t->n + 1) > t->cap) {
		h4h_htab old = *t;

		t->cap = old.cap ? 2 * old.cap : 64;
		t->hash = h4h_xcalloc(t->cap, sizeof *t->hash);
		t->item = h4h_xcalloc(t->cap, sizeof *t->item);
		for (size_t i = 0; i < old.cap; i++)
			if (old.hash[i] != 0)
				insert(t, old.hash[i], old.item[i]);
		free(old.hash);
		free(old.item);
	}
	insert(t, h, item);
	t->n++;
}

void
h4h_htab_free(h4h_htab *t, void (*free_item)(void *))
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->hash[i] != 0 && free_item != NULL)
			free_item(t->item[i]);
	free(t->hash);
	free(t->item);
	memset(t, 0, sizeof *t);
}
