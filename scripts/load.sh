#!/usr/bin/env bash
# Load figures for docs/performance.md, against a release build.
#
#   scripts/load.sh                 # embedded default (SQLite + in-memory stores)
#   GATEHOUSE_DATABASE_URL=postgres://... GATEHOUSE_REDIS_URL=redis://... scripts/load.sh
#
# Needs wrk (Debian: apt-get install wrk). DURATION and CONNECTIONS tune the runs.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18080}
B="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release -p gatehouse >/dev/null

export GATEHOUSE_ADDR="127.0.0.1:$PORT"
export GATEHOUSE_DATABASE_URL="${GATEHOUSE_DATABASE_URL:-sqlite://$WORK/load.db?mode=rwc}"
export RUST_LOG=warn
# Load comes from one address: lift the per-address limits out of the way of the figures.
export GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS=1000000 GATEHOUSE_REFRESHES_PER_ADDRESS=1000000
target/release/gatehouse serve &
SERVER=$!
for _ in $(seq 1 100); do curl -fsS "$B/health/live" >/dev/null 2>&1 && break; sleep 0.1; done

echo "RSS at idle: $(ps -o rss= -p "$SERVER") KiB"

EMAIL="load-$RANDOM-$$@example.com"
PASSWORD="violet-tractor-42"
curl -fsS -X POST "$B/api/v1/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"username\":\"load$RANDOM$$\",\"password\":\"$PASSWORD\",\"password_confirm\":\"$PASSWORD\"}" >/dev/null
ACCESS=$(curl -fsS -X POST "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

run() { # title, wrk args...
    local title=$1; shift
    echo; echo "### $title"
    wrk --latency -d"$DURATION" "$@" | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors'
}

run "GET /health/live" -t2 -c"$CONNECTIONS" "$B/health/live"
run "GET /api/v1/users/me (bearer)" -t2 -c"$CONNECTIONS" -H "Authorization: Bearer $ACCESS" "$B/api/v1/users/me"
SESSION=$(curl -fsS -D - -o /dev/null -X POST "$B/api/v1/sessions" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | sed -n 's/^set-cookie: \(gatehouse_session=[^;]*\).*/\1/Ip')
run "GET /api/v1/users/me (session cookie)" -t2 -c"$CONNECTIONS" -H "Cookie: $SESSION" "$B/api/v1/users/me"
echo "RSS after load: $(ps -o rss= -p "$SERVER") KiB"

# Refresh: every exchange returns the next token and kills the one presented, so each
# connection follows its own chain (its own login, its own family). One connection per wrk
# thread, REFRESH_CHAINS of them.
REFRESH_CHAINS=${REFRESH_CHAINS:-8}
CHAINS=()
for _ in $(seq 1 "$REFRESH_CHAINS"); do
    CHAINS+=("$(curl -fsS -X POST "$B/api/v1/auth/login" -H 'content-type: application/json' \
      -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')")
done
cat > "$WORK/refresh.lua" <<'LUA'
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
function init(args)
  token = args[id]
end
function request()
  return wrk.format("POST", "/api/v1/auth/refresh", { ["X-Refresh-Token"] = token }, "")
end
function response(status, headers, body)
  if status == 200 then
    token = body:match('"refresh_token":"([^"]+)"') or token
  end
end
LUA
run "POST /api/v1/auth/refresh ($REFRESH_CHAINS chains)" -t"$REFRESH_CHAINS" -c"$REFRESH_CHAINS" \
  -s "$WORK/refresh.lua" "$B/api/v1/auth/refresh" -- "${CHAINS[@]}"

cat > "$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"$EMAIL","password":"$PASSWORD"}'
LUA
echo; echo "### POST /api/v1/auth/login alone"
wrk --latency --timeout 30s -t1 -c8 -d"$DURATION" -s "$WORK/login.lua" "$B/api/v1/auth/login" \
  | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors'

echo; echo "### GET /health/live (2 connections) while logins saturate the hasher"
wrk --latency --timeout 30s -t1 -c8 -d"$DURATION" -s "$WORK/login.lua" "$B/api/v1/auth/login" > "$WORK/login.txt" &
FLOOD=$!
sleep 1
wrk --latency -t1 -c2 -d"$DURATION" "$B/health/live" | grep -E 'Requests/sec|50%|99%' | sed 's/^/  live: /'
wait "$FLOOD"
grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' "$WORK/login.txt" | sed 's/^/  login: /'
echo "RSS after login flood: $(ps -o rss= -p "$SERVER") KiB"
