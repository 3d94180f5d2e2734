#!/usr/bin/env bash
# scripts/coverage.sh -- which lines of mtrs the tests run, and which errors no test raises.
#
# As root on Debian 12:   bash scripts/coverage.sh
#
# Copies the tree, builds the copy with gcc's --coverage at -O0 (COPT, which PGXS and
# the Makefile's unit-test rules add to their flags), and runs the copy's
# scripts/test.sh: the unit tests, pg_regress, pgTAP and the checks, everything CI runs.
# The server's backends write their counts into the copy (it is owned by the postgres
# user for that), the unit tests theirs; gcov reads both, and a line counts as run if
# either ran it.  Then every ereport(ERROR, ...) in src/ is looked up: an error site
# counts as reached if any line of its statement ran.  Reports, in $MTRS_COVERAGE_OUT
# (default /tmp/mtrs-coverage):
#   files.txt    each source file: lines run, executable lines, per cent
#   errors.txt   every ereport(ERROR) site no test reached: file:line, errcode, message;
#                each RAISE EXCEPTION in sql/mtrs.sql whose message no test names; and
#                each elog(ERROR) (an internal error, no SQLSTATE of its own) a test reached
#   gcov/        the annotated sources (gcov's text format, counts of both runs added)
#   build/       the instrumented copy of the tree, with its .gcno and .gcda files
# The last line is
#   coverage: P% of L lines run; E of N error sites reached, R of M RAISE EXCEPTION tested,
#   I of J internal errors reached (tests: T passed, F failed)
# Fails only if the test run fails.  While it runs the instrumented mtrs is the
# installed one; at the end the tree's own build is installed again.  About 4 minutes.
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MTRS_ROOT"
mtrs_require_root

OUT=${MTRS_COVERAGE_OUT:-/tmp/mtrs-coverage}
rm -rf "$OUT"
mkdir -p "$OUT/gcov"
BUILD=$OUT/build
mtrs_tree_copy "$BUILD"

mtrs_log "the test suite on a build with --coverage"
set +e
COPT="--coverage -O0" MTRS_SKIP_SANITIZE=1 bash "$BUILD/scripts/test.sh" 2>&1 | tee "$OUT/test.log"
test_rc=${PIPESTATUS[0]}
set -e
# the server has exited (test.sh stops it), so every backend has written its counts

