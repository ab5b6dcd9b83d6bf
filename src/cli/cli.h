/*
 * cli.h - the h4h command line: one file per subcommand, each exporting a
 * const descriptor that main.c lists in its table.
 *
 * A subcommand returns the process exit status: 0 ok, 1 runtime failure,
 * 2 bad usage or bad input.  Only this layer prints errors, always as one
 * line "h4h: <command>: <message>" on stderr.
 */
#ifndef H4H_CLI_H
#define H4H_CLI_H

#include <stddef.h>

#include "core/err.h"

typedef struct h4h_cmd {
	const char *name;
	const char *summary;
	int (*exec)(int argc, char **argv);
} h4h_cmd;

extern const h4h_cmd h4h_cmd_sim;
extern const h4h_cmd h4h_cmd_sweep;
extern const h4h_cmd h4h_cmd_system;
extern const h4h_cmd h4h_cmd_db;
extern const h4h_cmd h4h_cmd_profile;
extern const h4h_cmd h4h_cmd_plot;
extern const h4h_cmd h4h_cmd_calibrate;
extern const h4h_cmd h4h_cmd_train;
extern const h4h_cmd h4h_cmd_eval;
extern const h4h_cmd h4h_cmd_supernet;
extern const h4h_cmd h4h_cmd_reproduce;
extern const h4h_cmd h4h_cmd_search;
extern const h4h_cmd h4h_cmd_demo;
extern const h4h_cmd h4h_cmd_predictor;

/* `h4h predictor` subcommands (argv[0] is the subcommand's name). */
int cli_predictor_dataset(int argc, char **argv);
int cli_predictor_compare(int argc, char **argv);
/* "ridge,mlp" into NAS_PRED_* kinds (at most NAS_PRED_COUNT); the count,
 * or -1 with the unknown name in bad. */
int cli_parse_models(const char *arg, int *kinds, char *bad, size_t nbad);

/* Prints "h4h: <cmd>: <msg>" and returns the exit status for rc. */
int cli_fail(const char *cmd, int rc, const h4h_err *err);
/* Prints "h4h: <cmd>: <formatted>" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Option values (parse.c): a number in [lo, hi], or a whole number in
 * [lo, hi] ("2.5" epochs or a seed past 2^53 are refused, not
 * truncated); on failure the usage error is printed and 2 returned:
 * "h4h: CMD: OPT must be a number in [LO, HI] (got 'S')". */
int cli_parse_num(const char *cmd, const char *opt, const char *s, double lo,
    double hi, double *out);
int cli_parse_int(const char *cmd, const char *opt, const char *s,
    long long lo, long long hi, long long *out);

struct h4h_db;
/* One warning line if the database had stored rows that were invalid and
 * were recomputed instead (cmd_db.c). */
void cli_db_bad_rows(const char *cmd, const struct h4h_db *db);
/* The same warning for n such rows, the first one's message first. */
void cli_bad_rows_warn(const char *cmd, int n, const char *first);

/* Training's periodic checkpoint without --checkpoint-every: about every
 * 5 minutes of work. */
#define CLI_CKPT_SECS 300.0
/* Removes the temporary files a killed checkpoint write of `out` left,
 * with one line saying so (progress.c). */
void cli_sweep_stale(const char *cmd, const char *out);

/* Ctrl-C and SIGTERM set a flag instead of killing the process
 * (interrupt.c): catch installs the handler; cli_should_stop is the
 * should-stop hook of the training and reproduce loops (ctx unused). */
void cli_interrupt_catch(void);
int cli_should_stop(void *ctx);

/* Progress bar with ETA on stderr (progress.c). */
void cli_progress(const char *cmd, int done, int total, double elapsed_s);
void cli_progress_end(void);

#endif
