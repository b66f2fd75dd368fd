#!/usr/bin/env bash
# Authentication under load: client_credentials tokens/s (RS256), password logins/s beside the
# machine's argon2id verifications/s, and introspection requests/s. Not a test: it reports.
#
#   bench/auth.sh                                                           # SQLite, temporary
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/bench bench/auth.sh    # an empty database
#
# Needs `wrk` and curl. BENCH_SECONDS sets the time per row (default 10), BENCH_CONNECTIONS the
# connections (default 16). The load generator shares the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-16}"
port="${BENCH_PORT:-3918}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -p api --quiet
echo "argon2id ceiling: $(BENCH_SECONDS="$seconds" cargo bench -p api --bench argon2 --quiet 2>/dev/null | tail -1)"
url="${BENCH_DATABASE_URL:-sqlite://$work/bench.db}"
TENANCY_BOOTSTRAP_CLIENT_ID=bench TENANCY_BOOTSTRAP_CLIENT_SECRET=bench-secret \
  TENANCY_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" RUST_LOG=warn \
  target/release/tenancy serve --listen "127.0.0.1:$port" --database-url "$url" >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }
token=$(curl -sf "$base/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"$base/api/v2/\"}" | field access_token)
api() { curl -sf -X "$1" "$base/api/v2$2" -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$3"; }

api POST /resource-servers '{"name":"Bench","identifier":"https://bench/","scopes":[{"value":"read:things"}]}' >/dev/null
app=$(api POST /clients '{"name":"Bench app","app_type":"regular_web","grant_types":["password","client_credentials"]}')
app_id=$(field client_id <<<"$app")
app_secret=$(field client_secret <<<"$app")
api POST /client-grants "{\"client_id\":\"$app_id\",\"audience\":\"https://bench/\",\"scope\":[\"read:things\"]}" >/dev/null
api POST /users '{"email":"bench@example.com","password":"correct horse battery"}' >/dev/null

body() { # a JSON body as a wrk script
  cat >"$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["content-type"] = "application/json"
response = function(status) if status ~= 200 then error("status " .. status) end end
LUA
}
body cc "{\"grant_type\":\"client_credentials\",\"client_id\":\"$app_id\",\"client_secret\":\"$app_secret\",\"audience\":\"https://bench/\"}"
body password "{\"grant_type\":\"password\",\"username\":\"bench@example.com\",\"password\":\"correct horse battery\",\"client_id\":\"$app_id\",\"client_secret\":\"$app_secret\",\"audience\":\"https://bench/\"}"
user_token=$(curl -sf "$base/oauth/token" -H 'content-type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/password.lua")" | field access_token)
body introspect "{\"token\":\"$user_token\",\"client_id\":\"$app_id\",\"client_secret\":\"$app_secret\"}"

run() { # name, script, path
  local out rps p50 p99 errors
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/$2.lua" "$base$3")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -cE 'Non-2xx|Socket errors' <<<"$out" || true)
  echo "| ${url%%:*} | $1 | $connections | ${rps%.*} | $p50 | $p99 | $([ "$errors" = 0 ] && echo none || echo "see wrk output") |"
  [ "$errors" = 0 ] || echo "$out" >&2
}
echo "| backend | operation | connections | requests/s | p50 latency | p99 latency | errors |"
echo "|---|---|---:|---:|---:|---:|---|"
run "client_credentials (RS256)" cc /oauth/token
run "password login" password /oauth/token
run "introspection" introspect /oauth/introspect
