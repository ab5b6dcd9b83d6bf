/*
 * fuzz_csv.c - calibration tables (sim_cal_table_load on the default
 * profile), through a file as h4h calibrate reads them.
 */
#include "tests/fuzz/fuzz.h"

#include "cost/calibrate/calibrate.h"
#include "sim/spec/profile.h"

int
h4h_fuzz_csv(const uint8_t *data, size_t size)
{
	sim_profile p;
	sim_cal_table *t = NULL;
	h4h_err err = { "" };
	int rc;

	sim_profile_defaults(&p);
	rc = sim_cal_table_load(fuzz_file(data, size, "csv"), &p, NULL, &t,
	    &err);
	fuzz_check("csv", rc, &err);
	sim_cal_table_destroy(t);
	return 0;
}
