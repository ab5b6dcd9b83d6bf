/*
 * profile.c - hardware profiles: the key table, the INI loader (inih), --set
 * overrides, validation and the canonical dump (see profile.h).
 *
 * Every key lives in `profile_keys[]` below, with its type, range, unit, default and
 * the source of its default.  Loading, sim_profile_set, validation, the dump
 * and --list-keys all walk that one table, so they cannot disagree.
 *
 * Loading a file: inih reads it line by line through read_line(), which
 * counts lines (the inih we link passes no line number to the handler),
 * rejects unknown [sections] and indented lines (inih would silently glue an
 * indented line onto the previous value), and stops at the first error.
 * on_key() checks each key and value at once, so errors carry file and line,
 * and records them.  Only then are the file's includes loaded, and the
 * recorded assignments applied on top: includes first, then the file's own
 * keys, in file order, the last one winning.
 *
 * Invariants: a failed load or set leaves the profile untouched; a profile
 * that passes sim_profile_validate dumps to text that loads back to the same
 * bits (doubles are printed with the fewest digits that round-trip).
 */
#define _XOPEN_SOURCE 700	/* POSIX 2008 + realpath() in glibc */

#include "sim/spec/profile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/text.h"
#include "sim/spec/profileInt.h"

#define MAX_INCLUDE_DEPTH	8	/* nested includes below the top file */
/* Files loaded for one profile, includes counted each time they are
 * loaded: bounds the work of includes that fan out (10 a file, 8 deep
 * would be 10^8 loads) as the depth bounds their nesting. */
#define MAX_PROFILE_LOADS	256
#define PATH_BUF		4096

_Static_assert(sizeof(sim_objective) == sizeof(int) &&
    sizeof(sim_memory_mode) == sizeof(int),
    "KT_ENUM fields are accessed as int");

static long long
enum_count(const key_def *k)
{
	long long n = 0;

	while (k->names[n] != NULL)
		n++;
	return n;
}

/* "a, b or c" / "a|b|c" */
static void
enum_list(const key_def *k, const char *sep, const char *last, char *buf,
    size_t size)
{
	long long i, n = enum_count(k);
	size_t m = 0;

	buf[0] = '\0';
	for (i = 0; i < n && m < size; i++)
		m += (size_t)snprintf(buf + m, size - m, "%s%s",
		    i == 0 ? "" : i == n - 1 ? last : sep, k->names[i]);
}


/* ---- small string helpers ---- */

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Copies s[0..n) into buf without surrounding blanks; 0 if it does not fit. */
static int
copy_trimmed(char *buf, size_t size, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n >= size)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 1;
}

/* Optimal-string-alignment distance (a transposition costs 1), or a large
 * number for strings too long to be worth a suggestion. */
static int
edit_distance(const char *a, const char *b)
{
	enum { MAXL = 64 };
	int d[MAXL + 1][MAXL + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > MAXL || lb > MAXL)
		return INT_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* ---- the key table ---- */

static void
key_name(const key_def *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s.%s", k->section, k->key);
}

static const key_def *
key_find(const char *full)
{
	size_t i, n;

	for (i = 0; i < N_KEYS; i++) {
		n = strlen(profile_keys[i].section);
		if (strncmp(full, profile_keys[i].section, n) == 0 && full[n] == '.' &&
		    strcmp(full + n + 1, profile_keys[i].key) == 0)
			return &profile_keys[i];
	}
	return NULL;
}

static int
section_known(const char *s)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(s, profile_keys[i].section) == 0)
			return 1;
	return 0;
}

/* Writes " (did you mean 'x'?)" for the nearest key within distance 2, or
 * for a key of the same name in another section; "" if there is none. */
/* Keys of earlier model revisions, with what replaced them. */
static const struct { const char *key, *why; } retired[] = {
	{ "npu.softmax_passes", "softmax is now costed as Vela 3.10 lowers "
	    "it (doc/u55-model.md)" },
	{ "npu.layernorm_passes", "layernorm is now costed as TFLite's op "
	    "chain (doc/u55-model.md)" },
};

