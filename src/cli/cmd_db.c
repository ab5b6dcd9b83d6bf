/*
 * cmd_db.c - `h4h db summary|export|query|upgrade|merge`: read the cost
 * database, bring an older file to this version's schema, or merge
 * several into one.
 *
 * summary, export and query open the database read-only, so none of them
 * can change it; `query` also refuses SQL that would write.  upgrade
 * migrates its file; merge writes only its --into file, atomically
 * (merge.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/text.h"
#include "cost/db.h"
#include "cost/memo.h"
#include "cost/merge.h"
#include "cost/query.h"

static const char *usage_text =
    "usage: h4h db summary --db FILE\n"
    "       h4h db export --db FILE [--format csv|json] "
    "(sweep:ID | network:ID | table:NAME)\n"
    "       h4h db query --db FILE 'SELECT ...'\n"
    "       h4h db upgrade --db FILE\n"
    "       h4h db merge --into OUT.db IN.db...\n"
    "\n"
    "  summary   what the database holds: systems, networks, sweeps\n"
    "  export    a sweep's points, a network's costs on every system, or a\n"
    "            whole table, as CSV (default) or JSON on stdout\n"
    "  query     a read-only SQL statement; rows as CSV on stdout\n"
    "  upgrade   migrate a file written by an older h4h to this version's\n"
    "            schema (any command that writes does it too)\n"
    "  merge     the rows of every IN.db into OUT.db (created if missing),\n"
    "            matched by identity; one key with two values is an error;\n"
    "            OUT.db is replaced atomically (sweep --shard K/N)\n";

/* `h4h db merge --into OUT IN...` (argv[0] is "merge"). */
static int
db_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "into", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	h4h_merge_stats st;
	h4h_err err = { "" };
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			out = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cli_usage_error("db", "unknown option or missing "
			    "value '%s' (see h4h db --help)", argv[optind - 1]);
		}
	}
	if (out == NULL || optind == argc)
		return cli_usage_error("db", "merge needs --into OUT.db and at "
		    "least one input database");
	rc = h4h_db_merge_files(out, (const char *const *)argv + optind,
	    argc - optind, &st, &err);
	if (rc != 0)
		return cli_fail("db", rc, &err);
	fprintf(stderr, "h4h: db: merged %d file%s into %s: %lld rows added, "
	    "%lld already there, %lld runs now done\n", argc - optind,
	    argc - optind == 1 ? "" : "s", out, st.added, st.same,
	    st.advanced);
	return 0;
}

typedef struct query_ctx {
	int rows;
} query_ctx;

static int
query_row(void *vctx, int ncol, const char *const *names,
    const char *const *values)
{
	query_ctx *ctx = vctx;

	if (ctx->rows++ == 0) {
		for (int i = 0; i < ncol; i++) {
			if (i > 0)
				putchar(',');
			h4h_csv_field(stdout, names[i]);
		}
		putchar('\n');
	}
	for (int i = 0; i < ncol; i++) {
		if (i > 0)
			putchar(',');
		h4h_csv_field(stdout, values[i]);
	}
	putchar('\n');
	return 0;
}

/* Opening a file for writing migrates it (db.c); say what it did. */
static int
db_upgrade(const char *path)
{
	struct stat before, after;
	h4h_err err = { "" };
	h4h_db *db;
	int rc;

	if (stat(path, &before) != 0)
		before.st_size = 0;
	if ((rc = h4h_db_open(path, 0, &db, &err)) != 0)
		return cli_fail("db", rc, &err);
	h4h_db_close(db);
	if (stat(path, &after) != 0)
		after.st_size = 0;
	printf("'%s': schema version %d (%.1f MB -> %.1f MB)\n", path,
	    H4H_DB_SCHEMA_VERSION, before.st_size / 1e6, after.st_size / 1e6);
	return 0;
}

static int
db_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *format = "csv", *sub;
	h4h_err err = { "" };
	h4h_db *db;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	if (strcmp(sub, "merge") == 0)
		return db_merge(argc - 1, argv + 1);
	if (strcmp(sub, "summary") != 0 && strcmp(sub, "export") != 0 &&
	    strcmp(sub, "query") != 0 && strcmp(sub, "upgrade") != 0)
		return cli_usage_error("db", "unknown subcommand '%s' (summary, "
		    "export, query, upgrade or merge)", sub);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			path = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cli_usage_error("db", "unknown option or missing "
			    "value '%s' (see h4h db --help)", argv[optind]);
		}
	}
	if (path == NULL)
		return cli_usage_error("db", "--db FILE is required");
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("db", "--format must be csv or json (got "
		    "'%s')", format);
	if (strcmp(sub, "summary") == 0 || strcmp(sub, "upgrade") == 0 ?
	    optind != argc - 1 : optind != argc - 2)
		return cli_usage_error("db", "%s takes %s", sub,
		    strcmp(sub, "summary") == 0 || strcmp(sub, "upgrade") == 0 ?
		    "no argument" :
		    strcmp(sub, "export") == 0 ? "one selector "
		    "(sweep:ID, network:ID or table:NAME)" : "one SQL statement");
	if (strcmp(sub, "upgrade") == 0)
		return db_upgrade(path);
	if ((rc = h4h_db_open(path, H4H_DB_READONLY, &db, &err)) != 0)
		return cli_fail("db", rc, &err);
	if (strcmp(sub, "summary") == 0) {
		rc = h4h_db_summary(db, stdout, &err);
	} else if (strcmp(sub, "export") == 0) {
		rc = h4h_db_export(db, argv[argc - 1], format, stdout, &err);
	} else {
		query_ctx ctx = { 0 };

		rc = h4h_db_select(db, argv[argc - 1], query_row, &ctx, &err);
	}
	h4h_db_close(db);
	if (rc != 0)
		return cli_fail("db", rc, &err);
	if (fflush(stdout) != 0) {
		perror("h4h: db: stdout");
		return 1;
	}
	return 0;
}

const h4h_cmd h4h_cmd_db = {
	.name = "db",
	.summary = "summarise, export, query or merge cost databases",
	.exec = db_exec,
};

void
cli_db_bad_rows(const char *cmd, const h4h_db *db)
{
	const char *first;
	int n = db != NULL ? h4h_db_bad_rows(db, &first) : 0;

	cli_bad_rows_warn(cmd, n, first);
}

void
cli_bad_rows_warn(const char *cmd, int n, const char *first)
{
	if (n > 0)
		fprintf(stderr, "h4h: %s: warning: %d stored row%s ignored as "
		    "invalid and recomputed (first: %s)\n", cmd, n,
		    n == 1 ? "" : "s", first);
}
