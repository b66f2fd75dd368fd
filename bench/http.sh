#!/usr/bin/env bash
# The Management API under load, as clients use it: role creations per second with 16
# concurrent connections, and GET /roles/{id}/permissions reads per second. Not a test: it
# reports, it does not assert.
#
#   bench/http.sh                                            # SQLite in a temporary directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/bench bench/http.sh   # an empty PostgreSQL db
#
# Needs `wrk` (Debian: apt-get install wrk) and curl. BENCH_SECONDS sets the time per row
# (default 10). The load generator runs on the same machine and shares its cores.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-16}"
port="${BENCH_PORT:-3917}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

source bench/lib.sh
start_server

cat >"$work/create.lua" <<'LUA'
-- Unique role names: each wrk thread gets its own id, each request its own number.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"name":"role-%d-%d"}', id, n)
  return wrk.format("POST", "/api/v2/roles", nil, body)
end
response = function(status)
  if status ~= 200 then error("status " .. status) end
end
LUA

run() { # name, wrk args...: with the management token, as JSON
  local name=$1; shift
  wrk_row "$name" -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"
}

table_header
run "POST /roles" -s "$work/create.lua" "$base/api/v2/roles"

scopes=$(seq 0 9 | sed 's/.*/{"value":"read:thing&"}/' | paste -sd,)
api POST /resource-servers "{\"name\":\"Bench\",\"identifier\":\"https://bench/\",\"scopes\":[$scopes]}" >/dev/null
role=$(api POST /roles '{"name":"readers"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
permissions=$(seq 0 9 | sed 's|.*|{"resource_server_identifier":"https://bench/","permission_name":"read:thing&"}|' | paste -sd,)
api POST "/roles/$role/permissions" "{\"permissions\":[$permissions]}" >/dev/null
run "GET /roles/{id}/permissions" "$base/api/v2/roles/$role/permissions"
