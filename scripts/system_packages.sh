#!/usr/bin/env bash
# Debian packages the tests need, installed when missing: PostgreSQL's server programs (the
# postgres connector and end-to-end tests start their own clusters on loopback), its client,
# redis-server (the Celery broker of the CeleryExecutor end-to-end tests, started on loopback),
# docker-compose (to check the compose file) and chromium (the Dativo view's browser test).
# Needs root or sudo only when something is missing.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# the browser the Dativo view's end-to-end test drives (Playwright uses it; it downloads none)
[ -x /usr/bin/chromium ] || need+=(chromium)
((${#need[@]})) || exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "the tests need Debian packages: ${need[*]}; install them as root (apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages the tests need: ${need[*]}"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
