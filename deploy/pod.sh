#!/bin/bash
# The compose pod (deploy/compose.yaml) under one project name:
#
#   deploy/pod.sh up     start it and wait until every service is healthy (90 s)
#   deploy/pod.sh wait   only the waiting
#   deploy/pod.sh down   remove its containers, volumes and network, and the task
#                        containers and task volumes of its cluster (labelled
#                        com.amazonaws.ecs.cluster=$ECS_CLUSTER, default "default")
#
# POD_PROJECT (ecs-agent) is the compose project; the variables compose.yaml reads
# (ECS_CLUSTER, ECS_AGENT_IMAGE, the ports…) come from the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
project=${POD_PROJECT:-ecs-agent}
compose=(docker-compose -p "$project" -f "$here/compose.yaml")
services=(controlplane bus dockerexec scheduler reporter session)

# wait_healthy [timeout-seconds]: every service's container reports healthy.
wait_healthy() {
  local deadline=$((SECONDS + ${1:-90})) id state bad
  while :; do
    bad=""
    for s in "${services[@]}"; do
      id=$("${compose[@]}" ps -q "$s" 2>/dev/null || true)
      state=$([ -n "$id" ] && docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)
      [ "$state" = healthy ] || bad+=" $s=$state"
    done
    if [ -z "$bad" ]; then
      echo "pod $project: every service healthy"
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "pod $project: not healthy:$bad" >&2
      "${compose[@]}" ps >&2 || true
      return 1
    fi
    sleep 1
  done
}

# remove_tasks: the containers and task volumes the pod's agent made for its cluster.
remove_tasks() {
  local label=com.amazonaws.ecs.cluster=${ECS_CLUSTER:-default} ids
  ids=$(docker ps -aq --filter "label=$label")
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null
  ids=$(docker volume ls -q --filter "label=$label")
  [ -z "$ids" ] || docker volume rm $ids >/dev/null
}

case "${1:-}" in
  up)
    "${compose[@]}" up -d
    wait_healthy "${POD_WAIT:-90}"
    ;;
  wait) wait_healthy "${POD_WAIT:-90}" ;;
  down)
    "${compose[@]}" down -v --remove-orphans --timeout 10
    remove_tasks
    ;;
  *) echo "usage: $0 up|wait|down" >&2; exit 2 ;;
esac
