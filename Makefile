# The two front doors of the README. Each one sets everything up first.
PY := .venv/bin/python

.PHONY: run test check setup bench

setup:
	@bash scripts/bootstrap.sh
	@$(PY) -m simulation.engine.warm

run: setup
	$(PY) run.py run scenarios/relational_vs_billboard.yaml --incremental --out results/relational_vs_billboard --force

test: setup
	$(PY) -m pytest -q

check: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) benchmarks/throughput.py
