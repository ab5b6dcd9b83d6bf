/*
 * search_out.h - one search job on one system and its outputs, shared by
 * `h4h search`, `h4h demo` and `h4h reproduce fig7|energy|fig8|fig9|fig11`.
 *
 * A job opens a study (nas/study.h), searches every budget, scores each
 * winner on the test images, and writes into its directory: pareto.csv and
 * pareto.json (one row per budget), front.csv (the Pareto front of all
 * subnets evaluated), best-LABEL.json per budget (the full-size
 * architecture; `h4h sim --arch` reproduces its latency), trace-LABEL.json
 * with --trace, and search.dat/.gp with the images.  The picks stay in the
 * job for the caller's own tables.
 */
#ifndef H4H_CLI_SEARCH_OUT_H
#define H4H_CLI_SEARCH_OUT_H

#include <stdio.h>

#include "nas/study.h"

typedef struct search_job {
	/* in */
	const char *cmd;		/* for messages: "h4h: CMD: ..." */
	const char *out;		/* directory (made if missing) */
	const char *system;		/* profile file */
	const char *const *sets;
	int n_sets;
	const char *space;		/* optional: must be the ckpt's space */
	int metric;
	const char *budgets_arg;	/* "1.5,2,3" in ms or mJ, or: */
	const double *budgets;		/* in s or J */
	int n_budgets;
	const char *budget_opt;		/* "--latency-max": names it in errors */
	int formats;			/* PLOT_* (0: no plots) */
	int verbose;			/* summary on stdout */
	int trace;			/* a trace of each winner */
	int keep_right;			/* keep each winner's per-image test
					 * results (right[b]), for paired
					 * intervals (nas/stats.h) */
	const nas_fitness_dist *dist;	/* mpirun: evaluations shared
					 * (search_ranks.h); NULL: none */
	/* out */
	char system_name[64];
	int macros, cus;
	nas_pick *picks;		/* one per budget */
	int n_picks;
	nas_pick *front;
	int n_front;
	double min_cost[2];
	double rho_holdout, rho_online;
	int n_holdout, n_online;
	nas_pred_report pred;		/* the predictor's rho and tau */
	char note[2048];		/* the accuracy dataset used or not */
	unsigned char **right;		/* keep_right: per pick, n_test */
	int n_test;
	nas_fitness_stats fstats;
	long long cost_queries;
	double seconds;
} search_job;

/* A file shipped with h4h (checkpoints/, spaces/, hwprofiles/): rel if it
 * is readable from the working directory, else in the source tree
 * configure ran from (buf), else rel (so the error names it). */
const char *cli_shipped(const char *rel, char *buf, size_t n);

/* Under mpirun (doc/scale.md): every rank runs the same search in step,
 * sharing the real evaluations.  search_ranks_prepare gives rank 0's
 * database to the other ranks as a private scratch copy (cfg->db) and
 * them a scratch output directory (job->out), so that rank 0 alone
 * writes the real ones; search_ranks_end removes the scratch files.
 * Nothing happens on one rank. */
typedef struct search_ranks {
	nas_fitness_dist dist;
	int active;		/* more than one rank */
	char db[4096], out[4096];
	int scratch;		/* a rank > 0: db and out are its scratch */
} search_ranks;
int search_ranks_prepare(search_job *job, nas_study_cfg *cfg,
    search_ranks *sr, h4h_err *err);
/* The same for a command that runs several searches on one database
 * (demo): db_path is rank 0's database; the caller points each job's
 * dist at sr->dist when sr->active, and on a scratch rank uses sr->db and
 * sr->out instead of its own. */
int search_ranks_start(const char *db_path, search_ranks *sr, h4h_err *err);
void search_ranks_end(search_ranks *sr);

/* Returns the exit status; errors are printed as one line. */
int search_job_run(search_job *job, const nas_study_cfg *cfg);
void search_job_free(search_job *job);
/* One line: the predictor's kind, rho and tau held out and on the
 * finalists. */
void print_pred(FILE *f, const search_job *j);

#endif
