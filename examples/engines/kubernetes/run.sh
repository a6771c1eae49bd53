#!/bin/sh
# `hsync apply --engine command` on Kubernetes: the ticket and the chunk list
# in a ConfigMap, one Indexed Job over the chunks, waited for, then removed.
#
#   IMAGE=registry.example/hsync:0.1 hsync apply plan.json --engine command \
#     --workers 16 --engine-command 'sh examples/engines/kubernetes/run.sh'
set -eu
here=$(dirname "$0")
export JOB="hsync-$(date +%s)"
export COMPLETIONS=$(wc -l <"$HSYNC_CHUNKS" | tr -d ' ')
export HSYNC_WORKERS IMAGE
kubectl create configmap "$JOB" --from-file=ticket.json="$HSYNC_TICKET" \
  --from-file=chunks.txt="$HSYNC_CHUNKS"
trap 'kubectl delete job "$JOB" --ignore-not-found; kubectl delete configmap "$JOB" --ignore-not-found' EXIT
envsubst <"$here/job.yaml" | kubectl apply -f -
# Until the job is over, whichever way: the chunks' reports say what
# finished, and hsync reports a chunk that did not.
while :; do
  over=$(kubectl get job "$JOB" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
  case $over in *Complete* | *Failed*) break ;; esac
  sleep 10
done
