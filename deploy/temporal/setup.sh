#!/bin/sh
# The claims cluster's one-shot set-up jobs (docker-compose.temporal.yml), run in Temporal's
# admin-tools image: busybox sh, temporal-sql-tool and the temporal CLI. Each job can run again
# on every `up`: it keeps what exists and only adds or updates.
#
#   setup.sh databases   Temporal's `temporal` and `temporal_visibility` databases, created if
#                        missing and migrated to the image's schema version, and the read
#                        model's `claims` database (its tables are the engine's to make)
#                        (SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD)
#   setup.sh namespace   the engine's namespace (TEMPORAL_NAMESPACE, else CLAIMS_NAMESPACE, else
#                        default) with CLAIMS_HISTORY_RETENTION, created or set;
#                        done once the namespace serves requests (TEMPORAL_ADDRESS)
#
# A step that needs another service is tried up to SETUP_ATTEMPTS times (60), SETUP_PAUSE
# seconds apart (5), so a slow database or server start does not fail the job.
set -eu

attempts="${SETUP_ATTEMPTS:-60}"
pause="${SETUP_PAUSE:-5}"

retry() { # retry WHAT COMMAND...: run COMMAND until it succeeds or the attempts run out
    what="$1"
    shift
    n=1
    until "$@"; do
        if [ "$n" -ge "$attempts" ]; then
            echo "setup: gave up on $what after $n attempts" >&2
            return 1
        fi
        echo "setup: $what not ready (attempt $n of $attempts), trying again in ${pause}s" >&2
        n=$((n + 1))
        sleep "$pause"
    done
}

sql() {
    temporal-sql-tool --plugin postgres12 "$@"
}

create_database() { # an existing database is kept; any other failure is one
    if out=$(sql --db "$1" create-database 2>&1); then
        echo "setup: database $1 created"
    elif echo "$out" | grep -q "already exists"; then
        echo "setup: database $1 exists"
    else
        echo "$out" >&2
        return 1
    fi
}

databases() {
    schema=/etc/temporal/schema/postgresql/v12
    for db in temporal temporal_visibility claims; do
        retry "database $db" create_database "$db"
    done
    # setup-schema keeps a schema newer than 0.0; update-schema applies only what is missing
    sql --db temporal setup-schema -v 0.0
    sql --db temporal update-schema -d "$schema/temporal/versioned"
    sql --db temporal_visibility setup-schema -v 0.0
    sql --db temporal_visibility update-schema -d "$schema/visibility/versioned"
    echo "setup: databases ready"
}

serving() {
    temporal operator namespace describe -n "$ns" >/dev/null 2>&1 \
        && temporal workflow list -n "$ns" --limit 1 >/dev/null
}

ensure_namespace() {
    if temporal operator namespace describe -n "$ns" >/dev/null 2>&1; then
        temporal operator namespace update -n "$ns" --retention "$keep"
    else
        temporal operator namespace create -n "$ns" --retention "$keep"
    fi
}

namespace() {
    : "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS to the frontend, host:port}"
    export TEMPORAL_ADDRESS
    ns="${TEMPORAL_NAMESPACE:-${CLAIMS_NAMESPACE:-default}}"
    keep="${CLAIMS_HISTORY_RETENTION:-3650d}"
    if ! echo "$keep" | grep -Eq '^[1-9][0-9]*[dh]$'; then
        echo "setup: CLAIMS_HISTORY_RETENTION must be days or hours, e.g. 3650d, not '$keep'" >&2
        exit 2
    fi
    retry "the Temporal frontend at $TEMPORAL_ADDRESS" temporal operator cluster health
    retry "namespace $ns (retention $keep)" ensure_namespace
    retry "namespace $ns serving" serving
    echo "setup: namespace $ns ready, closed cases kept $keep"
}

case "${1:-}" in
    databases) databases ;;
    namespace) namespace ;;
    *)
        echo "usage: setup.sh databases|namespace" >&2
        exit 2
        ;;
esac
