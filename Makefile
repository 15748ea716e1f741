.DEFAULT_GOAL := help
.PHONY: help install run test lint fmt bench

help: ## List the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: ## Create .venv and install every requirement
	bash -c 'source bin/_venv.sh'

run: ## Install, migrate, create the demo and run web, worker, beat and the emulator
	bin/run

test: ## Install and run the whole test suite (lint, migrations check, pytest)
	bin/test

lint: ## ruff lint and format check, mypy
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && DEBUG=true .venv/bin/mypy

fmt: ## ruff format and autofix
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench: ## Print the benchmark figures (needs PostgreSQL and Redis; see bench/README.md)
	for f in bench/*.py; do .venv/bin/python $$f || exit 1; done
