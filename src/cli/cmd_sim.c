/*
 * cmd_sim.c - `h4h sim`: simulate one network on one or more systems.
 *
 * Several --system options simulate the same network on each and print the
 * results side by side; --set overrides apply to every system.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sim/front/arch.h"
#include "sim/report/breakdown.h"
#include "core/atomic.h"
#include "cost/db.h"
#include "cost/memo.h"
#include "cost/store.h"
#include "sim/report/report.h"
#include "sim/sim.h"

#define MAX_SYSTEMS 16
#define MAX_SETS 64

static const char *usage_text =
    "usage: h4h sim --system FILE.ini [--system FILE.ini]...\n"
    "               (--net FILE.json | --arch FILE.json | --onnx FILE.onnx)\n"
    "               [--set section.key=value]... "
    "[--objective latency|energy|edp]\n"
    "               [--json] [--csv FILE] [--trace FILE] [--db FILE]\n"
    "               [--breakdown]\n"
    "       h4h sim --list-keys\n"
    "\n"
    "Simulates a network layer by layer on an Ethos-U55 NPU + N MRAM CIM\n"
    "macros + a shared NoC, splitting each layer's output channels between\n"
    "the NPU and the macros to minimise the objective.\n"
    "\n"
    "  --system FILE   hardware profile (INI, see hwprofiles/); repeat to\n"
    "                  compare systems side by side\n"
    "  --net FILE      network as a JSON layer list (see nets/)\n"
    "  --arch FILE     H4H architecture (a Table-1 subnet) as JSON\n"
    "  --onnx FILE     ONNX model (e.g. from torch.onnx.export, batch 1)\n"
    "  --set K=V       override a profile key, e.g. cim.macros=4\n"
    "  --objective O   latency (default), energy or edp\n"
    "  --json          print results as JSON on stdout instead of a table\n"
    "  --csv FILE      write per-layer results as CSV\n"
    "  --trace FILE    write a Chrome trace-event JSON (open in Perfetto);\n"
    "                  with several systems, FILE gets .<system> inserted\n"
    "  --db FILE       cost database: reuse stored layer results, store new\n"
    "                  ones (created if missing)\n"
    "  --breakdown     where the time goes: latency and energy by op and by\n"
    "                  device, each layer's bound, the 5 slowest layers\n"
    "  --list-keys     list every profile key with its range and unit\n";

static char *
trace_path(const char *path, const char *system, int many)
{
	size_t n = strlen(path) + strlen(system) + 2;
	char *out = h4h_xmalloc(n);
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (!many) {
		snprintf(out, n, "%s", path);
		return out;
	}
	if (dot == NULL || (slash != NULL && dot < slash))
		snprintf(out, n, "%s.%s", path, system);
	else
		snprintf(out, n, "%.*s.%s%s", (int)(dot - path), path, system,
		    dot);
	return out;
}

static int
sim_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "system", required_argument, NULL, 's' },
		{ "net", required_argument, NULL, 'n' },
		{ "arch", required_argument, NULL, 'a' },
		{ "onnx", required_argument, NULL, 'x' },
		{ "set", required_argument, NULL, 'S' },
		{ "objective", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", required_argument, NULL, 'c' },
		{ "trace", required_argument, NULL, 't' },
		{ "list-keys", no_argument, NULL, 'k' },
		{ "db", required_argument, NULL, 'd' },
		{ "breakdown", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *systems[MAX_SYSTEMS], *sets[MAX_SETS];
	const char *net_path = NULL, *arch_path = NULL, *objective = NULL;
	const char *onnx_path = NULL;
	int n_nets = 0;
	const char *csv = NULL, *trace = NULL, *db_path = NULL;
	h4h_db *db = NULL;
	sim_cache caches[MAX_SYSTEMS];
	int64_t system_ids[MAX_SYSTEMS];
	int n_systems = 0, n_sets = 0, json = 0, c, rc = 0, status = 0;
	int breakdown = 0;
	sim_breakdown *bds[MAX_SYSTEMS] = { 0 };
	sim_result *results[MAX_SYSTEMS] = { 0 };
	sim_trace *traces[MAX_SYSTEMS] = { 0 };
	char *trace_paths[MAX_SYSTEMS] = { 0 };
	sim_profile profiles[MAX_SYSTEMS];
	sim_net *net = NULL;
	char *arch_json = NULL;
	h4h_err err = { "" };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (n_systems == MAX_SYSTEMS)
				return cli_usage_error("sim", "at most %d "
				    "--system options", MAX_SYSTEMS);
			systems[n_systems++] = optarg;
			break;
		case 'n':
			net_path = optarg;
			n_nets++;
			break;
		case 'a':
			arch_path = optarg;
			n_nets++;
			break;
		case 'x':
			onnx_path = optarg;
			n_nets++;
			break;
		case 'S':
			if (n_sets == MAX_SETS)
				return cli_usage_error("sim", "at most %d --set "
				    "options", MAX_SETS);
			sets[n_sets++] = optarg;
			break;
		case 'o':
			objective = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'b':
			breakdown = 1;
			break;
		case 'c':
			csv = optarg;
			break;
		case 't':
			trace = optarg;
			break;
		case 'd':
			db_path = optarg;
			break;
		case 'k':
			sim_profile_list_keys(stdout);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			/* getopt_long leaves the offending word at optind-1. */
			return cli_usage_error("sim", "unknown option or missing "
			    "value: '%s' (see h4h sim --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("sim", "unexpected argument '%s'",
		    argv[optind]);
	if (n_systems == 0)
		return cli_usage_error("sim", "--system FILE.ini is required");
	if (n_nets != 1)
		return cli_usage_error("sim", "give exactly one of --net, --arch "
		    "and --onnx (got %d)", n_nets);
	if (objective != NULL && sim_objective_from_name(objective) < 0)
		return cli_usage_error("sim", "--objective must be latency, "
		    "energy or edp (got '%s')", objective);

	/* Every input is read and every output place checked before anything
	 * runs, and outputs are written only once every run has succeeded:
	 * bad input costs nothing and leaves nothing behind. */
	rc = sim_net_open(net_path ? net_path : arch_path ? arch_path :
	    onnx_path, net_path ? SIM_NET_LIST : arch_path ? SIM_NET_ARCH :
	    SIM_NET_ONNX, &net, &arch_json, &err);
	if (rc != 0)
		return cli_fail("sim", rc, &err);
	for (int s = 0; s < n_systems; s++) {
		rc = sim_profile_open(systems[s], sets, n_sets, objective,
		    &profiles[s], &err);
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
		if (trace != NULL)
			trace_paths[s] = trace_path(trace, profiles[s].name,
			    n_systems > 1);
	}
	for (int s = 0; s < n_systems + 1; s++) {
		const char *path = s < n_systems ? trace_paths[s] : csv;

		if (path != NULL && !h4h_writable_place(path)) {
			status = cli_fail("sim", h4h_errf(&err, H4H_EIO,
			    "cannot write '%s': %s", path, strerror(errno)),
			    &err);
			goto out;
		}
	}
	if (db_path != NULL) {
		rc = h4h_db_open(db_path, H4H_DB_CREATE, &db, &err);
		for (int s = 0; rc == 0 && s < n_systems; s++) {
			rc = h4h_db_system(db, &profiles[s], &system_ids[s], &err);
			if (rc == 0)
				rc = h4h_db_cache(db, system_ids[s],
				    &profiles[s], &caches[s], &err);
		}
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
	}
	for (int s = 0; s < n_systems; s++) {
		sim_engine *e;

		if (trace != NULL)
			traces[s] = sim_trace_create(profiles[s].cim.macros,
			    profiles[s].cim.cus_per_macro);
		rc = sim_engine_create(&profiles[s], &e, &err);
		if (rc == 0) {
			rc = sim_engine_run(e, net, traces[s], db ? &caches[s] :
			    NULL, &results[s], &err);
			sim_engine_destroy(e);
		}
		/* A layer the hardware cannot run (a U55 limit) is the
		 * network file's fault: name the file (the layer is named
		 * after its node or entry). */
		if (rc == H4H_EINPUT) {
			char why[sizeof err.msg];

			snprintf(why, sizeof why, "%s", err.msg);
			rc = h4h_errf(&err, rc, "'%s': %s", net_path ?
			    net_path : arch_path ? arch_path : onnx_path, why);
		}
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
	}
	if (db != NULL) {
		int64_t net_id;
		int reused = 0, simulated = 0;

		rc = h4h_db_network(db, net, arch_path ? "arch" : "net",
		    arch_json, &net_id, &err);
		for (int s = 0; rc == 0 && s < n_systems; s++) {
			rc = h4h_db_net_cost_put(db, system_ids[s], net_id,
			    results[s], &err);
			reused += results[s]->layers_reused;
			simulated += results[s]->layer_sims;
		}
		if (rc == 0)
			rc = h4h_db_flush(db, &err);
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
		fprintf(stderr, "h4h: sim: %s: %d layer result%s reused, %d "
		    "simulated\n", db_path, reused, reused == 1 ? "" : "s",
		    simulated);
		cli_db_bad_rows("sim", db);
	}
	for (int s = 0; breakdown && s < n_systems; s++) {
		rc = sim_breakdown_make(&profiles[s], results[s], &bds[s],
		    &err);
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
	}
	for (int s = 0; trace != NULL && s < n_systems; s++) {
		rc = sim_trace_write(traces[s], trace_paths[s], &err);
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
	}
	if (csv != NULL) {
		rc = sim_result_write_csv(results, n_systems, csv, &err);
		if (rc != 0) {
			status = cli_fail("sim", rc, &err);
			goto out;
		}
	}
	for (int s = 0; trace != NULL && !json && s < n_systems; s++)
		fprintf(stderr, "h4h: sim: trace of %s written to %s (%zu "
		    "spans)\n", profiles[s].name, trace_paths[s],
		    sim_trace_count(traces[s]));
	if (json) {
		char *s = breakdown ? sim_breakdown_json(results, bds,
		    n_systems) : sim_result_json(results, n_systems);

		puts(s);
		free(s);
	} else if (n_systems == 1) {
		sim_result_print_table(results[0], stdout);
	} else {
		sim_result_print_compare(results, n_systems, stdout);
	}
	for (int s = 0; !json && breakdown && s < n_systems; s++)
		sim_breakdown_print(bds[s], results[s], stdout);
	if (fflush(stdout) != 0) {
		perror("h4h: sim: stdout");
		status = 1;
	}
out:
	for (int s = 0; s < n_systems; s++) {
		sim_result_destroy(results[s]);
		sim_breakdown_destroy(bds[s]);
		sim_trace_destroy(traces[s]);
		free(trace_paths[s]);
	}
	sim_net_destroy(net);
	h4h_db_close(db);
	free(arch_json);
	return status;
}

const h4h_cmd h4h_cmd_sim = {
	.name = "sim",
	.summary = "simulate a network on an NPU + CIM system",
	.exec = sim_exec,
};
