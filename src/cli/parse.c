/*
 * parse.c - option values for the commands (cli.h): numbers in a range,
 * whole numbers in a range, with the one-line usage error.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"

int
cli_parse_num(const char *cmd, const char *opt, const char *s, double lo,
    double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
		return cli_usage_error(cmd, "%s must be a number in [%g, %g] "
		    "(got '%s')", opt, lo, hi, s);
	*out = v;
	return 0;
}

int
cli_parse_int(const char *cmd, const char *opt, const char *s, long long lo,
    long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return cli_usage_error(cmd, "%s must be a whole number in "
		    "[%lld, %lld] (got '%s')", opt, lo, hi, s);
	*out = v;
	return 0;
}
