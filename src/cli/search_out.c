/*
 * search_out.c - a search job and its files (search_out.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#include "cli/cli.h"
#include "cli/plot.h"
#include "cli/search_out.h"
#include "core/clock.h"
#include "nas/sntrain.h"
#include "nn/ckpt.h"

#define MAX_BUDGETS 64

const char *
cli_shipped(const char *rel, char *buf, size_t n)
{
	if (access(rel, R_OK) == 0)
		return rel;
	snprintf(buf, n, "%s/%s", H4H_SOURCE_DIR, rel);
	return access(buf, R_OK) == 0 ? buf : rel;
}

typedef struct view {
	const search_job *job;
	int budget, n_budgets, gens;
	double t0;
} view;

static void
show(void *ctx, const char *system, const char *what, int done, int total)
{
	view *v = ctx;

	(void)system;
	if (strcmp(what, "generation") == 0)
		cli_progress(v->job->cmd, v->budget * v->gens + done,
		    v->n_budgets * v->gens, h4h_now_s() - v->t0);
	else if (total > 0 && done == total)
		fprintf(stderr, "h4h: %s: %s: %d real evaluations done\n",
		    v->job->cmd, what, total);
}

/* "1.5,2,3" (display units) into seconds or joules. */
static int
parse_budgets(search_job *job, double *b, int *n)
{
	char *s = h4h_xstrdup(job->budgets_arg), *save = NULL, *tok;
	int rc = 0;

	*n = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save)) {
		double v;

		if (*n == MAX_BUDGETS) {
			rc = cli_usage_error(job->cmd, "at most %d budgets",
			    MAX_BUDGETS);
			break;
		}
		if (cli_parse_num(job->cmd, job->budget_opt, tok, 1e-9, 1e9,
		    &v)) {
			rc = 2;
			break;
		}
		b[(*n)++] = v * 1e-3;
	}
	free(s);
	if (rc == 0 && *n == 0)
		rc = cli_usage_error(job->cmd, "%s needs at least one budget",
		    job->budget_opt);
	return rc;
}

