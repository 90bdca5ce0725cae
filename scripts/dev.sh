#!/usr/bin/env bash
# `npm run dev`: development mode. Runs the API server from source with
# `tsx watch` (restarts on changes; fed by the built-in simulator) in the
# background, and the Vite dev server (hot reload, proxies the API to it) in
# the foreground. Stopping Vite (Ctrl-C) also stops the API server.
#   API_PORT  port of the API server (default 8080)
#   API_URL   where Vite proxies the API (default http://127.0.0.1:$API_PORT)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_node || exit 1
ensure_deps || exit 1
ensure_redis || exit 1

api_port="${API_PORT:-8080}"
export API_URL="${API_URL:-http://127.0.0.1:${api_port}}"

# Job control puts each job in its own process group, so the API server
# (npx -> tsx watch -> node -> redis-server) can be stopped as a whole.
set -m

api_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
stop_api() {
  if [[ -n "$api_pid" ]] && kill -0 "$api_pid" 2>/dev/null; then
    say "stopping the API server..."
    kill -TERM -- "-${api_pid}" 2>/dev/null || kill -TERM "$api_pid" 2>/dev/null || true
    wait "$api_pid" 2>/dev/null || true
  fi
}
trap stop_api EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "starting the API server on port ${api_port} (tsx watch server/server.ts --source demo)..."
# stdin from /dev/null: a background job reading the terminal would be stopped.
npx tsx watch server/server.ts --source demo --port "$api_port" </dev/null &
api_pid=$!

say "starting Vite; the page is at http://localhost:5173/ (API proxied to ${API_URL})"
status=0
npx vite || status=$?
exit "$status"