mtrs_log "gcov"
cd "$BUILD"
# gcov_counts SOURCE OBJECT: "line count" for each executable line of SOURCE as built
# into OBJECT (count 0: never run)
gcov_counts() {
  [ -f "${2%.*}.gcda" ] || return 0
  # (gcov prints the headers' inline functions too, each under its own "0:Source:" line)
  gcov -t -o "$2" "$1" 2>/dev/null | awk -F: -v src="$1" '
    $2 + 0 == 0 && $3 == "Source" { mine = ($4 == src); next }
    mine && $2 + 0 > 0 { c = $1; gsub(/[ *]/, "", c)
                 if (c == "-") next
                 print $2 + 0, (c ~ /^(#+|=+)$/) ? 0 : c }'
}
for src in src/*.c; do
  base=$(basename "$src" .c)
  {
    gcov_counts "$src" "src/$base.o"
    for obj in test/unit/*-"$base".gcno; do
      if [ -f "$obj" ]; then gcov_counts "$src" "$obj"; fi
    done
  } | awk '{ n[$1] += $2 } END { for (l in n) print l, n[l] }' | sort -n > "$OUT/gcov/$base.counts"
  # the annotated source: count (or "-" where no code, "#####" where never run), line, text
  awk 'NR == FNR { n[$1] = $2; next }
       { c = (FNR in n) ? (n[FNR] > 0 ? n[FNR] : "#####") : "-"
         printf "%9s:%5d:%s\n", c, FNR, $0 }' "$OUT/gcov/$base.counts" "$src" > "$OUT/gcov/$base.c.gcov"
done

# files.txt: lines run / executable lines per file, then the total
for f in "$OUT"/gcov/*.counts; do
  awk -v f="src/$(basename "$f" .counts).c" '
    { lines++; if ($2 > 0) run++ }
    END { if (lines) printf "%-28s %6d %6d %6.1f%%\n", f, run, lines, 100 * run / lines }' "$f"
done > "$OUT/files.txt"
read -r total_run total_lines < <(awk '{ r += $2; l += $3 } END { print r + 0, l + 0 }' "$OUT/files.txt")
printf '%-28s %6d %6d %6.1f%%\n' total "$total_run" "$total_lines" \
  "$(awk -v r="$total_run" -v l="$total_lines" 'BEGIN { print l ? 100 * r / l : 0 }')" >> "$OUT/files.txt"

# errors.txt: each ereport(ERROR ...) statement runs from its first line to the line
# where its parentheses close; it is reached if one of its lines ran.  An elog(ERROR)
# is an internal error (XX000, "cannot happen"): one that a test reaches is listed too,
# as a user could reach it
: > "$OUT/errors.txt"
n_sites=0
n_reached=0
n_elogs=0
n_elogs_reached=0
for src in src/*.c; do
  base=$(basename "$src" .c)
  read -r sites reached elogs elogs_reached < <(awk -v file="$src" -v out="$OUT/errors.txt" '
    NR == FNR { n[$1] = $2; next }
    /elog\(ERROR/ {
      elogs++
      if (n[FNR] > 0) { elogs_reached++; printf "%s:%d\tinternal error reached\t%s\n", file, FNR, $0 >> out }
    }
    !open && /ereport\(ERROR/ { open = 1; first = FNR; text = ""; depth = 0; hit = 0 }
    open {
      text = text " " $0
      if (n[FNR] > 0) hit = 1
      depth += gsub(/\(/, "(") - gsub(/\)/, ")")
      if (depth <= 0 && /;/) {
        open = 0; sites++
        if (hit) { reached++; next }
        code = text; if (!sub(/.*errcode\(/, "", code)) code = "(errcode from a variable)"
        sub(/\).*/, "", code)
        # the message: its first string literal (up to an INT64_FORMAT, say)
        msg = text; gsub(/\\"/, "\001", msg)
        if (sub(/.*errmsg(_internal|_plural)?\("/, "", msg)) sub(/".*/, "", msg); else msg = ""
        gsub(/\001/, "\\\"", msg)
        printf "%s:%d\t%s\t%s\n", file, first, code, msg >> out
      }
    }
    END { print sites + 0, reached + 0, elogs + 0, elogs_reached + 0 }' "$OUT/gcov/$base.counts" "$src")
  n_sites=$((n_sites + sites))
  n_reached=$((n_reached + reached))
  n_elogs=$((n_elogs + elogs))
  n_elogs_reached=$((n_elogs_reached + elogs_reached))
done

# the SQL functions' errors (PL/pgSQL: no gcov): a RAISE EXCEPTION counts as tested if
# the longest piece of its message without a % placeholder is in a test or its output
n_raises=0
n_raises_tested=0
while IFS=: read -r line msg; do
  probe=$(printf '%s\n' "$msg" | tr '%' '\n' | awk 'length > length(p) { p = $0 } END { print p }')
  n_raises=$((n_raises + 1))
  if [ ${#probe} -ge 6 ] && grep -rqF -- "$probe" test/sql test/pgtap expected; then
    n_raises_tested=$((n_raises_tested + 1))
  else
    printf 'sql/mtrs.sql:%s\tRAISE\t%s\n' "$line" "$msg" >> "$OUT/errors.txt"
  fi
done < <(grep -n "RAISE EXCEPTION '" sql/mtrs.sql | sed "s/:.*RAISE EXCEPTION '\([^']*\)'.*/:\1/")

cat "$OUT/files.txt"
echo
echo "ereport(ERROR) sites no test reaches, RAISE EXCEPTION no test names ($OUT/errors.txt):"
cat "$OUT/errors.txt"
passed=$(tail -1 "$OUT/test.log" | awk '/passed,/ { print $1 }')
failed=$(tail -1 "$OUT/test.log" | awk '/passed,/ { print $3 }')
echo "coverage: $(tail -1 "$OUT/files.txt" | awk '{ print $4 }') of $total_lines lines run;" \
  "$n_reached of $n_sites error sites reached, $n_raises_tested of $n_raises RAISE EXCEPTION tested," \
  "$n_elogs_reached of $n_elogs internal errors reached" \
  "(tests: ${passed:-?} passed, ${failed:-?} failed)"
[ "$test_rc" -eq 0 ]
