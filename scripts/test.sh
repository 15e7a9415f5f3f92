#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run them.
# README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the browser tests, poppler for looking at PDFs (pdfsig, pdftotext),
# NSS tools (certutil) for the trust database pdfsig checks signed documents against,
# dovecot's IMAP server for the bounce-mailbox tests (run unprivileged on loopback, never as a service).
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"
  command -v certutil >/dev/null 2>&1 || missing="$missing libnss3-tools"
  fc-list 2>/dev/null | grep -qi "loma\|garuda" || missing="$missing fonts-thai-tlwg"
  command -v zbarimg >/dev/null 2>&1 || missing="$missing zbar-tools"  # decodes the Thai QR in tests (#8)
  [ -x /usr/sbin/dovecot ] || missing="$missing dovecot-imapd"
  # WeasyPrint subsets fonts with HarfBuzz when it has it (fontTools otherwise: ~0.4 s per document)
  ldconfig -p 2>/dev/null | grep -q "libharfbuzz-subset" || missing="$missing libharfbuzz-subset0"
  if [ -n "$missing" ]; then
    echo "installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/eservice check service_definitions/
.venv/bin/eservice check --deep service_definitions/  # every shipped service to every outcome (issue 10)
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
