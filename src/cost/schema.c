/*
 * schema.c - the cost database's schema, one frozen text per version, and
 * the migrations that take a file from version k to k + 1 (db.c runs them
 * at open; doc/database.md describes the tables).
 *
 * Invariant: a version's text never changes once released; a change is a
 * new version with its migration, so every file ever written can be read.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "cost/dbInt.h"

/* Version 1.  Frozen: a change is a new migration, never an edit here. */
static const char schema_v1[] =
	"CREATE TABLE systems (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  canon TEXT NOT NULL UNIQUE,\n"
	"  name TEXT,\n"
	"  created_at TEXT\n"
	");\n"
	"CREATE TABLE layers (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  key TEXT NOT NULL UNIQUE,\n"
	"  op TEXT NOT NULL,\n"
	"  macs INTEGER,\n"
	"  weight_bytes INTEGER\n"
	");\n"
	"CREATE TABLE layer_candidates (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  layer_id INTEGER NOT NULL REFERENCES layers,\n"
	"  n INTEGER NOT NULL,\n"
	"  cands BLOB NOT NULL,\n"
	"  PRIMARY KEY (system_id, layer_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE layer_costs (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  layer_id INTEGER NOT NULL REFERENCES layers,\n"
	"  npu_channels INTEGER NOT NULL,\n"
	"  cim_channels INTEGER NOT NULL,\n"
	"  macros INTEGER NOT NULL,\n"
	"  cycles REAL NOT NULL,\n"
	"  latency_s REAL NOT NULL,\n"
	"  end_ps INTEGER NOT NULL,\n"
	"  e_npu_j REAL NOT NULL,\n"
	"  e_cim_j REAL NOT NULL,\n"
	"  e_noc_j REAL NOT NULL,\n"
	"  e_static_j REAL NOT NULL,\n"
	"  energy_j REAL NOT NULL,\n"
	"  noc_bytes_npu REAL NOT NULL,\n"
	"  noc_bytes_cim REAL NOT NULL,\n"
	"  noc_busy_s REAL NOT NULL,\n"
	"  npu_busy_s REAL NOT NULL,\n"
	"  cim_busy_s REAL NOT NULL,\n"
	"  macs INTEGER NOT NULL,\n"
	"  npu_fraction REAL NOT NULL,\n"
	"  est_latency_s REAL NOT NULL,\n"
	"  PRIMARY KEY (system_id, layer_id, npu_channels, cim_channels,"
	" macros)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE networks (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  canon TEXT NOT NULL UNIQUE,\n"
	"  name TEXT,\n"
	"  source TEXT NOT NULL CHECK (source IN ('net', 'arch')),\n"
	"  arch TEXT,\n"
	"  n_layers INTEGER,\n"
	"  macs INTEGER\n"
	");\n"
	"CREATE TABLE network_costs (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  network_id INTEGER NOT NULL REFERENCES networks,\n"
	"  objective TEXT NOT NULL"
	" CHECK (objective IN ('latency', 'energy', 'edp')),\n"
	"  latency_s REAL NOT NULL,\n"
	"  energy_j REAL NOT NULL,\n"
	"  cycles REAL NOT NULL,\n"
	"  e_npu_j REAL NOT NULL,\n"
	"  e_cim_j REAL NOT NULL,\n"
	"  e_noc_j REAL NOT NULL,\n"
	"  e_static_j REAL NOT NULL,\n"
	"  noc_bytes_npu REAL NOT NULL,\n"
	"  noc_bytes_cim REAL NOT NULL,\n"
	"  macs INTEGER NOT NULL,\n"
	"  cim_weight_bytes REAL NOT NULL,\n"
	"  created_at TEXT,\n"
	"  PRIMARY KEY (system_id, network_id, objective)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX network_costs_network ON network_costs (network_id);\n"
	"CREATE TABLE sweeps (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  args TEXT NOT NULL UNIQUE,\n"
	"  n_points INTEGER NOT NULL,\n"
	"  status TEXT NOT NULL,\n"
	"  started_at TEXT,\n"
	"  ended_at TEXT\n"
	");\n"
	"CREATE TABLE runs (\n"
	"  sweep_id INTEGER NOT NULL REFERENCES sweeps,\n"
	"  point INTEGER NOT NULL,\n"
	"  params TEXT NOT NULL,\n"
	"  status TEXT NOT NULL"
	" CHECK (status IN ('pending', 'running', 'done', 'failed')),\n"
	"  pid INTEGER,\n"
	"  system_id INTEGER REFERENCES systems,\n"
	"  network_id INTEGER REFERENCES networks,\n"
	"  started_at TEXT,\n"
	"  ended_at TEXT,\n"
	"  error TEXT,\n"
	"  CHECK (status != 'done' OR"
	" (system_id IS NOT NULL AND network_id IS NOT NULL)),\n"
	"  PRIMARY KEY (sweep_id, point)\n"
	");\n";

