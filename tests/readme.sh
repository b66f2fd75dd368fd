#!/usr/bin/env bash
# Runs the README's "First calls" commands, exactly as written, against a fresh server on
# 127.0.0.1:3000 with the embedded default database, as a newcomer would. Fails if any command
# fails or the last one does not list the permission.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build -p api --quiet
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

(cd "$work" && exec "${CARGO_TARGET_DIR:-$root/target}/debug/tenancy" serve >stdout.log 2>stderr.log) &
server=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3000/healthz >/dev/null && break; sleep 0.1; done

bootstrap=$(grep -m1 '"bootstrapped":true' "$work/stdout.log")
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$bootstrap" "$1"; }
export CLIENT_ID CLIENT_SECRET
CLIENT_ID=$(field client_id)
CLIENT_SECRET=$(field client_secret)

# The second sh block of the "First calls" section, minus the two placeholder lines.
commands=$(awk '/^## First calls/{on=1; next} /^## /{on=0} on' README.md |
  awk '/^```sh/{n++; inside=1; next} /^```/{inside=0} inside && n==1' |
  grep -vE '^CLIENT_(ID|SECRET)=')
output=$(bash -euo pipefail -c "$commands")
echo "$output"
grep -q '"permission_name":"read:invoices"' <<<"$output"
grep -q '"resource_server_name":"Invoices"' <<<"$output"
grep -q '"email":"jane@acme.example"' <<<"$output"
echo "README commands work as written"
