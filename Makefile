# The two commands of the README: `make demo` and `make test`. Both install what they need first.
.PHONY: setup demo test lint bench texts clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

setup:  ## install system packages, the virtualenv and the package (idempotent)
	@scripts/bootstrap.sh

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
