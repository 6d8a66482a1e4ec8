# Shortcuts for everyday work. Every recipe is a plain command; `just` is optional.

test_db := "postgres://postgres@127.0.0.1:5432/postgres"
test_redis := "redis://127.0.0.1:6379"

# Serve on the embedded default (SQLite, in-memory stores).
run:
    cargo run --release

# The whole suite against local PostgreSQL and Redis.
test:
    GATEHOUSE_TEST_DATABASE_URL={{test_db}} GATEHOUSE_TEST_REDIS_URL={{test_redis}} GATEHOUSE_TEST_REQUIRE_SERVICES=1 cargo test --workspace

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

fmt:
    cargo fmt --all

# Criterion benchmarks, then the HTTP load script against a release build.
bench:
    cargo bench -p gatehouse-infrastructure
    scripts/load.sh

# Validate the deployment assets (Dockerfile, compose, Prometheus config and alerts, Kubernetes).
check-deploy:
    python3 scripts/check_deploy.py

# Apply migrations to the configured database.
migrate:
    cargo run --release -- migrate

# Start local PostgreSQL and Redis when they are down.
services-up:
    pg_isready -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start
    redis-cli ping || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

# CI, locally.
ci:
    bash .ci/run
