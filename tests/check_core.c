/*
 * check_core.c - the helpers every library shares (src/core): FNV-1a and
 * the open-addressing table (hash.c), little-endian packing (le.h), and
 * whole-file reading and file stems (file.c).
 *
 * FNV-1a values are the published test vectors of the FNV reference
 * (isthe.com/chongo/tech/comp/fnv).  Table cases force collisions with
 * a constant hash, so `eq` alone tells the items apart, and grow the
 * table through several doublings before looking every item up again.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/hash.h"
#include "core/le.h"
#include "core/splitmix.h"
#include "core/text.h"

typedef struct item {
	int key;
	int *freed;		/* counts free_item calls, or NULL */
} item;

static int
item_eq(const void *it, const void *key)
{
	return ((const item *)it)->key == *(const int *)key;
}

static void
item_free(void *p)
{
	item *it = p;

	if (it->freed != NULL)
		++*it->freed;
	free(it);
}

static item *
item_new(int key, int *freed)
{
	item *it = malloc(sizeof *it);

	ck_assert_ptr_nonnull(it);
	it->key = key;
	it->freed = freed;
	return it;
}

START_TEST(test_hash64_vectors)
{
	ck_assert_uint_eq(h4h_hash64("", 0, H4H_HASH_SEED),
	    0xcbf29ce484222325ULL);
	ck_assert_uint_eq(h4h_hash64("a", 1, H4H_HASH_SEED),
	    0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(h4h_hash64("foobar", 6, H4H_HASH_SEED),
	    0x85944171f73967e8ULL);
	/* Hashing in two pieces, seeding the second with the first. */
	ck_assert_uint_eq(h4h_hash64("bar", 3, h4h_hash64("foo", 3,
	    H4H_HASH_SEED)), 0x85944171f73967e8ULL);
}
END_TEST

START_TEST(test_htab_insert_find)
{
	h4h_htab t = H4H_HTAB_INIT;
	int freed = 0, miss = 7;

	ck_assert_ptr_null(h4h_htab_find(&t, 1, item_eq, &miss));
	for (int k = 0; k < 10; k++)
		h4h_htab_add(&t, h4h_hash_mix(0, (uint64_t)k),
		    item_new(k, &freed));
	ck_assert_uint_eq(t.n, 10);
	for (int k = 0; k < 10; k++) {
		item *it = h4h_htab_find(&t, h4h_hash_mix(0, (uint64_t)k),
		    item_eq, &k);

		ck_assert_ptr_nonnull(it);
		ck_assert_int_eq(it->key, k);
	}
	miss = 10;
	ck_assert_ptr_null(h4h_htab_find(&t, h4h_hash_mix(0, 10), item_eq,
	    &miss));
	/* The right hash with the wrong key is a miss too. */
	ck_assert_ptr_null(h4h_htab_find(&t, h4h_hash_mix(0, 3), item_eq,
	    &miss));
	h4h_htab_free(&t, item_free);
	ck_assert_int_eq(freed, 10);
	ck_assert_uint_eq(t.cap, 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(h4h_htab_find(&t, h4h_hash_mix(0, 3), item_eq,
	    &miss));
}
END_TEST

START_TEST(test_htab_collisions)
{
	h4h_htab t = H4H_HTAB_INIT;
	int freed = 0;

	/* Every item under the same hash: one probe chain, eq decides. */
	for (int k = 0; k < 100; k++)
		h4h_htab_add(&t, 42, item_new(k, &freed));
	for (int k = 0; k < 100; k++) {
		item *it = h4h_htab_find(&t, 42, item_eq, &k);

		ck_assert_ptr_nonnull(it);
		ck_assert_int_eq(it->key, k);
	}
	h4h_htab_free(&t, item_free);
	ck_assert_int_eq(freed, 100);
}
END_TEST

START_TEST(test_htab_grow)
{
	h4h_htab t = H4H_HTAB_INIT;
	const int n = 5000;
	size_t last_cap = 0;
	int grows = 0;

	for (int k = 0; k < n; k++) {
		h4h_htab_add(&t, (uint64_t)k * 0x9e3779b97f4a7c15ULL,
		    item_new(k, NULL));
		/* A power of two, never past half full. */
		ck_assert_uint_eq(t.cap & (t.cap - 1), 0);
		ck_assert_uint_le(2 * t.n, t.cap);
		if (t.cap != last_cap) {
			grows++;
			last_cap = t.cap;
		}
	}
	ck_assert_int_ge(grows, 7);
	for (int k = 0; k < n; k++) {
		item *it = h4h_htab_find(&t,
		    (uint64_t)k * 0x9e3779b97f4a7c15ULL, item_eq, &k);

		ck_assert_ptr_nonnull(it);
		ck_assert_int_eq(it->key, k);
	}
	h4h_htab_free(&t, item_free);
}
END_TEST

START_TEST(test_htab_hash_is_key)
{
	h4h_htab t = H4H_HTAB_INIT;
	item *a = item_new(1, NULL), *b = item_new(2, NULL);

	/* With eq NULL the hash is the key; 0 is stored as 1, so the two
	 * name the same item (the oracle's memo relies on nothing else). */
	h4h_htab_add(&t, 0, a);
	ck_assert_ptr_eq(h4h_htab_find(&t, 0, NULL, NULL), a);
	ck_assert_ptr_eq(h4h_htab_find(&t, 1, NULL, NULL), a);
	ck_assert_ptr_null(h4h_htab_find(&t, 2, NULL, NULL));
	h4h_htab_add(&t, 2, b);
	ck_assert_ptr_eq(h4h_htab_find(&t, 2, NULL, NULL), b);
	h4h_htab_free(&t, free);
	/* Freeing without free_item leaves the items to the caller. */
	a = item_new(3, NULL);
	h4h_htab_add(&t, 5, a);
	h4h_htab_free(&t, NULL);
	ck_assert_int_eq(a->key, 3);
	free(a);
}
END_TEST

START_TEST(test_le_bytes)
{
	unsigned char b[8];
	static const unsigned char f15[8] = { 0, 0, 0, 0, 0, 0, 0xf8, 0x3f };

	h4h_le_put16(b, 0x0201);
	ck_assert_int_eq(b[0], 1);
	ck_assert_int_eq(b[1], 2);
	h4h_le_put32(b, 0x04030201u);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(b[i], i + 1);
	h4h_le_put64(b, 0x0807060504030201ULL);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(b[i], i + 1);
	h4h_le_put_f64(b, 1.5);		/* IEEE-754: 0x3ff8000000000000 */
	ck_assert_mem_eq(b, f15, 8);
}
END_TEST

START_TEST(test_le_round_trip)
{
	static const uint64_t v64[] = { 0, 1, 0xff, 0x8000000000000000ULL,
	    0xffffffffffffffffULL, 0x0123456789abcdefULL };
	static const double vd[] = { 0.0, -2.5, 1e-300, 6.02214076e23,
	    INFINITY };
	unsigned char b[8];
	double d;

	for (size_t i = 0; i < sizeof v64 / sizeof v64[0]; i++) {
		h4h_le_put64(b, v64[i]);
		ck_assert_uint_eq(h4h_le_get64(b), v64[i]);
		h4h_le_put32(b, (uint32_t)v64[i]);
		ck_assert_uint_eq(h4h_le_get32(b), (uint32_t)v64[i]);
		h4h_le_put16(b, (uint16_t)v64[i]);
		ck_assert_uint_eq(h4h_le_get16(b), (uint16_t)v64[i]);
	}
	for (size_t i = 0; i < sizeof vd / sizeof vd[0]; i++) {
		h4h_le_put_f64(b, vd[i]);
		ck_assert(h4h_le_get_f64(b) == vd[i]);
	}
	/* The bit pattern travels, so the sign of zero does too. */
	h4h_le_put_f64(b, -0.0);
	d = h4h_le_get_f64(b);
	ck_assert(d == 0.0 && signbit(d));
	h4h_le_put_f64(b, NAN);
	ck_assert(isnan(h4h_le_get_f64(b)));
}
END_TEST

START_TEST(test_file_read)
{
	char path[] = "/tmp/check_core.XXXXXX";
	int fd = mkstemp(path);
	size_t n = 40000, len;	/* past the first buffer and its doubling */
	unsigned char *data = malloc(n);
	char *buf;
	FILE *f;
	h4h_err e = { "" };

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7);	/* NULs included */
	f = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(h4h_file_read(path, H4H_FILE_PATH_LAST, &buf, &len,
	    &e), 0);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(buf, data, n);
	free(buf);
	/* An empty file: no bytes, still a buffer to free. */
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(h4h_file_read(path, H4H_FILE_PATH_FIRST, &buf, &len,
	    &e), 0);
	ck_assert_uint_eq(len, 0);
	free(buf);
	unlink(path);
	free(data);
}
END_TEST

START_TEST(test_path_stem)
{
	char s[64], small[4];

	h4h_path_stem("nets/h4h-min.json", "net", s, sizeof s);
	ck_assert_str_eq(s, "h4h-min");
	h4h_path_stem("a.b/c.tar.gz", "net", s, sizeof s);
	ck_assert_str_eq(s, "c");
	h4h_path_stem("plain", "net", s, sizeof s);
	ck_assert_str_eq(s, "plain");
	h4h_path_stem("dir/.hidden", "arch", s, sizeof s);
	ck_assert_str_eq(s, "arch");
	h4h_path_stem("dir/", "net", s, sizeof s);
	ck_assert_str_eq(s, "net");
	h4h_path_stem("x/abcdef.json", "net", small, sizeof small);
	ck_assert_str_eq(small, "abc");
	h4h_path_stem("", "fallback", small, sizeof small);
	ck_assert_str_eq(small, "fal");
}
END_TEST

START_TEST(test_file_read_missing)
{
	char *buf = (char *)"x";
	size_t len = 3;
	h4h_err e = { "" };

	ck_assert_int_eq(h4h_file_read("/nonexistent/a.json",
	    H4H_FILE_PATH_LAST, &buf, &len, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "cannot open '/nonexistent/a.json': No such "
	    "file or directory");
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(h4h_file_read("/nonexistent/a.ckpt",
	    H4H_FILE_PATH_FIRST, &buf, &len, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "'/nonexistent/a.ckpt': cannot open: No such "
	    "file or directory");
	/* A NULL err still gets the code. */
	ck_assert_int_eq(h4h_file_read("/nonexistent/a.json",
	    H4H_FILE_PATH_LAST, &buf, &len, NULL), H4H_EINPUT);
}
END_TEST

START_TEST(test_file_read_dir)
{
	char *buf;
	size_t len;
	h4h_err e = { "" };

	/* fopen of a directory succeeds on Linux; fread fails (EISDIR). */
	ck_assert_int_eq(h4h_file_read("/", H4H_FILE_PATH_LAST, &buf, &len,
	    &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "cannot read '/': Is a directory");
	ck_assert_ptr_null(buf);
	ck_assert_int_eq(h4h_file_read("/", H4H_FILE_PATH_FIRST, &buf, &len,
	    &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "'/': cannot read: Is a directory");
}
END_TEST

/* splitmix64's reference outputs for seed 1234567 (prng.di.unimi.it's
 * splitmix64.c), and the finaliser alone is the output of state + gamma. */
START_TEST(test_splitmix64_vectors)
{
	static const uint64_t want[5] = { 6457827717110365317ULL,
	    3203168211198807973ULL, 9817491932198370423ULL,
	    4593380528125082431ULL, 16408922859458223821ULL };
	uint64_t s = 1234567, t;

	for (int i = 0; i < 5; i++) {
		t = s + H4H_SPLITMIX64_GAMMA;
		ck_assert_uint_eq(h4h_splitmix64_mix(t), want[i]);
		ck_assert_uint_eq(h4h_splitmix64(&s), want[i]);
		ck_assert_uint_eq(s, t);
	}
}
END_TEST

/* The database's old rule: 15, 16, then 17 digits, ".0" on integers. */
static void
db_rule(double v, char *buf, size_t n)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (isfinite(v) && strpbrk(buf, ".e") == NULL &&
	    strlen(buf) + 3 <= n)
		strcat(buf, ".0");
}

START_TEST(test_fmt_double)
{
	static const struct { double v; const char *s, *real; } cases[] = {
		{ 0.08, "0.08", "0.08" },
		{ 500, "500", "500.0" },
		{ -0.0, "-0", "-0.0" },
		{ 1e15, "1e+15", "1e+15" },
		{ 0.1 + 0.2, "0.30000000000000004", "0.30000000000000004" },
		{ 1.5e-7, "1.5e-07", "1.5e-07" },
		{ 123456789012.25, "123456789012.25", "123456789012.25" },
	};
	char a[40], b[40];
	uint64_t s = 42;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h4h_fmt_double(a, sizeof a, cases[i].v);
		ck_assert_str_eq(a, cases[i].s);
		h4h_fmt_double_real(a, sizeof a, cases[i].v);
		ck_assert_str_eq(a, cases[i].real);
	}
	/* The shortest form reads back, and the database's prints did not
	 * change: random bit patterns, and short decimals. */
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = h4h_splitmix64(&s);
		double v;

		if (i % 2)
			v = (double)(bits % 100000) / 1000.0 *
			    pow(10, (int)(bits >> 60) - 8);
		else
			memcpy(&v, &bits, sizeof v);
		h4h_fmt_double(a, sizeof a, v);
		ck_assert(isnan(v) || strtod(a, NULL) == v);
		h4h_fmt_double_real(a, sizeof a, v);
		db_rule(v, b, sizeof b);
		ck_assert_msg(strcmp(a, b) == 0, "%s vs %s", a, b);
	}
}
END_TEST

/* Hand-made cases: controls (C0, DEL, C1) and bytes that are not
 * well-formed UTF-8 become \xNN; well-formed UTF-8 stays. */
START_TEST(test_escape)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "plain", "plain" },
		{ "a\nb\tc", "a\\x0ab\\x09c" },
		{ "del\x7f", "del\\x7f" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },		/* U+00E9 */
		{ "\xe2\x82\xac 5", "\xe2\x82\xac 5" },	/* U+20AC */
		{ "x\xff y", "x\\xff y" },			/* not UTF-8 */
		{ "\xc3(", "\\xc3(" },			/* cut sequence */
		{ "\xc0\xaf", "\\xc0\\xaf" },		/* overlong */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },	/* surrogate */
		{ "\xc2\x9b" "2J", "\\xc2\\x9b" "2J" },	/* C1: CSI */
		{ "\xc2\xa0", "\xc2\xa0" },			/* U+00A0 stays */
	};
	char out[64], small[5];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		h4h_escape(out, sizeof out, t[i].in);
		ck_assert_msg(strcmp(out, t[i].want) == 0, "case %zu: got "
		    "'%s'", i, out);
	}
	/* cut whole: never half a sequence or half an escape */
	h4h_escape(small, sizeof small, "ab\xe2\x82\xac");
	ck_assert_str_eq(small, "ab");
	h4h_escape(small, sizeof small, "abc\n");
	ck_assert_str_eq(small, "abc");
}
END_TEST

