/*
 * cmd_system.c - `h4h system`: the resolved system, every key with its
 * value and where the value came from (the built-in default, a file and
 * line, or a --set), as Vela's --verbose-config shows its configuration.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/hash.h"
#include "sim/spec/canon.h"
#include "sim/spec/profile.h"

#define MAX_SETS 64

static const char *usage_text =
    "usage: h4h system FILE.ini [--set section.key=value]... [--json]\n"
    "\n"
    "Prints the resolved system: every profile key, its value and where the\n"
    "value came from (default, FILE line N, or --set).\n"
    "\n"
    "  --set K=V       override a profile key, as for h4h sim\n"
    "  --json          print JSON on stdout instead of a table\n";

static int
system_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sets[MAX_SETS], *path;
	int n_sets = 0, json = 0, c, n = 0, rc, status = 0;
	sim_profile_entry *e = NULL;
	sim_profile p;
	h4h_err err = { "" };
	char *canon;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (n_sets == MAX_SETS)
				return cli_usage_error("system", "at most %d "
				    "--set options", MAX_SETS);
			sets[n_sets++] = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cli_usage_error("system", "unknown option or "
			    "missing value: '%s' (see h4h system --help)",
			    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("system", "give one profile FILE.ini "
		    "(got %d arguments)", argc - optind);
	path = argv[optind];
	rc = sim_profile_resolve(path, sets, n_sets, &p, &e, &n, &err);
	if (rc != 0)
		return cli_fail("system", rc, &err);
	/* The system hash, as the cost database identifies the system. */
	canon = sim_profile_canon(&p);
	if (json) {
		json_t *o = json_object(), *a = json_array();
		char hash[17], *s;

		snprintf(hash, sizeof hash, "%016llx", (unsigned long long)
		    h4h_hash64(canon, strlen(canon), H4H_HASH_SEED));
		json_object_set_new(o, "system", json_string(p.name));
		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "hash", json_string(hash));
		for (int i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}",
			    "key", e[i].key, "value", e[i].value, "unit",
			    e[i].unit, "origin", e[i].origin));
		json_object_set_new(o, "keys", a);
		s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(o);
	} else {
		printf("system %s from %s (hash %016llx)\n", p.name, path,
		    (unsigned long long)h4h_hash64(canon, strlen(canon),
		    H4H_HASH_SEED));
		printf("%-30s %-20s %-12s %s\n", "key", "value", "unit",
		    "origin");
		for (int i = 0; i < n; i++)
			printf("%-30s %-20s %-12s %s\n", e[i].key, e[i].value,
			    e[i].unit, e[i].origin);
	}
	free(canon);
	free(e);
	if (fflush(stdout) != 0) {
		perror("h4h: system: stdout");
		status = 1;
	}
	return status;
}

const h4h_cmd h4h_cmd_system = {
	.name = "system",
	.summary = "print a resolved system: every key, its value and origin",
	.exec = system_exec,
};
