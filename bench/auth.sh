#!/usr/bin/env bash
# Authentication under load: client_credentials tokens/s (RS256, ES256, EdDSA), password logins/s beside the
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

source bench/lib.sh
start_server
# The argon2id ceiling is measured right before and after the login row: on a shared machine
# it moves by a third from one hour to the next, and the ratio is only meaningful side by side.
cargo bench -p api --bench argon2 --no-run --quiet 2>/dev/null
ceiling() { echo "argon2id ceiling ($1): $(BENCH_SECONDS="$seconds" cargo bench -p api --bench argon2 --quiet 2>/dev/null | tail -1)" >&2; }

app=$(api POST /clients '{"name":"Bench app","app_type":"regular_web","grant_types":["password","client_credentials"]}')
app_id=$(field client_id <<<"$app")
app_secret=$(field client_secret <<<"$app")
for alg in RS256 ES256 EdDSA; do # https://bench/ signs RS256; https://bench-es256/, https://bench-eddsa/
  identifier="https://bench/"
  [ "$alg" = RS256 ] || identifier="https://bench-$(tr '[:upper:]' '[:lower:]' <<<"$alg")/"
  api POST /resource-servers "{\"name\":\"Bench $alg\",\"identifier\":\"$identifier\",\"signing_alg\":\"$alg\",\"scopes\":[{\"value\":\"read:things\"}]}" >/dev/null
  api POST /client-grants "{\"client_id\":\"$app_id\",\"audience\":\"$identifier\",\"scope\":[\"read:things\"]}" >/dev/null
done
api POST /users '{"email":"bench@example.com","password":"correct horse battery"}' >/dev/null

body() { # a JSON body as a wrk script
  cat >"$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["content-type"] = "application/json"
response = function(status) if status ~= 200 then error("status " .. status) end end
LUA
}
for audience in bench bench-es256 bench-eddsa; do
  body "cc-$audience" "{\"grant_type\":\"client_credentials\",\"client_id\":\"$app_id\",\"client_secret\":\"$app_secret\",\"audience\":\"https://$audience/\"}"
done
body password "{\"grant_type\":\"password\",\"username\":\"bench@example.com\",\"password\":\"correct horse battery\",\"client_id\":\"$app_id\",\"client_secret\":\"$app_secret\",\"audience\":\"https://bench/\"}"
user_token=$(curl -sf "$base/oauth/token" -H 'content-type: application/json' -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/password.lua")" | field access_token)
body introspect "{\"token\":\"$user_token\",\"client_id\":\"$app_id\",\"client_secret\":\"$app_secret\"}"

run() { # name, script, path
  wrk_row "$1" -s "$work/$2.lua" "$base$3"
}
table_header
run "client_credentials (RS256)" cc-bench /oauth/token
run "client_credentials (ES256)" cc-bench-es256 /oauth/token
run "client_credentials (EdDSA)" cc-bench-eddsa /oauth/token
ceiling before
run "password login" password /oauth/token
ceiling after
run "introspection" introspect /oauth/introspect
