/*
 * zblob.h - deflated text columns: networks.arch holds an architecture's
 * JSON label deflated with zlib (about a fifth of its size: the labels
 * were half of the demo's database), and SQL functions that let the
 * schema's migration and `h4h db export` read and write it.
 */
#ifndef H4H_COST_ZBLOB_H
#define H4H_COST_ZBLOB_H

#include <sqlite3.h>
#include <stddef.h>

/* The largest text a column inflates to: labels are a few kB, so a blob
 * that claims more is corrupt, not a label (and not a reason to allocate
 * what it says). */
#define DB_ZTEXT_MAX (1u << 24)

/* text (n bytes) deflated into a new buffer of *out_n bytes; NULL if
 * zlib runs out of memory (the caller stores the text itself). */
unsigned char *db_zdeflate(const char *text, size_t n, size_t *out_n);

/* The text a blob of n bytes deflates, NUL-terminated in a new buffer, or
 * NULL if it is not a zlib stream of at most DB_ZTEXT_MAX bytes. */
char *db_zinflate(const void *blob, size_t n);

/* h4h_deflate(text) and h4h_inflate(blob) on connection s (the latter
 * passes text through: a label an older version or a person wrote). */
int db_zfuncs_register(sqlite3 *s);

#endif