START_TEST(test_csv_field)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	ck_assert_ptr_nonnull(f);
	h4h_csv_field(f, "plain");
	fputc('|', f);
	h4h_csv_field(f, "a,b");
	fputc('|', f);
	h4h_csv_field(f, "say \"hi\"");
	fputc('|', f);
	h4h_csv_field(f, "two\nlines");
	fputc('|', f);
	h4h_csv_field(f, NULL);
	fclose(f);
	ck_assert_str_eq(out, "plain|\"a,b\"|\"say \"\"hi\"\"\"|"
	    "\"two\nlines\"|");
	free(out);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_hash64_vectors);
	tcase_add_test(tc, test_htab_insert_find);
	tcase_add_test(tc, test_htab_hash_is_key);
	tcase_add_test(tc, test_le_bytes);
	tcase_add_test(tc, test_le_round_trip);
	tcase_add_test(tc, test_file_read);
	tcase_add_test(tc, test_path_stem);
	tcase_add_test(tc, test_splitmix64_vectors);
	tcase_add_test(tc, test_fmt_double);
	tcase_add_test(tc, test_csv_field);
	tcase_add_test(tc, test_escape);
	suite_add_tcase(s, tc);
	tc = tcase_create("Limits");
	tcase_add_test(tc, test_htab_collisions);
	tcase_add_test(tc, test_htab_grow);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_add_test(tc, test_file_read_missing);
	tcase_add_test(tc, test_file_read_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(core_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
