# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv/ from uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
PYTEST_ARGS ?=

.PHONY: demo test test-slow lint install clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (containers, CI images) Python would
# otherwise compile some 1,500 modules again in every process, which made each `aegis` command 2-5 s slower.
install: $(UV)
	$(UV) sync --locked --compile-bytecode
	.venv/bin/python -m compileall -q src > /dev/null

demo: install
	.venv/bin/aegis demo

# The test run: lint, types on the domain core, then pytest against SQLite and a real PostgreSQL server.
test: install
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/mypy
	AEGIS_TEST_POSTGRES_URL=$$(scripts/postgres.sh start) .venv/bin/pytest -m "not slow" -n 2 --dist loadfile $(PYTEST_ARGS); \
	  status=$$?; scripts/postgres.sh stop; exit $$status

test-slow: install
	AEGIS_TEST_POSTGRES_URL=$$(scripts/postgres.sh start) .venv/bin/pytest -m slow $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks

clean:
	rm -rf .venv .tools var
