#!/usr/bin/env bash
# Conformance of the local ECS control plane with the real `aws` command-line tool.
#
# Starts out/ecs-controlplane (built from ./controlplane/cmd/ecs-controlplane when missing) on a
# free 127.0.0.1 port with a temporary snapshot, and drives it only with
# `aws --endpoint-url http://127.0.0.1:PORT ecs ...` (plus the Go SDK program
# controlplane/conformance/registerinstance, which registers a container instance the way the
# agent does). botocore parses every answer with the ECS model (structures, lists, timestamps),
# and each step then checks the content of the answer with jq, not only the exit code.
#
# Usage (from anywhere inside the repository):
#   controlplane/conformance/conformance.sh
# Environment (all optional):
#   ECS_CONTROLPLANE_BIN   server binary to use instead of out/ecs-controlplane
#   REGISTERINSTANCE_BIN   registerinstance binary (default: built into the temp dir)
#   TASKDEF_DIR            folder of *.taskdef.json (default: controlplane/testdata/peer-taskdefs,
#                          then controlplane/testdata)
#   CONFORMANCE_KEEP=1     keep the temp dir (server log, snapshot, answers) and print its path
#
# Output: one line per step, `ok - <step>` or `not ok - <step>: <why>`, then `N passed, M failed`.
# Exit status 0 only when every step passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
cd "$root"

region=us-west-2
account=123456789012
cluster=conformance
access_key=AKIDECSLOCALDEV
secret_key=ecs-local-development-secret

# ---------------------------------------------------------------------------------------------
# prerequisites

missing=""
for tool in aws jq python3 timeout; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "conformance: missing tools:$missing (jq: apt-get install jq; aws: pip install awscli)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ecs-conformance.XXXXXX")
server_pid=""

stop_server() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=""
}

