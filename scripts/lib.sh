# shellcheck shell=bash
# Shared helpers for scripts/demo.sh, scripts/dev.sh, scripts/test.sh and .ci/run:
# check Node, install npm dependencies, and find (or install with apt-get)
# the system programs Resonance needs: redis-server/redis-cli and Chromium.
#
# Source it, do not run it. Every ensure_* function returns non-zero (after
# saying why and what to do) instead of exiting, so callers write e.g.
#   ensure_redis_server || exit 1
# It is safe under `set -euo pipefail`.

# Print a message for the user on stderr.
say() {
  printf 'resonance: %s\n' "$*" >&2
}

# Node.js >= 20.11 and npm must be on PATH.
ensure_node() {
  local how="install Node.js 20 LTS or newer, for example with nvm (nvm install 20), brew install node@20 (macOS) or dnf install nodejs20 (Fedora); the nodejs package of Debian 12 and Ubuntu 24.04 is version 18, too old"
  if ! command -v node >/dev/null 2>&1; then
    say "node is not on PATH; Resonance needs Node.js 20.11 or newer."
    say "$how"
    return 1
  fi
  local version major minor rest
  version="$(node -p 'process.versions.node' 2>/dev/null || true)"
  major="${version%%.*}"
  rest="${version#*.}"
  minor="${rest%%.*}"
  if ! [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]]; then
    say "could not read the version of $(command -v node) (got '${version}'); Resonance needs Node.js 20.11 or newer."
    say "$how"
    return 1
  fi
  if ((major < 20 || (major == 20 && minor < 11))); then
    say "node ${version} ($(command -v node)) is too old; Resonance needs Node.js 20.11 or newer."
    say "$how"
    return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    say "npm is not on PATH (node ${version} is). npm ships with the Node.js builds from nvm, brew and NodeSource; on Debian/Ubuntu it may be a separate package (apt-get install npm)."
    return 1
  fi
}

# Run `npm ci` when node_modules is missing or older than package-lock.json.
# Expects the current directory to be the repository root.
ensure_deps() {
  if [[ ! -f package-lock.json ]]; then
    say "package-lock.json is missing in $(pwd); run this from a full checkout of the repository."
    return 1
  fi
  # -nt is also true when node_modules/.package-lock.json does not exist.
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "installing npm dependencies (npm ci)..."
    if ! npm ci; then
      say "npm ci failed (see the npm output above); fix that and run the command again."
      return 1
    fi
  fi
}

# Set once `apt-get update` has run in this process, so it runs at most once.
RESONANCE_APT_UPDATED="${RESONANCE_APT_UPDATED:-}"

# _resonance_as_root USE_SUDO CMD...: run CMD (its output to stderr), as
# `sudo -n CMD...` when USE_SUDO is "yes", directly otherwise (we are root).
_resonance_as_root() {
  local use_sudo="$1"
  shift
  if [[ "$use_sudo" == yes ]]; then
    sudo -n "$@" >&2
  else
    "$@" >&2
  fi
}

# ensure_pkg CMD DEBIAN_PKG DNF_PKG BREW_PKG WHY
# Returns 0 if CMD is on PATH. Otherwise installs DEBIAN_PKG with apt-get when
# that is possible without a password (root, or `sudo -n`); if it is not
# possible or fails, prints how to install the package and returns 1.
ensure_pkg() {
  local cmd="$1" deb="$2" dnf="$3" brew="$4" why="$5"
  if command -v "$cmd" >/dev/null 2>&1; then
    return 0
  fi

  local use_sudo=no reason=""
  if ! command -v apt-get >/dev/null 2>&1; then
    reason="apt-get is not available on this system"
  elif [[ "$(id -u)" == 0 ]]; then
    use_sudo=no
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    use_sudo=yes
  else
    reason="installing needs root, and sudo without a password is not available"
  fi

  if [[ -z "$reason" ]]; then
    say "${cmd} is missing (${why}); installing ${deb} with apt-get..."
    if [[ -z "$RESONANCE_APT_UPDATED" ]]; then
      if _resonance_as_root "$use_sudo" apt-get update -qq; then
        RESONANCE_APT_UPDATED=1
      else
        say "apt-get update failed; trying to install ${deb} from the existing package lists."
      fi
    fi
    if _resonance_as_root "$use_sudo" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb"; then
      hash -r
      if command -v "$cmd" >/dev/null 2>&1; then
        say "installed ${deb}; ${cmd} is $(command -v "$cmd")."
        return 0
      fi
      reason="apt-get installed ${deb}, but ${cmd} is still not on PATH"
    else
      reason="apt-get install ${deb} failed (see its output above)"
    fi
  fi

  say "${cmd} is missing (${why}) and could not be installed automatically: ${reason}."
  say "Install it with: apt-get install ${deb} (Debian/Ubuntu), dnf install ${dnf} (Fedora), brew install ${brew} (macOS)"
  return 1
}

# redis-server and redis-cli are both required (the test suite always needs them).
ensure_redis_server() {
  ensure_pkg redis-server redis-server redis redis "the server keeps its state in Redis" || return 1
  # Debian's redis-server depends on redis-tools, which holds redis-cli.
  ensure_pkg redis-cli redis-tools redis redis "it comes with Redis and the integration tests need it" || return 1
}

# Like ensure_redis_server, but skipped when REDIS_URL is set: then the
# server uses that Redis and starts none of its own.
ensure_redis() {
  if [[ -n "${REDIS_URL:-}" ]]; then
    return 0
  fi
  ensure_redis_server
}

# Chromium for the browser (e2e) tests. Exports CHROMIUM_PATH: the caller's
# CHROMIUM_PATH if set, else /usr/bin/chromium (Debian's package), else the
# chromium found on PATH.
ensure_chromium() {
  if [[ -n "${CHROMIUM_PATH:-}" ]]; then
    if [[ -f "$CHROMIUM_PATH" && -x "$CHROMIUM_PATH" ]]; then
      export CHROMIUM_PATH
      return 0
    fi
    say "CHROMIUM_PATH is set to '${CHROMIUM_PATH}', which is not an executable file; point it at a Chromium binary or unset it to use /usr/bin/chromium."
    return 1
  fi
  if [[ ! -x /usr/bin/chromium ]]; then
    ensure_pkg chromium chromium chromium chromium "browser tests drive headless Chromium" || return 1
  fi
  if [[ -x /usr/bin/chromium ]]; then
    CHROMIUM_PATH=/usr/bin/chromium
  else
    CHROMIUM_PATH="$(command -v chromium)"
  fi
  export CHROMIUM_PATH
}
