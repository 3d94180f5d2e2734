# scripts/lib.sh -- shared steps of the demo and test commands (sourced, not run).
#
# mtrs_apt_install    apt-get update, then install the given Debian packages
# mtrs_setup          install Debian packages (unless MTRS_SKIP_APT=1), build, install
#                     (unless MTRS_SKIP_BUILD=1)
# mtrs_cluster_start  make and start a throw-away PostgreSQL 15 cluster owned by
#                     the postgres OS user (unix socket in a private directory,
#                     OPENBLAS_NUM_THREADS=1, pg_cron preloaded); an EXIT trap
#                     stops and removes it, also on failure and Ctrl-C
# mtrs_tree_copy DIR  copy the tree (sources only) into DIR for an instrumented build, and
#                     install the tree's own build again when the script exits
# as_pg / psql_pg     run a command / psql as the postgres user against it
# mtrs_standby_start  a hot standby of it (pg_basebackup), port MTRS_STANDBY_PORT; mtrs_standby_stop
# mtrs_run_suites     pg_regress, isolation tests and pgTAP against it, counted (valgrind.sh, cassert.sh)
#
# Must run as root on Debian 12.

PGV=15
# MTRS_PG_CONFIG: another PostgreSQL 15 build to run the cluster of (scripts/cassert.sh's,
# for test/fuzz/sqlsmith.sh); default Debian's
PGBIN=/usr/lib/postgresql/$PGV/bin
[ -z "${MTRS_PG_CONFIG:-}" ] || PGBIN=$(dirname "$MTRS_PG_CONFIG")
PG_CONFIG=$PGBIN/pg_config
MTRS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

MTRS_PACKAGES="make gcc libc6-dev postgresql-$PGV postgresql-server-dev-$PGV libopenblas-dev
  postgresql-$PGV-pgtap postgresql-$PGV-cron libtap-parser-sourcehandler-pgtap-perl valgrind
  python3"

mtrs_log() { printf '\n==> %s\n' "$*"; }

# what PostgreSQL logs for memory and resource bugs: an assert-enabled build's chunk
# checks, and leaked buffers, relcache entries, snapshots, files ...
MTRS_MEMORY_WARNINGS='WARNING: +.*(write past chunk end|problem in alloc set|leak|still referenced|still active|was not closed)'

mtrs_require_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "error: run this command as root (it installs packages and runs PostgreSQL as the postgres user)" >&2
    exit 1
  fi
}