static void
suggest_key(char *buf, size_t size, const char *full)
{
	char name[96];
	const char *dot = strrchr(full, '.');
	const key_def *best = NULL;
	int best_d = 3, d;
	size_t i;

	for (i = 0; i < sizeof retired / sizeof retired[0]; i++)
		if (strcmp(full, retired[i].key) == 0) {
			snprintf(buf, size, " (retired in model revision 2: "
			    "%s)", retired[i].why);
			return;
		}

	for (i = 0; i < N_KEYS; i++) {
		key_name(&profile_keys[i], name, sizeof name);
		d = edit_distance(full, name);
		if (d < best_d) {
			best_d = d;
			best = &profile_keys[i];
		}
	}
	for (i = 0; best == NULL && dot != NULL && i < N_KEYS; i++)
		if (strcmp(dot + 1, profile_keys[i].key) == 0)
			best = &profile_keys[i];
	buf[0] = '\0';
	if (best != NULL) {
		key_name(best, name, sizeof name);
		snprintf(buf, size, " (did you mean '%s'?)", name);
	}
}

static void
suggest_section(char *buf, size_t size, const char *s)
{
	const char *best = NULL;
	int best_d = 3, d;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		char low[64];
		size_t j;

		/* Sections are lowercase: '[CIM]' means '[cim]'. */
		for (j = 0; s[j] != '\0' && j + 1 < sizeof low; j++)
			low[j] = (char)tolower((unsigned char)s[j]);
		low[j] = '\0';
		d = strcmp(low, profile_keys[i].section) == 0 ? 0 :
		    edit_distance(s, profile_keys[i].section);
		if (d < best_d) {
			best_d = d;
			best = profile_keys[i].section;
		}
	}
	buf[0] = '\0';
	if (best != NULL)
		snprintf(buf, size, " (did you mean '[%s]'?)", best);
}

/* ---- values: parse, check, store, fetch, format ---- */

static int
bool_from_text(const char *s)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Parses text for key k into *v.  On failure writes why (naming the key and
 * the value) and returns -1.  Ranges are val_check's job. */
static int
val_parse(const key_def *k, const char *text, kval *v, char *why, size_t size)
{
	char name[128], *end;
	const char *hint;
	int b;

	key_name(k, name, sizeof name);
	/* "x = 4 # y": inih ends values only at " ;" */
	hint = strchr(text, '#') != NULL ?
	    " (inline comments must start with ' ;')" : "";
	memset(v, 0, sizeof *v);
	if (*text == '\0' && k->type != KT_STRING) {
		snprintf(why, size, "%s: empty value", name);
		return -1;
	}
	switch (k->type) {
	case KT_INT:
		errno = 0;
		v->i = strtoll(text, &end, 10);
		if (end == text || *end != '\0' ||
		    isspace((unsigned char)*text)) {
			snprintf(why, size, "%s: '%s' is not an integer%s",
			    name, text, hint);
			return -1;
		}
		if (errno == ERANGE) {
			snprintf(why, size, "%s: '%s' is out of range",
			    name, text);
			return -1;
		}
		return 0;
	case KT_DOUBLE:
		errno = 0;
		v->d = strtod(text, &end);
		if (end == text || *end != '\0' ||
		    isspace((unsigned char)*text)) {
			snprintf(why, size, "%s: '%s' is not a number%s",
			    name, text, hint);
			return -1;
		}
		if (errno == ERANGE) {
			snprintf(why, size, "%s: '%s' is out of range "
			    "for a double", name, text);
			return -1;
		}
		if (!isfinite(v->d)) {
			snprintf(why, size, "%s: '%s' is not a finite number",
			    name, text);
			return -1;
		}
		return 0;
	case KT_BOOL:
		b = bool_from_text(text);
		if (b < 0) {
			snprintf(why, size, "%s: '%s' is not a boolean "
			    "(true/false, yes/no, on/off, 1/0)", name, text);
			return -1;
		}
		v->i = b;
		return 0;
	case KT_ENUM: {
		char list[128];

		for (v->i = 0; v->i < enum_count(k); v->i++)
			if (strcmp(text, k->names[v->i]) == 0)
				return 0;
		enum_list(k, ", ", ", ", list, sizeof list);
		snprintf(why, size, "%s: '%s' is not one of %s", name, text,
		    list);
		return -1;
	}
	case KT_STRING:
		if (strlen(text) >= sizeof v->s) {
			snprintf(why, size, "%s: '%s' is longer than %zu bytes",
			    name, text, sizeof v->s - 1);
			return -1;
		}
		strcpy(v->s, text);
		return 0;
	case KT_LIST:
		break;
	}
	snprintf(why, size, "%s: cannot be set here", name);
	return -1;
}

