/*
 * check_profile.c - hardware profiles: the shipped INI files load and compose,
 * defaults equal system-npu-only.ini, the dump loads back bit-exactly, --set
 * overrides, and every kind of bad input gives the documented error naming
 * file, line, key and value.
 *
 * Shipped files are found under $H4H_SRCDIR/hwprofiles (default ".").
 * Temporary files go to $TMPDIR (default /tmp) and are removed.
 */
#define _XOPEN_SOURCE 700

#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/spec/profile.h"

/* ---- helpers ---- */

static void
shipped(char *buf, size_t size, const char *name)
{
	char rel[256];

	snprintf(rel, sizeof rel, "hwprofiles/%s", name);
	tu_src_path(buf, size, rel);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Creates an empty temp file; its name goes into path (PATH_MAX-ish). */
static void
temp_file(char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/h4h-profile-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static char *
dump_text(const sim_profile *p)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(f);
	sim_profile_dump(p, f);
	fclose(f);
	return buf;
}

/* Loads text from a temp file; returns the code, the path in path. */
static int
load_text(const char *text, char *path, size_t size, sim_profile *p,
    h4h_err *err)
{
	temp_file(path, size);
	write_text(path, text);
	return sim_profile_load(path, p, err);
}

/* Loading text must fail with code and a message holding every needle. */
static void
expect_load_error(const char *text, int code, const char *const *needles)
{
	char path[512];
	sim_profile p, before;
	h4h_err err = { "" };
	int rc;

	sim_profile_defaults(&p);
	p.cim.macros = 7;	/* a failed load must not touch *p */
	before = p;
	rc = load_text(text, path, sizeof path, &p, &err);
	unlink(path);
	ck_assert_msg(rc == code, "rc %d, expected %d; msg: %s", rc, code,
	    err.msg);
	ck_assert_msg(strstr(err.msg, path) != NULL, "no file in: %s",
	    err.msg);
	for (; *needles != NULL; needles++)
		ck_assert_msg(strstr(err.msg, *needles) != NULL,
		    "'%s' not in: %s", *needles, err.msg);
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "not one line: %s",
	    err.msg);
	ck_assert_int_eq(memcmp(&p, &before, sizeof p), 0);
}

static void
expect_set_error(const char *assignment, const char *msg)
{
	sim_profile p, before;
	h4h_err err = { "" };

	sim_profile_defaults(&p);
	before = p;
	ck_assert_int_eq(sim_profile_set(&p, assignment, &err), H4H_EINPUT);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_int_eq(memcmp(&p, &before, sizeof p), 0);
}

/* ---- Core ---- */

START_TEST(test_defaults_valid_and_stable)
{
	sim_profile a, b;
	h4h_err err = { "" };
	char *da, *db;

	sim_profile_defaults(&a);
	ck_assert_msg(sim_profile_validate(&a, &err) == 0, "%s", err.msg);
	sim_profile_defaults(&b);
	da = dump_text(&a);
	db = dump_text(&b);
	ck_assert_str_eq(da, db);
	ck_assert_ptr_nonnull(strstr(da, "noc.bandwidth_gbps = 4\n"));
	ck_assert_ptr_nonnull(strstr(da, "system.name = npu-only\n"));
	ck_assert_ptr_nonnull(strstr(da, "npu.macs = 256\n"));
	ck_assert_ptr_nonnull(strstr(da, "npu.e_mac_pj = 0.08\n"));
	ck_assert_ptr_nonnull(strstr(da, "cim.ifmp_dedup = true\n"));
	ck_assert_ptr_nonnull(strstr(da, "partition.objective = latency\n"));
	ck_assert_ptr_null(strstr(da, "include"));
	/* table order: system, npu, cim, noc, partition */
	ck_assert_ptr_eq(strstr(da, "system.name"), da);
	ck_assert(strstr(da, "npu.macs") < strstr(da, "cim.macros"));
	ck_assert(strstr(da, "cim.macros") < strstr(da, "noc.bandwidth_gbps"));
	ck_assert(strstr(da, "noc.e_sram_byte_pj") <
	    strstr(da, "partition.granularity"));
	ck_assert_int_eq(a.npu.macs, 256);
	ck_assert_int_eq(a.cim.macros, 0);
	ck_assert_int_eq(a.cim.ifmp_dedup, 1);
	ck_assert(a.cim.e_mram_read_pj_per_bit == 0.0019);
	ck_assert_int_eq(a.part.objective, SIM_OBJ_LATENCY);
	free(da);
	free(db);
}
END_TEST