# mtrs_apt_install PKG...: apt-get update, then apt-get install -y the packages
mtrs_apt_install() {
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

mtrs_setup() {
  mtrs_require_root
  if [ "${MTRS_SKIP_APT:-0}" != 1 ]; then
    mtrs_log "installing Debian packages"
    # shellcheck disable=SC2086
    mtrs_apt_install $MTRS_PACKAGES
  fi
  # (scripts/test.sh runs the demo on the build it has just installed)
  [ "${MTRS_SKIP_BUILD:-0}" != 1 ] || return 0
  mtrs_log "building and installing mtrs"
  make -s -C "$MTRS_ROOT" clean PG_CONFIG=$PG_CONFIG >/dev/null
  make -s -C "$MTRS_ROOT" -j"$(nproc)" PG_CONFIG=$PG_CONFIG
  make -s -C "$MTRS_ROOT" install PG_CONFIG=$PG_CONFIG >/dev/null
}

# mtrs_tree_copy DIR: the tree without its build products, .git and test results, owned by
# the postgres user (the backends of an instrumented build write into it); an EXIT trap
# installs the tree's own build again (scripts/coverage.sh, scripts/sanitize.sh)
mtrs_tree_copy() {
  mkdir "$1"
  tar -C "$MTRS_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
    --exclude='*.gc??' --exclude=./results --exclude=./output_iso --exclude=./bench/out \
    --exclude=./test/unit/test_kernels --exclude=./test/unit/model_mutate -cf - . | tar -C "$1" -xf -
  chown -R postgres:postgres "$1"
  chmod 755 "$1"
  trap mtrs_reinstall EXIT
}
mtrs_reinstall() {
  local rc=$?
  mtrs_log "installing the tree's own build again"
  make -s -C "$MTRS_ROOT" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" &&
    make -s -C "$MTRS_ROOT" install PG_CONFIG="$PG_CONFIG" >/dev/null || rc=1
  exit $rc
}

as_pg() { runuser -u postgres -- env PGDATA="$PGDATA" PGHOST="$PGHOST" PGPORT="$PGPORT" "$@"; }
psql_pg() { as_pg psql -X -v ON_ERROR_STOP=1 "$@"; }

mtrs_cluster_stop() {
  if [ -n "${MTRS_WORK:-}" ] && [ -d "$MTRS_WORK" ]; then
    mtrs_standby_stop
    if [ -f "$PGDATA/postmaster.pid" ]; then
      as_pg $PGBIN/pg_ctl stop -m fast -w -t 60 >/dev/null 2>&1 ||
        as_pg $PGBIN/pg_ctl stop -m immediate -w >/dev/null 2>&1 || true
    fi
    rm -rf "$MTRS_WORK"
  fi
}

# mtrs_cluster_start CRON_DB: start a cluster whose pg_cron runs jobs in CRON_DB
mtrs_cluster_start() {
  local cron_db=$1
  MTRS_WORK=$(mktemp -d /tmp/mtrs-pg.XXXXXX)
  chown postgres:postgres "$MTRS_WORK"
  chmod 700 "$MTRS_WORK"
  export PGDATA=$MTRS_WORK/data PGHOST=$MTRS_WORK PGUSER=postgres
  # any free port works: the socket lives in a private directory
  export PGPORT=$(( 20000 + $$ % 20000 ))
  unset PGDATABASE PGSERVICE PGPASSWORD PGHOSTADDR
  trap 'rc=$?; mtrs_cluster_on_exit $rc' EXIT
  trap 'exit 130' INT TERM
  as_pg $PGBIN/initdb -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
  cat >> "$PGDATA/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$MTRS_WORK'
fsync = off
full_page_writes = off
synchronous_commit = off
shared_preload_libraries = 'pg_cron'
cron.database_name = '$cron_db'
cron.use_background_workers = on
max_worker_processes = 16
CONF
  as_pg env OPENBLAS_NUM_THREADS=1 $PGBIN/pg_ctl start -w -t 60 -l "$MTRS_WORK/server.log" >/dev/null
}

# mtrs_standby_start: a hot standby of the cluster (pg_basebackup, streaming), on port
# MTRS_STANDBY_PORT in the same private directory; mtrs_standby_stop (and the exit trap)
# stops it
mtrs_standby_start() {
  MTRS_STANDBY_PORT=$((PGPORT + 1))
  as_pg $PGBIN/pg_basebackup -D "$MTRS_WORK/standby" -R -X stream -c fast
  cat >> "$MTRS_WORK/standby/postgresql.conf" <<CONF
port = $MTRS_STANDBY_PORT
shared_preload_libraries = ''
hot_standby = on
CONF
  as_pg env OPENBLAS_NUM_THREADS=1 $PGBIN/pg_ctl start -D "$MTRS_WORK/standby" -w -t 60 \
    -l "$MTRS_WORK/standby.log" >/dev/null
}

mtrs_standby_stop() {
  if [ -f "${MTRS_WORK:-/nonexistent}/standby/postmaster.pid" ]; then
    as_pg $PGBIN/pg_ctl stop -D "$MTRS_WORK/standby" -m fast -w -t 60 >/dev/null 2>&1 ||
      as_pg $PGBIN/pg_ctl stop -D "$MTRS_WORK/standby" -m immediate -w >/dev/null 2>&1 || true
  fi
}

mtrs_cluster_on_exit() {
  local rc=$1
  if [ "$rc" -ne 0 ] && [ -f "${MTRS_WORK:-/nonexistent}/server.log" ]; then
    echo "---- server.log (last 40 lines) ----"
    tail -40 "$MTRS_WORK/server.log"
  fi
  mtrs_cluster_stop
  exit "$rc"
}

# mtrs_run_suites DIR OUT [TEST...]: run pg_regress and the isolation tests from the tree
# DIR against the cluster (the named tests; else every test, then the pgTAP files), logs
# in OUT; sets n_tests and n_failed.  Failures are counted, not fatal.
mtrs_run_suites() {
  local dir=$1 out=$2 regress=() tap_rc=0 t reg=() iso=()
  shift 2
  if [ $# -gt 0 ]; then
    for t in "$@"; do
      if [ -f "$dir/test/isolation/specs/$t.spec" ]; then iso+=("$t"); else reg+=("$t"); fi
    done
    regress=(REGRESS="${reg[*]}" ISOLATION="${iso[*]}")
  fi
  mtrs_log "pg_regress"
  make -s -C "$dir" installcheck PG_CONFIG="$PG_CONFIG" "${regress[@]}" > "$out/regress.log" 2>&1 || true
  grep -E '^test ' "$out/regress.log" || cat "$out/regress.log"
  for t in regression.diffs output_iso/regression.diffs; do
    if [ -f "$dir/$t" ]; then
      cat "$dir/$t" >> "$out/regression.diffs"
      head -100 "$dir/$t"
    fi
  done
  n_tests=$(grep -Ec '^test ' "$out/regress.log" || true)
  n_failed=$(grep -Ec '^test .*FAILED' "$out/regress.log" || true)
  [ $# -eq 0 ] || return 0
  # several sessions, the model cache, shared model files, pg_cron
  mtrs_log "pgTAP"
  (cd "$dir" && pg_prove -v -d contrib_regression test/pgtap/*.sql) > "$out/tap.log" 2>&1 || tap_rc=$?
  grep -E '^(not ok|Files=|Result:)' "$out/tap.log" || tail -20 "$out/tap.log"
  n_tests=$((n_tests + $(grep -Ec '^(not )?ok [0-9]+' "$out/tap.log" || true)))
  n_failed=$((n_failed + $(grep -Ec '^not ok [0-9]+' "$out/tap.log" || true)))
  [ "$tap_rc" -eq 0 ] || grep -Eq '^not ok [0-9]+' "$out/tap.log" || n_failed=$((n_failed + 1))
}
