/*
 * main.c - `h4h <command> ...`: dispatch to the subcommand table.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ranks.h"
#include "config.h"

static const h4h_cmd *const commands[] = {
	&h4h_cmd_sim,
	&h4h_cmd_sweep,
	&h4h_cmd_system,
	&h4h_cmd_db,
	&h4h_cmd_profile,
	&h4h_cmd_plot,
	&h4h_cmd_calibrate,
	&h4h_cmd_train,
	&h4h_cmd_eval,
	&h4h_cmd_supernet,
	&h4h_cmd_demo,
	&h4h_cmd_search,
	&h4h_cmd_predictor,
	&h4h_cmd_reproduce,
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

int
cli_fail(const char *cmd, int rc, const h4h_err *err)
{
	fprintf(stderr, "h4h: %s: %s\n", cmd, err->msg);
	return rc == H4H_EINPUT ? 2 : 1;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char raw[1024], msg[1024];

	/* Arguments are echoed: escaped, so the message stays one line. */
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	h4h_escape(msg, sizeof msg, raw);
	fprintf(stderr, "h4h: %s: %s\n", cmd, msg);
	return 2;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: h4h <command> [options]\n\n"
	    "h4h co-designs hybrid CNN/ViT networks and NPU + MRAM-CIM edge "
	    "hardware.\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name,
		    commands[i]->summary);
	fprintf(f, "\n'h4h <command> --help' describes a command; "
	    "man h4h (doc/h4h.1) has them all.\n");
}

/*
 * OpenMP threads that spin while they wait for work (libgomp's default)
 * steal the cores other threads of the same loop need as soon as anything
 * else runs on the machine: on a loaded 2-core machine `h4h supernet eval`
 * of 6 subnets took 41.8 s with 2 spinning threads, 5.5 s with passive
 * ones, and 8.3 s with one thread.  libgomp reads the policy when it is
 * loaded, before main, so h4h sets it and runs itself again, once; a
 * policy the user set is kept.
 */
static void
passive_openmp(char **argv)
{
	char self[4096];
	ssize_t n;

	if (getenv("OMP_WAIT_POLICY") != NULL)
		return;
	/* the binary's own path, so ps and top still say h4h */
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0 || (size_t)n >= sizeof self - 1)
		return;
	self[n] = '\0';
	if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0)
		return;
	execv(self, argv);
	/* cannot run itself: carry on with the default policy */
}

/* Output that never reached stdout (a full disk, a closed pipe) is a
 * failure, said once: a command that already said so has exited non-zero. */
static int
finish(const char *cmd, int status)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	if (status == 0)
		fprintf(stderr, "h4h: %s: cannot write stdout: %s\n", cmd,
		    errno != 0 ? strerror(errno) : "write error");
	return status == 0 ? 1 : status;
}

int
main(int argc, char **argv)
{
	passive_openmp(argv);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return finish(argv[1], 0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("h4h %s\n", PACKAGE_VERSION);
		return finish(argv[1], 0);
	}
	/* Under mpirun with several ranks, a command that does not share its
	 * work would run N times over the same outputs (doc/scale.md). */
	if (cli_ranks_announced() > 1 && strcmp(argv[1], "sweep") != 0 &&
	    strcmp(argv[1], "search") != 0 && strcmp(argv[1], "demo") != 0 &&
	    !(strcmp(argv[1], "reproduce") == 0 && argc > 2 &&
	    strcmp(argv[2], "table2") != 0) &&
	    !(strcmp(argv[1], "supernet") == 0 && argc > 2 &&
	    strcmp(argv[2], "train") == 0)) {
		if (cli_rank_announced() == 0)
			fprintf(stderr, "h4h: %s: runs as one process; start it "
			    "without mpirun (or with -np 1)\n", argv[1]);
		return 2;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i]->name) == 0)
			return finish(commands[i]->name,
			    commands[i]->exec(argc - 1, argv + 1));
	fprintf(stderr, "h4h: unknown command '%s' (try 'h4h --help')\n",
	    argv[1]);
	return 2;
}
