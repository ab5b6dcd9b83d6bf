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

/* Version 5: a network is its hash and its body (netbody.h), not its
 * canonical text: the text, about 8 KB for a full-size subnet, was
 * stored twice (the column and its unique index) and made the demo's
 * database 266 MB.  Ids are kept, so network_costs and runs still point
 * at their networks; a layer key the text names and `layers` lacks is
 * added.  Rows are matched by (hash, body) in the code, under the write
 * lock, so the index is on the hash alone.  Frozen. */
static const char schema_v5_table[] =
	"CREATE TABLE networks_v5 (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  body BLOB NOT NULL,\n"
	"  name TEXT,\n"
	"  source TEXT NOT NULL CHECK (source IN ('net', 'arch')),\n"
	"  arch TEXT,\n"
	"  n_layers INTEGER,\n"
	"  macs INTEGER\n"
	");\n";
static const char schema_v5_swap[] =
	"DROP TABLE networks;\n"
	"ALTER TABLE networks_v5 RENAME TO networks;\n"
	"CREATE INDEX networks_hash ON networks (hash);\n";

typedef struct mig5 {
	sqlite3 *s;
	sqlite3_stmt *layer_id, *layer_add;
	db_body body;
} mig5;

/* The id of a key in `layers`, added (from the key's own fields) if the
 * file lacks it. */