static void
val_format(const key_def *k, const kval *v, char *buf, size_t size)
{
	switch (k->type) {
	case KT_DOUBLE:
		h4h_fmt_double(buf, size, v->d);
		return;
	case KT_BOOL:
		if (v->i == 0 || v->i == 1) {
			snprintf(buf, size, "%s", v->i ? "true" : "false");
			return;
		}
		break;
	case KT_ENUM:
		if (v->i >= 0 && v->i < enum_count(k)) {
			snprintf(buf, size, "%s", k->names[v->i]);
			return;
		}
		break;
	case KT_STRING:
		snprintf(buf, size, "%s", v->s);
		return;
	case KT_INT:
	case KT_LIST:
		break;
	}
	snprintf(buf, size, "%lld", v->i);
}

/* Range check: writes "npu.macs must be ... (got ...)" and returns -1. */
static int
val_check(const key_def *k, const kval *v, char *why, size_t size)
{
	char name[128], got[64], lim[96];
	double x = k->type == KT_DOUBLE ? v->d : (double)v->i;
	const char *c;
	size_t i;

	key_name(k, name, sizeof name);
	val_format(k, v, got, sizeof got);
	switch (k->type) {
	case KT_INT:
	case KT_DOUBLE:
		if (k->set != NULL) {
			for (i = 0; k->set[i] != 0; i++)
				if (v->i == k->set[i])
					return 0;
			c = "";
			snprintf(why, size, "%s must be one of ", name);
			for (i = 0; k->set[i] != 0; i++) {
				snprintf(lim, sizeof lim, "%s%d", c, k->set[i]);
				strncat(why, lim, size - strlen(why) - 1);
				c = ", ";
			}
			snprintf(lim, sizeof lim, " (got %s)", got);
			strncat(why, lim, size - strlen(why) - 1);
			return -1;
		}
		if (isnan(x)) {
			snprintf(why, size, "%s must be a number (got %s)",
			    name, got);
			return -1;
		}
		h4h_fmt_double(lim, sizeof lim, k->min);
		if ((k->flags & R_MIN_EXCL) && !(x > k->min)) {
			snprintf(why, size, "%s must be > %s (got %s)",
			    name, lim, got);
			return -1;
		}
		if (x < k->min) {
			snprintf(why, size, "%s must be >= %s (got %s)",
			    name, lim, got);
			return -1;
		}
		h4h_fmt_double(lim, sizeof lim, k->max);
		if (!(k->flags & R_NO_MAX) && x > k->max) {
			snprintf(why, size, "%s must be <= %s (got %s)",
			    name, lim, got);
			return -1;
		}
		if (isinf(x)) {
			snprintf(why, size, "%s must be finite (got %s)",
			    name, got);
			return -1;
		}
		return 0;
	case KT_BOOL:
		if (v->i == 0 || v->i == 1)
			return 0;
		snprintf(why, size, "%s must be 0 or 1 (got %s)", name, got);
		return -1;
	case KT_ENUM: {
		char list[128];

		if (v->i >= 0 && v->i < enum_count(k))
			return 0;
		enum_list(k, ", ", " or ", list, sizeof list);
		snprintf(why, size, "%s must be %s (got %s)", name, list, got);
		return -1;
	}
	case KT_STRING:
		/* Names go into reports and dumps: printable, no comment
		 * characters, no blanks at the ends (INI would drop them). */
		if (memchr(v->s, '\0', sizeof v->s) == NULL) {
			snprintf(why, size, "%s is not terminated", name);
			return -1;
		}
		if (v->s[0] == '\0') {
			snprintf(why, size, "%s must not be empty", name);
			return -1;
		}
		for (c = v->s; *c != '\0'; c++) {
			if (*c < 0x20 || *c > 0x7e || *c == ';' || *c == '#')
				break;
		}
		if (*c != '\0' || v->s[0] == ' ' || c[-1] == ' ') {
			snprintf(why, size, "%s must be printable ASCII without "
			    "';', '#' or blanks at the ends (got '%s')",
			    name, v->s);
			return -1;
		}
		return 0;
	case KT_LIST:
		break;
	}
	return 0;
}

