#!/bin/sh
# Rebuild renderers/static/editor.js, the one vendored file of the definition
# editor (CodeMirror 6, YAML, JSON Schema completion).  Needs node + npm once,
# at build time only; the platform serves the committed bundle itself.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
npm install --no-audit --no-fund --ignore-scripts
node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=eof --outfile="$here/../../renderers/static/editor.js"
echo "wrote renderers/static/editor.js"