cleanup() {
	stop_server
	if [ "${CONFORMANCE_KEEP:-}" = 1 ]; then
		echo "# kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The aws CLI must see only the development credentials and no configuration of this machine.
: >"$tmp/aws-config"
: >"$tmp/aws-credentials"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
	AWS_WEB_IDENTITY_TOKEN_FILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECS
export AWS_CONFIG_FILE="$tmp/aws-config" AWS_SHARED_CREDENTIALS_FILE="$tmp/aws-credentials"
export AWS_ACCESS_KEY_ID="$access_key" AWS_SECRET_ACCESS_KEY="$secret_key"
export AWS_DEFAULT_REGION="$region" AWS_REGION="$region"
export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

# ---------------------------------------------------------------------------------------------
# reporting

passed=0
failed=0
why=""

# step NAME COMMAND...: runs COMMAND; it returns 0 for ok, or sets $why and returns non-zero.
step() {
	local name=$1
	shift
	why=""
	if "$@"; then
		passed=$((passed + 1))
		echo "ok - $name"
	else
		failed=$((failed + 1))
		echo "not ok - $name: ${why:-failed}"
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	if [ "$failed" -ne 0 ] && [ -s "$tmp/server.log" ]; then
		echo "# last lines of the server log:" >&2
		tail -n 15 "$tmp/server.log" | sed 's/^/#   /' >&2
	fi
	if [ "$failed" -eq 0 ]; then exit 0; fi
	exit 1
}

# snip TEXT: one line, at most 400 characters (compact JSON when TEXT is JSON).
snip() {
	local s
	s=$(jq -c . <<<"$1" 2>/dev/null) || s=$1
	s=$(tr -s '\n\t ' '   ' <<<"$s")
	if [ "${#s}" -gt 400 ]; then s="${s:0:400}…"; fi
	printf '%s' "$s"
}

# ---------------------------------------------------------------------------------------------
# calling the CLI and checking answers

out=""
err=""
rc=0

# Under pyenv, `aws` is a shell shim that costs ~60 ms a call: use the real program.
aws_bin=$(command -v aws)
if command -v pyenv >/dev/null 2>&1 && real_aws=$(pyenv which aws 2>/dev/null) && [ -x "$real_aws" ]; then
	aws_bin=$real_aws
fi

# ecs ARGS...: runs `aws ecs ARGS...`; sets $out (stdout), $err (stderr) and $rc.
ecs() {
	rc=0
	out=$(timeout 30 "$aws_bin" --endpoint-url "$endpoint" --output json ecs "$@" 2>"$tmp/stderr") || rc=$?
	err=$(<"$tmp/stderr")
}

# ecs_ok ARGS...: like ecs, and the call must succeed with a JSON answer.
ecs_ok() {
	ecs "$@"
	if [ "$rc" -ne 0 ]; then
		why="aws ecs $1 exited $rc: $(snip "$err")"
		return 1
	fi
	if ! jq -e . >/dev/null 2>&1 <<<"$out"; then
		why="aws ecs $1 printed no JSON: $(snip "$out")"
		return 1
	fi
}

# ecs_fails CODE ARGS...: the call must fail (non-zero exit) with the error code CODE.
ecs_fails() {
	local code=$1
	shift
	ecs "$@"
	if [ "$rc" -eq 0 ]; then
		why="aws ecs $1 succeeded, expected $code: $(snip "$out")"
		return 1
	fi
	if [[ $err != *"($code)"* ]]; then
		why="expected error $code, got exit $rc: $(snip "$err")"
		return 1
	fi
}

# need DESCRIPTION FILTER [JQ OPTIONS...]: the last answer must satisfy the jq FILTER. On a
# failure $why quotes the answer, or only the part the jq filter in $show selects when set.
show=""
need() {
	local desc=$1 filter=$2 part
	shift 2
	if jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$out"; then
		return 0
	fi
	part=$out
	if [ -n "$show" ]; then part=$(jq -c "$show" <<<"$out" 2>/dev/null) || part=$out; fi
	why="$desc; answer: $(snip "$part")"
	return 1
}

# field FILTER: prints the raw value of FILTER in the last answer.
field() { jq -r "$1" <<<"$out" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# server

server_bin=${ECS_CONTROLPLANE_BIN:-out/ecs-controlplane}
snapshot="$tmp/snapshot.json"
port=""
endpoint=""

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server PORT: starts the server on 127.0.0.1:PORT and waits (at most 10 s) until it
# accepts connections.
start_server() {
	local p=$1
	"$server_bin" --listen "127.0.0.1:$p" --region "$region" --account "$account" \
		--snapshot "$snapshot" >>"$tmp/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 100); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			wait "$server_pid" 2>/dev/null || true
			server_pid=""
			why="server exited at start-up: $(snip "$(tail -n 5 "$tmp/server.log")")"
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	why="server did not accept connections on 127.0.0.1:$p within 10 s"
	return 1
}

build_server() {
	if [ -n "${ECS_CONTROLPLANE_BIN:-}" ]; then
		[ -x "$server_bin" ] || { why="ECS_CONTROLPLANE_BIN=$server_bin is not executable"; return 1; }
		return 0
	fi
	if [ -x "$server_bin" ]; then
		if [ -n "$(find controlplane -name '*.go' -newer "$server_bin" -print -quit 2>/dev/null)" ]; then
			echo "# note: $server_bin is older than controlplane sources; delete it to rebuild" >&2
		fi
		return 0
	fi
	if ! go build -o out/ecs-controlplane ./controlplane/cmd/ecs-controlplane >"$tmp/build.log" 2>&1; then
		why="go build ./controlplane/cmd/ecs-controlplane failed: $(snip "$(tail -n 5 "$tmp/build.log")")"
		return 1
	fi
}

regbin=${REGISTERINSTANCE_BIN:-$tmp/registerinstance}
build_registerinstance() {
	if [ -n "${REGISTERINSTANCE_BIN:-}" ]; then
		[ -x "$regbin" ] || { why="REGISTERINSTANCE_BIN=$regbin is not executable"; return 1; }
		return 0
	fi
	if ! go build -o "$regbin" ./controlplane/conformance/registerinstance >"$tmp/build-ri.log" 2>&1; then
		why="go build ./controlplane/conformance/registerinstance failed: $(snip "$(tail -n 5 "$tmp/build-ri.log")")"
		return 1
	fi
}

start_first() {
	local _
	for _ in 1 2 3; do
		port=$(free_port)
		if start_server "$port"; then
			endpoint="http://127.0.0.1:$port"
			return 0
		fi
	done
	return 1
}

step "build out/ecs-controlplane (or use ECS_CONTROLPLANE_BIN)" build_server
step "build controlplane/conformance/registerinstance" build_registerinstance
if [ "$failed" -ne 0 ]; then finish; fi
step "start the control plane on a free 127.0.0.1 port" start_first
if [ -z "$endpoint" ]; then finish; fi

# ---------------------------------------------------------------------------------------------
# test data

taskdef_dir=${TASKDEF_DIR:-}
if [ -z "$taskdef_dir" ]; then
	for d in controlplane/testdata/peer-taskdefs controlplane/testdata; do
		if compgen -G "$d/*.taskdef.json" >/dev/null; then
			taskdef_dir=$d
			break
		fi
	done
fi
taskdef_files=()
find_taskdefs() {
	if [ -z "$taskdef_dir" ]; then
		why="no *.taskdef.json in controlplane/testdata/peer-taskdefs or controlplane/testdata (set TASKDEF_DIR)"
		return 1
	fi
	mapfile -t taskdef_files < <(find "$taskdef_dir" -maxdepth 1 -name '*.taskdef.json' | sort)
	local f
	for f in simple-exit busybox-port-5180; do
		[ -f "$taskdef_dir/$f.taskdef.json" ] || { why="$taskdef_dir/$f.taskdef.json is missing"; return 1; }
	done
	for f in "${taskdef_files[@]}"; do
		jq -e '.family and (.containerDefinitions | length > 0)' "$f" >/dev/null 2>&1 ||
			{ why="$f is not a RegisterTaskDefinition input"; return 1; }
	done
}
step "find the task definitions in ${taskdef_dir:-controlplane/testdata}" find_taskdefs

simple_family=ecsinteg-simple-exit
port_family=ecsftest-busybox-port-5180
if [ -n "$taskdef_dir" ]; then
	simple_family=$(jq -r .family "$taskdef_dir/simple-exit.taskdef.json" 2>/dev/null || echo ecsinteg-simple-exit)
	port_family=$(jq -r .family "$taskdef_dir/busybox-port-5180.taskdef.json" 2>/dev/null || echo ecsftest-busybox-port-5180)
fi

td_arn() { echo "arn:aws:ecs:$region:$account:task-definition/$1:$2"; }

# ---------------------------------------------------------------------------------------------
# clusters

cluster_arn="arn:aws:ecs:$region:$account:cluster/$cluster"

create_cluster() {
	ecs_ok create-cluster --cluster-name "$cluster" || return 1
	need "clusterName, clusterArn, status ACTIVE" \
		'.cluster.clusterName == $n and .cluster.clusterArn == $a and .cluster.status == "ACTIVE"' \
		--arg n "$cluster" --arg a "$cluster_arn"
}
step "create-cluster $cluster" create_cluster

create_cluster_again() {
	ecs_ok create-cluster --cluster-name "$cluster" || return 1
	need "same cluster returned (CreateCluster is idempotent)" \
		'.cluster.clusterArn == $a and .cluster.status == "ACTIVE"' --arg a "$cluster_arn"
}
step "create-cluster $cluster again returns the same cluster" create_cluster_again

describe_cluster() {
	ecs_ok describe-clusters --clusters "$cluster" || return 1
	need "one ACTIVE cluster, no instance, no failure" \
		'(.clusters | length) == 1 and .clusters[0].clusterArn == $a and .clusters[0].status == "ACTIVE"
		 and .clusters[0].registeredContainerInstancesCount == 0 and ((.failures // []) | length) == 0' \
		--arg a "$cluster_arn"
}
step "describe-clusters $cluster" describe_cluster

describe_missing_cluster() {
	ecs_ok describe-clusters --clusters no-such-cluster || return 1
	need "failures entry MISSING for the unknown cluster" \
		'((.clusters // []) | length) == 0 and (.failures | length) == 1 and .failures[0].reason == "MISSING"
		 and (.failures[0].arn | endswith("cluster/no-such-cluster"))'
}
step "describe-clusters of an unknown cluster reports MISSING" describe_missing_cluster

list_clusters() {
	ecs_ok list-clusters || return 1
	need "clusterArns contains $cluster_arn" '.clusterArns | index([$a]) != null' --arg a "$cluster_arn"
}
step "list-clusters" list_clusters

create_tagged_cluster() {
	ecs_ok create-cluster --cluster-name "$cluster-tags" --tags key=team,value=ecs-agent || return 1
	local show='.cluster | {clusterName, tags}'
	need "the tags given are in the answer" '.cluster.tags == [{key: "team", value: "ecs-agent"}]' || return 1
	ecs_ok delete-cluster --cluster "$cluster-tags" || return 1
	need "and the cluster can be deleted" '.cluster.status == "INACTIVE"'
}
step "create-cluster --tags keeps the tags" create_tagged_cluster

# ---------------------------------------------------------------------------------------------
# task definitions

declare -A family_revs=()
registered_tds=()
families=()

register_td() {
	local file=$1 family=$2 rev=$3 names
	names=$(jq -c '[.containerDefinitions[].name]' "$file")
	ecs_ok register-task-definition --cli-input-json "file://$file" || return 1
	need "family $family, revision $rev, ARN, status ACTIVE, the same containers" \
		'.taskDefinition.family == $f and .taskDefinition.revision == $r
		 and .taskDefinition.taskDefinitionArn == $a and .taskDefinition.status == "ACTIVE"
		 and [.taskDefinition.containerDefinitions[].name] == $names' \
		--arg f "$family" --argjson r "$rev" --arg a "$(td_arn "$family" "$rev")" --argjson names "$names"
}

for f in "${taskdef_files[@]}"; do
	fam=$(jq -r .family "$f" 2>/dev/null) || fam=unreadable
	rev=$((${family_revs[$fam]:-0} + 1))
	family_revs[$fam]=$rev
	[ "$rev" -eq 1 ] && families+=("$fam")
	registered_tds+=("$(td_arn "$fam" "$rev")")
	step "register-task-definition $(basename "$f" .taskdef.json) (family $fam, revision $rev)" \
		register_td "$f" "$fam" "$rev"
done

simple_rev=$((${family_revs[$simple_family]:-0} + 1))
family_revs[$simple_family]=$simple_rev
registered_tds+=("$(td_arn "$simple_family" "$simple_rev")")
step "register-task-definition simple-exit a second time gives revision $simple_rev" \
	register_td "${taskdef_dir:-.}/simple-exit.taskdef.json" "$simple_family" "$simple_rev"

describe_td_latest() {
	ecs_ok describe-task-definition --task-definition "$simple_family" || return 1
	need "the family name resolves to the latest revision $simple_rev with the file's container" \
		'.taskDefinition.revision == $r and .taskDefinition.taskDefinitionArn == $a
		 and .taskDefinition.status == "ACTIVE"
		 and (.taskDefinition.containerDefinitions | length) == 1
		 and .taskDefinition.containerDefinitions[0].name == "exit"
		 and .taskDefinition.containerDefinitions[0].image == $c.image
		 and .taskDefinition.containerDefinitions[0].cpu == $c.cpu
		 and .taskDefinition.containerDefinitions[0].memory == $c.memory
		 and .taskDefinition.containerDefinitions[0].essential == true
		 and .taskDefinition.containerDefinitions[0].command == $c.command' \
		--argjson r "$simple_rev" --arg a "$(td_arn "$simple_family" "$simple_rev")" \
		--argjson c "$(jq -c '.containerDefinitions[0]' "${taskdef_dir:-.}/simple-exit.taskdef.json" 2>/dev/null || echo null)"
}
step "describe-task-definition $simple_family (latest)" describe_td_latest

describe_td_ports() {
	ecs_ok describe-task-definition --task-definition "$port_family:1" || return 1
	need "revision 1 with portMappings containerPort 80 / hostPort 5180" \
		'.taskDefinition.revision == 1 and .taskDefinition.family == $f
		 and .taskDefinition.containerDefinitions[0].portMappings[0].containerPort == 80
		 and .taskDefinition.containerDefinitions[0].portMappings[0].hostPort == 5180
		 and .taskDefinition.containerDefinitions[0].memory == 50' --arg f "$port_family"
}
step "describe-task-definition $port_family:1 (ports)" describe_td_ports

describe_td_defaults() {
	ecs_ok describe-task-definition --task-definition "$port_family:1" || return 1
	local show='.taskDefinition | {container: .containerDefinitions[0] | {essential, portMappings}, registeredAt, compatibilities}'
	need "the ECS defaults are filled in: essential true, portMappings protocol tcp, registeredAt, EC2 compatibility" \
		'.taskDefinition.containerDefinitions[0].essential == true
		 and .taskDefinition.containerDefinitions[0].portMappings[0].protocol == "tcp"
		 and .taskDefinition.registeredAt != null
		 and (.taskDefinition.compatibilities | index(["EC2"]) != null)'
}
step "describe-task-definition fills ECS defaults (essential, protocol tcp)" describe_td_defaults

describe_td_volumes() {
	local f="${taskdef_dir:-.}/datavolume.taskdef.json" fam
	[ -f "$f" ] || { why="$f is missing"; return 1; }
	fam=$(jq -r .family "$f")
	ecs_ok describe-task-definition --task-definition "$(td_arn "$fam" 1)" || return 1
	need "volumes, volumesFrom, mountPoints and essential flags kept" \
		'.taskDefinition.volumes[0].name == "test" and (.taskDefinition.volumes[0] | has("host"))
		 and ([.taskDefinition.containerDefinitions[] | {name, essential}]
		      == [{name:"exit",essential:true},{name:"dataSource",essential:false},{name:"data-volume-source",essential:false}])
		 and .taskDefinition.containerDefinitions[0].volumesFrom[0].sourceContainer == "data-volume-source"
		 and .taskDefinition.containerDefinitions[2].mountPoints[0].containerPath == "/data/"'
}
step "describe-task-definition by ARN (datavolume: volumes, volumesFrom, mountPoints)" describe_td_volumes

describe_td_missing() {
	ecs_fails ClientException describe-task-definition --task-definition no-such-family:1
}
step "describe-task-definition of an unknown family fails with ClientException" describe_td_missing

list_tds() {
	ecs_ok list-task-definitions || return 1
	need "taskDefinitionArns is exactly the ${#registered_tds[@]} registered revisions" \
		'(.taskDefinitionArns | sort) == ($want | sort)' \
		--argjson want "$(printf '%s\n' "${registered_tds[@]}" | jq -R . | jq -cs .)"
}
step "list-task-definitions" list_tds

list_tds_prefix() {
	ecs_ok list-task-definitions --family-prefix "$simple_family" || return 1
	need "revisions 1..$simple_rev of $simple_family in ascending order" \
		'.taskDefinitionArns == [range(1; $r + 1) | "\($p):\(.)"]' \
		--argjson r "$simple_rev" --arg p "arn:aws:ecs:$region:$account:task-definition/$simple_family" || return 1
	ecs_ok list-task-definitions --family-prefix "$simple_family" --sort DESC || return 1
	need "--sort DESC lists revision $simple_rev first" \
		'.taskDefinitionArns == [range($r; 0; -1) | "\($p):\(.)"]' \
		--argjson r "$simple_rev" --arg p "arn:aws:ecs:$region:$account:task-definition/$simple_family"
}
step "list-task-definitions --family-prefix (ascending, --sort DESC)" list_tds_prefix

list_families() {
	ecs_ok list-task-definition-families || return 1
	need "families is exactly the ${#families[@]} registered families" \
		'(.families | sort) == ($want | sort)' \
		--argjson want "$(printf '%s\n' "${families[@]}" | jq -R . | jq -cs .)"
}
step "list-task-definition-families" list_families

# ---------------------------------------------------------------------------------------------
# tasks without an instance

run_no_instance() {
	ecs_ok run-task --cluster "$cluster" --task-definition "$simple_family" || return 1
	need "no task, one failures entry with a reason" \
		'((.tasks // []) | length) == 0 and (.failures | length) >= 1
		 and all(.failures[]; (.reason // "") != "")'
}
step "run-task with no container instance gives a failures entry (exit 0)" run_no_instance

run_unknown_cluster() {
	ecs_fails ClusterNotFoundException run-task --cluster no-such-cluster --task-definition "$simple_family"
}
step "run-task on an unknown cluster fails with ClusterNotFoundException" run_unknown_cluster

# ---------------------------------------------------------------------------------------------
# container instance

instance_arn=""
reserved='["22","2375","2376","51678","51679"]'

register_instance() {
	local answer
	answer=$(timeout 30 "$regbin" -endpoint "$endpoint" -cluster "$cluster" -cpu 1024 -memory 256 \
		-reserved-ports 22,2375,2376,51678,51679 -attribute conformance.run=1 2>"$tmp/ri.err") || {
		why="registerinstance failed: $(snip "$(<"$tmp/ri.err")")"
		return 1
	}
	if [[ ! $answer =~ ^arn:aws:ecs:$region:$account:container-instance/$cluster/[0-9a-f]+$ ]]; then
		why="unexpected containerInstanceArn: $(snip "$answer")"
		return 1
	fi
	instance_arn=$answer
}
step "register-container-instance through the Go SDK (1024 CPU, 256 MiB), attributes echoed" register_instance

register_unknown_cluster() {
	if timeout 30 "$regbin" -endpoint "$endpoint" -cluster no-such-cluster >/dev/null 2>"$tmp/ri.err"; then
		why="registration into an unknown cluster succeeded"
		return 1
	fi
	# The agent recognises this case only by the message text (reference/PROTOCOL.md §1.1).
	grep -q 'ClientException: Cluster not found\.' "$tmp/ri.err" ||
		{ why="want ClientException \"Cluster not found.\", got: $(snip "$(<"$tmp/ri.err")")"; return 1; }
}
step "register-container-instance into an unknown cluster fails with ClientException \"Cluster not found.\"" register_unknown_cluster

reregister_instance() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	local answer
	answer=$(timeout 30 "$regbin" -endpoint "$endpoint" -cluster "$cluster" -cpu 1024 -memory 256 \
		-reserved-ports 22,2375,2376,51678,51679 -attribute conformance.run=1 \
		-container-instance-arn "$instance_arn" 2>"$tmp/ri.err") || {
		why="registerinstance failed: $(snip "$(<"$tmp/ri.err")")"
		return 1
	}
	[ "$answer" = "$instance_arn" ] || { why="re-registration returned $answer, want $instance_arn"; return 1; }
	ecs_ok list-container-instances --cluster "$cluster" || return 1
	need "exactly one container instance listed" '.containerInstanceArns == [$a]' --arg a "$instance_arn"
}
step "re-registration with containerInstanceArn keeps the ARN (one instance listed)" reregister_instance

# resources FIELD: jq filter producing {CPU, MEMORY, PORTS} of containerInstances[0].FIELD
resources_filter='(.containerInstances[0][$f] // []) as $r
	| {CPU: ($r[] | select(.name == "CPU") | .integerValue),
	   MEMORY: ($r[] | select(.name == "MEMORY") | .integerValue),
	   PORTS: ([$r[] | select(.name == "PORTS") | (.stringSetValue // [])[]] | sort)}'

describe_instance() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok describe-container-instances --cluster "$cluster" --container-instances "$instance_arn" || return 1
	need "ACTIVE, the ARN, no agent connected, no failures" \
		'(.containerInstances | length) == 1 and .containerInstances[0].containerInstanceArn == $a
		 and .containerInstances[0].status == "ACTIVE" and .containerInstances[0].agentConnected == false
		 and .containerInstances[0].registeredAt != null and ((.failures // []) | length) == 0' \
		--arg a "$instance_arn" || return 1
	need "registeredResources CPU 1024, MEMORY 256, PORTS the reserved ports" \
		"$resources_filter"' == {CPU: 1024, MEMORY: 256, PORTS: ($ports | sort)}' \
		--arg f registeredResources --argjson ports "$reserved" || return 1
	need "remainingResources CPU 1024, MEMORY 256, PORTS the reserved ports" \
		"$resources_filter"' == {CPU: 1024, MEMORY: 256, PORTS: ($ports | sort)}' \
		--arg f remainingResources --argjson ports "$reserved" || return 1
	need "attributes include ecs.os-type=linux and conformance.run=1" \
		'[.containerInstances[0].attributes[] | {name, value}]
		 | (index([{name: "ecs.os-type", value: "linux"}]) != null)
		   and (index([{name: "conformance.run", value: "1"}]) != null)'
}
step "describe-container-instances (ACTIVE, registered and remaining resources)" describe_instance

describe_cluster_count() {
	ecs_ok describe-clusters --clusters "$cluster_arn" || return 1
	need "registeredContainerInstancesCount 1 (cluster given by ARN)" \
		'.clusters[0].clusterArn == $a and .clusters[0].registeredContainerInstancesCount == 1' \
		--arg a "$cluster_arn"
}
step "describe-clusters counts the instance" describe_cluster_count

discover_poll() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok discover-poll-endpoint --cluster "$cluster" --container-instance "$instance_arn" || return 1
	need "endpoint and telemetryEndpoint are http:// URLs" \
		'(.endpoint | test("^http://")) and (.telemetryEndpoint | test("^http://"))'
}
step "discover-poll-endpoint gives http:// ACS and TCS endpoints" discover_poll

list_tags_instance() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok list-tags-for-resource --resource-arn "$instance_arn" || return 1
	need "a tags list (the agent calls this for the task metadata endpoint's tags variants)" \
		'.tags | type == "array"'
}
step "list-tags-for-resource of the container instance" list_tags_instance

list_instances_filter() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok list-container-instances --cluster "$cluster" --filter "attribute:ecs.os-type == windows" || return 1
	need "a filter no instance matches lists nothing" '.containerInstanceArns == []' || return 1
	ecs_ok list-container-instances --cluster "$cluster" --filter "attribute:ecs.os-type == linux" || return 1
	need "a filter the instance matches lists it" '.containerInstanceArns == [$i]' --arg i "$instance_arn"
}
step "list-container-instances --filter is applied" list_instances_filter

# ---------------------------------------------------------------------------------------------
# placement

port_task=""
simple_tasks=()

run_port_task() {
	ecs_ok run-task --cluster "$cluster" --task-definition "$port_family" || return 1
	need "one PENDING task on the instance, no failures" \
		'(.tasks | length) == 1 and ((.failures // []) | length) == 0
		 and .tasks[0].containerInstanceArn == $i and .tasks[0].clusterArn == $c
		 and .tasks[0].taskDefinitionArn == $t and .tasks[0].lastStatus == "PENDING"
		 and .tasks[0].desiredStatus == "RUNNING"' \
		--arg i "$instance_arn" --arg c "$cluster_arn" --arg t "$(td_arn "$port_family" 1)" || return 1
	port_task=$(field '.tasks[0].taskArn')
	[[ $port_task =~ ^arn:aws:ecs:$region:$account:task/$cluster/[0-9a-f]+$ ]] ||
		{ why="unexpected taskArn $port_task"; return 1; }
}
step "run-task busybox-port-5180 is placed" run_port_task

run_port_conflict() {
	ecs_ok run-task --cluster "$cluster" --task-definition "$port_family" || return 1
	need "no task, failures reason RESOURCE:PORTS" \
		'((.tasks // []) | length) == 0 and (.failures | length) >= 1
		 and (.failures | map(.reason) | index(["RESOURCE:PORTS"]) != null)'
}
step "run-task busybox-port-5180 twice fails with RESOURCE:PORTS" run_port_conflict

failure_arn() {
	need "the RESOURCE:PORTS failure names the container instance (as ECS does)" \
		'.failures[0].arn == $i' --arg i "$instance_arn"
}
step "the placement failure's arn is the container instance ARN" failure_arn

run_cpu_conflict() {
	ecs_ok run-task --cluster "$cluster" --task-definition "$simple_family" \
		--overrides '{"containerOverrides":[{"name":"exit","cpu":2000}]}' || return 1
	need "no task, failures reason RESOURCE:CPU" \
		'((.tasks // []) | length) == 0 and (.failures | map(.reason) | index(["RESOURCE:CPU"]) != null)'
}
step "run-task with a container cpu override of 2000 fails with RESOURCE:CPU" run_cpu_conflict

run_three() {
	ecs_ok run-task --cluster "$cluster" --task-definition "$simple_family" --count 3 \
		--started-by conformance || return 1
	need "three PENDING tasks on the instance, no failures" \
		'(.tasks | length) == 3 and ((.failures // []) | length) == 0
		 and all(.tasks[]; .containerInstanceArn == $i and .lastStatus == "PENDING"
		         and .desiredStatus == "RUNNING" and .startedBy == "conformance")
		 and ([.tasks[].taskArn] | unique | length) == 3' --arg i "$instance_arn" || return 1
	mapfile -t simple_tasks < <(field '.tasks[].taskArn')
}
step "run-task $simple_family --count 3 places three tasks (242 of 256 MiB used)" run_three

run_memory_full() {
	ecs_ok run-task --cluster "$cluster" --task-definition "$simple_family" || return 1
	need "no task, failures reason RESOURCE:MEMORY" \
		'((.tasks // []) | length) == 0 and (.failures | map(.reason) | index(["RESOURCE:MEMORY"]) != null)'
}
step "run-task once more fails with RESOURCE:MEMORY" run_memory_full

remaining_after() {
	ecs_ok describe-container-instances --cluster "$cluster" --container-instances "$instance_arn" || return 1
	need "remainingResources CPU 994, MEMORY 14, PORTS reserved + 5180" \
		"$resources_filter"' == {CPU: 994, MEMORY: 14, PORTS: ($ports + ["5180"] | sort)}' \
		--arg f remainingResources --argjson ports "$reserved"
}
step "describe-container-instances: remaining resources after placement" remaining_after

task_counts() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok describe-container-instances --cluster "$cluster" --container-instances "$instance_arn" || return 1
	need "pendingTasksCount 4, runningTasksCount 0" \
		'.containerInstances[0].pendingTasksCount == 4 and .containerInstances[0].runningTasksCount == 0' || return 1
	ecs_ok describe-clusters --clusters "$cluster" || return 1
	need "the cluster counts 4 pending and 0 running tasks" \
		'.clusters[0].pendingTasksCount == 4 and .clusters[0].runningTasksCount == 0'
}
step "describe-container-instances / describe-clusters: pendingTasksCount 4" task_counts

describe_tasks() {
	if [ -z "$port_task" ] || [ "${#simple_tasks[@]}" -ne 3 ]; then why="tasks missing (earlier step failed)"; return 1; fi
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$port_task" "${simple_tasks[@]}" || return 1
	need "4 tasks PENDING/RUNNING with their containers PENDING" \
		'(.tasks | length) == 4 and ((.failures // []) | length) == 0
		 and ([.tasks[].taskArn] | sort) == ($want | sort)
		 and all(.tasks[]; .lastStatus == "PENDING" and .desiredStatus == "RUNNING"
		         and .createdAt != null and .clusterArn == $c and .containerInstanceArn == $i
		         and (.containers | length) == 1 and .containers[0].lastStatus == "PENDING"
		         and .containers[0].taskArn == .taskArn)
		 and ([.tasks[] | select(.taskArn == $p) | .containers[0].name] == ["sleep"])
		 and ([.tasks[] | select(.taskArn != $p) | .containers[0].name] == ["exit","exit","exit"])' \
		--argjson want "$(printf '%s\n' "$port_task" "${simple_tasks[@]}" | jq -R . | jq -cs .)" \
		--arg p "$port_task" --arg c "$cluster_arn" --arg i "$instance_arn"
}
step "describe-tasks (lastStatus PENDING, desiredStatus RUNNING, containers)" describe_tasks

describe_tasks_details() {
	need "group family:<family>, a version, container ARNs under the task, container image and memory" \
		'all(.tasks[]; (.taskArn | split("/") | last) as $id
		     | (.taskDefinitionArn | split("/") | last | split(":") | first) as $fam
		     | .group == "family:\($fam)" and .version >= 1
		       and (.containers[0].containerArn | startswith("arn:aws:ecs:\($r):\($a):container/\($c)/\($id)/"))
		       and (.containers[0].image | length) > 0 and .containers[0].memory != null)' \
		--arg r "$region" --arg a "$account" --arg c "$cluster"
}
step "describe-tasks details (group, version, containerArn)" describe_tasks_details

describe_missing_task() {
	local ghost="arn:aws:ecs:$region:$account:task/$cluster/0123456789abcdef0123456789abcdef"
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$ghost" || return 1
	need "failures entry MISSING for the unknown task" \
		'((.tasks // []) | length) == 0 and .failures[0].arn == $g and .failures[0].reason == "MISSING"' \
		--arg g "$ghost"
}
step "describe-tasks of an unknown task reports MISSING" describe_missing_task

stop_task() {
	[ -n "$port_task" ] || { why="no task (earlier step failed)"; return 1; }
	ecs_ok stop-task --cluster "$cluster" --task "$port_task" --reason "conformance: stop" || return 1
	need "desiredStatus STOPPED, stoppedReason" \
		'.task.taskArn == $t and .task.desiredStatus == "STOPPED" and .task.stoppedReason == "conformance: stop"' \
		--arg t "$port_task" || return 1
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$port_task" || return 1
	need "describe-tasks shows desiredStatus STOPPED and the reason" \
		'.tasks[0].desiredStatus == "STOPPED" and .tasks[0].stoppedReason == "conformance: stop"'
}
step "stop-task (desiredStatus STOPPED, stoppedReason)" stop_task

# ---------------------------------------------------------------------------------------------
# listing tasks

want_json() { printf '%s\n' "$@" | jq -R . | jq -cs .; }

list_default() {
	ecs_ok list-tasks --cluster "$cluster" || return 1
	need "the three RUNNING-desired tasks (the default filter is desiredStatus RUNNING)" \
		'(.taskArns | sort) == ($want | sort)' --argjson want "$(want_json "${simple_tasks[@]}")"
}
step "list-tasks (default desiredStatus RUNNING)" list_default

list_stopped() {
	ecs_ok list-tasks --cluster "$cluster" --desired-status STOPPED || return 1
	need "the stopped task only" '.taskArns == [$t]' --arg t "$port_task"
}
step "list-tasks --desired-status STOPPED" list_stopped

list_filters() {
	ecs_ok list-tasks --cluster "$cluster" --family "$simple_family" || return 1
	need "--family lists the three $simple_family tasks" '(.taskArns | sort) == ($want | sort)' \
		--argjson want "$(want_json "${simple_tasks[@]}")" || return 1
	ecs_ok list-tasks --cluster "$cluster" --container-instance "$instance_arn" || return 1
	need "--container-instance lists the three tasks" '(.taskArns | sort) == ($want | sort)' \
		--argjson want "$(want_json "${simple_tasks[@]}")" || return 1
	ecs_ok list-tasks --cluster "$cluster" --started-by conformance || return 1
	need "--started-by lists the three tasks" '(.taskArns | sort) == ($want | sort)' \
		--argjson want "$(want_json "${simple_tasks[@]}")"
}
step "list-tasks --family / --container-instance / --started-by" list_filters

# walk_tasks ARGS...: pages through list-tasks with --max-items 1 (at most 10 pages); every task
# of the three must appear exactly once, the first page must carry a NextToken.
walk_tasks() {
	local token="" n=0 pages_with_token=0
	local -a walked=() page=()
	while [ "$n" -lt 10 ]; do
		n=$((n + 1))
		if [ -z "$token" ]; then
			ecs_ok list-tasks --cluster "$cluster" --max-items 1 "$@" || return 1
		else
			ecs_ok list-tasks --cluster "$cluster" --max-items 1 --starting-token "$token" "$@" || return 1
		fi
		need "page $n has at most one task" '(.taskArns | length) <= 1' || return 1
		mapfile -t page < <(field '.taskArns[]')
		walked+=("${page[@]}")
		token=$(field '.NextToken // empty')
		if [ -z "$token" ]; then break; fi
		pages_with_token=$((pages_with_token + 1))
	done
	if [ -n "$token" ]; then why="still a NextToken after $n pages"; return 1; fi
	if [ "$pages_with_token" -lt 1 ]; then why="first page has no NextToken ($n page(s))"; return 1; fi
	local got want dups
	dups=$(printf '%s\n' "${walked[@]}" | sort | uniq -d)
	[ -z "$dups" ] || { why="tasks listed twice: $(snip "$dups")"; return 1; }
	got=$(printf '%s\n' "${walked[@]}" | sort)
	want=$(printf '%s\n' "${simple_tasks[@]}" | sort)
	[ "$got" = "$want" ] || { why="pages yield $(snip "$got"), want $(snip "$want")"; return 1; }
}
step "list-tasks --max-items 1: NextToken, every task exactly once" walk_tasks
step "list-tasks --max-items 1 --page-size 1 (server nextToken/maxResults)" walk_tasks --page-size 1

list_bad_token() {
	ecs list-tasks --cluster "$cluster" --no-paginate --next-token not-a-token
	if [ "$rc" -eq 0 ]; then
		why="a forged nextToken was accepted: $(snip "$out")"
		return 1
	fi
	if [[ $err != *"(InvalidParameterException)"* && $err != *"(ClientException)"* ]]; then
		why="expected InvalidParameterException or ClientException, got exit $rc: $(snip "$err")"
		return 1
	fi
}
step "list-tasks with a forged nextToken fails (InvalidParameterException/ClientException)" list_bad_token

list_unknown_cluster() {
	ecs_fails ClusterNotFoundException list-tasks --cluster no-such-cluster
}
step "list-tasks on an unknown cluster fails with ClusterNotFoundException" list_unknown_cluster

# ---------------------------------------------------------------------------------------------
# state changes the agent reports

submit_running() {
	[ "${#simple_tasks[@]}" -eq 3 ] || { why="tasks missing (earlier step failed)"; return 1; }
	local t=${simple_tasks[0]}
	ecs_ok submit-task-state-change --cluster "$cluster" --task "$t" --status RUNNING --reason "" \
		--containers '[{"containerName":"exit","runtimeId":"4f2c0d9e1a","status":"RUNNING","imageDigest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]' \
		--pull-started-at 1719689510.123 --pull-stopped-at 1719689511.456 || return 1
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$t" || return 1
	need "lastStatus RUNNING, container RUNNING with runtimeId" \
		'.tasks[0].lastStatus == "RUNNING" and .tasks[0].desiredStatus == "RUNNING"
		 and .tasks[0].containers[0].lastStatus == "RUNNING" and .tasks[0].containers[0].runtimeId == "4f2c0d9e1a"
		 and .tasks[0].startedAt != null'
}
step "submit-task-state-change RUNNING shows in describe-tasks" submit_running

submit_stopped() {
	[ "${#simple_tasks[@]}" -eq 3 ] || { why="tasks missing (earlier step failed)"; return 1; }
	local t=${simple_tasks[0]}
	local before
	ecs_ok describe-container-instances --cluster "$cluster" --container-instances "$instance_arn" || return 1
	before=$(jq -c "$resources_filter" --arg f remainingResources <<<"$out" 2>/dev/null)
	[ -n "$before" ] || { why="no remainingResources before the report: $(snip "$out")"; return 1; }
	ecs_ok submit-task-state-change --cluster "$cluster" --task "$t" --status STOPPED --reason "" \
		--containers '[{"containerName":"exit","runtimeId":"4f2c0d9e1a","status":"STOPPED","exitCode":42}]' \
		--execution-stopped-at 1719689600.0 || return 1
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$t" || return 1
	need "lastStatus STOPPED, desiredStatus STOPPED, exit code 42" \
		'.tasks[0].lastStatus == "STOPPED" and .tasks[0].desiredStatus == "STOPPED"
		 and .tasks[0].containers[0].lastStatus == "STOPPED" and .tasks[0].containers[0].exitCode == 42
		 and .tasks[0].stoppedAt != null' || return 1
	ecs_ok describe-container-instances --cluster "$cluster" --container-instances "$instance_arn" || return 1
	need "the stopped task's 64 MiB and 10 CPU are free again (before: $before)" \
		"$resources_filter"' | .CPU == $b.CPU + 10 and .MEMORY == $b.MEMORY + 64' \
		--arg f remainingResources --argjson b "$before"
}
step "submit-task-state-change STOPPED (exit code, resources released)" submit_stopped

# ---------------------------------------------------------------------------------------------
# snapshot

restart_server() {
	stop_server
	start_server "$port" || return 1
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$port_task" || return 1
	need "the stopped task survives with desiredStatus STOPPED" \
		'.tasks[0].taskArn == $t and .tasks[0].desiredStatus == "STOPPED"' --arg t "$port_task" || return 1
	ecs_ok list-task-definitions || return 1
	need "all ${#registered_tds[@]} task definitions survive" '(.taskDefinitionArns | length) == $n' \
		--argjson n "${#registered_tds[@]}" || return 1
	ecs_ok list-container-instances --cluster "$cluster" || return 1
	need "the container instance survives" '.containerInstanceArns == [$a]' --arg a "$instance_arn"
}
step "restart with the same --snapshot keeps tasks, task definitions and instance" restart_server
if [ -z "$server_pid" ]; then
	start_server "$port" || true
fi

# ---------------------------------------------------------------------------------------------
# more of the operator's API: start-task, legacy container report, DRAINING

start_task=""

start_task_on() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok start-task --cluster "$cluster" --task-definition "$simple_family:1" \
		--container-instances "$instance_arn" --started-by conformance-start || return 1
	need "one PENDING task on the named instance" \
		'(.tasks | length) == 1 and ((.failures // []) | length) == 0
		 and .tasks[0].containerInstanceArn == $i and .tasks[0].lastStatus == "PENDING"
		 and .tasks[0].desiredStatus == "RUNNING" and .tasks[0].startedBy == "conformance-start"
		 and .tasks[0].taskDefinitionArn == $t' \
		--arg i "$instance_arn" --arg t "$(td_arn "$simple_family" 1)" || return 1
	start_task=$(field '.tasks[0].taskArn')
}
step "start-task on the container instance" start_task_on

submit_container() {
	[ -n "$start_task" ] || { why="no task (earlier step failed)"; return 1; }
	ecs_ok submit-container-state-change --cluster "$cluster" --task "$start_task" --container-name exit \
		--runtime-id 7a1b2c3d4e --status RUNNING \
		--network-bindings '[{"bindIP":"0.0.0.0","containerPort":80,"hostPort":32768,"protocol":"tcp"}]' || return 1
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$start_task" || return 1
	need "container RUNNING with runtimeId and network binding" \
		'.tasks[0].containers[0].lastStatus == "RUNNING" and .tasks[0].containers[0].runtimeId == "7a1b2c3d4e"
		 and .tasks[0].containers[0].networkBindings[0].hostPort == 32768
		 and .tasks[0].containers[0].networkBindings[0].protocol == "tcp"'
}
step "submit-container-state-change (legacy) shows in describe-tasks" submit_container

submit_pending_repeat() {
	[ -n "$start_task" ] || { why="no task (earlier step failed)"; return 1; }
	ecs_ok submit-task-state-change --cluster "$cluster" --task "$start_task" --status PENDING --reason "" \
		--containers '[{"containerName":"exit","status":"PENDING","imageDigest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]' || return 1
	local _
	for _ in 1 2; do
		ecs_ok submit-task-state-change --cluster "$cluster" --task "$start_task" --status RUNNING --reason "" \
			--containers '[{"containerName":"exit","runtimeId":"7a1b2c3d4e","status":"RUNNING"}]' || return 1
	done
	ecs_ok describe-tasks --cluster "$cluster" --tasks "$start_task" || return 1
	need "lastStatus RUNNING after PENDING and a repeated RUNNING report" \
		'.tasks[0].lastStatus == "RUNNING" and .tasks[0].containers[0].lastStatus == "RUNNING"'
}
step "submit-task-state-change accepts PENDING and a repeated RUNNING (agent resends)" submit_pending_repeat

draining() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok update-container-instances-state --cluster "$cluster" --container-instances "$instance_arn" \
		--status DRAINING || return 1
	need "status DRAINING" \
		'.containerInstances[0].containerInstanceArn == $i and .containerInstances[0].status == "DRAINING"
		 and ((.failures // []) | length) == 0' --arg i "$instance_arn" || return 1
	ecs_ok list-container-instances --cluster "$cluster" --status DRAINING || return 1
	need "list-container-instances --status DRAINING lists it" '.containerInstanceArns == [$i]' \
		--arg i "$instance_arn" || return 1
	ecs_ok run-task --cluster "$cluster" --task-definition "$simple_family" || return 1
	need "run-task places nothing on a DRAINING instance (failures entry)" \
		'((.tasks // []) | length) == 0 and (.failures | length) >= 1' || return 1
	ecs_ok update-container-instances-state --cluster "$cluster" --container-instances "$instance_arn" \
		--status ACTIVE || return 1
	need "back to ACTIVE" '.containerInstances[0].status == "ACTIVE"'
}
step "update-container-instances-state DRAINING (no placement) and back to ACTIVE" draining

# ---------------------------------------------------------------------------------------------
# task definition lifecycle and server-side pagination

inactive_family=ecsinteg-network-link
active_tds=()

deregister_td() {
	local f="${taskdef_dir:-.}/network-link.taskdef.json"
	inactive_family=$(jq -r .family "$f" 2>/dev/null) || { why="$f is unreadable"; return 1; }
	ecs_ok deregister-task-definition --task-definition "$inactive_family:1" || return 1
	need "status INACTIVE" \
		'.taskDefinition.taskDefinitionArn == $a and .taskDefinition.status == "INACTIVE"' \
		--arg a "$(td_arn "$inactive_family" 1)" || return 1
	ecs_ok describe-task-definition --task-definition "$inactive_family:1" || return 1
	need "describe-task-definition still finds it, INACTIVE" '.taskDefinition.status == "INACTIVE"'
}
step "deregister-task-definition network-link:1 (INACTIVE)" deregister_td

for a in "${registered_tds[@]}"; do
	[ "$a" = "$(td_arn "$inactive_family" 1)" ] || active_tds+=("$a")
done

list_td_status() {
	ecs_ok list-task-definitions || return 1
	need "the default (ACTIVE) list no longer has it" '(.taskDefinitionArns | sort) == ($want | sort)' \
		--argjson want "$(want_json "${active_tds[@]}")" || return 1
	ecs_ok list-task-definitions --status INACTIVE || return 1
	need "--status INACTIVE lists exactly it" '.taskDefinitionArns == [$a]' --arg a "$(td_arn "$inactive_family" 1)"
}
step "list-task-definitions default ACTIVE / --status INACTIVE" list_td_status

list_families_status() {
	ecs_ok list-task-definition-families --status ACTIVE || return 1
	need "--status ACTIVE leaves out the family without an ACTIVE revision" \
		'(.families | sort) == ($want - [$f] | sort)' \
		--argjson want "$(want_json "${families[@]}")" --arg f "$inactive_family" || return 1
	ecs_ok list-task-definition-families --status INACTIVE || return 1
	need "--status INACTIVE lists only that family" '.families == [$f]' --arg f "$inactive_family" || return 1
	ecs_ok list-task-definition-families --status ALL || return 1
	need "--status ALL lists every family" '(.families | sort) == ($want | sort)' \
		--argjson want "$(want_json "${families[@]}")"
}
step "list-task-definition-families --status ACTIVE / INACTIVE / ALL" list_families_status

list_families_default() {
	ecs_ok list-task-definition-families || return 1
	need "without --status both ACTIVE and INACTIVE families are listed (ECS API reference)" \
		'(.families | sort) == ($want | sort)' --argjson want "$(want_json "${families[@]}")"
}
step "list-task-definition-families without --status lists ACTIVE and INACTIVE families" list_families_default

run_inactive() {
	ecs_fails InvalidParameterException run-task --cluster "$cluster" --task-definition "$inactive_family:1"
}
step "run-task of an INACTIVE revision fails with InvalidParameterException" run_inactive

paged_lists() {
	ecs_ok list-task-definitions --page-size 2 || return 1
	need "--page-size 2 (server pages of 2) yields every ACTIVE revision once" \
		'(.taskDefinitionArns | sort) == ($want | sort)' --argjson want "$(want_json "${active_tds[@]}")" || return 1
	ecs_ok list-task-definition-families --status ACTIVE --page-size 2 || return 1
	need "families --page-size 2 yields every ACTIVE family once" \
		'(.families | sort) == ($want - [$f] | sort)' \
		--argjson want "$(want_json "${families[@]}")" --arg f "$inactive_family"
}
step "list-task-definitions / list-task-definition-families --page-size 2" paged_lists

# ---------------------------------------------------------------------------------------------
# error shapes

bad_family() {
	ecs_fails ClientException register-task-definition --family 'bad family!' \
		--container-definitions '[{"name":"a","image":"busybox","memory":16}]'
}
step "register-task-definition with an invalid family fails with ClientException" bad_family

no_memory() {
	ecs_fails ClientException register-task-definition --family conformance-no-memory \
		--container-definitions '[{"name":"a","image":"busybox"}]'
}
step "register-task-definition without memory fails with ClientException" no_memory

run_unknown_td() {
	ecs_fails InvalidParameterException run-task --cluster "$cluster" --task-definition no-such-family:1
}
step "run-task of an unknown task definition fails with InvalidParameterException" run_unknown_td

run_count_11() {
	ecs_fails InvalidParameterException run-task --cluster "$cluster" --task-definition "$simple_family" --count 11
}
step "run-task --count 11 fails with InvalidParameterException" run_count_11

stop_unknown() {
	ecs_fails InvalidParameterException stop-task --cluster "$cluster" \
		--task "arn:aws:ecs:$region:$account:task/$cluster/0123456789abcdef0123456789abcdef"
}
step "stop-task of an unknown task fails with InvalidParameterException" stop_unknown

# ---------------------------------------------------------------------------------------------
# authentication

wrong_secret() {
	local saved=$AWS_SECRET_ACCESS_KEY
	export AWS_SECRET_ACCESS_KEY=not-the-secret
	ecs_fails InvalidSignatureException list-clusters
	local r=$?
	export AWS_SECRET_ACCESS_KEY=$saved
	return "$r"
}
step "a wrong secret key fails with InvalidSignatureException" wrong_secret

wrong_key() {
	local saved=$AWS_ACCESS_KEY_ID
	export AWS_ACCESS_KEY_ID=AKIDNOTKNOWN
	ecs_fails UnrecognizedClientException list-clusters
	local r=$?
	export AWS_ACCESS_KEY_ID=$saved
	return "$r"
}
step "an unknown access key fails with UnrecognizedClientException" wrong_key

unsigned() {
	ecs_fails MissingAuthenticationTokenException list-clusters --no-sign-request
}
step "an unsigned request fails with MissingAuthenticationTokenException" unsigned

# ---------------------------------------------------------------------------------------------
# teardown

stop_remaining() {
	local t
	for t in "${simple_tasks[@]:1}" ${start_task:+"$start_task"}; do
		ecs_ok stop-task --cluster "$cluster" --task "$t" || return 1
		need "desiredStatus STOPPED" '.task.desiredStatus == "STOPPED"' || return 1
	done
	ecs_ok list-tasks --cluster "$cluster" || return 1
	need "no RUNNING-desired task left" '.taskArns == []'
}
step "stop-task the remaining tasks" stop_remaining

placement_constraint() {
	ecs_ok register-task-definition --family conformance-constraint \
		--container-definitions '[{"name":"tiny","image":"busybox","memory":4}]' || return 1
	ecs_ok run-task --cluster "$cluster" --task-definition conformance-constraint \
		--placement-constraints 'type=memberOf,expression=attribute:ecs.os-type == windows' || return 1
	local placed
	placed=$(field '.tasks[]?.taskArn')
	if [ -n "$placed" ]; then
		# Do not leave the wrongly placed task running for the steps that follow.
		local t
		for t in $placed; do ecs stop-task --cluster "$cluster" --task "$t"; done
		why="a task was placed on a linux instance despite memberOf(attribute:ecs.os-type == windows): $(snip "$placed")"
		return 1
	fi
	need "no task, a MemberOf failure naming the instance" \
		'(.tasks | length) == 0 and any(.failures[]; .reason == "MemberOf" and .arn == $i)' \
		--arg i "$instance_arn"
}
step "run-task --placement-constraints memberOf is honoured" placement_constraint

delete_busy_cluster() {
	ecs_fails ClusterContainsContainerInstancesException delete-cluster --cluster "$cluster"
}
step "delete-cluster with a registered instance fails with ClusterContainsContainerInstancesException" delete_busy_cluster

deregister() {
	[ -n "$instance_arn" ] || { why="no container instance (earlier step failed)"; return 1; }
	ecs_ok deregister-container-instance --cluster "$cluster" --container-instance "$instance_arn" --force || return 1
	need "status INACTIVE" \
		'.containerInstance.containerInstanceArn == $a and .containerInstance.status == "INACTIVE"' \
		--arg a "$instance_arn" || return 1
	ecs_ok list-container-instances --cluster "$cluster" || return 1
	need "no container instance listed any more" '.containerInstanceArns == []'
}
step "deregister-container-instance --force (INACTIVE)" deregister

delete_cluster() {
	ecs_ok delete-cluster --cluster "$cluster" || return 1
	need "clusterName, clusterArn, status INACTIVE" \
		'.cluster.clusterName == $n and .cluster.clusterArn == $a and .cluster.status == "INACTIVE"' \
		--arg n "$cluster" --arg a "$cluster_arn" || return 1
	ecs_ok list-clusters || return 1
	need "the cluster is no longer listed" '.clusterArns | index([$a]) == null' --arg a "$cluster_arn"
}
step "delete-cluster $cluster (INACTIVE)" delete_cluster

finish
