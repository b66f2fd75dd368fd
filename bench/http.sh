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

cargo build --release -p api --quiet
url="${BENCH_DATABASE_URL:-sqlite://$work/bench.db}"
TENANCY_BOOTSTRAP_CLIENT_ID=bench TENANCY_BOOTSTRAP_CLIENT_SECRET=bench-secret \
  TENANCY_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" RUST_LOG=warn \
  target/release/tenancy serve --listen "127.0.0.1:$port" --database-url "$url" >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

token=$(curl -sf "$base/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"$base/api/v2/\"}" |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
api() { curl -sf -X "$1" "$base/api/v2$2" -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"}; }

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

run() { # name, wrk args...
  local name=$1; shift
  local out
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "authorization: Bearer $token" \
    -H 'content-type: application/json' "$@")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -cE 'Non-2xx|Socket errors' <<<"$out" || true)
  echo "| ${url%%:*} | $name | $connections | ${rps%.*} | $p50 | $p99 | $([ "$errors" = 0 ] && echo none || echo "see wrk output") |"
  [ "$errors" = 0 ] || echo "$out" >&2
}

echo "| backend | operation | connections | requests/s | p50 latency | p99 latency | errors |"
echo "|---|---|---:|---:|---:|---:|---|"
run "POST /roles" -s "$work/create.lua" "$base/api/v2/roles"

scopes=$(seq 0 9 | sed 's/.*/{"value":"read:thing&"}/' | paste -sd,)
api POST /resource-servers "{\"name\":\"Bench\",\"identifier\":\"https://bench/\",\"scopes\":[$scopes]}" >/dev/null
role=$(api POST /roles '{"name":"readers"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
permissions=$(seq 0 9 | sed 's|.*|{"resource_server_identifier":"https://bench/","permission_name":"read:thing&"}|' | paste -sd,)
api POST "/roles/$role/permissions" "{\"permissions\":[$permissions]}" >/dev/null
run "GET /roles/{id}/permissions" "$base/api/v2/roles/$role/permissions"