static void
val_store(const key_def *k, sim_profile *p, const kval *v)
{
	char *f = (char *)p + k->off;

	switch (k->type) {
	case KT_INT:
	case KT_BOOL:
	case KT_ENUM:
		*(int *)f = (int)v->i;
		break;
	case KT_DOUBLE:
		*(double *)f = v->d;
		break;
	case KT_STRING:
		memcpy(f, v->s, sizeof v->s);
		break;
	case KT_LIST:
		break;
	}
}

static void
val_fetch(const key_def *k, const sim_profile *p, kval *v)
{
	const char *f = (const char *)p + k->off;

	memset(v, 0, sizeof *v);
	switch (k->type) {
	case KT_INT:
	case KT_BOOL:
	case KT_ENUM:
		v->i = *(const int *)f;
		break;
	case KT_DOUBLE:
		v->d = *(const double *)f;
		break;
	case KT_STRING:
		memcpy(v->s, f, sizeof v->s);
		break;
	case KT_LIST:
		break;
	}
}

/* Parse, check and store one value; *p is untouched on failure. */
static int
key_assign(const key_def *k, const char *text, sim_profile *p, char *why,
    size_t size)
{
	kval v;

	if (val_parse(k, text, &v, why, size) != 0 ||
	    val_check(k, &v, why, size) != 0)
		return -1;
	if (p != NULL)
		val_store(k, p, &v);
	return 0;
}

/* ---- public: defaults, set, validate, dump ---- */

void
sim_profile_defaults(sim_profile *p)
{
	char why[256];
	size_t i;

	memset(p, 0, sizeof *p);
	for (i = 0; i < N_KEYS; i++)
		if (profile_keys[i].type != KT_LIST)
			(void)key_assign(&profile_keys[i], profile_keys[i].def, p, why,
			    sizeof why);	/* checked by check_profile */
}

int
sim_profile_set(sim_profile *p, const char *assignment, h4h_err *err)
{
	char name[128], value[256], why[384], hint[128];
	const char *eq = strchr(assignment, '=');
	const key_def *k;

	if (eq == NULL)
		return h4h_errf(err, H4H_EINPUT, "--set %s: expected "
		    "section.key=value", assignment);
	if (!copy_trimmed(name, sizeof name, assignment,
	    (size_t)(eq - assignment)) ||
	    !copy_trimmed(value, sizeof value, eq + 1, strlen(eq + 1)))
		return h4h_errf(err, H4H_EINPUT, "--set %s: too long",
		    assignment);
	k = key_find(name);
	if (k == NULL) {
		suggest_key(hint, sizeof hint, name);
		return h4h_errf(err, H4H_EINPUT, "--set %s: unknown key '%s'%s",
		    assignment, name, hint);
	}
	if (k->type == KT_LIST)
		return h4h_errf(err, H4H_EINPUT, "--set %s: %s works only "
		    "inside a profile file", assignment, name);
	if (key_assign(k, value, p, why, sizeof why) != 0)
		return h4h_errf(err, H4H_EINPUT, "--set %s: %s", assignment,
		    why);
	return 0;
}

int
sim_profile_validate(const sim_profile *p, h4h_err *err)
{
	char why[384];
	kval v;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (profile_keys[i].type == KT_LIST)
			continue;
		val_fetch(&profile_keys[i], p, &v);
		if (val_check(&profile_keys[i], &v, why, sizeof why) != 0)
			return h4h_errf(err, H4H_EINPUT, "profile: %s", why);
	}
	return 0;
}

void
sim_profile_dump(const sim_profile *p, FILE *f)
{
	char name[128], val[128];
	kval v;
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (profile_keys[i].type == KT_LIST)
			continue;
		key_name(&profile_keys[i], name, sizeof name);
		val_fetch(&profile_keys[i], p, &v);
		val_format(&profile_keys[i], &v, val, sizeof val);
		fprintf(f, "%s = %s\n", name, val);
	}
}

const char *
sim_objective_name(sim_objective o)
{
	if ((int)o < 0 || (size_t)o >= N_OBJECTIVES)
		return "unknown";
	return profile_objective_names[o];
}

