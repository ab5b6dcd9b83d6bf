#!/bin/sh
# db_rows.sh DB - every row of a cost database with its integer ids
# replaced by the identities they stand for (a system's canonical text, a
# layer's key, a network's hash), sorted: two databases with the same rows
# print the same text whatever order their rows were numbered in
# (tests/cli_mpi.sh compares one-process, sharded and MPI sweeps with it).
H4H=${H4H_BIN:-./h4h}
q() { "$H4H" db query --db "$1" "$2"; }
db=$1
q "$db" "SELECT canon, hash, model_revision FROM systems ORDER BY canon"
q "$db" "SELECT key, hash, op, macs, weight_bytes FROM layers ORDER BY key"
q "$db" "SELECT hash, n_layers, macs, length(body) FROM networks ORDER BY hash"
q "$db" "SELECT s.canon, l.key, c.n, hex(c.cands) FROM layer_candidates c
    JOIN systems s ON s.id = c.system_id JOIN layers l ON l.id = c.layer_id
    ORDER BY 1, 2"
q "$db" "SELECT s.canon, l.key, c.npu_channels, c.cim_channels, c.macros,
    c.cycles, c.latency_s, c.end_ps, c.e_npu_j, c.e_cim_j, c.e_noc_j,
    c.e_static_j, c.energy_j, c.noc_bytes_npu, c.noc_bytes_cim, c.noc_busy_s,
    c.npu_busy_s, c.cim_busy_s, c.macs, c.npu_fraction, c.est_latency_s
    FROM layer_costs c JOIN systems s ON s.id = c.system_id
    JOIN layers l ON l.id = c.layer_id ORDER BY 1, 2, 3, 4, 5"
q "$db" "SELECT s.canon, n.hash, c.objective, c.latency_s, c.energy_j,
    c.cycles, c.e_npu_j, c.e_cim_j, c.e_noc_j, c.e_static_j, c.noc_bytes_npu,
    c.noc_bytes_cim, c.macs, c.cim_weight_bytes FROM network_costs c
    JOIN systems s ON s.id = c.system_id JOIN networks n ON n.id = c.network_id
    ORDER BY 1, 2, 3"
q "$db" "SELECT w.args, w.n_points, w.status, r.point, r.params, r.status,
    s.canon, n.hash FROM runs r JOIN sweeps w ON w.id = r.sweep_id
    LEFT JOIN systems s ON s.id = r.system_id
    LEFT JOIN networks n ON n.id = r.network_id ORDER BY 1, 4"
