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

.PHONY: help run test build lint vuln e2e bench fuzz rie deploy invoke clean

help: ## this list
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-26s %s\n", $$1, $$2}'

run: ## one local check of the sample numbers (no AWS needed); ARGS="--at +20h" to look ahead
	go run ./cmd/handler --local --numbers testdata/sample-numbers.json --state .phonewatch-state.json $(ARGS)

test: rie ## all tests: unit, adapters against moto_server and a Connect test server, e2e under the RIE
	RIE_BIN=$(CURDIR)/$(RIE) go test -count=1 ./...

build: ## bin/bootstrap for Lambda (GOARCH=arm64 unless set)
	$(GOBUILD_LAMBDA) -o $(BIN)/bootstrap ./cmd/handler

build-PhoneWatchFunction: ## what `sam build` calls (BuildMethod: makefile)
	$(subst GOARCH=$(GOARCH),GOARCH=arm64,$(GOBUILD_LAMBDA)) -o $(ARTIFACTS_DIR)/bootstrap ./cmd/handler

e2e: rie ## only the end-to-end tests: built bootstrap under the Runtime Interface Emulator
	RIE_BIN=$(CURDIR)/$(RIE) go test -count=1 -run 'E2E' ./cmd/handler/...

bench: rie ## scale benchmark: N=600 at 100/s, init time under the RIE, binary size, memory (ARGS=--check)
	RIE_BIN=$(CURDIR)/$(RIE) go run ./cmd/bench --mem-limit 48MiB $(ARGS)

FUZZTIME ?= 60s
fuzz: ## fuzz the event parser, Connect payload validation and rendering (FUZZTIME=60s each)
	go test -run '^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/trigger
	go test -run '^$$' -fuzz=FuzzValidate -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/status
	go test -run '^$$' -fuzz=FuzzSubject -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/notify
	go test -run '^$$' -fuzz=FuzzChatbot -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./internal/notify

deploy: ## build and deploy with AWS SAM (see docs/deploy.md)
	sam build && sam deploy

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

clean: ## remove build output and local state
	rm -rf bin .aws-sam .phonewatch-state.json