static int
mig5_layer(void *ctx, int i, const char *key, int n_inputs,
    const int *inputs)
{
	mig5 *m = ctx;
	int64_t id = 0;
	int rc;

	for (int pass = 0; pass < 2 && id == 0; pass++) {
		sqlite3_bind_text(m->layer_id, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(m->layer_id);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(m->layer_id, 0);
		sqlite3_reset(m->layer_id);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return SQLITE_ERROR;
		if (id == 0 && pass == 0) {
			sim_layer l;
			char hash[17];

			if (sim_layer_key_parse(key, &l) != 0)
				return SQLITE_CORRUPT;
			db_hex64(sim_layer_hash(&l), hash);
			sqlite3_bind_text(m->layer_add, 1, hash, -1,
			    SQLITE_TRANSIENT);
			sqlite3_bind_text(m->layer_add, 2, key, -1,
			    SQLITE_STATIC);
			sqlite3_bind_text(m->layer_add, 3, sim_op_name(l.op), -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(m->layer_add, 4, sim_layer_macs(&l));
			sqlite3_bind_int64(m->layer_add, 5,
			    sim_layer_weight_bytes(&l));
			rc = sqlite3_step(m->layer_add);
			sqlite3_reset(m->layer_add);
			if (rc != SQLITE_DONE)
				return SQLITE_ERROR;
		}
	}
	if (id == 0)
		return SQLITE_ERROR;
	db_body_layer(&m->body, i, id, n_inputs, inputs);
	return 0;
}

static int
migrate_4_5(sqlite3 *s)
{
	sqlite3_stmt *rows = NULL, *put = NULL;
	mig5 m = { s, NULL, NULL, { 0 } };
	int rc;

	rc = sqlite3_exec(s, schema_v5_table, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s, "SELECT id, hash, canon, name, source, "
		    "arch, n_layers, macs FROM networks ORDER BY id", -1, &rows,
		    NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s, "INSERT INTO networks_v5 (id, hash, "
		    "body, name, source, arch, n_layers, macs) VALUES (?1, ?2, "
		    "?3, ?4, ?5, ?6, ?7, ?8)", -1, &put, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s, "SELECT id FROM layers WHERE key = ?1",
		    -1, &m.layer_id, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s, "INSERT INTO layers (hash, key, op, "
		    "macs, weight_bytes) VALUES (?1, ?2, ?3, ?4, ?5)", -1,
		    &m.layer_add, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(rows)) == SQLITE_ROW) {
		const char *canon = (const char *)sqlite3_column_text(rows, 2);
		int h, w, c, n;

		rc = canon == NULL ? SQLITE_CORRUPT : SQLITE_OK;
		if (rc == SQLITE_OK) {
			/* The input shape and count lead the body: split
			 * once for them, once for the layers. */
			rc = db_canon_split(canon, &h, &w, &c, &n, NULL,
			    NULL) == -1 ? SQLITE_CORRUPT : SQLITE_OK;
		}
		if (rc == SQLITE_OK) {
			db_body_start(&m.body, DB_BODY_V5, h, w, c,
			    n);
			rc = db_canon_split(canon, &h, &w, &c, &n, mig5_layer,
			    &m);
			rc = rc == -1 ? SQLITE_CORRUPT : rc;
		}
		if (rc != SQLITE_OK)
			break;
		for (int k = 0; k < 8; k++) {
			if (k == 2)
				sqlite3_bind_blob(put, 3, m.body.p,
				    (int)m.body.n, SQLITE_STATIC);
			else
				sqlite3_bind_value(put, k + 1,
				    sqlite3_column_value(rows, k));
		}
		rc = sqlite3_step(put) == SQLITE_DONE ? SQLITE_OK :
		    SQLITE_ERROR;
		sqlite3_reset(put);
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(rows);
	sqlite3_finalize(put);
	sqlite3_finalize(m.layer_id);
	sqlite3_finalize(m.layer_add);
	db_body_free(&m.body);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s, schema_v5_swap, NULL, NULL, NULL);
	return rc;
}

/* Version 6 makes the demo's database a fifth of version 5's (63.8 ->
 * about 23 MB, doc/database.md):
 * - an architecture's label (networks.arch) is its JSON deflated
 *   (zblob.h): the labels were half of `networks`;
 * - a body numbers its layers relative to the one before, and a layer
 *   that reads the layer before it takes one flag bit (netbody.h);
 * - a candidate list keeps only each candidate's two estimates (latency,
 *   energy): its splits and weight bytes follow from the layer and the
 *   system (sim_cands_layout), and its NoC bytes were never read;
 * - layer_candidates is a rowid table: a WITHOUT ROWID row spills to
 *   overflow pages past about 1 kB, a rowid row only past 4 kB, and the
 *   half-empty overflow pages were half of the table.
 * A blob that is not what version 5 wrote is kept as it is: the store
 * ignores it as a corrupt row, as before.  Frozen. */
static const char schema_v6[] =
	"CREATE TABLE networks_v6 (\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  hash TEXT NOT NULL,\n"
	"  body BLOB NOT NULL,\n"
	"  name TEXT,\n"
	"  source TEXT NOT NULL CHECK (source IN ('net', 'arch')),\n"
	"  arch BLOB,\n"
	"  n_layers INTEGER,\n"
	"  macs INTEGER\n"
	");\n"
	"INSERT INTO networks_v6 SELECT id, hash, h4h_body_v6(body), name, "
	"source, h4h_deflate(arch), n_layers, macs FROM networks;\n"
	"DROP TABLE networks;\n"
	"ALTER TABLE networks_v6 RENAME TO networks;\n"
	"CREATE INDEX networks_hash ON networks (hash);\n"
	"CREATE TABLE layer_candidates_v6 (\n"
	"  system_id INTEGER NOT NULL REFERENCES systems,\n"
	"  layer_id INTEGER NOT NULL REFERENCES layers,\n"
	"  n INTEGER NOT NULL,\n"
	"  cands BLOB NOT NULL,\n"
	"  PRIMARY KEY (system_id, layer_id)\n"
	");\n"
	"INSERT INTO layer_candidates_v6 SELECT system_id, layer_id, n, "
	"h4h_cands_v6(n, cands) FROM layer_candidates;\n"
	"DROP TABLE layer_candidates;\n"
	"ALTER TABLE layer_candidates_v6 RENAME TO layer_candidates;\n";

/* A version-5 candidate list (int32 npu_channels, cim_channels, macros,
 * float64 cim_weight_bytes, max_macro_bytes, est_latency_s, est_energy_j,
 * est_noc_bytes) as version 6 stores it (CAND_BYTES). */
static void
sql_cands_v6(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	sqlite3_int64 n = sqlite3_value_int64(argv[0]);
	const unsigned char *b = sqlite3_value_blob(argv[1]);
	unsigned char *out;

	(void)argc;
	if (n <= 0 || n > INT_MAX / 52 || b == NULL ||
	    sqlite3_value_bytes(argv[1]) != n * 52) {
		sqlite3_result_value(cx, argv[1]);
		return;
	}
	out = h4h_xmalloc((size_t)n * CAND_BYTES);
	for (sqlite3_int64 i = 0; i < n; i++)
		memcpy(out + i * CAND_BYTES, b + i * 52 + 28, CAND_BYTES);
	sqlite3_result_blob(cx, out, (int)(n * CAND_BYTES), free);
}

static int
body_v6_layer(void *ctx, int i, int64_t id, int n_inputs, const int *inputs)
{
	db_body_layer(ctx, i, id, n_inputs, inputs);
	return 0;
}

/* A version-5 body in version 6's encoding (netbody.h). */
static void
sql_body_v6(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const void *p = sqlite3_value_blob(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	db_body b = { 0 };
	int h, w, c, nl;

	(void)argc;
	if (p == NULL || db_body_walk(p, n, DB_BODY_V5, &h, &w, &c, &nl,
	    NULL, NULL) != 0) {
		sqlite3_result_value(cx, argv[0]);
		return;
	}
	db_body_start(&b, DB_BODY_V6, h, w, c, nl);
	db_body_walk(p, n, DB_BODY_V5, &h, &w, &c, &nl, body_v6_layer, &b);
	sqlite3_result_blob(cx, b.p, (int)b.n, SQLITE_TRANSIENT);
	db_body_free(&b);
}

static int
migrate_5_6(sqlite3 *s)
{
	int rc = sqlite3_create_function(s, "h4h_cands_v6", 2, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, sql_cands_v6, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s, "h4h_body_v6", 1, SQLITE_UTF8 |
		    SQLITE_DETERMINISTIC, NULL, sql_body_v6, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s, schema_v6, NULL, NULL, NULL);
	sqlite3_create_function(s, "h4h_cands_v6", 2, SQLITE_UTF8, NULL, NULL,
	    NULL, NULL);
	sqlite3_create_function(s, "h4h_body_v6", 1, SQLITE_UTF8, NULL, NULL,
	    NULL, NULL);
	return rc;
}

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
	migrate_4_5,
	migrate_5_6,
};

