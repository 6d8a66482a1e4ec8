#!/usr/bin/env bash
# A local Redis Cluster of three masters (no replicas) on 127.0.0.1, for the cluster suites:
#
#   scripts/redis-cluster.sh start    # ports 7001-7003 (REDIS_CLUSTER_PORT=7001 moves them)
#   scripts/redis-cluster.sh stop
#
# Then GATEHOUSE_TEST_REDIS_CLUSTER_URL=redis-cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
# (the suites also find it on its default address). Data lives in a temporary directory and
# is not persisted. Idempotent: a cluster that already answers is left alone.
set -euo pipefail

first=${REDIS_CLUSTER_PORT:-7001}
ports=("$first" "$((first + 1))" "$((first + 2))")
dir=${REDIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/gatehouse-redis-cluster}

healthy() {
    redis-cli -h 127.0.0.1 -p "$first" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

case ${1:-start} in
start)
    if healthy; then
        echo "Redis Cluster already up on ${ports[*]}"
        exit 0
    fi
    mkdir -p "$dir"
    for port in "${ports[@]}"; do
        mkdir -p "$dir/$port"
        if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
            rm -f "$dir/$port/nodes.conf"
            redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir/$port" \
                --cluster-enabled yes --cluster-config-file nodes.conf \
                --cluster-node-timeout 5000 --save "" --appendonly no \
                --logfile "$dir/$port/redis.log"
        fi
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 50); do
            redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
    nodes=()
    for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
        { cat "$dir/create.log" >&2; exit 1; }
    for _ in $(seq 1 100); do
        if healthy; then
            echo "Redis Cluster up on ${ports[*]}"
            exit 0
        fi
        sleep 0.1
    done
    echo "the Redis Cluster did not become healthy" >&2
    exit 1
    ;;
stop)
    for port in "${ports[@]}"; do
        redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    done
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
