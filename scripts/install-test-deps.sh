#!/usr/bin/env bash
# What the tests need besides Python packages: Node.js with the pinned npm clients of tests/clients,
# curl and jq (the docs' examples), gcc (the ELF libraries tests/test_interpreter.py builds), and
# Chromium with its WebDriver (the web console's browser test). Debian's packages for whatever is
# missing (apt-get needs root), then `npm ci` when node_modules does not match the lock file. Quick
# when everything is there; .ci/run runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."

# ---- Node.js, the npm clients the tests drive (tests/clients: @supabase/functions-js,
# @supabase/supabase-js, ws; versions pinned by its package-lock.json), and curl and jq, which the
# docs' examples use (tests/e2e/test_doc_examples.py). Debian's packages for whatever is missing;
# `npm ci` only when node_modules does not match the lock file.
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)  # the ELF libraries of tests/test_interpreter.py
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
clients_lock=$(sha256sum tests/clients/package-lock.json | cut -d' ' -f1)
if [ "$(cat tests/clients/node_modules/.lock-sha256 2>/dev/null)" != "$clients_lock" ]; then
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
  echo "$clients_lock" >tests/clients/node_modules/.lock-sha256
fi
node --version
# ---- end of the Node.js block

# ---- Chromium and its WebDriver, for the web console's browser test (tests/e2e/test_console.py:
# Selenium, from the test extras, drives /usr/bin/chromium through /usr/bin/chromedriver).
# Debian's packages (their versions move with Debian's security updates, so they are not pinned),
# installed when missing; the test never skips.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromedriver --version
# ---- end of the Chromium block
