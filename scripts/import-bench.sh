#!/usr/bin/env bash
# `gatehouse import-django` at scale, for docs/performance.md: the time and peak memory of
# importing USERS (100,000) Django users, then of importing them again (every account
# updated), from a SQLite Django database built from Django's own schema
# (crates/infrastructure/tests/fixtures/django/sqlite) with real Django password hashes.
#
#   scripts/import-bench.sh                                   # into a scratch SQLite database
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/gatehouse_import_bench scripts/import-bench.sh
#   USERS=10000 scripts/import-bench.sh
#
# BENCH_DATABASE_URL names a scratch PostgreSQL database whose name ends in `_bench`: it is
# emptied first (DROP SCHEMA public CASCADE). The server's own GATEHOUSE_DATABASE_URL is never
# used. Needs python3, psql (for PostgreSQL) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-100000}
FIXTURES=crates/infrastructure/tests/fixtures/django
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

[ -x /usr/bin/time ] || { echo "GNU time is required (Debian package time)" >&2; exit 1; }
cargo build --release -p gatehouse >/dev/null
BIN=$(pwd)/target/release/gatehouse

echo "building a Django database of $USERS users"
python3 - "$WORK/django.sqlite3" "$USERS" "$FIXTURES" <<'PY'
import json
import sqlite3
import sys

path, count, fixtures = sys.argv[1], int(sys.argv[2]), sys.argv[3]
db = sqlite3.connect(path)
for app in ("contenttypes", "auth"):
    with open(f"{fixtures}/sqlite/{app}.sql") as schema:
        db.executescript(schema.read())
with open(f"{fixtures}/hashes.json") as f:
    entries = json.load(f)["entries"]
# Django 5's default hasher at its default cost, as a real project's rows carry it.
password = next(
    e["hash"] for e in entries if e["algorithm"] == "pbkdf2_sha256" and e["cost"] == "default"
)
db.execute("INSERT INTO django_content_type (app_label, model) VALUES ('auth', 'user')")
db.execute(
    "INSERT INTO auth_permission (name, content_type_id, codename) "
    "VALUES ('Can view users', 1, 'can_view_users')"
)
db.execute("INSERT INTO auth_group (name) VALUES ('support')")
db.execute("INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (1, 1)")
db.executemany(
    "INSERT INTO auth_user (password, last_login, is_superuser, username, first_name, "
    "last_name, email, is_staff, is_active, date_joined) "
    "VALUES (?, NULL, 0, ?, 'Ada', 'Lovelace', ?, 0, ?, '2021-03-04 05:06:07.123456')",
    (
        (password, f"user{i}", f"user{i}@example.invalid", i % 50 != 0)
        for i in range(1, count + 1)
    ),
)
# One user in ten is in a group that grants a permission Gatehouse knows.
db.executemany(
    "INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, 1)",
    ((i,) for i in range(1, count + 1, 10)),
)
db.commit()
PY

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    case "$BENCH_DATABASE_URL" in
        postgres://*_bench | postgresql://*_bench) ;;
        *) echo "BENCH_DATABASE_URL must be a postgres:// URL of a database named *_bench" >&2; exit 1 ;;
    esac
    psql -q "$BENCH_DATABASE_URL" -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
    TARGET=$BENCH_DATABASE_URL
else
    TARGET="sqlite://$WORK/gatehouse.db?mode=rwc"
fi
export GATEHOUSE_DATABASE_URL=$TARGET RUST_LOG=warn

run() {
    if ! /usr/bin/time -f "$1: %e s, peak RSS %M KiB" -o "$WORK/time" \
        "$BIN" import-django --from "sqlite://$WORK/django.sqlite3" >"$WORK/stdout" 2>"$WORK/stderr"; then
        cat "$WORK/stderr" "$WORK/stdout" >&2
        exit 1
    fi
    tail -n 1 "$WORK/stdout"
    cat "$WORK/time"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run "first import"
run "second import"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
