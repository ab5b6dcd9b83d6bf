/*
 * interrupt.c - Ctrl-C and SIGTERM for the long commands (train, supernet
 * train, reproduce): the signal only sets a flag, which the command's
 * should-stop hook polls between steps, so the run ends at a step boundary
 * with its checkpoint or results written, and exits 130.
 *
 * SA_RESTART: a system call the signal lands in (a write of a checkpoint,
 * a wait for a job) resumes instead of failing with EINTR; nothing here
 * relies on the signal to wake a blocked call, since the flag is polled.
 */
#include <signal.h>
#include <string.h>

#include "cli/cli.h"

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void
cli_interrupt_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
cli_should_stop(void *ctx)
{
	(void)ctx;
	return interrupted;
}
