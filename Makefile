# Escalate: `make run` serves the app, `make test` runs every test, `make bench` the benchmarks.
# Each target installs what it needs, so both work on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test bench lint format install install-test db clean assets bytecode chromium cairo outbox worker test-tools parsing-tools

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@

# Web assets (issue 4): npm ci from the committed lock file, then GOV.UK Frontend's JS, images and
# the stylesheet compiled with a system font stack into service/static/govuk/ (gitignored); MoJ
# Frontend's script and images for the workspace's caseworking patterns (issue 15) beside them.
ASSETS := service/static/govuk/.built

node_modules/.package-lock.json: package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(ASSETS): node_modules/.package-lock.json service/static/src/escalate.scss
	mkdir -p service/static/govuk
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js service/static/govuk/
	cp -r node_modules/govuk-frontend/dist/govuk/assets service/static/govuk/
	cp node_modules/@ministryofjustice/frontend/moj/all.bundle.mjs service/static/govuk/moj-frontend.min.js
	cp -r node_modules/@ministryofjustice/frontend/moj/assets/images/. service/static/govuk/assets/images/
	npm run --silent build
	touch $@

assets: $(ASSETS)

# Browser tests drive Debian's chromium (never a downloaded browser).
chromium:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# The annual report draws its charts with CairoSVG, which needs the system's cairo library (issue 6).
cairo:
	ldconfig -p | grep -q 'libcairo\.so\.2' || (apt-get update && apt-get install -y libcairo2)

# Reading returned documents (issue 16): Tesseract reads scans and photos; LibreOffice converts .doc,
# .odt and .rtf to .docx for the parsers. Both run at run time, inside the parsing worker.
parsing-tools:
	command -v tesseract >/dev/null && command -v soffice >/dev/null || (apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		tesseract-ocr tesseract-ocr-eng libreoffice-writer-nogui)

install: $(STAMP) $(ASSETS) cairo parsing-tools bytecode

# The service's own code compiled to bytecode once, at install and upgrade (docs/operations.md): its
# processes run as a user who cannot write beside code it does not own, so without this every process
# start compiles the service from source again (about a tenth of a second per `flask` command here).
bytecode:
	$(PY) -m compileall -q app.py forms parsers service migrations

# What the tests use as real peers: pdftk and LibreOffice re-save returned forms as a reader or Word
# would, dovecot is the IMAP server the mailbox poller is tested against, nginx runs deploy/nginx.conf
# and redis-server count rate limits in the production test (tests/production/) and hold the intake
# queue in the worker tests (each starts one of its own), and age and gpg encrypt backups as the guide says.
# Tesseract reads the scans tests/parsers/scans.py makes (also installed by parsing-tools).
TEST_TOOLS := pdftk soffice doveadm nginx age gpg redis-server tesseract
test-tools:
	for tool in $(TEST_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
	test -z "$$missing" || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends pdftk-java libreoffice-writer-nogui dovecot-imapd nginx age gpg redis-server \
		tesseract-ocr tesseract-ocr-eng)

install-test: install chromium test-tools

db: install
	$(FLASK) db-prepare

# `workspace demo` makes the DEMO-ONLY staff accounts and sample cases and prints how to sign in.
# COOKIE_SECURE=0: cookies without the Secure flag, only because this local server speaks plain http.
# A worker reads returned files (uploads, mail) from the intake queue, SQLite in instance/ by default;
# it stops with the server.
run: db
	$(FLASK) workspace demo
	$(FLASK) worker --processes 1 & worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
		COOKIE_SECURE=0 $(FLASK) run --host 127.0.0.1 --port 5000

# The intake worker on its own (e.g. a second terminal, or more processes): reads returned files.
worker: db
	$(FLASK) worker --processes 2

# The notification worker: sends the outbox over SMTP (MAIL_SERVER, MAIL_PORT), retrying with backoff.
outbox: db
	$(FLASK) outbox deliver --loop

test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Known vulnerabilities in installed packages fail the build; an unreachable service only warns.
	$(PY) -m service.ops.dependency_audit
	$(VENV)/bin/pytest -q

bench: install-test
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache
