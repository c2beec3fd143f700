# Two commands do everything: `make run` (portal with demo data) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench worker beat browser-deps clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

# axe-core (accessibility engine) for the browser tests, when npm is there.
browser-deps:
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/browser --no-audit --no-fund --silent; \
	else echo "npm absent : les tests navigateur seront ignorés hors CI."; fi

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	@echo "Portail : http://$(HOST):$(PORT)/"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install browser-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmarks create and drop their own rows in the project's tables: the database is migrated first.
bench: install
	$(BIN)/python manage.py migrate --noinput
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

worker: install
	$(BIN)/celery -A mes worker --loglevel=INFO

beat: install
	$(BIN)/celery -A mes beat --loglevel=INFO

clean:
	rm -rf $(VENV) staticfiles tests/browser/node_modules
