/*
 * zblob.c - deflated text columns (see zblob.h).
 */
#include "cost/zblob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/err.h"

unsigned char *
db_zdeflate(const char *text, size_t n, size_t *out_n)
{
	uLongf cap = compressBound((uLong)n);
	unsigned char *z = h4h_xmalloc(cap);

	/* Level 6 (zlib's default): a label is deflated once, when its
	 * network is first stored, so speed hardly matters. */
	if (compress2(z, &cap, (const Bytef *)text, (uLong)n, 6) != Z_OK) {
		free(z);	/* out of memory: the caller keeps the text */
		return NULL;
	}
	*out_n = cap;
	return z;
}

char *
db_zinflate(const void *blob, size_t n)
{
	z_stream zs;
	size_t cap = 4096, len = 0;
	char *out = h4h_xmalloc(cap + 1);
	int rc;

	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK) {
		free(out);
		return NULL;
	}
	zs.next_in = (Bytef *)(uintptr_t)blob;
	zs.avail_in = (uInt)n;
	do {
		if (len == cap) {
			if (cap >= DB_ZTEXT_MAX)
				break;
			cap *= 2;
			out = h4h_xrealloc(out, cap + 1);
		}
		zs.next_out = (Bytef *)out + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
	} while (rc == Z_OK);
	inflateEnd(&zs);
	/* Only a whole stream that used all of the blob is a label. */
	if (rc != Z_STREAM_END || zs.avail_in != 0 ||
	    memchr(out, '\0', len) != NULL) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

static void
sql_deflate(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const char *t;
	unsigned char *z;
	size_t n;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(cx);
		return;
	}
	t = (const char *)sqlite3_value_text(argv[0]);
	if (t == NULL) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	z = db_zdeflate(t, (size_t)sqlite3_value_bytes(argv[0]), &n);
	if (z == NULL)
		sqlite3_result_value(cx, argv[0]);
	else
		sqlite3_result_blob(cx, z, (int)n, free);
}

static void
sql_inflate(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char *t;

	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_BLOB) {
		sqlite3_result_value(cx, argv[0]);
		return;
	}
	t = db_zinflate(sqlite3_value_blob(argv[0]),
	    (size_t)sqlite3_value_bytes(argv[0]));
	if (t == NULL)
		sqlite3_result_null(cx);	/* corrupt: no label */
	else
		sqlite3_result_text(cx, t, -1, free);
}

int
db_zfuncs_register(sqlite3 *s)
{
	int rc = sqlite3_create_function(s, "h4h_deflate", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, sql_deflate, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s, "h4h_inflate", 1,
		    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_inflate,
		    NULL, NULL);
	return rc;
}