START_TEST(test_shipped_systems_load)
{
	static const struct {
		const char *file, *name;
		int macros, cus;
	} sys[] = {
		{ "system-npu-only.ini", "npu-only", 0, 1 },
		{ "system-npu-1cim.ini", "npu-1cim", 1, 1 },
		{ "system-npu-4cim.ini", "npu-4cim", 4, 1 },
		{ "system-npu-8cim.ini", "npu-8cim", 8, 1 },
		{ "system-npu-1cim-4cu.ini", "npu-1cim-4cu", 1, 4 },
	};
	char path[512];
	sim_profile p;
	h4h_err err = { "" };
	size_t i;

	for (i = 0; i < sizeof sys / sizeof sys[0]; i++) {
		shipped(path, sizeof path, sys[i].file);
		ck_assert_msg(sim_profile_load(path, &p, &err) == 0, "%s",
		    err.msg);
		ck_assert_int_eq(sim_profile_validate(&p, &err), 0);
		ck_assert_str_eq(p.name, sys[i].name);
		ck_assert_int_eq(p.cim.macros, sys[i].macros);
		ck_assert_int_eq(p.cim.cus_per_macro, sys[i].cus);
		/* composed from the includes */
		ck_assert_int_eq(p.npu.macs, 256);
		ck_assert(p.noc.bandwidth_gbps == 4);
		ck_assert(p.cim.capacity_mbit == 10);
		ck_assert_int_eq(p.cim.cu_accumulations * p.cim.cu_products,
		    144);
	}
}
END_TEST

START_TEST(test_defaults_equal_npu_only_file)
{
	char path[512], *dd, *df;
	sim_profile d, f;
	h4h_err err = { "" };

	sim_profile_defaults(&d);
	shipped(path, sizeof path, "system-npu-only.ini");
	ck_assert_msg(sim_profile_load(path, &f, &err) == 0, "%s", err.msg);
	dd = dump_text(&d);
	df = dump_text(&f);
	ck_assert_str_eq(dd, df);
	free(dd);
	free(df);
}
END_TEST

