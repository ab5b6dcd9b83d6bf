/*
 * progress.c - a progress bar with ETA on stderr.
 *
 * On a terminal the bar redraws in place; otherwise (CI logs, pipes) a line
 * is printed each time another tenth of the work is done, so logs stay
 * short.  The ETA assumes the remaining points cost what the finished ones
 * did on average.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/atomic.h"

static int last_tenth = -1;
static int drawn;

void
cli_progress(const char *cmd, int done, int total, double elapsed_s)
{
	int width = 30, filled, tenth;
	double eta = done > 0 ? elapsed_s * (total - done) / done : 0;
	char bar[64];

	if (total <= 0)
		return;
	filled = done * width / total;
	for (int i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[width] = '\0';
	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\rh4h: %s: [%s] %d/%d %3d%%  %.1fs elapsed  "
		    "ETA %.1fs ", cmd, bar, done, total, 100 * done / total,
		    elapsed_s, eta);
		drawn = 1;
		return;
	}
	tenth = 10 * done / total;
	if (tenth == last_tenth)
		return;
	last_tenth = tenth;
	fprintf(stderr, "h4h: %s: %d/%d points (%d%%), %.1fs elapsed, ETA "
	    "%.1fs\n", cmd, done, total, 100 * done / total, elapsed_s, eta);
}

void
cli_progress_end(void)
{
	if (drawn)
		fputc('\n', stderr);
	drawn = 0;
	last_tenth = -1;
}

void
cli_sweep_stale(const char *cmd, const char *out)
{
	int n = h4h_atomic_sweep(out);

	if (n > 0)
		fprintf(stderr, "h4h: %s: removed %d stale temporary file%s of "
		    "'%s' (a killed write)\n", cmd, n, n == 1 ? "" : "s", out);
}