/* Version 2: the epoch logs of supernet training (h4h supernet train
 * --db).  A run is its space, recipe, seed and settings text; an epoch row
 * is unique per run, phase and epoch.  Frozen, like version 1. */
static const char schema_v2[] =
	"CREATE TABLE train_runs (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  space TEXT NOT NULL,\n"
	"  recipe TEXT NOT NULL,\n"
	"  seed INTEGER NOT NULL,\n"
	"  settings TEXT NOT NULL,\n"
	"  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ',"
	" 'now')),\n"
	"  UNIQUE (space, recipe, seed, settings)\n"
	");\n"
	"CREATE TABLE train_epochs (\n"
	"  run_id INTEGER NOT NULL REFERENCES train_runs,\n"
	"  phase INTEGER NOT NULL,\n"
	"  epoch INTEGER NOT NULL,\n"
	"  step INTEGER NOT NULL,\n"
	"  train_loss REAL, train_acc REAL, kd_loss REAL,\n"
	"  max_val_acc REAL, min_val_acc REAL,\n"
	"  seconds REAL, img_per_s REAL,\n"
	"  logged_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ',"
	" 'now')),\n"
	"  PRIMARY KEY (run_id, phase, epoch)\n"
	");\n";

/* The tables `h4h db export table:NAME` may name. */
const char *const db_table_names[] = { "systems", "layers",
    "layer_candidates", "layer_costs", "networks", "network_costs",
    "sweeps", "runs", "train_runs", "train_epochs", "subnet_accuracy" };
const size_t db_n_tables = sizeof db_table_names / sizeof db_table_names[0];

/* Version 3: the model revision that made a system's costs.  It is part
 * of the system's canonical text too, so costs of another revision are
 * never found; the column makes them visible.  Files of versions 1 and 2
 * were all written by model revision 1 (before revisions existed): their
 * systems stay, with their costs, under revision 1.  Frozen. */
static const char schema_v3[] =
	"ALTER TABLE systems ADD COLUMN model_revision INTEGER NOT NULL"
	" DEFAULT 1;\n";

/* Version 4: the accuracy cache of the architecture search (h4h search).
 * A subnet's accuracy is a function of the supernet's weights (the
 * checkpoint's content hash), the gene's canonical text, the split and the
 * evaluation settings (recalibration images, batch and seed, images
 * scored); it does not depend on the system, so every system and budget
 * reuses it.  Frozen. */
static const char schema_v4[] =
	"CREATE TABLE subnet_accuracy (\n"
	"  supernet TEXT NOT NULL,\n"
	"  gene TEXT NOT NULL,\n"
	"  split TEXT NOT NULL,\n"
	"  settings TEXT NOT NULL,\n"
	"  accuracy REAL NOT NULL,\n"
	"  seconds REAL,\n"
	"  evaluated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ',"
	" 'now')),\n"
	"  PRIMARY KEY (supernet, split, settings, gene)\n"
	");\n";

static int
migrate_0_1(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v1, NULL, NULL, NULL);
}

static int
migrate_1_2(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v2, NULL, NULL, NULL);
}

static int
migrate_2_3(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v3, NULL, NULL, NULL);
}

static int
migrate_3_4(sqlite3 *s)
{
	return sqlite3_exec(s, schema_v4, NULL, NULL, NULL);
}

/* migrations[k] takes the schema from version k to k + 1. */
int (*const db_migrations[H4H_DB_SCHEMA_VERSION])(sqlite3 *) = {
	migrate_0_1,
	migrate_1_2,
	migrate_2_3,
	migrate_3_4,
};

