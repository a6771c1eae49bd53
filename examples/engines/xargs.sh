#!/bin/sh
# The smallest engine for `hsync apply --engine command`: the chunks over
# $HSYNC_WORKERS processes of this machine, each worker run up to 3 times.
#
#   hsync apply plan.json --engine command --workers 4 \
#     --engine-command 'sh examples/engines/xargs.sh'
set -eu
xargs -P "$HSYNC_WORKERS" -I{} sh -c '
  for attempt in 1 2 3; do
    echo {} | "$HSYNC_BINARY" worker "$HSYNC_TICKET" >/dev/null && exit 0
  done
  exit 1' <"$HSYNC_CHUNKS"
