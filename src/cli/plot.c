/*
 * plot.c - gnuplot data, scripts and rendering for the CLI (plot.h).
 *
 * Scripts are written for people as much as for gnuplot: a comment block
 * saying what the figure is and how to rerun it, one `plot` line per
 * series with its title spelt out.  Invariant: nothing here changes the
 * process's working directory; gnuplot runs in a child that changes its
 * own, and the script itself moves to its own directory (ARG0) so it also
 * works when started from elsewhere.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int
plot_format_from_name(const char *s)
{
	if (strcmp(s, "png") == 0)
		return PLOT_PNG;
	if (strcmp(s, "svg") == 0)
		return PLOT_SVG;
	if (strcmp(s, "both") == 0)
		return PLOT_BOTH;
	return -1;
}

int
plot_dir_prepare(const char *dir, h4h_err *err)
{
	struct stat st;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return h4h_errf(err, H4H_EIO, "cannot create directory '%s': "
		    "%s", dir, strerror(errno));
	if (stat(dir, &st) != 0)
		return h4h_errf(err, H4H_EIO, "cannot use directory '%s': %s",
		    dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return h4h_errf(err, H4H_EIO, "'%s' is not a directory", dir);
	if (access(dir, W_OK) != 0)
		return h4h_errf(err, H4H_EIO, "cannot write in '%s': %s", dir,
		    strerror(errno));
	return 0;
}

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = h4h_xmalloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int
plot_write(const char *dir, const char *name, const char *what,
    h4h_writer_fn fn, const void *ctx, h4h_err *err)
{
	char *path = join(dir, name);
	int rc = h4h_write_atomic(path, what, fn, ctx, err);

	free(path);
	return rc;
}

void
plot_gp_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
plot_gp_head(FILE *f, const char *title, const char *how, int formats)
{
	const char *p = how;

	fprintf(f, "# %s\n#\n", title);
	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(f, "#%s%.*s\n", len ? " " : "", len, p);
		p = nl ? nl + 1 : NULL;
	}
	fprintf(f, "#\n"
	    "# Written by h4h; restyle freely.  Run it with `gnuplot FILE.gp`"
	    " (from any\n"
	    "# directory: it reads its data and writes its images next to "
	    "itself).  Pick\n"
	    "# the formats with: gnuplot -e 'outputs=\"svg\"' FILE.gp\n\n");
	fprintf(f, "if (!exists(\"outputs\")) outputs = \"%s\"\n\n",
	    formats == PLOT_PNG ? "png" : formats == PLOT_SVG ? "svg" :
	    "png svg");
	/* gnuplot has no dirname(): scan ARG0 (the script's path as given)
	 * backwards for its last slash. */
	fprintf(f, "# Work next to this script, so the data paths below are "
	    "relative to it.\n"
	    "do for [i = strlen(ARG0):1:-1] {\n"
	    "    if (ARG0[i:i] eq \"/\") { cd ARG0[1:i]; break }\n"
	    "}\n\n");
}

void
plot_gp_begin(FILE *f, const char *image, int width, int height)
{
	fprintf(f, "do for [ext in outputs] {\n"
	    "    if (ext eq \"png\") {\n"
	    "        # pngcairo draws smoother lines; libgd's png is the "
	    "fallback (gnuplot-nox)\n"
	    "        if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
	    "            set terminal pngcairo size %d,%d noenhanced "
	    "font \"sans,10\"\n"
	    "        } else {\n"
	    "            set terminal png size %d,%d noenhanced\n"
	    "        }\n"
	    "    } else {\n"
	    "        set terminal svg size %d,%d dynamic noenhanced "
	    "font \"sans,10\" background rgb \"white\"\n"
	    "    }\n"
	    "    set output ", width, height, width, height, width, height);
	plot_gp_string(f, image);
	fprintf(f, ".\".\".ext\n\n");
}

void
plot_gp_end(FILE *f)
{
	fprintf(f, "    unset multiplot\n"
	    "    set output\n"
	    "}\n\n");
}

