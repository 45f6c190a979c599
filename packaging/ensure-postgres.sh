#!/usr/bin/env bash
# The test suite needs the local PostgreSQL (127.0.0.1:5432, trust auth, database `test`).
# Start it when it is down; fail loudly when it cannot be reached: tests never skip it.
set -euo pipefail
reachable() { psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; }
if ! reachable; then
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do reachable && break; sleep 1; done
fi
if ! reachable; then
  echo "packline: PostgreSQL at 127.0.0.1:5432 (database test) is unreachable; the tests need it." >&2
  exit 1
fi
echo "PostgreSQL reachable at 127.0.0.1:5432"
