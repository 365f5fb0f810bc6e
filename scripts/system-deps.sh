#!/usr/bin/env bash
# Install the Debian packages the tests need, only those missing, idempotently.
# Also make sure a Redis answers on 127.0.0.1:6379 for the tests (start Debian's redis-server if not).
# --no-redis: only the packages (used by `make run`, which has its own embedded Redis).
set -euo pipefail
redis=1
if [ "${1:-}" = "--no-redis" ]; then redis=0; shift; fi
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((redis)) && { ! command -v redis-cli >/dev/null 2>&1 || ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "system-deps: missing Debian packages: ${missing[*]} (run as root to install them)" >&2; exit 0; fi
  echo "system-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((redis)) && command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "system-deps: starting redis-server on 127.0.0.1:6379 for the tests" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
