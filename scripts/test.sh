#!/usr/bin/env bash
# `npm test`: the whole test suite (vitest projects unit, integration, e2e).
# Checks Node, installs npm dependencies if needed, and makes sure
# redis-server/redis-cli (integration tests) and Chromium (e2e tests) are
# installed, installing them with apt-get when possible. Arguments go to
# vitest, e.g. `npm test -- --project unit`. The e2e setup builds the web app
# itself. Exits with vitest's status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_node || exit 1
ensure_deps || exit 1
ensure_redis_server || exit 1
ensure_chromium || exit 1

# vitest's own summary, then one plain closing line that any CI can read.
report="$(mktemp -t resonance-vitest-XXXXXX.json)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
if [[ -s "$report" ]]; then
  # shellcheck disable=SC2016  # the quoted text is JavaScript
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  ' "$report" || true
fi
exit "$status"
