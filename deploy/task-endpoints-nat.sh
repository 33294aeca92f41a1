#!/bin/sh
# Opt-in: make the task endpoints reachable from bridge-mode containers at the
# address the agent gives them (ECS_CONTAINER_METADATA_URI*, ECS_AGENT_URI,
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against 169.254.170.2), as the real agent's
# ecs-init does: DNAT 169.254.170.2:80 to 127.0.0.1:<port>, and let the kernel route
# to 127.0.0.1 from the bridge. Host-network containers need none of this: they can
# call 127.0.0.1:<port> with the same paths.
#
#   deploy/task-endpoints-nat.sh add    [port]   install the rules (default port 51679)
#   deploy/task-endpoints-nat.sh remove [port]   remove them
#
# Needs root and iptables. Nothing in the tests runs it.
set -eu
action=${1:-}
port=${2:-${ECS_TASK_ENDPOINT_PORT:-51679}}
bridge=${ECS_TASK_ENDPOINT_BRIDGE:-docker0}
case "$action" in
  add) op=-A; sysctl -q -w "net.ipv4.conf.$bridge.route_localnet=1" ;;
  remove) op=-D ;;
  *) echo "usage: $0 add|remove [port]" >&2; exit 2 ;;
esac
iptables -t nat "$op" PREROUTING -d 169.254.170.2/32 -p tcp --dport 80 -j DNAT --to-destination "127.0.0.1:$port"
iptables -t nat "$op" OUTPUT -d 169.254.170.2/32 -p tcp --dport 80 -j REDIRECT --to-ports "$port"
iptables "$op" INPUT -i "$bridge" -p tcp -d 127.0.0.1 --dport "$port" -j ACCEPT
echo "task endpoint NAT rules: $action (169.254.170.2:80 -> 127.0.0.1:$port)"
