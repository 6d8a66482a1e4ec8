#!/usr/bin/env bash
# Keyset pagination at depth, for docs/performance.md: the latency of the first page of
# GET /api/v1/users and of the page one million rows deep, on PostgreSQL.
#
#   scripts/pagination.sh
#   DATABASE=gatehouse_pages USERS=1000100 scripts/pagination.sh
#
# Needs wrk, psql and python3. The database is created and seeded once (`gatehouse seed-users`);
# later runs reuse it. DURATION, CONNECTIONS and DEPTH tune the run.
set -euo pipefail
cd "$(dirname "$0")/.."

PGHOST_URL=${PGHOST_URL:-postgres://postgres@127.0.0.1:5432}
DATABASE=${DATABASE:-gatehouse_pages}
USERS=${USERS:-1000100}
DEPTH=${DEPTH:-1000000}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-18081}
B="http://127.0.0.1:$PORT"
trap 'kill "${SERVER:-}" 2>/dev/null || true' EXIT

for tool in wrk psql python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
cargo build --release -p gatehouse >/dev/null

export GATEHOUSE_ADDR="127.0.0.1:$PORT"
export GATEHOUSE_DATABASE_URL="$PGHOST_URL/$DATABASE"
export GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS=1000000 RUST_LOG=warn
ADMIN_EMAIL="pages-admin@example.test"
export GATEHOUSE_SUPERUSER_PASSWORD="violet-tractor-42"

psql -q "$PGHOST_URL/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1 \
    || psql -q "$PGHOST_URL/postgres" -c "CREATE DATABASE $DATABASE" >/dev/null
target/release/gatehouse migrate
present=$(psql -q "$GATEHOUSE_DATABASE_URL" -tAc "SELECT count(*) FROM users")
if [ "$present" -lt "$USERS" ]; then
    echo "seeding $((USERS - present)) users ($present present)"
    /usr/bin/time -f "seeded in %e s, peak RSS %M KiB" \
        target/release/gatehouse seed-users "$((USERS - present))"
fi
psql -q "$GATEHOUSE_DATABASE_URL" -tAc "SELECT 1 FROM users WHERE email = '$ADMIN_EMAIL'" | grep -q 1 \
    || target/release/gatehouse create-superuser --email "$ADMIN_EMAIL" --username pages_admin >/dev/null
psql -q "$GATEHOUSE_DATABASE_URL" -c "VACUUM ANALYZE users" >/dev/null
echo "users in the table: $(psql -q "$GATEHOUSE_DATABASE_URL" -tAc "SELECT count(*) FROM users")"

target/release/gatehouse serve --no-migrate &
SERVER=$!
for _ in $(seq 1 100); do curl -fsS "$B/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
ACCESS=$(curl -fsS -X POST "$B/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$GATEHOUSE_SUPERUSER_PASSWORD\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Walk next_cursor 100 rows at a time to reach the cursor DEPTH rows down: the deep cursor is
# one the API itself handed out, not one forged from the database.
CURSOR=$(PORT=$PORT ACCESS=$ACCESS DEPTH=$DEPTH python3 - <<'PY'
import http.client, json, os, sys, time, urllib.parse
conn = http.client.HTTPConnection("127.0.0.1", int(os.environ["PORT"]))
headers = {"Authorization": "Bearer " + os.environ["ACCESS"]}
depth, seen, cursor, started = int(os.environ["DEPTH"]), 0, None, time.monotonic()
while seen < depth:
    query = {"limit": min(100, depth - seen)}
    if cursor:
        query["cursor"] = cursor
    conn.request("GET", "/api/v1/users?" + urllib.parse.urlencode(query), headers=headers)
    response = conn.getresponse()
    page = json.loads(response.read())
    if response.status != 200 or not page["next_cursor"]:
        sys.exit(f"walk stopped at {seen} rows: {response.status} {page}")
    seen += len(page["results"])
    cursor = page["next_cursor"]
print(f"walked {seen} rows in {time.monotonic() - started:.1f} s", file=sys.stderr)
print(cursor)
PY
)

run() { # title, url
    echo; echo "### $1"
    wrk --latency -t2 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $ACCESS" "$2" \
        | grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors'
}
run "first page (limit 10)" "$B/api/v1/users?limit=10"
run "page $DEPTH rows deep (limit 10)" "$B/api/v1/users?limit=10&cursor=$CURSOR"
run "first page (limit 100)" "$B/api/v1/users?limit=100"
run "page $DEPTH rows deep (limit 100)" "$B/api/v1/users?limit=100&cursor=$CURSOR"

echo; echo "### the deep page's plan (the query the repository builds, boundary as literals)"
IFS='|' read -r AT ID < <(psql -q "$GATEHOUSE_DATABASE_URL" -tA -F '|' -c \
    "SELECT created_at, id FROM users ORDER BY created_at DESC, id DESC OFFSET $((DEPTH - 1)) LIMIT 1")
psql -q "$GATEHOUSE_DATABASE_URL" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
    SELECT * FROM users
    WHERE created_at <= '$AT' AND (created_at < '$AT' OR id < '$ID')
    ORDER BY created_at DESC, id DESC LIMIT 11"
