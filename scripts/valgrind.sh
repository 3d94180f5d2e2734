#!/usr/bin/env bash
# scripts/valgrind.sh -- run the test suites against a server under valgrind.
#
# As root on Debian 12:   bash scripts/valgrind.sh [TEST...]
#   (default: every pg_regress test and the pgTAP files; TEST names pg_regress tests)
#
# Installs the Debian packages (skip with MTRS_SKIP_APT=1), builds and installs mtrs,
# starts a throw-away cluster (scripts/lib.sh) and restarts it with every server process
# under valgrind's memcheck (--track-origins=yes, one log per process), runs pg_regress
# (and pgTAP), and stops and removes the cluster.  Debian's PostgreSQL is not built for
# valgrind, so memcheck sees malloc'd blocks, not palloc chunks: it finds reads of
# uninitialised memory (with where it was allocated) and accesses outside large
# allocations (more than 8 kB: models, embedding tables, scratch), not overruns of small
# chunks.  PostgreSQL's own reports (bytes of WAL, relcache files and invalidation
# messages that were never set) are left out: only errors with a frame in mtrs code, or
# in memory mtrs allocated, count.  They are printed, the logs are kept in
# $MTRS_VALGRIND_OUT (default /tmp/mtrs-valgrind), and the last line is
#   valgrind: N errors in mtrs code (T tests, F failed)
# Exits 1 if N > 0.  Test failures alone do not fail the run: under valgrind the suite
# is 30-60 times slower, so a test that times something can differ.  Takes about 16
# minutes; not part of scripts/test.sh for that reason.
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MTRS_ROOT"

OUT=${MTRS_VALGRIND_OUT:-/tmp/mtrs-valgrind}
mtrs_setup
rm -rf "$OUT"
mkdir -p "$OUT"

mtrs_log "starting a throw-away PostgreSQL $PGV cluster under valgrind"
mtrs_cluster_start contrib_regression
as_pg $PGBIN/pg_ctl stop -m fast -w >/dev/null
cat > "$MTRS_WORK/postgres-valgrind" <<WRAP
#!/bin/sh
exec valgrind --trace-children=yes --track-origins=yes --leak-check=no --error-limit=no \\
  --num-callers=40 --log-file=$MTRS_WORK/vg.%p.log $PGBIN/postgres "\$@"
WRAP
chmod 755 "$MTRS_WORK/postgres-valgrind"
as_pg env OPENBLAS_NUM_THREADS=1 $PGBIN/pg_ctl start -w -t 600 -p "$MTRS_WORK/postgres-valgrind" \
  -l "$MTRS_WORK/server.log" >/dev/null

mtrs_run_suites "$MTRS_ROOT" "$OUT" "$@"

# stop the server so that every process has written its log, then keep the logs
as_pg $PGBIN/pg_ctl stop -m fast -w -t 600 >/dev/null || true
cp "$MTRS_WORK"/vg.*.log "$MTRS_WORK/server.log" "$OUT/"

mtrs_log "valgrind reports in mtrs code"
# An error block runs from its first line to the next empty line of its log.  It counts
# if a frame of the error itself is in mtrs, or if the uninitialised bytes were allocated
# by mtrs: the first frame of the origin past the allocator (malloc, palloc and friends,
# StringInfo, PostgreSQL's unnamed static functions) is an mtrs function.  Blocks whose
# origin is an allocation PostgreSQL made while mtrs called it (a new memory block
# malloc'd inside jsonb_in, say) are not mtrs's: without valgrind support compiled into
# PostgreSQL, memcheck cannot see that the block was later handed out again.
n_errors=$(awk -v out="$OUT/mtrs-errors.txt" '
  function is_mtrs(l) { return l ~ /mtrs|Mtrs|[^A-Za-z]Nn[A-Z]/ }
  function frame(l) { return l ~ /^ +(at|by) 0x/ }
  function allocator(l) {
    return l ~ /: (malloc|calloc|realloc|\?\?\?|palloc[0-9a-z_]*|repalloc[a-zA-Z_]*|MemoryContextAlloc[a-zA-Z]*|(make|init|enlarge|append)StringInfo[a-zA-Z]*|appendBinaryStringInfo[a-zA-Z]*) /
  }
  FNR == 1 { block = ""; part = "error"; ours = 0; seen = 0 }
  { line = $0; sub(/^==[0-9]+== ?/, "", line) }
  line == "" { if (ours) { n++; print "-- " FILENAME "\n" block > out }
               block = ""; part = "error"; ours = 0; seen = 0; next }
  { block = block line "\n" }
  line ~ /^ *Uninitialised value was created/ { part = "origin"; next }
  line ~ /^ *(Address|Block was alloc)/ { part = "rest"; next }
  part == "error" && frame(line) && is_mtrs(line) { ours = 1 }
  part == "origin" && frame(line) && !seen && !allocator(line) { seen = 1; if (is_mtrs(line)) ours = 1 }
  END { print n + 0 }' "$OUT"/vg.*.log)
[ "$n_errors" -eq 0 ] || cat "$OUT/mtrs-errors.txt"
echo "valgrind: $n_errors errors in mtrs code ($n_tests tests, $n_failed failed)"
[ "$n_errors" -eq 0 ]