START_TEST(test_component_files_load)
{
	static const struct {
		const char *file;
		int macs;
		double static_mw;
	} npu[] = {
		{ "npu/u55-32.ini", 32, 1.5 },
		{ "npu/u55-64.ini", 64, 2 },
		{ "npu/u55-128.ini", 128, 3 },
		{ "npu/u55-256.ini", 256, 5 },
	};
	char path[512];
	sim_profile p;
	h4h_err err = { "" };
	size_t i;

	for (i = 0; i < sizeof npu / sizeof npu[0]; i++) {
		shipped(path, sizeof path, npu[i].file);
		ck_assert_msg(sim_profile_load(path, &p, &err) == 0, "%s",
		    err.msg);
		ck_assert_int_eq(p.npu.macs, npu[i].macs);
		ck_assert(p.npu.static_mw == npu[i].static_mw);
	}
	shipped(path, sizeof path, "noc/noc-8gbps.ini");
	ck_assert_msg(sim_profile_load(path, &p, &err) == 0, "%s", err.msg);
	ck_assert(p.noc.bandwidth_gbps == 8);
	ck_assert_int_eq(p.noc.latency_cycles, 32);
	shipped(path, sizeof path, "cim/mram-10mb.ini");
	ck_assert_msg(sim_profile_load(path, &p, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(p.cim.macros, 0);	/* left to the system */
	ck_assert(p.cim.clock_mhz == 200);
}
END_TEST

START_TEST(test_include_order_and_override)
{
	char a[512], b[512], text[1024];
	sim_profile p;
	h4h_err err = { "" };

	/* b sets macs 64 and bandwidth 8; a includes b but names its own
	 * bandwidth *before* the include line: a's keys still win. */
	temp_file(b, sizeof b);
	write_text(b, "[npu]\nmacs = 64\n[noc]\nbandwidth_gbps = 8\n"
	    "latency_cycles = 10\n");
	temp_file(a, sizeof a);
	snprintf(text, sizeof text, "[noc]\nbandwidth_gbps = 2\n"
	    "bandwidth_gbps = 3\n[system]\ninclude = %s\nname = t\n",
	    base_name(b));
	write_text(a, text);
	ck_assert_msg(sim_profile_load(a, &p, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(p.npu.macs, 64);
	ck_assert(p.noc.bandwidth_gbps == 3);	/* last own line wins */
	ck_assert_int_eq(p.noc.latency_cycles, 10);
	ck_assert_str_eq(p.name, "t");
	ck_assert_int_eq(p.cim.cus_per_macro, 1);	/* untouched: default */
	unlink(a);
	unlink(b);
}
END_TEST

START_TEST(test_include_list_and_diamond)
{
	char a[512], b[512], c[512], text[1200];
	sim_profile p;
	h4h_err err = { "" };

	/* a includes b and c, b includes c: c twice is no cycle; c is
	 * applied, then b over it, then c again (list order). */
	temp_file(c, sizeof c);
	write_text(c, "[cim]\nmacros = 2\n");
	temp_file(b, sizeof b);
	snprintf(text, sizeof text, "[system]\ninclude = %s\n[cim]\n"
	    "macros = 5\ncus_per_macro = 3\n", base_name(c));
	write_text(b, text);
	temp_file(a, sizeof a);
	snprintf(text, sizeof text, "[system]\ninclude = %s , %s\n",
	    base_name(b), base_name(c));
	write_text(a, text);
	ck_assert_msg(sim_profile_load(a, &p, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(p.cim.macros, 2);
	ck_assert_int_eq(p.cim.cus_per_macro, 3);
	unlink(a);
	unlink(b);
	unlink(c);
}
END_TEST

START_TEST(test_dump_round_trips)
{
	char path[512], *d1, *d2;
	sim_profile p, q;
	h4h_err err = { "" };
	FILE *f;

	shipped(path, sizeof path, "system-npu-1cim-4cu.ini");
	ck_assert_msg(sim_profile_load(path, &p, &err) == 0, "%s", err.msg);
	/* values whose shortest decimal form needs all 17 digits */
	p.npu.clock_mhz = 0.1 + 0.2;
	p.noc.e_byte_pj = nextafter(0.5, 1.0);
	p.cim.e_mram_read_pj_per_bit = 1.0 / 3.0;
	p.part.objective = SIM_OBJ_EDP;
	p.cim.ifmp_dedup = 0;
	ck_assert_int_eq(sim_profile_validate(&p, &err), 0);
	d1 = dump_text(&p);
	ck_assert_ptr_nonnull(strstr(d1, "npu.clock_mhz = 0.30000000000000004\n"));

	/* the dump is itself a loadable profile */
	temp_file(path, sizeof path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	sim_profile_dump(&p, f);
	fclose(f);
	ck_assert_msg(sim_profile_load(path, &q, &err) == 0, "%s", err.msg);
	unlink(path);
	d2 = dump_text(&q);
	ck_assert_str_eq(d1, d2);
	ck_assert(q.npu.clock_mhz == p.npu.clock_mhz);
	ck_assert(q.noc.e_byte_pj == p.noc.e_byte_pj);
	ck_assert(q.cim.e_mram_read_pj_per_bit == p.cim.e_mram_read_pj_per_bit);
	ck_assert_int_eq(q.part.objective, SIM_OBJ_EDP);
	ck_assert_int_eq(q.cim.ifmp_dedup, 0);
	ck_assert_int_eq(q.cim.cus_per_macro, 4);
	free(d1);
	free(d2);
}
END_TEST

START_TEST(test_set_overrides)
{
	sim_profile p;
	h4h_err err = { "" };

	sim_profile_defaults(&p);
	ck_assert_int_eq(sim_profile_set(&p, "cim.macros=4", &err), 0);
	ck_assert_int_eq(p.cim.macros, 4);
	ck_assert_int_eq(sim_profile_set(&p, " noc.bandwidth_gbps = 7.5 ",
	    &err), 0);
	ck_assert(p.noc.bandwidth_gbps == 7.5);
	ck_assert_int_eq(sim_profile_set(&p, "partition.objective=energy",
	    &err), 0);
	ck_assert_int_eq(p.part.objective, SIM_OBJ_ENERGY);
	ck_assert_int_eq(sim_profile_set(&p, "cim.ifmp_dedup=off", &err), 0);
	ck_assert_int_eq(p.cim.ifmp_dedup, 0);
	ck_assert_int_eq(sim_profile_set(&p, "system.name=my-sys", &err), 0);
	ck_assert_str_eq(p.name, "my-sys");
	ck_assert_int_eq(sim_profile_set(&p, "npu.macs=32", &err), 0);
	ck_assert_int_eq(p.npu.macs, 32);
	ck_assert_int_eq(sim_profile_validate(&p, &err), 0);
}
END_TEST

START_TEST(test_inline_semicolon_comment)
{
	char path[512];
	sim_profile p;
	h4h_err err = { "" };
	int rc;

	/* inih ends a value at " ;" (and only there) */
	rc = load_text("# top\n[npu]\n; c\nmacs = 64 ; Vela ethos-u55-64\n"
	    "  ; indented comment is fine\n\n[cim]\nmacros=3\n", path,
	    sizeof path, &p, &err);
	unlink(path);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_int_eq(p.npu.macs, 64);
	ck_assert_int_eq(p.cim.macros, 3);
}
END_TEST

START_TEST(test_objective_names)
{
	ck_assert_str_eq(sim_objective_name(SIM_OBJ_LATENCY), "latency");
	ck_assert_str_eq(sim_objective_name(SIM_OBJ_ENERGY), "energy");
	ck_assert_str_eq(sim_objective_name(SIM_OBJ_EDP), "edp");
	ck_assert_int_eq(sim_objective_from_name("edp"), SIM_OBJ_EDP);
	ck_assert_int_eq(sim_objective_from_name("energy"), SIM_OBJ_ENERGY);
	ck_assert_int_eq(sim_objective_from_name("latency"), SIM_OBJ_LATENCY);
	ck_assert_int_eq(sim_objective_from_name("Latency"), -1);
	ck_assert_int_eq(sim_objective_from_name(""), -1);
}
END_TEST

START_TEST(test_list_keys)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	ck_assert_ptr_nonnull(f);
	sim_profile_list_keys(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "npu.macs"));
	ck_assert_ptr_nonnull(strstr(buf, "{32,64,128,256}"));
	ck_assert_ptr_nonnull(strstr(buf, "(0, 1000]"));
	ck_assert_ptr_nonnull(strstr(buf, "GB/s"));
	ck_assert_ptr_nonnull(strstr(buf, "system.include"));
	ck_assert_ptr_nonnull(strstr(buf, "Vela vela.ini SRAM burst length"));
	free(buf);
}
END_TEST

/* ---- Errors ---- */

START_TEST(test_err_unknown_key)
{
	expect_load_error("[noc]\nlatency_cycles = 4\nbandwith_gbps = 4\n",
	    H4H_EINPUT, (const char *const[]){ "line 3",
	    "unknown key 'noc.bandwith_gbps'",
	    "did you mean 'noc.bandwidth_gbps'?", NULL });
	/* right key, wrong section */
	expect_load_error("[noc]\nmacros = 4\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "'noc.macros'",
	    "did you mean 'cim.macros'?", NULL });
	/* nothing close: no suggestion */
	expect_load_error("[noc]\nfoo = 1\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "unknown key 'noc.foo'", NULL });
	expect_load_error("macs = 1\n", H4H_EINPUT,
	    (const char *const[]){ "line 1", "'macs'", "outside", NULL });
}
END_TEST

START_TEST(test_err_unknown_section)
{
	expect_load_error("[npu]\nmacs = 64\n\n[nocc]\nbandwidth_gbps = 4\n",
	    H4H_EINPUT, (const char *const[]){ "line 4",
	    "unknown section '[nocc]'", "did you mean '[noc]'?", NULL });
	/* an empty unknown section is still an error */
	expect_load_error("[npu]\nmacs = 64\n[partitoin]\n", H4H_EINPUT,
	    (const char *const[]){ "line 3", "[partitoin]",
	    "did you mean '[partition]'?", NULL });
}
END_TEST

START_TEST(test_err_bad_numbers)
{
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "[noc]\nbandwidth_gbps = 4x\n", "'4x' is not a number" },
		{ "[noc]\nbandwidth_gbps =\n", "empty value" },
		{ "[noc]\nbandwidth_gbps = nan\n", "'nan'" },
		{ "[noc]\nbandwidth_gbps = inf\n", "'inf'" },
		{ "[noc]\nbandwidth_gbps = 1e999\n", "'1e999' is out of range" },
		{ "[noc]\nbandwidth_gbps = 4 # GB/s\n", "' ;'" },
		{ "[noc]\nlatency_cycles = 32.0\n", "'32.0' is not an integer" },
		{ "[noc]\nlatency_cycles = 99999999999999999999\n",
		  "out of range" },
		{ "[noc]\nlatency_cycles = 0x20\n", "'0x20'" },
		{ "[cim]\nifmp_dedup = maybe\n", "'maybe' is not a boolean" },
		{ "[partition]\nobjective = speed\n", "'speed' is not one of" },
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *key = strstr(bad[i].text, "\n") + 1;
		char full[64];

		/* "[noc]\nbandwidth..." -> "noc.bandwidth_gbps" */
		snprintf(full, sizeof full, "%.*s.%.*s",
		    (int)(strchr(bad[i].text, ']') - bad[i].text - 1),
		    bad[i].text + 1, (int)strcspn(key, " ="), key);
		expect_load_error(bad[i].text, H4H_EINPUT,
		    (const char *const[]){ "line 2", full, bad[i].needle,
		    NULL });
	}
}
END_TEST

START_TEST(test_err_ranges)
{
	char path[512], want[700];
	sim_profile p;
	h4h_err err = { "" };

	ck_assert_int_eq(load_text("[noc]\nbandwidth_gbps = 0\n", path,
	    sizeof path, &p, &err), H4H_EINPUT);
	snprintf(want, sizeof want, "profile '%s' line 2: noc.bandwidth_gbps "
	    "must be > 0 (got 0)", path);
	ck_assert_str_eq(err.msg, want);
	unlink(path);

	ck_assert_int_eq(load_text("[noc]\nbandwidth_gbps = -4\n", path,
	    sizeof path, &p, &err), H4H_EINPUT);
	snprintf(want, sizeof want, "profile '%s' line 2: noc.bandwidth_gbps "
	    "must be > 0 (got -4)", path);
	ck_assert_str_eq(err.msg, want);
	unlink(path);

	expect_load_error("[npu]\nmacs = 100\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "npu.macs must be one of 32, 64, "
	    "128, 256 (got 100)", NULL });
	expect_load_error("[system]\nname = x\n[cim]\nmacros = -1\n",
	    H4H_EINPUT, (const char *const[]){ "line 4",
	    "cim.macros must be >= 0 (got -1)", NULL });
	expect_load_error("[cim]\nmacros = 65\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "cim.macros must be <= 64 "
	    "(got 65)", NULL });
	expect_load_error("[npu]\nweight_compression = 4.5\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "npu.weight_compression must be "
	    "<= 4 (got 4.5)", NULL });
	expect_load_error("[npu]\ne_mac_pj = -0.1\n", H4H_EINPUT,
	    (const char *const[]){ "npu.e_mac_pj must be >= 0 (got -0.1)",
	    NULL });
	expect_load_error("[system]\nname = a;b\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "system.name", NULL });
}
END_TEST

START_TEST(test_err_syntax)
{
	expect_load_error("[npu]\nmacs = 64\n[noc\n", H4H_EINPUT,
	    (const char *const[]){ "line 3", "syntax error", NULL });
	expect_load_error("[npu]\nmacs 64\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "syntax error", NULL });
	/* inih would read this as a continuation of macs */
	expect_load_error("[npu]\nmacs = 64\n  128\n", H4H_EINPUT,
	    (const char *const[]){ "line 3", "indented", NULL });
}
END_TEST

START_TEST(test_err_include_cycle)
{
	char a[512], b[512], text[1024];
	sim_profile p;
	h4h_err err = { "" };

	temp_file(a, sizeof a);
	temp_file(b, sizeof b);
	snprintf(text, sizeof text, "[npu]\nmacs = 64\n[system]\n"
	    "include = %s\n", base_name(b));
	write_text(a, text);
	snprintf(text, sizeof text, "[system]\ninclude = %s\n", base_name(a));
	write_text(b, text);
	ck_assert_int_eq(sim_profile_load(a, &p, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "include cycle") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, b) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "line 2") != NULL, "%s", err.msg);

	/* a file that includes itself */
	snprintf(text, sizeof text, "[system]\n\ninclude = %s\n",
	    base_name(a));
	write_text(a, text);
	ck_assert_int_eq(sim_profile_load(a, &p, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "include cycle") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "line 3") != NULL, "%s", err.msg);
	unlink(a);
	unlink(b);
}
END_TEST

