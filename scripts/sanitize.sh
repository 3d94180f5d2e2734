#!/usr/bin/env bash
# scripts/sanitize.sh -- every test of mtrs on a build with gcc's undefined-behaviour
# sanitizer, and the unit tests also with its address sanitizer.
#
# As root on Debian 12:   bash scripts/sanitize.sh
#
# 1. Copies the tree, builds the copy with -fsanitize=undefined,float-cast-overflow and
#    -fno-wrapv (COPT, which PGXS and the Makefile's unit-test rules add to their flags;
#    mtrs.so then loads gcc's libubsan into each backend) and runs the copy's
#    scripts/test.sh: the unit tests, pg_regress, pgTAP and the checks (2,000 crafted
#    models among them), everything CI runs.  Each process that meets undefined behaviour
#    in mtrs code (a signed overflow, a shift past the width, a misaligned load, a float
#    converted to an integer that cannot hold it, an out-of-range bool or enum, ...)
#    writes a report and goes on.  PostgreSQL builds extensions with -fwrapv, which makes
#    signed overflow wrap; -fno-wrapv undoes that here so that the sanitizer checks it.
# 2. Builds the plain-C unit tests with -fsanitize=address,undefined (no server: every
#    read and write of the kernels, the tokenizer and the model reader is bounds-checked,
#    including the unit tests' thousands of damaged models) and runs them; the first
#    report stops them.
# PostgreSQL itself is Debian's build, not instrumented; the address sanitizer cannot be
# loaded into it after start-up, and preloading it (LD_PRELOAD=libasan.so.8) makes even
# "postgres -V" hang in glibc's bindtextdomain, so memory errors of the backends are
# valgrind's job (scripts/valgrind.sh).  The reports are printed and kept in $MTRS_SANITIZE_OUT (default
# /tmp/mtrs-sanitize); the last line is
#   sanitize: N reports (unit tests under ASan+UBSan: OK|FAILED; suite: T passed, F failed)
# Exits 1 if anything was reported or a test failed.  MTRS_SANITIZE_PLANT=1 plants a
# shift past an int's width into the copy's mtrs_model_describe, to see the run fail.
# MTRS_SANITIZE_FUZZ="QUERIES [SEED]" also runs test/fuzz/sqlsmith.sh on the instrumented
# build after the suite (its own failures fail the run too).
# While it runs the instrumented mtrs is the installed one; at the end the tree's own
# build is installed again.  About 3 minutes on 2 cores (step 1 installs the Debian packages first,
# unless MTRS_SKIP_APT=1).
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MTRS_ROOT"
mtrs_require_root

OUT=${MTRS_SANITIZE_OUT:-/tmp/mtrs-sanitize}
rm -rf "$OUT"
mkdir -p "$OUT/reports"
chown postgres:postgres "$OUT/reports"
BUILD=$OUT/build
mtrs_tree_copy "$BUILD"

mtrs_log "the test suite on a build with -fsanitize=undefined"
# A backend cannot read UBSAN_OPTIONS: the sanitizer reads /proc/self/environ, which
# PostgreSQL has overwritten with the process title by then.  So the instrumented
# mtrs.so carries its options itself, in the hook the sanitizer looks up (the unit tests
# and the scripts' other programs get the same through the environment).
UBSAN_OPTIONS="print_stacktrace=1:log_path=$OUT/reports/ubsan"
cat > "$BUILD/src/mtrs_zz_ubsan_options.c" <<C
/* written by scripts/sanitize.sh into its instrumented copy only */
const char *__ubsan_default_options(void);
const char *
__ubsan_default_options(void)
{
	return "$UBSAN_OPTIONS";
}
C
export UBSAN_OPTIONS
if [ "${MTRS_SANITIZE_PLANT:-0}" = 1 ]; then
  # the check of the check: a shift past an int's width in mtrs_model_describe, which
  # test/sql/model_format.sql calls; the run must then report it and fail
  sed -i '/^mtrs_model_describe(PG_FUNCTION_ARGS)/,/initStringInfo(&buf);/ s/initStringInfo(&buf);/&\n\t{ volatile int planted = 1 << (int) VARSIZE_ANY(raw); (void) planted; }/' \
    "$BUILD/src/mtrs_api.c"
  grep -q 'planted = 1 <<' "$BUILD/src/mtrs_api.c"
fi
set +e
COPT="-fno-wrapv -fsanitize=undefined,float-cast-overflow -fno-omit-frame-pointer" \
  MTRS_SKIP_SANITIZE=1 bash "$BUILD/scripts/test.sh" 2>&1 | tee "$OUT/test.log"
test_rc=${PIPESTATUS[0]}
set -e

fuzz=
if [ -n "${MTRS_SANITIZE_FUZZ:-}" ]; then
  # sqlsmith against the instrumented build, which test.sh left installed
  mtrs_log "sqlsmith on the build with -fsanitize=undefined"
  set +e
  MTRS_FUZZ_OUT=$OUT/fuzz bash "$MTRS_ROOT/test/fuzz/sqlsmith.sh" $MTRS_SANITIZE_FUZZ 2>&1 | tee "$OUT/fuzz.log"
  fuzz_rc=${PIPESTATUS[0]}
  set -e
  fuzz="; $(tail -1 "$OUT/fuzz.log")"
  [ "$fuzz_rc" -eq 0 ] || test_rc=1
fi
unset UBSAN_OPTIONS

mtrs_log "unit tests with -fsanitize=address,undefined"
ASAN_COPT="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer"
unit=OK
set +e
(cd "$BUILD" && rm -f test/unit/test_kernels &&
  make -s test/unit/test_kernels COPT="$ASAN_COPT" PG_CONFIG="$PG_CONFIG" &&
  ./test/unit/test_kernels > "$OUT/unit-asan.log" 2>&1) || unit=FAILED
set -e
tail -1 "$OUT/unit-asan.log"
[ "$unit" = OK ] || tail -40 "$OUT/unit-asan.log"

mtrs_log "undefined behaviour reported"
n_reports=0
for f in "$OUT"/reports/ubsan.*; do
  [ -f "$f" ] || continue
  n_reports=$((n_reports + $(grep -c 'runtime error:' "$f" || true)))
  echo "-- $f"
  head -30 "$f"
done
summary=$(tail -1 "$OUT/test.log")
echo "sanitize: $n_reports reports (unit tests under ASan+UBSan: $unit; suite: $summary$fuzz)"
[ "$n_reports" -eq 0 ] && [ "$unit" = OK ] && [ "$test_rc" -eq 0 ]