int
sim_objective_from_name(const char *s)
{
	size_t i;

	for (i = 0; i < N_OBJECTIVES; i++)
		if (strcmp(s, profile_objective_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
key_range(const key_def *k, char *buf, size_t size)
{
	char lo[32], hi[32], item[16];
	size_t i;

	switch (k->type) {
	case KT_INT:
	case KT_DOUBLE:
		if (k->set != NULL) {
			snprintf(buf, size, "{");
			for (i = 0; k->set[i] != 0; i++) {
				snprintf(item, sizeof item, "%s%d",
				    i ? "," : "", k->set[i]);
				strncat(buf, item, size - strlen(buf) - 1);
			}
			strncat(buf, "}", size - strlen(buf) - 1);
			return;
		}
		h4h_fmt_double(lo, sizeof lo, k->min);
		h4h_fmt_double(hi, sizeof hi, k->max);
		snprintf(buf, size, "%c%s, %s%c",
		    (k->flags & R_MIN_EXCL) ? '(' : '[', lo,
		    (k->flags & R_NO_MAX) ? "inf" : hi,
		    (k->flags & R_NO_MAX) ? ')' : ']');
		return;
	case KT_BOOL:
		snprintf(buf, size, "true|false");
		return;
	case KT_ENUM:
		enum_list(k, "|", "|", buf, size);
		return;
	case KT_STRING:
		snprintf(buf, size, "1-%zu chars",
		    sizeof ((sim_profile *)0)->name - 1);
		return;
	case KT_LIST:
		snprintf(buf, size, "file list");
		return;
	}
}

const char *
sim_profile_key_unit(const char *key)
{
	const key_def *k = key_find(key);

	return k != NULL ? k->unit : NULL;
}

void
sim_profile_list_keys(FILE *f)
{
	static const char *const type_names[] = {
		"int", "double", "bool", "enum", "string", "list",
	};
	char name[128], range[96];
	size_t i;

	fprintf(f, "%-30s %-6s %-18s %-9s %-9s %s\n", "key", "type", "range",
	    "unit", "default", "description");
	for (i = 0; i < N_KEYS; i++) {
		key_name(&profile_keys[i], name, sizeof name);
		key_range(&profile_keys[i], range, sizeof range);
		fprintf(f, "%-30s %-6s %-18s %-9s %-9s %s\n", name,
		    type_names[profile_keys[i].type], range, profile_keys[i].unit,
		    profile_keys[i].def[0] ? profile_keys[i].def : "-", profile_keys[i].desc);
		if (strcmp(profile_keys[i].source, "-") != 0)
			fprintf(f, "%-30s source: %s\n", "", profile_keys[i].source);
	}
}

/* ---- loading ---- */

typedef struct assign {
	const key_def *k;
	char *value;
	int line;
} assign;

typedef struct include {
	char *name;
	int line;
} include;

typedef struct parse_ctx {
	const char *path;
	FILE *f;
	int line;		/* lines handed to inih so far */
	int err_line;		/* line of the first error we found, or 0 */
	char why[400];
	assign *as;
	int n_as, cap_as;
	include *inc;
	int n_inc, cap_inc;
} parse_ctx;

/* Files being loaded, outermost first, to detect include cycles. */
typedef struct load_chain {
	const char *path[MAX_INCLUDE_DEPTH + 1];
	char real[MAX_INCLUDE_DEPTH + 1][PATH_BUF];
	int n;
	int loads;			/* files loaded so far */
	sim_profile_entry *origin;	/* sim_profile_resolve: per key */
} load_chain;

static void parse_fail(parse_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records the first error only, at the current line. */
static void
parse_fail(parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err_line != 0)
		return;
	c->err_line = c->line;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
}

/* inih's fgets-style reader: one line per call, counted.  Returning NULL
 * after our first error makes inih stop there. */
static char *
read_line(char *str, int num, void *stream)
{
	parse_ctx *c = stream;
	char sect[128], hint[128];
	const char *s, *end;
	size_t len;
	int ch;

	if (c->err_line != 0 || fgets(str, num, c->f) == NULL)
		return NULL;
	c->line++;
	len = strlen(str);
	/* A NUL byte ends the string early: say so, not that the line is
	 * long (fgets stopped at a newline or at num - 1 bytes, so a line
	 * that holds neither and is short has a NUL in it). */
	if ((len == 0 || (str[len - 1] != '\n' && len < (size_t)num - 1)) &&
	    !feof(c->f)) {
		parse_fail(c, "NUL byte in the line (not a text file?)");
		return str;
	}
	if (len > 0 && str[len - 1] != '\n' && !feof(c->f)) {
		while ((ch = fgetc(c->f)) != EOF && ch != '\n')
			;
		parse_fail(c, "line is longer than %d characters", num - 3);
		return str;
	}
	s = str;
	if (c->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	if (*s == ' ' || *s == '\t') {
		s = skip_space(s);
		if (*s != '\0' && *s != '\n' && *s != '\r' && *s != ';' &&
		    *s != '#')
			parse_fail(c, "indented line (inih would join it to "
			    "the previous value)");
	} else if (*s == '[' && (end = strchr(s, ']')) != NULL) {
		/* As inih does: the name is exactly what the brackets hold. */
		snprintf(sect, sizeof sect, "%.*s", (int)(end - s - 1), s + 1);
		if (!section_known(sect)) {
			suggest_section(hint, sizeof hint, sect);
			parse_fail(c, "unknown section '[%s]'%s", sect, hint);
		}
	}
	return str;
}

static void
push_include(parse_ctx *c, const char *s, size_t n)
{
	char buf[PATH_BUF];

	if (!copy_trimmed(buf, sizeof buf, s, n)) {
		parse_fail(c, "system.include: file name too long");
		return;
	}
	if (buf[0] == '\0') {
		parse_fail(c, "system.include: empty file name in the list");
		return;
	}
	if (c->n_inc == c->cap_inc) {
		c->cap_inc = c->cap_inc ? 2 * c->cap_inc : 4;
		c->inc = h4h_xrealloc(c->inc, c->cap_inc * sizeof *c->inc);
	}
	c->inc[c->n_inc].name = h4h_xstrdup(buf);
	c->inc[c->n_inc].line = c->line;
	c->n_inc++;
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	parse_ctx *c = user;
	char full[256], why[384], hint[128];
	const key_def *k;
	const char *s, *comma;

	if (c->err_line != 0)
		return 1;	/* already failed; the reader stops next */
	if (*section == '\0') {
		/* Dump lines ("npu.macs = 64") are valid outside sections. */
		if (strchr(name, '.') == NULL) {
			parse_fail(c, "key '%s' is outside any [section]",
			    name);
			return 0;
		}
		snprintf(full, sizeof full, "%s", name);
	} else {
		snprintf(full, sizeof full, "%s.%s", section, name);
	}
	k = key_find(full);
	if (k == NULL) {
		suggest_key(hint, sizeof hint, full);
		parse_fail(c, "unknown key '%s'%s", full, hint);
		return 0;
	}
	if (k->type == KT_LIST) {
		for (s = value; c->err_line == 0; s = comma + 1) {
			comma = strchr(s, ',');
			push_include(c, s, comma ? (size_t)(comma - s) :
			    strlen(s));
			if (comma == NULL)
				break;
		}
		return c->err_line == 0;
	}
	if (key_assign(k, value, NULL, why, sizeof why) != 0) {
		parse_fail(c, "%s", why);
		return 0;
	}
	if (c->n_as == c->cap_as) {
		c->cap_as = c->cap_as ? 2 * c->cap_as : 16;
		c->as = h4h_xrealloc(c->as, c->cap_as * sizeof *c->as);
	}
	c->as[c->n_as].k = k;
	c->as[c->n_as].value = h4h_xstrdup(value);
	c->as[c->n_as].line = c->line;
	c->n_as++;
	return 1;
}

/* dir(from) + "/" + name, unless name is absolute. */
static int
include_path(char *buf, size_t size, const char *from, const char *name)
{
	const char *slash = strrchr(from, '/');
	int n;

	if (name[0] == '/' || slash == NULL)
		n = snprintf(buf, size, "%s", name);
	else
		n = snprintf(buf, size, "%.*s/%s", (int)(slash - from), from,
		    name);
	return n >= 0 && (size_t)n < size;
}

/* system.include in a resolved system: every file loaded, and the first
 * include line. */
static void
note_include(load_chain *ch, const char *from, int line, const char *sub)
{
	sim_profile_entry *e = NULL;
	size_t n;

	for (size_t i = 0; i < N_KEYS; i++)
		if (profile_keys[i].type == KT_LIST)
			e = &ch->origin[i];
	if (e == NULL)
		return;
	n = strlen(e->value);
	if (n == 0 || strcmp(e->value, "-") == 0) {
		n = 0;
		snprintf(e->origin, sizeof e->origin, "%s line %d", from, line);
	}
	snprintf(e->value + n, sizeof e->value - n, "%s%s", n ? ", " : "",
	    sub);
}

static int
load_file(const char *path, load_chain *ch, sim_profile *p, h4h_err *err)
{
	parse_ctx c;
	char sub[PATH_BUF], cycle[384], why[384];
	int rc, i, j;

	memset(&c, 0, sizeof c);
	c.path = path;
	if (++ch->loads > MAX_PROFILE_LOADS) {
		rc = h4h_errf(err, H4H_EINPUT, "profile '%s': more than %d files "
		    "loaded through includes (includes that fan out?)", path,
		    MAX_PROFILE_LOADS);
		goto out;
	}
	c.f = fopen(path, "r");
	if (c.f == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot open profile '%s': %s",
		    path, strerror(errno));
		goto out;
	}
	{
		/* A device or a FIFO may never end (/dev/zero reads
		 * forever); a profile is a file. */
		struct stat sb;

		if (fstat(fileno(c.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
			rc = h4h_errf(err, H4H_EINPUT, "profile '%s' is not a "
			    "regular file", path);
			goto out;
		}
	}
	rc = ini_parse_stream(read_line, &c, on_key, &c);
	if (ferror(c.f)) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot read profile '%s': %s",
		    path, strerror(errno));
		goto out;
	}
	if (rc > 0 && (c.err_line == 0 || rc < c.err_line)) {
		rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: syntax "
		    "error (expected '[section]' or 'key = value')", path, rc);
		goto out;
	}
	if (c.err_line != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: %s",
		    path, c.err_line, c.why);
		goto out;
	}
	if (rc < 0) {
		rc = h4h_errf(err, H4H_ENOMEM, "profile '%s': out of memory",
		    path);
		goto out;
	}
	/* A file that sets nothing is a wrong file, not the defaults. */
	if (c.n_as == 0 && c.n_inc == 0) {
		rc = h4h_errf(err, H4H_EINPUT, "profile '%s' is empty (no "
		    "key is set; system-npu-only.ini holds the defaults)",
		    path);
		goto out;
	}

	/* Includes first, in order; then this file's own keys. */
	for (i = 0; i < c.n_inc; i++) {
		if (!include_path(sub, sizeof sub, path, c.inc[i].name)) {
			rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: "
			    "include '%s': path too long", path, c.inc[i].line,
			    c.inc[i].name);
			goto out;
		}
		if (ch->n > MAX_INCLUDE_DEPTH) {
			rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: "
			    "include '%s': includes nested deeper than %d",
			    path, c.inc[i].line, c.inc[i].name,
			    MAX_INCLUDE_DEPTH);
			goto out;
		}
		if (realpath(sub, ch->real[ch->n]) == NULL) {
			rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: "
			    "include '%s': cannot open '%s': %s", path,
			    c.inc[i].line, c.inc[i].name, sub,
			    strerror(errno));
			goto out;
		}
		for (j = 0; j < ch->n; j++)
			if (strcmp(ch->real[j], ch->real[ch->n]) == 0)
				break;
		if (j < ch->n) {
			cycle[0] = '\0';
			for (; j < ch->n; j++) {
				snprintf(why, sizeof why, "'%s' -> ",
				    ch->path[j]);
				strncat(cycle, why,
				    sizeof cycle - strlen(cycle) - 1);
			}
			rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: "
			    "include cycle: %s'%s'", path, c.inc[i].line,
			    cycle, sub);
			goto out;
		}
		ch->path[ch->n++] = sub;
		if (ch->origin != NULL)
			note_include(ch, path, c.inc[i].line, sub);
		rc = load_file(sub, ch, p, err);
		ch->n--;
		if (rc != 0)
			goto out;
	}
	for (i = 0; i < c.n_as; i++) {
		if (key_assign(c.as[i].k, c.as[i].value, p, why,
		    sizeof why) != 0) {
			rc = h4h_errf(err, H4H_EINPUT, "profile '%s' line %d: "
			    "%s", path, c.as[i].line, why);
			goto out;
		}
		if (ch->origin != NULL)
			snprintf(ch->origin[c.as[i].k - profile_keys].origin,
			    sizeof ch->origin[0].origin, "%s line %d", path,
			    c.as[i].line);
	}
	rc = 0;