START_TEST(test_err_include_depth)
{
	enum { N = 11 };
	char f[N][512], text[1024];
	sim_profile p;
	h4h_err err = { "" };
	int i;

	/* f[0] -> f[1] -> ... -> f[N-1]: nine files (depth 8) load, ten
	 * do not. */
	for (i = 0; i < N; i++)
		temp_file(f[i], sizeof f[i]);
	for (i = 0; i < N - 1; i++) {
		snprintf(text, sizeof text, "[system]\ninclude = %s\n",
		    base_name(f[i + 1]));
		write_text(f[i], text);
	}
	write_text(f[N - 1], "[cim]\nmacros = 9\n");
	ck_assert_msg(sim_profile_load(f[N - 9], &p, &err) == 0, "%s",
	    err.msg);
	ck_assert_int_eq(p.cim.macros, 9);
	ck_assert_int_eq(sim_profile_load(f[N - 10], &p, &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "deeper than 8") != NULL, "%s", err.msg);
	for (i = 0; i < N; i++)
		unlink(f[i]);
}
END_TEST

START_TEST(test_err_missing_include)
{
	expect_load_error("[npu]\nmacs = 64\n[system]\n"
	    "include = no-such-file.ini\n", H4H_EINPUT,
	    (const char *const[]){ "line 4", "'no-such-file.ini'",
	    "No such file", NULL });
	expect_load_error("[system]\ninclude = a.ini,,b.ini\n", H4H_EINPUT,
	    (const char *const[]){ "line 2", "empty file name", NULL });
}
END_TEST

