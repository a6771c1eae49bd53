#!/usr/bin/env bash
# The quick start end to end: sample data, plan, review, apply, re-plan.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cargo build --quiet --release --manifest-path "$here/../../Cargo.toml"
hsync="$here/../../target/release/hsync"
"$here/setup.sh"
cd "$here"
echo "== hsync plan > plan.json"
"$hsync" plan > plan.json
echo "== hsync apply plan.json"
"$hsync" apply plan.json > summary.json
echo "== the target now"
find data/target -type f | sort
echo "== hsync plan --detailed-exitcode (nothing left to do: exit 0)"
"$hsync" plan --detailed-exitcode > /dev/null
