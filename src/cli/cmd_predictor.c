/*
 * cmd_predictor.c - `h4h predictor dataset|compare`: the accuracy dataset
 * of a trained supernet and the accuracy predictors fitted on it
 * (doc/search.md, "Accuracy dataset" and "Predictors").  Each subcommand
 * lives in its own file (cmd_predictor_dataset.c, cmd_predictor_compare.c);
 * this one dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char *usage =
    "usage: h4h predictor dataset --ckpt CKPT --db FILE [--subnets N]\n"
    "                             [--seed S] [--csv OUT] [--val-images N]\n"
    "                             [--batch N] [--cnn-only] [--threads T]\n"
    "                             [--data DIR]\n"
    "       h4h predictor compare --csv FILE [--ckpt CKPT | --space FILE]\n"
    "                             [--models ridge,mlp,forest] [--folds K]\n"
    "                             [--holdout F] [--seed S]\n"
    "\n"
    "dataset: scores N (1000) stratified subnets of the supernet on its\n"
    "validation split (BN recalibration, then every validation image),\n"
    "stores them in the database in batches (a killed run resumes) and\n"
    "writes the CSV with its provenance (default: CKPT with .acc.csv).\n"
    "compare: fits each model by K-fold (5) cross-validation on the\n"
    "dataset less a held-out fraction F (0.2), and prints Spearman's rho\n"
    "and Kendall's tau, cross-validated and on the held-out part.\n"
    "See doc/search.md.\n";

static int
main_predictor(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "dataset") == 0)
		return cli_predictor_dataset(argc - 1, argv + 1);
	if (strcmp(argv[1], "compare") == 0)
		return cli_predictor_compare(argc - 1, argv + 1);
	return cli_usage_error("predictor", "unknown subcommand '%s' (dataset "
	    "or compare)", argv[1]);
}

const h4h_cmd h4h_cmd_predictor = {
	"predictor",
	"score an accuracy dataset of subnets and compare accuracy predictors",
	main_predictor,
};
