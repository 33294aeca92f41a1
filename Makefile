# ecs-agent: build, test and run.
#
#   make / make release the agent image amazon/amazon-ecs-agent:latest (and :development)
#   make gobuild        every binary into ./out (the all-in-one as ./out/amazon-ecs-agent)
#   make static         the same, statically linked (CGO_ENABLED=0), for FROM-scratch images
#   make test           unit, component, conformance and end-to-end tests (needs Docker)
#   make test-chaos     DESIGN.md §4 under SIGKILLs of every process (bounded, < 10 min)
#   make test-in-docker the end-to-end bus tests in a container, against the pod (< 6 min)
#   make bench          the benchmark: agent vs direct Docker calls, cost, bus (< 15 min;
#                       BENCH_FLAGS=-quick for a short run); results in bench/results/
#   make run            the control plane and the agent on this machine (Ctrl-C stops both)
#   make up / down      the compose pod from the release image, healthy / gone
#   make clean          remove ./out and ./.run (no Docker image is removed)

SHELL     := /bin/bash
GO        ?= go
OUT       ?= out
VERSION   := $(shell sed -n 's/^const Version = "\(.*\)"/\1/p' bus/config/config.go)
GITHASH   := $(shell git rev-parse --short=8 HEAD 2>/dev/null || echo unknown)
LDFLAGS   ?= -s -w
# Every binary knows the commit it was built from (agentHash, the version string).
BUILDINFO := -X github.com/ecs-agent/ecs-agent/bus/config.gitHash=$(GITHASH)
MODULES   := acs awsclient bus controlplane services/session services/scheduler services/dockerexec services/reporter .
BINARIES  := amazon-ecs-agent ecs-bus ecs-session ecs-scheduler ecs-dockerexec ecs-reporter ecs-controlplane
TEST_IMAGE ?= ecs-agent-test/busybox:latest
CP_LISTEN ?= 127.0.0.1:51700
RUN_DIR   ?= $(CURDIR)/.run
IMAGE     ?= amazon/amazon-ecs-agent
E2E_IMAGE ?= ecs-agent-test/e2e:latest
POD_PROJECT ?= ecs-agent

.PHONY: all release gobuild static test test-unit test-conformance test-e2e test-chaos test-fuzz test-in-docker test-image \
        e2e-image run run-controlplane up down clean vet bench

.DEFAULT_GOAL := release
all: release

# The release image. The seed builds inside a Go container; no image can be pulled on
# these machines, so the static binaries are built on the host (make static) and only
# packaged in the container image, FROM scratch (deploy/Dockerfile).
release: static
	@mkdir -p $(OUT)/image
	cp /etc/ssl/certs/ca-certificates.crt $(OUT)/image/ca-certificates.crt
	docker build -f deploy/Dockerfile -t $(IMAGE):latest -t $(IMAGE):development .

gobuild:
	@mkdir -p $(OUT)
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/amazon-ecs-agent ./cmd/amazon-ecs-agent
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/ecs-bus ./bus/cmd/ecs-bus
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/ecs-session ./services/session/cmd/ecs-session
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/ecs-scheduler ./services/scheduler/cmd/ecs-scheduler
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/ecs-dockerexec ./services/dockerexec/cmd/ecs-dockerexec
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/ecs-reporter ./services/reporter/cmd/ecs-reporter
	$(GO) build -ldflags '$(LDFLAGS) $(BUILDINFO)' -o $(OUT)/ecs-controlplane ./controlplane/cmd/ecs-controlplane

static:
	$(MAKE) gobuild CGO_ENABLED=0 LDFLAGS='-s -w -extldflags "-static"'

# The busybox image every Docker test uses (no registry can be reached).
test-image:
	deploy/testimage/build-busybox.sh

vet:
	@for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done

test-unit:
	@for m in $(MODULES); do \
		echo "== go test $$m"; \
		if [ "$$m" = . ]; then pkgs=$$($(GO) list ./... | grep -v /e2e); else pkgs=./...; fi; \
		(cd $$m && $(GO) test -count=1 -timeout 10m $$pkgs) || exit 1; \
	done

test-conformance: gobuild
	controlplane/conformance/conformance.sh

test-e2e: gobuild test-image
	$(GO) test -count=1 -timeout 20m -v ./e2e/

test: test-image test-unit test-conformance test-e2e

# The chaos suite: ~30 churning tasks while every process is SIGKILLed and restarted,
# then the whole agent, then the whole agent with its store wiped. It stops by itself.
test-chaos: gobuild test-image
	ECS_E2E_CHAOS=1 $(GO) test -count=1 -timeout 12m -v -run TestChaos ./e2e/

# Every fuzz target for FUZZTIME each (their corpora are in the packages' testdata).
FUZZTIME ?= 10s
FUZZ_TARGETS := bus:FuzzEnvFile:./config services/session:FuzzACSFrame:. \
	services/session:FuzzTask:./payload controlplane:FuzzTaskDefinition:./taskdef
test-fuzz:
	@for spec in $(FUZZ_TARGETS); do \
		IFS=: read -r mod name pkg <<< "$$spec"; \
		echo "== fuzz $$name ($(FUZZTIME))"; \
		(cd $$mod && $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg) || exit 1; \
	done

# The end-to-end bus tests compiled into a test image (FROM the release image, with the
# host's static docker CLI) and run in a container on the host network with the
# Docker socket, against the pod brought up from the release image on free ports
# (deploy/test-in-docker.sh; it tears everything down, even on failure).
e2e-image: release
	@mkdir -p $(OUT)/image
	CGO_ENABLED=0 $(GO) test -c -o $(OUT)/image/e2e.test ./e2e/
	cp "$$(command -v docker)" $(OUT)/image/docker
	docker build -f deploy/Dockerfile.e2e --build-arg AGENT_IMAGE=$(IMAGE):latest -t $(E2E_IMAGE) .

test-in-docker: e2e-image test-image
	ECS_AGENT_IMAGE=$(IMAGE):latest E2E_IMAGE=$(E2E_IMAGE) deploy/test-in-docker.sh

# The benchmark (bench/README.md): the control plane, the all-in-one agent and the pod
# against the real engine, interleaved with direct Docker API baselines. It prints one
# table and writes bench/results/<UTC time>.json and bench/results/latest.json.
BENCH_FLAGS ?=
bench: gobuild test-image
	$(GO) run ./bench -bin $(OUT) $(BENCH_FLAGS)

# Runs the local control plane and the all-in-one agent against it, in the foreground;
# Ctrl-C or SIGTERM stops both.
run: gobuild test-image
	@deploy/run.sh $(OUT) $(RUN_DIR) $(CP_LISTEN)

# The compose pod from the release image: up waits until every service is healthy;
# down leaves no container, volume or network of it (nor its cluster's tasks).
up: release test-image
	POD_PROJECT=$(POD_PROJECT) ECS_AGENT_IMAGE=$(IMAGE):latest deploy/pod.sh up

down:
	POD_PROJECT=$(POD_PROJECT) ECS_AGENT_IMAGE=$(IMAGE):latest deploy/pod.sh down

run-controlplane: gobuild
	$(OUT)/ecs-controlplane --listen $(CP_LISTEN)

clean:
	rm -rf $(OUT) $(RUN_DIR)