out:
	if (c.f != NULL)
		fclose(c.f);
	for (i = 0; i < c.n_as; i++)
		free(c.as[i].value);
	for (i = 0; i < c.n_inc; i++)
		free(c.inc[i].name);
	free(c.as);
	free(c.inc);
	return rc;
}

int
sim_profile_load(const char *path, sim_profile *p, h4h_err *err)
{
	load_chain *ch = h4h_xcalloc(1, sizeof *ch);
	sim_profile tmp;
	int rc;

	sim_profile_defaults(&tmp);
	if (realpath(path, ch->real[0]) == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot open profile '%s': %s",
		    path, strerror(errno));
		goto out;
	}
	ch->path[0] = path;
	ch->n = 1;
	rc = load_file(path, ch, &tmp, err);
	if (rc == 0)
		rc = sim_profile_validate(&tmp, err);
	if (rc == 0)
		*p = tmp;
out:
	free(ch);
	return rc;
}

int
sim_profile_apply_file(sim_profile *p, const char *path, h4h_err *err)
{
	load_chain *ch = h4h_xcalloc(1, sizeof *ch);
	sim_profile tmp = *p;
	int rc;

	if (realpath(path, ch->real[0]) == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot open profile '%s': %s",
		    path, strerror(errno));
		goto out;
	}
	ch->path[0] = path;
	ch->n = 1;
	rc = load_file(path, ch, &tmp, err);
	if (rc == 0)
		rc = sim_profile_validate(&tmp, err);
	if (rc == 0)
		*p = tmp;
