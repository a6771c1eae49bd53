#!/usr/bin/env bash
# Incremental replication end to end on the two test clusters (scripts/hdfs):
# a first cycle that copies everything, then changes on the source (a folder
# renamed, a file deleted, a file added) and a second cycle that replays them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$here/../.."
cargo build --quiet --release --manifest-path "$repo/Cargo.toml"
hsync="$repo/target/release/hsync"
hdfs="$repo/scripts/hdfs"
"$hdfs" status >/dev/null || "$hdfs" start
cd "$here"
rm -rf data .hsync plan.json summary.json

echo "== a snapshottable source on cluster a and target on cluster b"
for side in a b; do
  "$hdfs" shell "$side" -rm -r -f -skipTrash /demo >/dev/null 2>&1 || true
  "$hdfs" shell "$side" -mkdir -p /demo/warehouse
  "$hdfs" admin "$side" -allowSnapshot /demo/warehouse
done
mkdir -p data/day-1 && printf 'id,amount\n1,10\n' >data/day-1/sales.csv && printf 'id\n1\n' >data/day-1/ids.csv
"$hdfs" shell a -put data/day-1 /demo/warehouse/day-1

echo "== cycle 1: hsync plan > plan.json (whole trees, from snapshot hsync-warehouse-1)"
"$hsync" plan >plan.json
"$hsync" apply plan.json >summary.json

echo "== changes on a: day-1 renamed to 2026-11-01, ids.csv deleted, day-2 added"
"$hdfs" shell a -mv /demo/warehouse/day-1 /demo/warehouse/2026-11-01
"$hdfs" shell a -rm -skipTrash /demo/warehouse/2026-11-01/ids.csv
mkdir -p data/day-2 && printf 'id,amount\n2,20\n' >data/day-2/sales.csv
"$hdfs" shell a -put data/day-2 /demo/warehouse/2026-11-02

echo "== cycle 2: hsync plan > plan.json (the snapshot diff: a rename, not a copy)"
"$hsync" plan >plan.json
"$hsync" apply plan.json >summary.json
echo "== the target and its snapshots"
"$hdfs" shell b -ls -R /demo/warehouse
"$hdfs" shell b -ls /demo/warehouse/.snapshot