START_TEST(test_err_missing_file)
{
	sim_profile p;
	h4h_err err = { "" };

	sim_profile_defaults(&p);
	ck_assert_int_eq(sim_profile_load("/nonexistent/h4h/x.ini", &p, &err),
	    H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "'/nonexistent/h4h/x.ini'"));
	ck_assert_ptr_null(strstr(err.msg, "h4h:"));
}
END_TEST

START_TEST(test_err_set)
{
	expect_set_error("cim.macros=-1",
	    "--set cim.macros=-1: cim.macros must be >= 0 (got -1)");
	expect_set_error("cim.macros",
	    "--set cim.macros: expected section.key=value");
	expect_set_error("cim.macro=4", "--set cim.macro=4: unknown key "
	    "'cim.macro' (did you mean 'cim.macros'?)");
	expect_set_error("noc.bandwidth_gbps=4x", "--set noc.bandwidth_gbps=4x:"
	    " noc.bandwidth_gbps: '4x' is not a number");
	expect_set_error("npu.macs=100", "--set npu.macs=100: npu.macs must "
	    "be one of 32, 64, 128, 256 (got 100)");
	expect_set_error("system.include=a.ini", "--set system.include=a.ini:"
	    " system.include works only inside a profile file");
}
END_TEST

START_TEST(test_err_validate)
{
	sim_profile p;
	h4h_err err = { "" };

	sim_profile_defaults(&p);
	p.noc.bandwidth_gbps = 0;
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg,
	    "noc.bandwidth_gbps must be > 0 (got 0)"));

	sim_profile_defaults(&p);
	p.npu.clock_mhz = NAN;
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "npu.clock_mhz"));

	sim_profile_defaults(&p);
	p.npu.static_mw = INFINITY;
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "npu.static_mw"));

	sim_profile_defaults(&p);
	p.part.objective = (sim_objective)7;
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "partition.objective"));

	sim_profile_defaults(&p);
	p.npu.macs = 48;
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "npu.macs must be one of"));

	sim_profile_defaults(&p);
	p.cim.ifmp_dedup = 2;
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "cim.ifmp_dedup"));

	sim_profile_defaults(&p);
	p.name[0] = '\0';
	ck_assert_int_eq(sim_profile_validate(&p, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "system.name"));
}
END_TEST

