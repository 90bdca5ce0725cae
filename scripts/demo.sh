#!/usr/bin/env bash
# `npm run demo`: start everything with one command. Checks Node, installs npm
# dependencies and redis-server if needed, builds the server and the web app
# when the build is missing or out of date, then runs the server fed by the
# built-in simulator (--source demo). Extra arguments go to the server, e.g.
#   npm run demo -- --port 9000
# The server prints the address of the page when it is up.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_node || exit 1
ensure_deps || exit 1

# The server starts its own redis-server unless given a Redis to use.
uses_own_redis=1
if [[ -n "${REDIS_URL:-}" ]]; then
  uses_own_redis=0
fi
for arg in "$@"; do
  case "$arg" in
    --redis-url | --redis-url=*) uses_own_redis=0 ;;
  esac
done
if ((uses_own_redis)); then
  ensure_redis_server || exit 1
fi

# Build when an output is missing or any source is newer than the outputs.
web_out=dist/web/index.html
server_out=dist/server/server.js
build_reason=""
if [[ ! -f "$web_out" || ! -f "$server_out" ]]; then
  build_reason="no build yet"
else
  newer="$(find web server shared package.json package-lock.json vite.config.ts tsconfig.json tsconfig.build.json \
    -type f \( -newer "$web_out" -o -newer "$server_out" \) -print -quit 2>/dev/null || true)"
  if [[ -n "$newer" ]]; then
    build_reason="${newer} changed since the last build"
  fi
fi
if [[ -n "$build_reason" ]]; then
  say "building the server and the web app (npm run build; ${build_reason})..."
  if ! npm run build; then
    say "the build failed (see the errors above); nothing was started."
    exit 1
  fi
fi

exec node "$server_out" --source demo "$@"
