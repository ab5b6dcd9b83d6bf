/*
 * plot.h - gnuplot output shared by `h4h profile` and `h4h plot`.
 *
 * A figure is two files in one directory: STEM.dat (gnuplot data blocks,
 * each with a # header, separated by two blank lines so `index N` picks
 * one) and STEM.gp (a self-contained script that reads STEM.dat relative to
 * its own directory and writes STEM.png and/or STEM.svg there).  Both are
 * written atomically.  Rendering runs gnuplot when it is on PATH; without
 * it the data and script are the deliverable and the command still
 * succeeds.  The script picks the png terminal itself (pngcairo when the
 * gnuplot that runs it has it, else libgd's png), so one script works on
 * any gnuplot >= 5.2.
 */
#ifndef H4H_CLI_PLOT_H
#define H4H_CLI_PLOT_H

#include <stdio.h>

#include "core/atomic.h"
#include "core/err.h"

enum {
	PLOT_PNG = 1,
	PLOT_SVG = 2,
	PLOT_BOTH = PLOT_PNG | PLOT_SVG,
};

/* "png", "svg" or "both"; -1 if unknown. */
int plot_format_from_name(const char *s);

/* Make `dir` if it is missing (its parent must exist) and check that it is
 * a writable directory; H4H_EIO naming it otherwise. */
int plot_dir_prepare(const char *dir, h4h_err *err);

/* Write DIR/NAME atomically with fn; `what` names it in messages. */
int plot_write(const char *dir, const char *name, const char *what,
    h4h_writer_fn fn, const void *ctx, h4h_err *err);

/* Script pieces.  plot_gp_head writes the file's comment block (`title`
 * and `how` are free text; each line of `how` becomes a comment line), the
 * `outputs` default (overridable: gnuplot -e 'outputs="svg"' STEM.gp) and
 * the cd to the script's directory.  plot_gp_begin opens the loop over
 * output formats for one image IMAGE.png/.svg of width x height pixels,
 * plot_gp_end closes it; a script may hold several such images. */
void plot_gp_head(FILE *f, const char *title, const char *how, int formats);
void plot_gp_begin(FILE *f, const char *image, int width, int height);
void plot_gp_end(FILE *f);

/* Write s as a gnuplot double-quoted string (" and \ escaped).  The
 * terminals are noenhanced, so _ and ^ in names print as they are. */
void plot_gp_string(FILE *f, const char *s);

/* The gnuplot on PATH as a path to run (the caller frees), or NULL. */
char *plot_find_gnuplot(void);

/*
 * Render DIR/STEM.gp: with gnuplot on PATH, run it in DIR and check that
 * every image named in images[0..n) (file names in DIR) exists and is not
 * empty; *rendered = 1.  Without gnuplot print one line
 * "h4h: CMD: gnuplot not found; wrote DIR/STEM.dat and DIR/STEM.gp (run:
 * gnuplot STEM.gp)" on stderr and return 0 with *rendered = 0.  gnuplot
 * failing or an image missing is H4H_EIO.
 */
int plot_render(const char *cmd, const char *dir, const char *stem,
    const char *const *images, int n, int *rendered, h4h_err *err);

/* `h4h profile fig3|fig5` (cmd_profile.c), shared with `h4h plot
 * fig3|fig5`: argv[0] is the study, messages say "h4h: CMD: ...", and
 * force_plot acts as --plot.  Returns the exit status. */
int profile_study_exec(const char *cmd, int argc, char **argv,
    int force_plot);

/* "1.5 kB" style byte counts for tables (decimal units). */
void plot_fmt_bytes(double bytes, char *buf, size_t n);

#endif
