# phonewatch — make targets named for what you want to do. `make help` lists them.
SHELL := /bin/bash
GOARCH ?= arm64
# Where `make build` writes bootstrap (tests build into a temporary folder with BIN=...).
BIN ?= bin
# The Lambda build of DESIGN.md: static linux binary, no RPC shim, reproducible paths, stripped.
GOBUILD_LAMBDA = CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='
# Pinned developer tools live in their own module so they never enter the product's go.mod.
GOTOOL = go tool -modfile=tools/go.mod
RIE = bin/aws-lambda-rie

# `make run` checks the sample numbers at a fixed time, with a state file of its own, so that
# its output is the same on every machine: AT=+19h looks ahead from that time.
SAMPLE_TIME = 2026-11-26T06:00:00Z
SAMPLE_STATE = .phonewatch-sample-state.json
SAMPLE_CLOUDTRAIL = testdata/sample-cloudtrail.json
AT ?=
# Local state: the sample's, and a real-account run's default (--state), with their locks.
LOCAL_STATE = $(SAMPLE_STATE) $(SAMPLE_STATE).lock .phonewatch-state.json .phonewatch-state.json.lock

.PHONY: help run status test build lint vuln e2e bench fuzz soak rie deploy invoke clean reset

help: ## this list
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-26s %s\n", $$1, $$2}'

run: ## check the sample numbers at a fixed time (no AWS needed); AT=+19h looks ahead, ARGS= more flags
	go run ./cmd/phonewatch check --numbers testdata/sample-numbers.json --state $(SAMPLE_STATE) \
		$(if $(wildcard $(SAMPLE_CLOUDTRAIL)),--cloudtrail $(SAMPLE_CLOUDTRAIL)) --at $(SAMPLE_TIME)$(AT) $(ARGS)

status: ## the sample run's tracked numbers and deadlines (AT=+19h as for run)
	@go build -o $(BIN)/phonewatch ./cmd/phonewatch
	@# Exit status 3 (a number is FAILED) is for scripts; here the table says it.
	@$(BIN)/phonewatch status --state $(SAMPLE_STATE) --at $(SAMPLE_TIME)$(AT) $(ARGS); test $$? -ne 1 -a $$? -ne 2

test: rie ## all tests: unit, adapters against moto_server and the Connect and CloudTrail test servers, e2e under the RIE
	RIE_BIN=$(CURDIR)/$(RIE) go test -count=1 ./...

build: ## bin/bootstrap for Lambda (GOARCH=arm64 unless set)
	$(GOBUILD_LAMBDA) -o $(BIN)/bootstrap ./cmd/handler

# The function's architecture (template.yaml's Architectures): build-PhoneWatchFunction builds
# for it whatever GOARCH the shell exports or make is given, so that `sam build` can never ship
# an x86 bootstrap to the arm64 function. Only that target reads it; the end-to-end test sets it
# to the machine's own architecture to run the very same build under the emulator.
LAMBDA_ARCH ?= arm64
build-PhoneWatchFunction: override GOARCH = $(LAMBDA_ARCH)
build-PhoneWatchFunction: ## what `sam build` calls (BuildMethod: makefile); LAMBDA_ARCH=arm64
	$(GOBUILD_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/handler

e2e: rie ## only the end-to-end tests: built bootstrap under the Runtime Interface Emulator
	RIE_BIN=$(CURDIR)/$(RIE) go test -count=1 -run 'E2E' ./cmd/handler/...

bench: rie ## scale and cost figures (about 4 min): pacing, init under the RIE, size, memory, CloudTrail, sweep, cost (ARGS=--check)
	RIE_BIN=$(CURDIR)/$(RIE) go run ./cmd/bench --mem-limit 48MiB $(ARGS)

FUZZTIME ?= 60s
fuzz: ## fuzz the event parser, Connect payload validation, rendering and CloudTrail records (FUZZTIME=60s each)
	go test -run '^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/trigger
	go test -run '^$$' -fuzz=FuzzValidate -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/status
	go test -run '^$$' -fuzz=FuzzSubject -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/notify
	go test -run '^$$' -fuzz=FuzzChatbot -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/notify
	go test -run '^$$' -fuzz=FuzzParseRecord -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/cloudtrail

# The simulated world (internal/sim): SOAK histories from seed SOAK_FROM, each judged against
# its true history; `go test` plays 2,000 of them from seed 1. A violation prints its replay
# command (go test ./internal/sim -run TestWorld -seed=N -v).
SOAK ?= 100000
SOAK_FROM ?= 1000001
soak: ## the simulated world, long: SOAK=100000 histories from SOAK_FROM; prints histories, notifications judged, violations
	go test -count=1 -timeout 60m -run '^TestWorld$$' ./internal/sim -v -histories=$(SOAK) -from=$(SOAK_FROM)

# `make deploy` is guided the first time (the stack does not exist yet: Region and parameters are
# asked, and may be saved to samconfig.toml), plain afterwards. CONFIG_ENV picks a stage of
# samconfig.toml, whose stack is phonewatch or phonewatch-<stage>.
CONFIG_ENV ?= default
SAM_STACK = $(if $(filter default,$(CONFIG_ENV)),phonewatch,phonewatch-$(CONFIG_ENV))
deploy: ## build and deploy with AWS SAM, guided the first time (docs/deploy.md); CONFIG_ENV=prod for a stage
	sam build
	@if aws cloudformation describe-stacks --stack-name $(SAM_STACK) >/dev/null 2>&1; then \
		echo "sam deploy --config-env $(CONFIG_ENV)"; sam deploy --config-env $(CONFIG_ENV); \
	else \
		echo "$(SAM_STACK) does not exist yet: sam deploy --guided --config-env $(CONFIG_ENV)"; sam deploy --guided --config-env $(CONFIG_ENV); \
	fi

# The plain CloudFormation template a StackSet deploys (docs/organization.md): generated from
# template.yaml by our own code (internal/deploy), every parameter kept live, no Slack channel.
STACKSET_TEMPLATE ?= phonewatch-stackset.json
stackset-template: ## the StackSet template (plain CloudFormation, no SAM) in STACKSET_TEMPLATE=phonewatch-stackset.json
	go run ./cmd/stackset-template < template.yaml > $(STACKSET_TEMPLATE).tmp && mv $(STACKSET_TEMPLATE).tmp $(STACKSET_TEMPLATE)
	@wc -c $(STACKSET_TEMPLATE)

invoke: ## sam local invoke with the scheduler event (needs Docker)
	sam build && sam local invoke PhoneWatchFunction -e events/scheduler-event.json -n env.json

lint: ## gofmt, go vet, golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...
	$(GOTOOL) golangci-lint run ./...

vuln: ## govulncheck (needs the Go vulnerability database online, so not part of lint or CI)
	$(GOTOOL) govulncheck ./...

rie: $(RIE) ## the Lambda Runtime Interface Emulator, built from the pinned Go tool
$(RIE): tools/go.mod tools/go.sum
	go build -modfile=tools/go.mod -o $@ github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

reset: ## forget local state (the sample run's and a local real-account run's), nothing else
	@echo "removing local state: $(LOCAL_STATE)"
	@rm -f $(LOCAL_STATE)

clean: reset ## remove build output (bin/, .aws-sam/, the StackSet template) and local state
	@echo "removing build output: bin/ .aws-sam/ $(STACKSET_TEMPLATE)"
	@rm -rf bin .aws-sam $(STACKSET_TEMPLATE)
