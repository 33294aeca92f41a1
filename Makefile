# ecs-agent: build, test and run.
#
#   make gobuild        every binary into ./out (the all-in-one as ./out/amazon-ecs-agent)
#   make static         the same, statically linked (CGO_ENABLED=0), for FROM-scratch images
#   make test           unit, component, conformance and end-to-end tests (needs Docker)
#   make test-chaos     DESIGN.md §4 under SIGKILLs of every process (bounded, < 10 min)
#   make test-in-docker the end-to-end test against the compose pod
#   make run            the control plane and the agent on this machine
#   make clean          remove ./out and test images

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

.PHONY: all gobuild static test test-unit test-conformance test-e2e test-chaos test-fuzz test-in-docker test-image \
        run run-controlplane clean vet

all: gobuild

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

# End-to-end test of the compose pod: the agent image, five processes and the control
# plane as containers on the host network (needs 127.0.0.1:4222, 51678, 51680, 51700 free).
test-in-docker: static test-image
	docker build -q -f deploy/Dockerfile -t ecs-agent:local .
	ECS_E2E_COMPOSE=1 $(GO) test -count=1 -timeout 15m -v -run TestCompose ./e2e/

# Runs the local control plane and the all-in-one agent against it, in the foreground.
run: gobuild test-image
	@mkdir -p $(RUN_DIR)/data
	@$(OUT)/ecs-controlplane --listen $(CP_LISTEN) --snapshot $(RUN_DIR)/controlplane.json & cp=$$!; \
	trap "kill $$cp 2>/dev/null" EXIT INT TERM; \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-west-2} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-AKIDECSLOCALDEV} \
	AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-ecs-local-development-secret} \
	AWS_EC2_METADATA_DISABLED=$${AWS_EC2_METADATA_DISABLED:-true} \
	ECS_BACKEND_HOST=$${ECS_BACKEND_HOST:-http://$(CP_LISTEN)} \
	ECS_DATADIR=$${ECS_DATADIR:-$(RUN_DIR)/data} \
	ECS_HOST_PORT_BIND_IP=$${ECS_HOST_PORT_BIND_IP:-127.0.0.1} \
	ECS_IMAGE_PULL_BEHAVIOR=$${ECS_IMAGE_PULL_BEHAVIOR:-prefer-cached} \
	$(OUT)/amazon-ecs-agent

run-controlplane: gobuild
	$(OUT)/ecs-controlplane --listen $(CP_LISTEN)

clean:
	rm -rf $(OUT) $(RUN_DIR)
	-docker image rm $(TEST_IMAGE) 2>/dev/null
