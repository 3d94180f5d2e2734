#!/usr/bin/env bash
# scripts/test.sh -- set up everything and run every test of mtrs.
#
# On a fresh Debian 12 machine, as root:   bash scripts/test.sh
# Installs the Debian packages (skip with MTRS_SKIP_APT=1), builds and installs
# the extension, runs the plain-C unit tests (also under valgrind) and the check of
# the tokenizer's case folding against Unicode, starts a throw-away PostgreSQL 15
# cluster, runs pg_regress and pgTAP against it and the checks (the docs: objects,
# SQLSTATEs, options and every SQL example; the demo's output; pg_dump and restore; a
# hot standby; crafted models), stops and removes the cluster, runs it all again on a build with
# gcc's sanitizers
# (scripts/sanitize.sh; skip with MTRS_SKIP_SANITIZE=1), and ends with one line
# "N passed, N failed".
# Exits non-zero on any failure.
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MTRS_ROOT"

mtrs_setup
LOGS=$(mktemp -d /tmp/mtrs-test-logs.XXXXXX)
chmod 755 "$LOGS"
passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

mtrs_log "unit tests (plain C, no server)"
set +e
make -s unitcheck PG_CONFIG=$PG_CONFIG > "$LOGS/unit.log" 2>&1
set -e
grep -E '^(not ok|ok) ' "$LOGS/unit.log" | grep -v '^ok ' || true
count "$(grep -c '^ok ' "$LOGS/unit.log" || true)" "$(grep -c '^not ok ' "$LOGS/unit.log" || true)"
tail -1 "$LOGS/unit.log"

mtrs_log "unit tests under valgrind"
if valgrind --error-exitcode=3 --leak-check=full -q ./test/unit/test_kernels > "$LOGS/valgrind.log" 2>&1; then
  echo "valgrind: clean"; count 1 0
else
  tail -30 "$LOGS/valgrind.log"; echo "valgrind: errors"; count 0 1
fi

mtrs_log "the tokenizer's case folding against Unicode (python3's unicodedata)"
if bash scripts/case_folding_check.sh > "$LOGS/folding.log" 2>&1; then
  echo "ok - $(tail -1 "$LOGS/folding.log")"; count 1 0
else
  cat "$LOGS/folding.log"; echo "not ok - case folding"; count 0 1
fi

mtrs_log "starting a throw-away PostgreSQL $PGV cluster"
mtrs_cluster_start contrib_regression

mtrs_log "pg_regress and isolation tests"
set +e
make -s installcheck PG_CONFIG=$PG_CONFIG > "$LOGS/regress.log" 2>&1
reg_rc=$?
set -e
grep -E '^test |^ok |^not ok ' "$LOGS/regress.log" || cat "$LOGS/regress.log"
if [ $reg_rc -ne 0 ]; then
  for f in regression.diffs output_iso/regression.diffs; do [ ! -f $f ] || head -200 $f; done
fi
count "$(grep -Ec '^test .*\.\.\. ok' "$LOGS/regress.log" || true)" \
      "$(grep -Ec '^test .*\.\.\. FAILED' "$LOGS/regress.log" || true)"
[ $reg_rc -eq 0 ] || count 0 "$([ "$(grep -c 'FAILED' "$LOGS/regress.log" || true)" -eq 0 ] && echo 1 || echo 0)"

