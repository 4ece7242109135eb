# Ponte — the two commands a newcomer needs:
#   make run    runs the whole suite (every service + REST edge) on the embedded store
#   make test   runs every test: unit, integration, both stores (PostgreSQL at
#               $PONTE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432)
# Everything else here is for contributors.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/.bin
# Go modules of the workspace (see go.work); tools/ is apart on purpose.
MODULES := libs proto gateway services/cases services/directory services/mediators services/housing services/reporting
PKGS := $(addsuffix /...,$(addprefix ./,$(MODULES)))
export PATH := $(BIN):$(PATH)

.PHONY: run test fuzz ci build tools browser-tools lighthouse generate lint fmt-check vet check-generated openapi-lint

run: ## run every service and the REST edge on the embedded store
	$(GO) run ./gateway/cmd/ponte serve -target=all --demo

test: ## run all tests, with the race detector
	$(GO) test -race -count=1 -timeout 40m $(PKGS)

# Every request decoder and validator that a client's bytes reach, each fuzzed for FUZZTIME
# (seed corpora in the code and under each package's testdata/fuzz/).
FUZZTIME ?= 15s
FUZZ_TARGETS := \
	./libs/textguard:FuzzFaultAndPrintable \
	./libs/problem:FuzzFromStatus \
	./libs/problem:FuzzInvalidParameter \
	./libs/server:FuzzRequestCodec \
	./gateway:FuzzHostileInput \
	./services/cases:FuzzParseRow \
	./services/directory/hsds:FuzzDecode

fuzz: ## fuzz each request decoder and validator for FUZZTIME (default 15s)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

build: ## build the ponte binary into bin/
	$(GO) build -o bin/ponte ./gateway/cmd/ponte

ci: fmt-check vet lint check-generated openapi-lint test ## everything CI checks

tools: ## install the pinned protobuf tools (tools/go.mod) into .bin/
	cd tools && GOWORK=off GOBIN=$(BIN) $(GO) install tool

browser-tools: ## axe-core for the browser tests (npm, pinned in tools/browser/package-lock.json)
	npm ci --no-audit --no-fund --prefix tools/browser

lighthouse: ## Lighthouse (mobile) on the public pages of a demo node: performance >= 0.90, accessibility 1.00
	bash tools/lighthouse/run.sh

generate: tools ## regenerate Go, gateway and OpenAPI code from proto/
	buf generate
	@mkdir -p $(BIN)
	buf build -o $(BIN)/ponte.binpb
	$(GO) run ./proto/cmd/openapibounds -descriptors $(BIN)/ponte.binpb -openapi proto/openapi/openapi.yaml

lint: tools ## buf lint and format check of the protos
	buf lint
	buf format --diff --exit-code proto

# Warnings each ruleset may still raise on each document (<document>:<ruleset>=<count>), each
# explained in docs/api.md: openapi-lint fails when a count grows past its budget (lower it
# when a warning goes).
OPENAPI_WARNING_BUDGET := openapi:spectral.yml=37 openapi:spectral-security.yml=5 openapi:spectral-oas.yml=0 \
	openapi-hsds:spectral.yml=6 openapi-hsds:spectral-security.yml=302 openapi-hsds:spectral-oas.yml=0

openapi-lint: ## the served OpenAPI document against the Italian PA guidelines (main and security rulesets) and spectral:oas
	@mkdir -p $(BIN)
	$(GO) run ./gateway/cmd/ponte openapi --public-url=https://ponte.example.org > $(BIN)/openapi.json
	$(GO) run ./gateway/cmd/ponte openapi --hsds --public-url=https://ponte.example.org > $(BIN)/openapi-hsds.json
	@for doc in openapi openapi-hsds; do for rs in third_party/italian-api-guidelines/spectral.yml third_party/italian-api-guidelines/security/spectral-security.yml third_party/spectral-oas.yml; do \
		echo "== $$doc.json: $$rs"; \
		npx --yes -p @stoplight/spectral-cli@6 spectral lint --fail-severity=error -f text -r $$rs $(BIN)/$$doc.json > $(BIN)/spectral.txt || { cat $(BIN)/spectral.txt; exit 1; }; \
		grep -Eo ' (warning|information|hint) +[A-Za-z0-9-]+' $(BIN)/spectral.txt | sort | uniq -c | sort -rn || true; \
		warnings=$$(grep -Ec '^[^ ]+ +warning ' $(BIN)/spectral.txt || true); \
		budget=0; for b in $(OPENAPI_WARNING_BUDGET); do [ "$${b%%=*}" = "$$doc:$$(basename $$rs)" ] && budget=$${b#*=}; done; \
		echo "$$warnings warnings (budget $$budget)"; \
		if [ "$$warnings" -gt "$$budget" ]; then grep -E '^[^ ]+ +warning ' $(BIN)/spectral.txt; echo "$$doc.json, $$rs: $$warnings warnings, over the budget of $$budget"; exit 1; fi; \
	done; done

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l $(MODULES) tools)"; if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

check-generated: generate ## fail if committed generated code differs from buf generate
	@if [ -n "$$(git status --porcelain -- proto)" ]; then \
		echo "generated code is out of date: run 'make generate' and commit"; git status --porcelain -- proto; git diff --stat -- proto; exit 1; fi
