#!/bin/sh
# Rebuild renderers/static/editor.js, the one vendored file of the definition
# editor (CodeMirror 6, YAML, JSON Schema completion).  Needs node + npm once,
# at build time only; the platform serves the committed bundle itself.
set -eu
cd "$(dirname "$0")"
npm install --no-audit --no-fund --ignore-scripts
node build.mjs