mtrs_log "pgTAP"
set +e
pg_prove -v -d contrib_regression test/pgtap/*.sql > "$LOGS/tap.log" 2>&1
tap_rc=$?
set -e
grep -E '^(not ok|# )' "$LOGS/tap.log" || true
grep -E '^(Files=|Result:)' "$LOGS/tap.log" || tail -20 "$LOGS/tap.log"
count "$(grep -Ec '^ok [0-9]+' "$LOGS/tap.log" || true)" "$(grep -Ec '^not ok [0-9]+' "$LOGS/tap.log" || true)"
[ $tap_rc -eq 0 ] || [ "$(grep -Ec '^not ok [0-9]+' "$LOGS/tap.log" || true)" -gt 0 ] || count 0 1

mtrs_log "checks: documentation (every object, every example), pg_dump and restore"
missing=$(grep -Eo '(FUNCTION|AGGREGATE|PROCEDURE|VIEW) @extschema@\.[a-z_0-9]+' sql/mtrs.sql | sed 's/.*\.//' | sort -u |
          while read -r f; do grep -q "\b$f\b" docs/sql-reference.md || echo "$f"; done)
if [ -z "$missing" ]; then echo "ok - every SQL function, procedure and view appears in docs/sql-reference.md"; count 1 0
else echo "not ok - undocumented: $missing"; count 0 1; fi
# every SQLSTATE mtrs raises (ERRCODE_* in src/, ERRCODE = '...' in sql/mtrs.sql) is in
# docs/sql-reference.md, so a caller can look it up
errcodes=$($PG_CONFIG --includedir-server)/utils/errcodes.h
undocumented=$( { grep -oh 'ERRCODE_[A-Z_]*' src/*.c
                  grep -oh "ERRCODE = '[a-z_0-9]*'" sql/mtrs.sql | sed -E "s/ERRCODE = '(.*)'/\1/" | tr a-z A-Z | sed 's/^/ERRCODE_/'
                } | sort -u | while read -r name; do
  # (a PL/pgSQL condition name may be a macro with a class prefix: serialization_failure is
  # ERRCODE_T_R_SERIALIZATION_FAILURE)
  state=$(sed -nE "s/^#define ${name/ERRCODE_/ERRCODE_([A-Z]_)*} MAKE_SQLSTATE\('(.)','(.)','(.)','(.)','(.)'\)/\2\3\4\5\6/p" "$errcodes" | head -1)
  if [ -z "$state" ]; then echo "$name (unknown)"; elif ! grep -q "\`$state\`" docs/sql-reference.md; then echo "$state ($name)"; fi
done)
if [ -z "$undocumented" ]; then echo "ok - every SQLSTATE mtrs raises appears in docs/sql-reference.md"; count 1 0
else echo "not ok - SQLSTATEs raised but not documented: $undocumented"; count 0 1; fi
# the docs' SQL examples run as written and show what they print (scripts/doc_check.py)
set +e
as_pg python3 scripts/doc_check.py README.md docs/sql-reference.md docs/operations.md > "$LOGS/doc_check.log" 2>&1
set -e
grep -E '^not ok|^    ' "$LOGS/doc_check.log" || true
tail -1 "$LOGS/doc_check.log"
count "$(grep -c '^ok ' "$LOGS/doc_check.log" || true)" "$(grep -c '^not ok' "$LOGS/doc_check.log" || true)"
grep -q '^doc examples: ' "$LOGS/doc_check.log" || count 0 1
# the demo runs and prints what the README shows of its output
set +e
MTRS_SKIP_APT=1 MTRS_SKIP_BUILD=1 MTRS_REPORT="$LOGS/mtrs-demo-report.svg" bash scripts/demo.sh > "$LOGS/demo.log" 2>&1
demo_rc=$?
set -e
if [ $demo_rc -eq 0 ] && python3 scripts/doc_check.py --demo "$LOGS/demo.log" README.md > "$LOGS/demo_check.log" 2>&1; then
  cat "$LOGS/demo_check.log"; count 1 0
else
  tail -20 "$LOGS/demo.log"; cat "$LOGS/demo_check.log" 2>/dev/null || true
  echo "not ok - scripts/demo.sh (exit $demo_rc) or its output in README.md"; count 0 1
fi
# pg_dump and restore: the registry comes back byte for byte and serves the same
as_pg createdb mtrs_dump_check
psql_pg -q -d mtrs_dump_check -f test/fixtures/dump_models.sql > "$LOGS/dump_models.log"
as_pg pg_dump -Fc -d mtrs_dump_check > "$LOGS/dump.pgc"
as_pg createdb mtrs_restore_check
set +e
as_pg pg_restore --exit-on-error -d mtrs_restore_check < "$LOGS/dump.pgc" > "$LOGS/restore.log" 2>&1
restore_rc=$?
set -e
for db in mtrs_dump_check mtrs_restore_check; do
  psql_pg -At -d $db -f test/fixtures/dump_probe.sql > "$LOGS/probe-$db.txt" 2>&1 || true
done
if [ $restore_rc -eq 0 ] && [ "$(grep -c '' "$LOGS/probe-mtrs_dump_check.txt")" -ge 15 ] &&
   cmp -s "$LOGS/probe-mtrs_dump_check.txt" "$LOGS/probe-mtrs_restore_check.txt"; then
  echo "ok - pg_dump and pg_restore bring mtrs_model back: same rows, same recommendations and intents"
  count 1 0
else
  echo "not ok - the registry does not survive pg_dump and pg_restore"
  cat "$LOGS/restore.log"; diff "$LOGS/probe-mtrs_dump_check.txt" "$LOGS/probe-mtrs_restore_check.txt" || true
  count 0 1
fi

mtrs_log "checks: a hot standby"
# a streaming standby of this cluster (pg_basebackup) serves, evaluates and reports what
# the primary does, and training or storing there fails at once with 25006
psql_pg -At -d mtrs_dump_check -f test/fixtures/standby_probe.sql > "$LOGS/standby-primary.txt" 2>&1 || true
set +e
mtrs_standby_start > "$LOGS/standby.log" 2>&1
standby_rc=$?
psql_pg -At -p "$MTRS_STANDBY_PORT" -d mtrs_dump_check -f test/fixtures/standby_probe.sql > "$LOGS/standby-standby.txt" 2>&1
in_recovery=$(psql_pg -At -p "$MTRS_STANDBY_PORT" -d mtrs_dump_check -c 'SELECT pg_is_in_recovery()' 2>&1)
refusals=$(psql_pg -At -p "$MTRS_STANDBY_PORT" -d mtrs_dump_check -v ON_ERROR_STOP=0 -v VERBOSITY=sqlstate \
             -c "SELECT mtrs_train('again', 'views')" -c "SELECT * FROM mtrs_evaluate('shop', 'views', 5)" \
             -c "CALL mtrs_retrain('shop')" 2>&1 | grep -c '^ERROR:  25006$')
set -e
mtrs_standby_stop
if [ $standby_rc -eq 0 ] && [ "$in_recovery" = t ] && [ "$(grep -c '' "$LOGS/standby-primary.txt")" -ge 40 ] &&
   ! grep -q ERROR "$LOGS/standby-primary.txt" &&
   cmp -s "$LOGS/standby-primary.txt" "$LOGS/standby-standby.txt" && [ "$refusals" -eq 3 ]; then
  echo "ok - a hot standby serves, evaluates and reports as its primary does; training there fails with 25006"
  count 1 0
else
  echo "not ok - hot standby: start exit $standby_rc, in recovery '$in_recovery', $refusals of 3 writes refused with 25006"
  tail -5 "$LOGS/standby.log"; diff "$LOGS/standby-primary.txt" "$LOGS/standby-standby.txt" | head -20 || true
  count 0 1
fi

mtrs_log "checks: crafted models"
# a valid model changed one field at a time, each variant resealed with a correct checksum
# (test/unit/model_mutate.c), then registered and served (test/fixtures/crafted_probe.sql)
make -s test/unit/model_mutate PG_CONFIG=$PG_CONFIG
as_pg createdb mtrs_crafted_check
psql_pg -q -d mtrs_crafted_check -f test/fixtures/crafted_model.sql > "$LOGS/crafted_model.log"
set +e
psql_pg -At -d mtrs_crafted_check -c "SELECT encode(weights, 'hex') FROM mtrs_model WHERE name = 'crafted'" |
  ./test/unit/model_mutate 1 "${MTRS_CRAFTED_MODELS:-2000}" |
  psql_pg -At -F ' ' -d mtrs_crafted_check -f test/fixtures/crafted_probe.sql > "$LOGS/crafted.txt" 2> "$LOGS/crafted.err"
crafted_rc=$?
set -e
served=$(awk '$1 == "served" {print $2}' "$LOGS/crafted.txt")
# (mawk has no {n} intervals: an SQLSTATE is any 5-character first field but "served")
refused=$(awk 'length($1) == 5 && $1 != "XX000" && $1 != "XX002" {n += $2} END {print n + 0}' "$LOGS/crafted.txt")
internal=$(awk '$1 == "XX000" || $1 == "XX002" {n += $2} END {print n + 0}' "$LOGS/crafted.txt")
if [ $crafted_rc -eq 0 ] && [ "${served:-0}" -gt 0 ] && [ "$refused" -gt 0 ] && [ "$internal" -eq 0 ]; then
  echo "ok - ${MTRS_CRAFTED_MODELS:-2000} crafted models with correct checksums: $refused refused with an SQLSTATE, $served served, no crash"
  count 1 0
else
  echo "not ok - crafted models: psql exit $crafted_rc, served ${served:-0}, refused $refused, internal errors $internal"
  cat "$LOGS/crafted.txt"; grep 'variant' "$LOGS/crafted.err" | tail -3; tail -5 "$LOGS/crafted.err"
  count 0 1
fi

# the whole suite again on a build with the undefined-behaviour sanitizer, and the unit
# tests with the address sanitizer (scripts/sanitize.sh, which runs this script on its
# instrumented copy with MTRS_SKIP_SANITIZE=1); about 3 minutes
if [ "${MTRS_SKIP_SANITIZE:-0}" != 1 ]; then
  mtrs_log "checks: the suite on a build with -fsanitize=undefined (scripts/sanitize.sh)"
  mtrs_cluster_stop
  if MTRS_SKIP_APT=1 MTRS_SANITIZE_OUT="$LOGS/sanitize" bash scripts/sanitize.sh > "$LOGS/sanitize.log" 2>&1; then
    echo "ok - $(grep '^sanitize:' "$LOGS/sanitize.log")"; count 1 0
  else
    grep -A40 '^==> undefined behaviour reported' "$LOGS/sanitize.log" || tail -40 "$LOGS/sanitize.log"
    echo "not ok - undefined behaviour or a failure under the sanitizers (log: $LOGS/sanitize.log)"; count 0 1
  fi
fi

mtrs_log "summary"
if [ "$failed" -eq 0 ]; then rm -rf "$LOGS"; else echo "logs kept in $LOGS"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
