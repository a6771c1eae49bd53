#!/usr/bin/env bash
# Creates (or resets) the quick start's sample data under data/.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf data .hsync plan.json
mkdir -p data/source/first data/source/second data/target/reports
fill() { head -c "$2" /dev/zero | tr '\0' "${3:-x}" > "$1"; }
# Sources and sizes from the DistCp guide: first/1 32, first/2 32, second/10 64, second/20 32.
fill data/source/first/1 32
fill data/source/first/2 32
fill data/source/second/10 64
fill data/source/second/20 32
# The target already holds 1 (same), 10 and 20 (other sizes), and a stale file.
fill data/target/reports/1 32
fill data/target/reports/10 32 y
fill data/target/reports/20 64 y
fill data/target/reports/old.csv 16
touch -r data/source/first/1 data/target/reports/1
for server in server1 server2 server3; do
  for day in today yesterday lastweek; do
    mkdir -p "data/logs/$server/$day"
    echo "$server $day" > "data/logs/$server/$day/app.log"
    echo scratch > "data/logs/$server/$day/app.log.tmp"
  done
done
echo "sample data is in $(pwd)/data"