Suite *
profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *core = tcase_create("Core");
	TCase *errors = tcase_create("Errors");

	tcase_add_test(core, test_defaults_valid_and_stable);
	tcase_add_test(core, test_shipped_systems_load);
	tcase_add_test(core, test_defaults_equal_npu_only_file);
	tcase_add_test(core, test_component_files_load);
	tcase_add_test(core, test_include_order_and_override);
	tcase_add_test(core, test_include_list_and_diamond);
	tcase_add_test(core, test_dump_round_trips);
	tcase_add_test(core, test_set_overrides);
	tcase_add_test(core, test_inline_semicolon_comment);
	tcase_add_test(core, test_objective_names);
	tcase_add_test(core, test_list_keys);
	suite_add_tcase(s, core);

	tcase_add_test(errors, test_err_unknown_key);
	tcase_add_test(errors, test_err_unknown_section);
	tcase_add_test(errors, test_err_bad_numbers);
	tcase_add_test(errors, test_err_ranges);
	tcase_add_test(errors, test_err_syntax);
	tcase_add_test(errors, test_err_include_cycle);
	tcase_add_test(errors, test_err_include_depth);
	tcase_add_test(errors, test_err_missing_include);
	tcase_add_test(errors, test_err_missing_file);
	tcase_add_test(errors, test_err_set);
	tcase_add_test(errors, test_err_validate);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(profile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
