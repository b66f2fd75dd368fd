#!/usr/bin/env bash
# The control plane's fan-out with many child tenants (F4): (a) latency of creating a role on
# the control plane, with no tenant and with BENCH_TENANTS of them; (b) time until a new role,
# and a new permission of it, are visible in every child; (c) cost of creating one more
# tenant (which receives every synced entity). Not a test: it reports, it does not assert.
#
#   bench/fanout.sh                                                 # SQLite in a temporary directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/bench bench/fanout.sh   # an empty PostgreSQL db
#
# BENCH_TENANTS (default 10000) child tenants are created first, BENCH_PARALLEL (default 8)
# at a time. "Visible everywhere" is a read with ?min_position=<the role's position>, which
# answers once every projection, the fan-out included, has applied it.
set -euo pipefail
cd "$(dirname "$0")/.."

tenants="${BENCH_TENANTS:-10000}"
parallel="${BENCH_PARALLEL:-8}"
port="${BENCH_PORT:-3918}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

source bench/lib.sh
start_server TENANCY_CONSISTENCY_TIMEOUT_MS=60000
export base token

# seconds of one call: method, path, body; prints "seconds position body" on one line
timed() {
  curl -s -o "$work/body" -D "$work/headers" -w '%{time_total}' -X "$1" "$base/api/v2$2" \
    -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"} >"$work/time"
  local position
  position=$(awk 'tolower($1) == "x-tenancy-position:" {print $2}' "$work/headers" | tr -d '\r')
  echo "$(cat "$work/time") ${position:-0} $(cat "$work/body")"
}

# median and p95 in ms of `count` role creations, one after the other; with `drained`, each
# waits until the previous one is visible in every child (the fan-out idle), so that the
# figure is the command's own and not its contention with the fan-out of the one before
role_latency() {
  local count=$1 label=$2 drained=${3:-}
  for i in $(seq 1 "$count"); do
    read -r seconds position _ < <(timed POST /roles "{\"name\":\"$label-$i\"}")
    echo "$seconds" | awk '{print $1 * 1000}'
    if [ -n "$drained" ]; then
      curl -sf -o /dev/null "$base/api/v2/roles?per_page=1&min_position=$position" -H "authorization: Bearer $token"
    fi
  done | sort -n | awk -v label="$label" '{a[NR]=$1} END {printf "  %-44s p50 %.1f ms  p95 %.1f ms  (%d creates)\n", label, a[int(NR*0.5)+1], a[int(NR*0.95)], NR}'
}

# seconds until `position` is visible everywhere, measured from `start` (epoch seconds)
visible_after() {
  local position=$1 start=$2
  curl -sf -o /dev/null "$base/api/v2/roles?per_page=1&min_position=$position" -H "authorization: Bearer $token"
  echo "$(date +%s.%N) - $start" | bc
}

# waits until everything committed so far is visible in every child
drain() {
  local head
  head=$(curl -sf "$base/metrics" | awk '$1 ~ /log_head_position$/ {print $2}')
  curl -sf -o /dev/null "$base/api/v2/roles?per_page=1&min_position=${head:-0}" -H "authorization: Bearer $token"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); database: ${url%%://*}"
echo "(a) role creation on the control plane"
# Something to sync: an API with two scopes.
api=$(timed POST /resource-servers '{"name":"Invoices","identifier":"https://invoices.example/","scopes":[{"value":"read:invoices"},{"value":"write:invoices"}]}')
role_latency 50 "with 0 child tenants"

# creates child tenants t<from>..t<to>, `parallel` at a time, and waits for the fan-out
create_tenants() {
  local from=$1 to=$2 start elapsed
  start=$(date +%s)
  seq "$from" "$to" | xargs -P "$parallel" -I{} curl -sf -o /dev/null "$base/api/v2/tenants" \
    -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"id":"t{}"}'
  elapsed=$(( $(date +%s) - start ))
  echo "  created child tenants t$from..t$to in ${elapsed}s ($parallel at a time)"
  drain
}

# The latency at a tenth of the tenants and at all of them: flat if it does not grow with them.
tenth=$(( tenants / 10 ))
create_tenants 1 "$tenth"
role_latency 50 "with $tenth child tenants, fan-out idle" drained
role_latency 50 "with $tenth child tenants, back to back"
drain
create_tenants $(( tenth + 1 )) "$tenants"
role_latency 50 "with $tenants child tenants, fan-out idle" drained
role_latency 50 "with $tenants child tenants, back to back"
drain

echo "(b) fan-out of one new role to $tenants children"
t0=$(date +%s.%N)
read -r seconds position body < <(timed POST /roles '{"name":"fanned-out"}')
role=$(sed -E 's/.*"id":"([^"]+)".*/\1/' <<<"$body")
visible=$(visible_after "$position" "$t0")
printf "  created in %.1f ms; visible in all %d children %.3f s after the request (%.0f rows/s)\n" \
  "$(echo "$seconds * 1000" | bc)" "$tenants" "$visible" "$(echo "$tenants / $visible" | bc -l)"
t0=$(date +%s.%N)
read -r seconds position _ < <(timed POST "/roles/$role/permissions" \
  '{"permissions":[{"resource_server_identifier":"https://invoices.example/","permission_name":"read:invoices"}]}')
visible=$(visible_after "$position" "$t0")
printf "  permission added in %.1f ms; visible in all children %.3f s after (%.0f rows/s)\n" \
  "$(echo "$seconds * 1000" | bc)" "$visible" "$(echo "$tenants / $visible" | bc -l)"

echo "(c) one more tenant, with $(( 50 * 5 + 1 )) roles and 1 API to receive"
t0=$(date +%s.%N)
read -r seconds position _ < <(timed POST /tenants '{"id":"one-more"}')
visible=$(visible_after "$position" "$t0")
printf "  created in %.1f ms; its synced entities visible %.3f s after the request\n" \
  "$(echo "$seconds * 1000" | bc)" "$visible"
