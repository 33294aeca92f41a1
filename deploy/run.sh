#!/bin/bash
# make run: the local control plane and the all-in-one agent against it, in the
# foreground, until Ctrl-C or SIGTERM (make passes SIGTERM to its recipe), which stop
# both; if either exits by itself, the other is stopped too. The agent's containers
# keep running, as the real agent's do.
#
#   deploy/run.sh OUT_DIR RUN_DIR CONTROLPLANE_LISTEN
set -uo pipefail
out=$1 run=$2 listen=$3
mkdir -p "$run/data"
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-west-2} \
  AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIDECSLOCALDEV} \
  AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-ecs-local-development-secret} \
  AWS_EC2_METADATA_DISABLED=${AWS_EC2_METADATA_DISABLED:-true} \
  ECS_BACKEND_HOST=${ECS_BACKEND_HOST:-http://$listen} \
  ECS_DATADIR=${ECS_DATADIR:-$run/data} \
  ECS_HOST_PORT_BIND_IP=${ECS_HOST_PORT_BIND_IP:-127.0.0.1} \
  ECS_IMAGE_PULL_BEHAVIOR=${ECS_IMAGE_PULL_BEHAVIOR:-prefer-cached}

pids=()
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null
  wait
}
# Both run in the background so that the shell's `wait` returns on a signal (a
# foreground child would delay the trap until it exits by itself).
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT
"$out/ecs-controlplane" --listen "$listen" --snapshot "$run/controlplane.json" & pids+=($!)
"$out/amazon-ecs-agent" & pids+=($!)
wait -n
status=$?
echo "run: a process exited with status $status; stopping the other" >&2
exit $status