char *
plot_find_gnuplot(void)
{
	const char *path = getenv("PATH");
	const char *p;

	if (path == NULL)
		path = "/usr/bin:/bin";
	p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char dir[4096];
		struct stat st;
		char *cand;

		/* An empty PATH entry means the current directory. */
		snprintf(dir, sizeof dir, "%.*s", (int)len, len ? p : ".");
		cand = join(dir, "gnuplot");
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (colon == NULL)
			return NULL;
		p = colon + 1;
	}
}

/* Run `gnuplot SCRIPT` with DIR as its working directory; stdin from
 * /dev/null, stdout and stderr into DIR/LOG, so that gnuplot's own
 * messages, which span lines, stay out of h4h's one-line errors.  An empty
 * log is removed. */
static int
run_gnuplot(const char *gnuplot, const char *dir, const char *script,
    const char *log, h4h_err *err)
{
	char *log_path = join(dir, log);
	struct stat lst;
	int rc = 0;

	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		rc = h4h_errf(err, H4H_EIO, "cannot start gnuplot: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		if (chdir(dir) != 0)
			_exit(126);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0666);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		execl(gnuplot, "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			rc = h4h_errf(err, H4H_EIO, "waiting for gnuplot: %s",
			    strerror(errno));
			goto out;
		}
	if (WIFSIGNALED(status))
		rc = h4h_errf(err, H4H_EIO, "gnuplot %s/%s died of signal "
		    "%d (its messages are in %s)", dir, script,
		    WTERMSIG(status), log_path);
	else if (WEXITSTATUS(status) != 0)
		rc = h4h_errf(err, H4H_EIO, "gnuplot %s/%s failed (exit "
		    "status %d; its messages are in %s)", dir, script,
		    WEXITSTATUS(status), log_path);
	else if (stat(log_path, &lst) == 0 && lst.st_size == 0)
		unlink(log_path);
out:
	free(log_path);
	return rc;
}

int
plot_render(const char *cmd, const char *dir, const char *stem,
    const char *const *images, int n, int *rendered, h4h_err *err)
{
	char *gnuplot = plot_find_gnuplot();
	char script[512], log[512];
	int rc = 0;

	*rendered = 0;
	if (gnuplot == NULL) {
		fprintf(stderr, "h4h: %s: gnuplot not found; wrote %s/%s.dat "
		    "and %s/%s.gp (run: gnuplot %s.gp)\n", cmd, dir, stem, dir,
		    stem, stem);
		return 0;
	}
	/* Stale images would pass the check below if gnuplot wrote none. */
	for (int i = 0; i < n; i++) {
		char *path = join(dir, images[i]);

		if (unlink(path) != 0 && errno != ENOENT)
			rc = h4h_errf(err, H4H_EIO, "cannot replace '%s': %s",
			    path, strerror(errno));
		free(path);
		if (rc != 0)
			goto out;
	}
	snprintf(script, sizeof script, "%s.gp", stem);
	/* not STUDY.log: that name is the user's (nohup ... > DIR/fig7.log) */
	snprintf(log, sizeof log, "%s.gnuplot.log", stem);
	if ((rc = run_gnuplot(gnuplot, dir, script, log, err)) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		char *path = join(dir, images[i]);
		struct stat st;

		if (stat(path, &st) != 0 || st.st_size == 0)
			rc = h4h_errf(err, H4H_EIO, "gnuplot wrote no '%s'",
			    path);
		free(path);
		if (rc != 0)
			goto out;
	}
	*rendered = 1;
out:
	free(gnuplot);
	return rc;
}

void
plot_fmt_bytes(double bytes, char *buf, size_t n)
{
	static const char *const units[] = { "B", "kB", "MB", "GB" };
	int u = 0;

	while (bytes >= 1000 && u < 3) {
		bytes /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f %s", bytes, units[u]);
	else
		snprintf(buf, n, "%.3g %s", bytes, units[u]);
}
