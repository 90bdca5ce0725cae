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
# (npx -> tsx watch -> node -> redis-server) and Vite can each be stopped as a
# whole. Both run in the background with stdin from /dev/null (a background
# job reading the terminal would be stopped); this script waits for Vite, and
# Ctrl-C or a TERM to it stops both.
set -m

api_pid=""
vite_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
stop_job() {
  local name="$1" pid="$2"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    say "stopping ${name}..."
    kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
  stop_job Vite "$vite_pid"
  stop_job "the API server" "$api_pid"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "starting the API server on port ${api_port} (tsx watch server/server.ts --source demo)..."
npx tsx watch server/server.ts --source demo --port "$api_port" </dev/null &
api_pid=$!

say "starting Vite; the page is at http://localhost:5173/ (API proxied to ${API_URL}); Ctrl-C stops both."
npx vite </dev/null &
vite_pid=$!

status=0
wait "$vite_pid" || status=$?
vite_pid=""
exit "$status"
