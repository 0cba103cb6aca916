# The commands of the README: `make demo` and `make test` (both install what they need first), `make lock`.
.PHONY: setup lock demo test lint bench texts clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

setup:  ## install system packages, the virtualenv and the package (idempotent)
	@scripts/bootstrap.sh

lock: setup  ## refresh requirements.lock (pinned versions with hashes, dev extra) after editing pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" .venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev \
		--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) --output-file requirements.lock pyproject.toml

demo: setup  ## build a fresh demo database and serve it on http://127.0.0.1:8000
	.venv/bin/survey demo

test: setup  ## lint, type-check and run the whole test suite (SQLite, PostgreSQL, Chromium)
	scripts/test.sh

lint: setup  ## ruff and mypy only
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: setup  ## run the benchmarks and print their ratios
	.venv/bin/python -m bench

texts: setup  ## refresh the text catalogues survey/locale/*/LC_MESSAGES/messages.po from the sources
	.venv/bin/python -m survey.i18n_extract

clean:  ## remove generated files (virtualenv kept)
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