static void
write_text(FILE *f, const void *ctx)
{
	fputs(ctx, f);
	fputc('\n', f);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef struct dat_ctx {
	const search_job *job;
	nas_search_result *res;
} dat_ctx;

static void
write_dat(FILE *f, const void *vctx)
{
	const dat_ctx *c = vctx;
	const search_job *j = c->job;
	const char *unit = j->metric == NAS_METRIC_ENERGY ? "mJ" : "ms";

	fprintf(f, "# h4h search on %s: the winner of each budget\n"
	    "# budget_%s val_acc_pct test_acc_pct latency_ms energy_mj "
	    "vit_blocks mbconv_blocks cim_mac_share\n", j->system_name, unit);
	for (int i = 0; i < j->n_picks; i++) {
		const nas_pick *p = &j->picks[i];

		fprintf(f, "%.6g %.2f %.2f %.6f %.6f %d %d %.4f\n",
		    p->budget * 1e3, 100 * p->val_acc, 100 * p->test_acc,
		    p->latency_s * 1e3, p->energy_j * 1e3, p->vit_blocks,
		    p->mbconv_blocks, p->cim_mac_share);
	}
	fprintf(f, "\n\n# the Pareto front of every subnet evaluated\n"
	    "# cost_%s val_acc_pct test_acc_pct\n", unit);
	for (int i = 0; i < j->n_front; i++) {
		const nas_pick *p = &j->front[i];

		fprintf(f, "%.6f %.2f %.2f\n", (j->metric == NAS_METRIC_ENERGY ?
		    p->energy_j : p->latency_s) * 1e3, 100 * p->val_acc,
		    100 * p->test_acc);
	}
	fprintf(f, "\n\n# convergence: best validation accuracy in budget "
	    "after each generation, one block per budget\n");
	for (int i = 0; i < j->n_picks; i++) {
		fprintf(f, "%s# budget %.6g %s\n# generation best_val_acc_pct "
		    "mean_fitness_pct\n", i ? "\n\n" : "",
		    j->picks[i].budget * 1e3, unit);
		for (int g = 0; g < c->res[i].generations; g++)
			fprintf(f, "%d %.2f %.2f\n", g + 1,
			    100 * c->res[i].gen_best[g],
			    100 * c->res[i].gen_mean[g]);
		if (c->res[i].generations == 0)
			fprintf(f, "0 %.2f %.2f\n", 100 * j->picks[i].val_acc,
			    100 * j->picks[i].val_acc);
	}
}

static void
write_gp(FILE *f, const void *vctx)
{
	const search_job *j = vctx;
	const char *unit = j->metric == NAS_METRIC_ENERGY ? "mJ" : "ms";
	char title[200];

	plot_gp_head(f, "search.gp - accuracy of the searched subnets against "
	    "the budget",
	    "Left: the winner of each budget (validation and test accuracy)\n"
	    "and the Pareto front of every subnet evaluated.  Right: the best\n"
	    "validation accuracy within budget after each generation.\n"
	    "Data: search.dat.  Made by: h4h search", j->formats);
	plot_gp_begin(f, "search", 1100, 440);
	snprintf(title, sizeof title, "h4h search on %s (%d macros x %d CUs)",
	    j->system_name, j->macros, j->cus);
	fprintf(f, "    set multiplot layout 1,2 title ");
	plot_gp_string(f, title);
	fprintf(f, "\n    set grid\n    set key bottom right\n"
	    "    set xlabel \"%s budget (%s)\"\n"
	    "    set ylabel \"top-1 accuracy (%%)\"\n"
	    "    set title \"winners and Pareto front\"\n"
	    "    plot \"search.dat\" index 1 using 1:2 with steps lc 8 dt 2 "
	    "title \"front (val)\", \\\n"
	    "         \"\" index 0 using 1:2 with linespoints lc 1 lw 2 pt 7 "
	    "title \"winner (val)\", \\\n"
	    "         \"\" index 0 using 1:3 with linespoints lc 2 lw 2 pt 5 "
	    "title \"winner (test)\"\n"
	    "    set xlabel \"generation\"\n"
	    "    set ylabel \"best validation accuracy in budget (%%)\"\n"
	    "    set title \"convergence\"\n"
	    "    plot for [i=2:%d] \"search.dat\" index i using 1:2 with lines "
	    "lw 2 title sprintf(\"budget %%d\", i - 1)\n"
	    "    unset multiplot\n",
	    j->metric == NAS_METRIC_ENERGY ? "energy" : "latency", unit,
	    1 + j->n_picks);
	plot_gp_end(f);
}

void
print_pred(FILE *f, const search_job *j)
{
	const nas_pred_report *r = &j->pred;

	fprintf(f, "predictor %s (%s): Spearman rho %.3f, Kendall tau %.3f on "
	    "%d held-out subnets; rho %.3f, tau %.3f on the %d finalists "
	    "evaluated for real\n", nas_pred_name(r->kind), r->n_data > 0 ?
	    "fitted on the accuracy dataset" : "fitted on the warm-up",
	    r->rho_holdout, r->tau_holdout, r->n_holdout, r->rho_online,
	    r->tau_online, r->n_online);
}

static void
print_summary(const search_job *j, double seconds)
{
	const char *unit = j->metric == NAS_METRIC_ENERGY ? "mJ" : "ms";

	printf("search on %s (%d macros x %d CUs), %s budgets:\n",
	    j->system_name, j->macros, j->cus, nas_metric_name(j->metric));
	printf("%10s %8s %8s %15s %11s %11s %4s %6s %13s %8s\n", "budget",
	    "val %", "test %", "test 95% CI", "latency ms", "energy mJ",
	    "ViT", "MBConv", "layers N/C/S", "CIM MACs");
	for (int i = 0; i < j->n_picks; i++) {
		const nas_pick *p = &j->picks[i];
		char lay[32];

		snprintf(lay, sizeof lay, "%d/%d/%d", p->layers_npu,
		    p->layers_cim, p->layers_split);
		char ci[32];

		snprintf(ci, sizeof ci, "[%.2f, %.2f]", 100 * p->test_lo,
		    100 * p->test_hi);
		printf("%8.4g%s %8.2f %8.2f %15s %11.4f %11.4f %4d %6d %13s "
		    "%7.1f%%\n", p->budget * 1e3, unit, 100 * p->val_acc,
		    100 * p->test_acc, ci, p->latency_s * 1e3,
		    p->energy_j * 1e3, p->vit_blocks,
		    p->mbconv_blocks, lay, 100 * p->cim_mac_share);
	}
	if (j->note[0] != '\0')
		printf("%s\n", j->note);
	print_pred(stdout, j);
	printf("front: %d subnets; real evaluations %lld (cached %lld), "
	    "cost queries %lld; %.1f s\n", j->n_front, j->fstats.evals[0] +
	    j->fstats.evals[1], j->fstats.hits[0] + j->fstats.hits[1],
	    j->cost_queries, seconds);
}

/* FNV-1a of a space's canonical JSON: what tells two spaces of one name
 * apart in a message. */
static unsigned long long
text_hash(const char *s)
{
	unsigned long long h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* --space FILE against the checkpoint's own space, before anything is
 * created: a bad file or another space leaves no database and no output
 * folder behind.  Two spaces of one name are told apart by their hashes
 * and where their JSON first differs. */
static int
check_space(const char *space, const char *ckpt, h4h_err *err)
{
	nas_space *want = NULL, *have = NULL;
	nn_ckpt *ck = NULL;
	int rc;

	if ((rc = nas_space_load(space, &want, err)) != 0)
		return rc;
	if ((rc = nn_ckpt_read(ckpt, &ck, err)) != 0 ||
	    (rc = nas_ckpt_space(ck, ckpt, &have, err)) != 0)
		goto out;
	if (strcmp(want->name, have->name) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "checkpoint '%s' is of space "
		    "'%s', not of '%s' (%s)", ckpt, have->name, want->name,
		    space);
	} else if (strcmp(want->json, have->json) != 0) {
		size_t i = 0;

		while (want->json[i] == have->json[i])
			i++;
		rc = h4h_errf(err, H4H_EINPUT, "checkpoint '%s' is of another "
		    "space named '%s' than %s (JSON hash %016llx, not %016llx; "
		    "they first differ at byte %zu: '%.24s' in the checkpoint, "
		    "'%.24s' in the file)", ckpt, have->name, space,
		    text_hash(have->json), text_hash(want->json), i,
		    have->json + i, want->json + i);
	}
out:
	nas_space_destroy(want);
	nas_space_destroy(have);
	nn_ckpt_destroy(ck);
	return rc;
}

int
search_job_run(search_job *job, const nas_study_cfg *cfg_in)
{
	nas_study_cfg cfg = *cfg_in;
	double budgets[MAX_BUDGETS];
	nas_search_result res[MAX_BUDGETS];
	nas_study *st = NULL;
	nas_study_sys *sys;
	sim_profile prof;
	h4h_err err = { "" };
	const char *first = NULL;
	view v = { job, 0, 0, 0, h4h_now_s() };
	int n = 0, rc;

	memset(res, 0, sizeof res);
	if (job->budgets_arg != NULL) {
		if ((rc = parse_budgets(job, budgets, &n)) != 0)
			return rc;
	} else {
		n = job->n_budgets < MAX_BUDGETS ? job->n_budgets : MAX_BUDGETS;
		memcpy(budgets, job->budgets, (size_t)n * sizeof *budgets);
	}
	qsort(budgets, (size_t)n, sizeof *budgets, cmp_double);
	if ((rc = sim_profile_open(job->system, job->sets, job->n_sets, NULL,
	    &prof, &err)) != 0)
		return cli_fail(job->cmd, rc, &err);
	snprintf(job->system_name, sizeof job->system_name, "%s", prof.name);
	job->macros = prof.cim.macros;
	job->cus = prof.cim.cus_per_macro;
	if (job->space != NULL && (rc = check_space(job->space, cfg.ckpt,
	    &err)) != 0)
		return cli_fail(job->cmd, rc, &err);
	if ((rc = plot_dir_prepare(job->out, &err)) != 0)
		return cli_fail(job->cmd, rc, &err);
	v.n_budgets = n;
	v.gens = cfg.search.generations > 0 ? cfg.search.generations : 1;
	/* Under mpirun, rank 0 alone shows progress. */
	cfg.progress = job->dist != NULL && job->dist->rank > 0 ? NULL : show;
	cfg.progress_ctx = &v;
	if ((rc = nas_study_open(&cfg, &st, &err)) != 0)
		goto out;
	nas_fitness_set_dist(nas_study_fitness(st), job->dist);
	if ((rc = nas_study_system(st, &prof, job->metric, &sys, &err)) != 0)
		goto out;
	if ((rc = nas_search_min_cost(nas_study_searcher(sys), job->min_cost,
	    &err)) != 0)
		goto out;
	job->picks = h4h_xcalloc((size_t)n, sizeof *job->picks);
	for (int b = 0; b < n; b++) {
		v.budget = b;
		if ((rc = nas_study_search(sys, budgets[b], &job->picks[b],
		    &res[b], &err)) != 0)
			goto out;
		job->n_picks = b + 1;
	}
	cli_progress_end();
	if ((rc = nas_study_front(sys, budgets[n - 1], &job->front,
	    &job->n_front, &err)) != 0)
		goto out;
	nas_search_rho(nas_study_searcher(sys), &job->rho_holdout,
	    &job->n_holdout, &job->rho_online, &job->n_online);
	nas_search_pred_report(nas_study_searcher(sys), &job->pred);
	snprintf(job->note, sizeof job->note, "%s",
	    nas_study_dataset_note(st));
	if (job->keep_right) {
		nas_fitness *fit = nas_study_fitness(st);
		char rpath[4096];

		snprintf(rpath, sizeof rpath, "%s/winners-test.bin", job->out);
		nas_fitness_right_load(fit, rpath);
		if ((rc = nas_fitness_images(fit, NAS_SPLIT_TEST, &job->n_test,
		    &err)) != 0)
			goto out;
		job->right = h4h_xcalloc((size_t)job->n_picks,
		    sizeof *job->right);
		for (int b = 0; b < job->n_picks; b++) {
			double acc;

			job->right[b] = h4h_xmalloc((size_t)job->n_test);
			if ((rc = nas_fitness_eval_right(fit, NAS_SPLIT_TEST,
			    &job->picks[b].g, job->right[b], &acc, &err)) != 0)
				goto out;
		}
		if ((rc = nas_fitness_right_save(fit, rpath, &err)) != 0)
			goto out;
		nas_fitness_get_stats(fit, &job->fstats);
	}
	nas_fitness_get_stats(nas_study_fitness(st), &job->fstats);
	job->cost_queries = nas_search_cost_queries(nas_study_searcher(sys));

	/* files */
	{
		char path[4096], label[64], name[128];
		size_t dl = strlen(job->out);

		snprintf(path, sizeof path, "%s/pareto.csv", job->out);
		if ((rc = nas_picks_write_csv(path, job->picks, job->n_picks,
		    &err)) != 0)
			goto out;
		snprintf(path, sizeof path, "%s/pareto.json", job->out);
		if ((rc = nas_picks_write_json(path, job->system_name,
		    job->picks, job->n_picks, &err)) != 0)
			goto out;
		snprintf(path, sizeof path, "%s/front.csv", job->out);
		if ((rc = nas_picks_write_csv(path, job->front, job->n_front,
		    &err)) != 0)
			goto out;
		for (int b = 0; b < job->n_picks; b++) {
			char *json;

			nas_budget_label(job->metric, job->picks[b].budget,
			    label, sizeof label);
			snprintf(name, sizeof name, "best-%s", label);
			json = nas_study_arch_json(st, &job->picks[b].g, name);
			snprintf(path, sizeof path, "%.*s/%s.json", (int)dl,
			    job->out, name);
			rc = plot_write(job->out, strrchr(path, '/') + 1,
			    "architecture", write_text, json, &err);
			free(json);
			if (rc != 0)
				goto out;
			if (job->trace) {
				snprintf(path, sizeof path, "%s/trace-%s.json",
				    job->out, label);
				if ((rc = nas_study_trace(sys,
				    &job->picks[b].g, path, &err)) != 0)
					goto out;
			}
		}
	}
	if (job->formats) {
		dat_ctx dc = { job, res };
		const char *images[2] = { "search.png", "search.svg" };
		int rendered, k = 0;
		const char *img[2];

		if (job->formats & PLOT_PNG)
			img[k++] = images[0];
		if (job->formats & PLOT_SVG)
			img[k++] = images[1];
		if ((rc = plot_write(job->out, "search.dat", "data", write_dat,
		    &dc, &err)) != 0 ||
		    (rc = plot_write(job->out, "search.gp", "gnuplot script",
		    write_gp, job, &err)) != 0 ||
		    (rc = plot_render(job->cmd, job->out, "search", img, k,
		    &rendered, &err)) != 0)
			goto out;
	}
	job->seconds = h4h_now_s() - v.t0;
	if (job->verbose)
		print_summary(job, job->seconds);
out:
	cli_progress_end();
	for (int b = 0; b < MAX_BUDGETS; b++)
		nas_search_result_free(&res[b]);
	if (rc == 0 && st != NULL)
		rc = nas_study_flush(st, &err);
	if (st != NULL)
		cli_bad_rows_warn(job->cmd, nas_study_bad_rows(st, &first),
		    first);
	nas_study_close(st);
	if (rc != 0)
		return cli_fail(job->cmd, rc, &err);
	return 0;
}

void
search_job_free(search_job *job)
{
	for (int b = 0; job->right != NULL && b < job->n_picks; b++)
		free(job->right[b]);
	free(job->right);
	job->right = NULL;
	free(job->picks);
	free(job->front);
	job->picks = job->front = NULL;
}