out:
	free(ch);
	return rc;
}

int
sim_profile_resolve(const char *path, const char *const *sets, int n_sets,
    sim_profile *p, sim_profile_entry **entries, int *n, h4h_err *err)
{
	load_chain *ch = h4h_xcalloc(1, sizeof *ch);
	sim_profile_entry *e = h4h_xcalloc(N_KEYS, sizeof *e);
	sim_profile tmp;
	kval v;
	int rc;

	*entries = NULL;
	*n = 0;
	for (size_t i = 0; i < N_KEYS; i++) {
		key_name(&profile_keys[i], e[i].key, sizeof e[i].key);
		e[i].unit = profile_keys[i].unit;
		snprintf(e[i].origin, sizeof e[i].origin, "default");
		snprintf(e[i].value, sizeof e[i].value, "-");
	}
	sim_profile_defaults(&tmp);
	if (realpath(path, ch->real[0]) == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "cannot open profile '%s': %s",
		    path, strerror(errno));
		goto out;
	}
	ch->path[0] = path;
	ch->n = 1;
	ch->origin = e;
	if ((rc = load_file(path, ch, &tmp, err)) != 0)
		goto out;
	for (int k = 0; k < n_sets; k++) {
		const char *eq = strchr(sets[k], '=');
		char name[128];
		const key_def *kd;

		if ((rc = sim_profile_set(&tmp, sets[k], err)) != 0)
			goto out;
		copy_trimmed(name, sizeof name, sets[k], (size_t)(eq - sets[k]));
		if ((kd = key_find(name)) != NULL)
			snprintf(e[kd - profile_keys].origin, sizeof e[0].origin,
			    "--set %s", sets[k]);
	}
	if ((rc = sim_profile_validate(&tmp, err)) != 0)
		goto out;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (profile_keys[i].type == KT_LIST)
			continue;
		val_fetch(&profile_keys[i], &tmp, &v);
		val_format(&profile_keys[i], &v, e[i].value, sizeof e[i].value);
	}
	*p = tmp;
	*entries = e;
	*n = (int)N_KEYS;
	e = NULL;
out:
	free(e);
	free(ch);
	return rc;
}

int
sim_profile_open(const char *path, const char *const *sets, int n_sets,
    const char *objective, sim_profile *p, h4h_err *err)
{
	int rc = sim_profile_load(path, p, err);

	for (int k = 0; rc == 0 && k < n_sets; k++)
		rc = sim_profile_set(p, sets[k], err);
	if (rc == 0 && objective != NULL) {
		int o = sim_objective_from_name(objective);

		if (o < 0)
			return h4h_errf(err, H4H_EINPUT, "objective must be "
			    "latency, energy or edp (got '%s')", objective);
		p->part.objective = (sim_objective)o;
	}
	return rc != 0 ? rc : sim_profile_validate(p, err);
}
