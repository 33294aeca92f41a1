#!/bin/bash
# make test-in-docker: the end-to-end bus tests (e2e TestPod, compiled into the test
# image E2E_IMAGE by make e2e-image) run in a container on the host network with the
# Docker socket (and the host's PID namespace, to crash the pod's processes),
# against the compose pod brought up from ECS_AGENT_IMAGE under its own
# project name, cluster and free loopback ports (only the peer test's 127.0.0.1:5180
# is fixed). Everything is torn down on exit, failure and signals included, and the
# engine's containers, volumes and networks are listed before and after.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${ECS_AGENT_IMAGE:?}" "${E2E_IMAGE:?}"
command -v aws >/dev/null || { echo "test-in-docker: the aws command-line tool is needed (apt-get install awscli)" >&2; exit 1; }

export POD_PROJECT=ecs-e2e-pod-$$
export ECS_CLUSTER=pod-e2e-$(date +%s)-$$
read -r bus_port intro_port task_port metrics_port cp_port < <(python3 -c '
import socket
ss=[socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1",0))
print(*[s.getsockname()[1] for s in ss])')
export ECS_BUS_PORT=$bus_port ECS_BUS_URL=nats://127.0.0.1:$bus_port \
  ECS_INTROSPECTION_PORT=$intro_port ECS_TASK_ENDPOINT_PORT=$task_port ECS_METRICS_PORT=$metrics_port \
  ECS_CONTROLPLANE_PORT=$cp_port ECS_BACKEND_HOST=http://127.0.0.1:$cp_port \
  ECS_HEALTHCHECK_INTERVAL=2s ECS_LOGLEVEL=debug ECS_AGENT_IMAGE
compose=(docker-compose -p "$POD_PROJECT" -f "$here/compose.yaml")
tester=$POD_PROJECT-test
state=$(mktemp -d)

listing() {
  echo "## docker ps -a"; docker ps -a --format '{{.Names}}' | sort
  echo "## docker volume ls"; docker volume ls -q | sort
  echo "## docker network ls"; docker network ls --format '{{.Name}}' | sort
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  echo "== tearing down pod $POD_PROJECT"
  docker rm -f -v "$tester" >/dev/null 2>&1
  "$here/pod.sh" down >/dev/null 2>&1 || "$here/pod.sh" down
  listing > "$state/after"
  echo "== before/after (other users of this engine may have come and gone meanwhile):"
  diff "$state/before" "$state/after" && echo "(no difference)"
  local left
  left=$( { docker ps -aq --filter "label=com.docker.compose.project=$POD_PROJECT"
            docker ps -aq --filter "label=com.amazonaws.ecs.cluster=$ECS_CLUSTER"
            docker volume ls -q | grep "^${POD_PROJECT}_"
            docker network ls --format '{{.Name}}' | grep "^${POD_PROJECT}_"; } 2>/dev/null)
  if [ -n "$left" ]; then
    echo "test-in-docker: left behind: $left" >&2
    [ $rc -ne 0 ] || rc=1
  else
    echo "== nothing of $POD_PROJECT or cluster $ECS_CLUSTER is left"
  fi
  rm -rf "$state"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

listing > "$state/before"
echo "== pod $POD_PROJECT, cluster $ECS_CLUSTER, control plane 127.0.0.1:$cp_port, bus 127.0.0.1:$bus_port"
"${compose[@]}" up -d controlplane || exit 1
export AWS_ACCESS_KEY_ID=AKIDECSLOCALDEV AWS_SECRET_ACCESS_KEY=ecs-local-development-secret AWS_DEFAULT_REGION=us-west-2
for i in $(seq 60); do
  aws --endpoint-url "$ECS_BACKEND_HOST" ecs create-cluster --cluster-name "$ECS_CLUSTER" >/dev/null 2>&1 && break
  [ "$i" -lt 60 ] || { echo "test-in-docker: the control plane did not answer create-cluster" >&2; exit 1; }
  sleep 0.5
done
POD_WAIT=90 "$here/pod.sh" up || { "${compose[@]}" logs --tail 40; exit 1; }

docker run --name "$tester" --network host --pid host \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -e ECS_E2E_POD=1 -e ECS_E2E_POD_PROJECT="$POD_PROJECT" -e ECS_E2E_POD_CLUSTER="$ECS_CLUSTER" \
  -e ECS_E2E_POD_BACKEND="$ECS_BACKEND_HOST" -e ECS_E2E_AGENT_IMAGE="$ECS_AGENT_IMAGE" \
  "$E2E_IMAGE" -test.run '^TestPod$' -test.count=1 -test.v -test.timeout 5m
rc=$?
if [ $rc -ne 0 ]; then
  echo "== pod logs (last 60 lines of each service)"
  "${compose[@]}" logs --no-color --tail 60
fi
exit $rc
