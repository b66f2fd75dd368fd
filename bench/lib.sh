# Shared by the benchmark scripts (sourced, not run): a release server on an empty database
# with a known bootstrap client, its management token, and a wrk run reported as a table row.
# The sourcing script sets `port` and `work` (a temporary directory it removes on exit) and
# kills "$server" on exit.

# Builds and starts the server; extra arguments are environment assignments for it. Sets
# url, server, base and token.
start_server() {
  cargo build --release -p api --quiet
  url="${BENCH_DATABASE_URL:-sqlite://$work/bench.db}"
  env TENANCY_BOOTSTRAP_CLIENT_ID=bench TENANCY_BOOTSTRAP_CLIENT_SECRET=bench-secret \
    TENANCY_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" RUST_LOG=warn "$@" \
    target/release/tenancy serve --listen "127.0.0.1:$port" --database-url "$url" >"$work/server.log" 2>&1 &
  server=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  token=$(curl -sf "$base/oauth/token" -H 'content-type: application/json' \
    -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"$base/api/v2/\"}" |
    field access_token)
}

# The value of a string field of a JSON object on stdin.
field() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\\1/"; }

# A Management API call with the bootstrap token: method, path, optional body.
api() { curl -sf -X "$1" "$base/api/v2$2" -H "authorization: Bearer $token" -H 'content-type: application/json' ${3:+-d "$3"}; }

table_header() {
  echo "| backend | operation | connections | requests/s | p50 latency | p99 latency | errors |"
  echo "|---|---|---:|---:|---:|---:|---|"
}

# One wrk run of BENCH_SECONDS with BENCH_CONNECTIONS as a table row: name, wrk arguments...
wrk_row() {
  local name=$1; shift
  local out rps p50 p99 errors
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -cE 'Non-2xx|Socket errors' <<<"$out" || true)
  echo "| ${url%%:*} | $name | $connections | ${rps%.*} | $p50 | $p99 | $([ "$errors" = 0 ] && echo none || echo "see wrk output") |"
  [ "$errors" = 0 ] || echo "$out" >&2
}
