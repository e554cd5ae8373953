# The few verbs people type.  Both quick-start targets work on a fresh machine
# with only Python 3.11+ and make (`make test` also needs LibreOffice: see `office`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean office screenshot

$(BIN)/sheetsync: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e .
	touch $@

$(VENV)/.test-extras: pyproject.toml $(BIN)/sheetsync
	$(BIN)/python -m pip install --quiet --quiet -e '.[test]'
	touch $@

$(VENV)/.dev-extras: pyproject.toml $(BIN)/sheetsync
	$(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/sheetsync
	rm -rf demo-out && mkdir -p demo-out
	cp sample_workbooks/pipeline.xlsx demo-out/pipeline.xlsx
	cd demo-out && ../$(BIN)/sheetsync sync pipeline.xlsx --as-of 2026-11-27 --out drafts --verbose; \
	  status=$$?; echo; echo "exit code $$status (1 = the sample's deliberate rule violations were found)"; \
	  echo "Wrote demo-out/pipeline.xlsx (Summary, Checks, History tabs) and demo-out/drafts/"; \
	  test $$status -le 1

test: $(VENV)/.test-extras office
	$(BIN)/python -m pytest -q

# The tests open every workbook sheetsync writes in LibreOffice, a second and independent
# reader; they fail without it.  On a fresh Debian/Ubuntu machine run as root (CI) this
# installs it; anywhere else it says what to install.
office:
	@command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing LibreOffice (libreoffice-calc-nogui) for the tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends libreoffice-calc-nogui && \
	    command -v soffice >/dev/null 2>&1; \
	  else \
	    echo "make test needs LibreOffice (soffice) on the PATH: install libreoffice-calc-nogui" \
	      "(sudo apt-get install libreoffice-calc-nogui) or LibreOffice from libreoffice.org, then run make test again" >&2; \
	    exit 1; \
	  fi; }

lint: $(VENV)/.dev-extras
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# docs/img/summary.png, the README's picture of the sample's Summary tab as LibreOffice prints it
# (needs LibreOffice and poppler-utils: pdftoppm, pdftotext).
screenshot: $(BIN)/sheetsync office
	$(BIN)/python docs/screenshot.py

bench: $(BIN)/sheetsync
	$(BIN)/python -m pip install --quiet openpyxl xlsxwriter
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) demo-out build *.egg-info .pytest_cache .mypy_cache .ruff_cache
