#!/usr/bin/env bash
# scripts/cassert.sh -- the test suites against an assert-enabled PostgreSQL 15 build.
#
# As root on Debian 12:   bash scripts/cassert.sh [TEST...]
#   (default: every pg_regress test and the pgTAP files; TEST names pg_regress tests)
#   MTRS_CASSERT_DISCARD_CACHES=1: run pg_regress with debug_discard_caches = 1, every
#   catalog cache entry dropped at each chance, which finds cached catalog data used
#   after an invalidation; about 500 times slower, so name a few tests
#
# Debian's PostgreSQL is built without assertions.  This builds the same PostgreSQL
# major version from Debian's source (the orig tarball of postgresql-15 in bookworm,
# checked against the signed Sources index) with --enable-cassert, which also turns on
# PostgreSQL's memory checks: a sentinel byte after every palloc chunk (a write past
# its end is reported when the chunk is freed or its context reset), freed memory
# overwritten, and, with RANDOMIZE_ALLOCATED_MEMORY, palloc'd memory filled with
# garbage so that code which reads it before writing gives other results.  dblink (the
# pgTAP files open second sessions with it) is built too; pgTAP and pg_cron are
# Debian's, copied into the build.  The build is kept in
# $MTRS_CASSERT_CACHE (default /var/cache/mtrs-cassert), so only the first run builds
# PostgreSQL (the first run takes about 3 minutes on 2 cores).
#
# mtrs is built from a copy of this tree (the tree itself keeps its objects for the
# Debian server), installed into that build, and pg_regress and the pgTAP files run on
# a throw-away cluster.  Then the server log is searched for failed assertions, memory
# check reports ("write past chunk end", "problem in alloc set"), resource leak warnings
# and crashed backends.  The last line is
#   cassert: N problems in the server log (T tests, F failed)
# and the run fails if N > 0 or a test failed.
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MTRS_ROOT"
mtrs_require_root

CACHE=${MTRS_CASSERT_CACHE:-/var/cache/mtrs-cassert}
OUT=${MTRS_CASSERT_OUT:-/tmp/mtrs-cassert}
MIRROR=http://deb.debian.org

if [ "${MTRS_SKIP_APT:-0}" != 1 ]; then
  mtrs_log "installing Debian packages"
  # shellcheck disable=SC2086
  mtrs_apt_install $MTRS_PACKAGES curl xz-utils bzip2 gpgv debian-archive-keyring
fi

# fetch_orig SOURCE_PACKAGE DEST: unpack into DEST the orig tarball of the package's
# source as the first bookworm suite that can serve it has it (security, updates,
# release), its SHA-256 taken from a Sources index whose SHA-256 is in the suite's
# signed InRelease; prints the upstream version
fetch_orig() {
  local pkg=$1 dest=$2 base_suite base suite tmp entry dir file sum
  tmp=$(mktemp -d)
  for base_suite in debian-security:bookworm-security debian:bookworm-updates debian:bookworm; do
    base=${base_suite%%:*} suite=${base_suite#*:}
    curl -fsS "$MIRROR/$base/dists/$suite/InRelease" -o "$tmp/InRelease" 2>/dev/null || continue
    gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$tmp/InRelease" 2>/dev/null ||
      { echo "error: $base/dists/$suite/InRelease: bad signature" >&2; exit 1; }
    curl -fsS "$MIRROR/$base/dists/$suite/main/source/Sources.xz" -o "$tmp/Sources.xz" 2>/dev/null || continue
    sum=$(awk '/^SHA256:/ { s = 1; next } /^[A-Za-z]/ { s = 0 }
               s && $3 == "main/source/Sources.xz" { print $1 }' "$tmp/InRelease")
    echo "$sum  $tmp/Sources.xz" | sha256sum -c --quiet - ||
      { echo "error: $base/dists/$suite: Sources.xz does not match InRelease" >&2; exit 1; }
    entry=$(xz -dc "$tmp/Sources.xz" | awk -v p="$pkg" '
      /^Package: / { keep = ($2 == p) } /^Directory: / && keep { dir = $2 }
      /^Checksums-Sha256:/ && keep { s = 1; next } /^[A-Za-z]/ { s = 0 }
      s && keep && $3 ~ /\.orig\.tar\./ { sum = $1; file = $3 }
      END { if (file != "") print dir, file, sum }')
    [ -n "$entry" ] || continue
    read -r dir file sum <<< "$entry"
    # the mirror reachable from here does not serve every file of the pool
    curl -fsS "$MIRROR/$base/$dir/$file" -o "$tmp/$file" 2>/dev/null || continue
    echo "$sum  $tmp/$file" | sha256sum -c --quiet - ||
      { echo "error: $base/$dir/$file does not match its Sources index" >&2; exit 1; }
    mkdir -p "$dest"
    tar -xf "$tmp/$file" -C "$dest" --strip-components=1
    rm -rf "$tmp"
    file=${file#"${pkg}_"}
    echo "${file%.orig.tar.*}"
    return 0
  done
  echo "error: no source of $pkg could be fetched from Debian bookworm" >&2
  exit 1
}

PREFIX=$CACHE/postgresql-$PGV-cassert
if [ ! -x "$PREFIX/bin/postgres" ] || [ ! -f "$PREFIX/lib/dblink.so" ]; then
  rm -rf "$CACHE/src" "$PREFIX"
  mkdir -p "$CACHE"
  version=$(fetch_orig postgresql-$PGV "$CACHE/src/postgresql")
  mtrs_log "building PostgreSQL $version with --enable-cassert (once, into $PREFIX)"
  if ! (cd "$CACHE/src/postgresql" &&
        ./configure --prefix="$PREFIX" --enable-cassert --enable-debug \
          --without-readline --without-zlib --without-icu \
          CFLAGS="-O2 -g" CPPFLAGS="-DRANDOMIZE_ALLOCATED_MEMORY" &&
        make -j"$(nproc)" && make install &&
        make -C contrib/dblink && make -C contrib/dblink install) > "$CACHE/build.log" 2>&1; then
    tail -30 "$CACHE/build.log"
    echo "error: the build failed (log: $CACHE/build.log)" >&2
    rm -rf "$PREFIX"
    exit 1
  fi
  rm -rf "$CACHE/src"
fi
# pgTAP is plain SQL; pg_cron is Debian's build (the same major version and ABI: the
# mirror here does not serve its source), loaded by the assert-enabled server
cp /usr/share/postgresql/$PGV/extension/pgtap* /usr/share/postgresql/$PGV/extension/pg_cron* \
  "$PREFIX/share/extension/"
cp "$PGBIN/../lib/pg_cron.so" "$PREFIX/lib/"
"$PREFIX/bin/postgres" --version

mtrs_log "building mtrs against it (in a copy of the tree)"
rm -rf "$OUT"
mkdir -p "$OUT"
BUILD=$(mktemp -d /tmp/mtrs-cassert-build.XXXXXX)
trap 'rm -rf "$BUILD"' EXIT
tar -C "$MTRS_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
  --exclude=./results --exclude=./bench/out -cf - . | tar -C "$BUILD" -xf -
make -s -C "$BUILD" clean PG_CONFIG="$PREFIX/bin/pg_config" >/dev/null
make -s -C "$BUILD" -j"$(nproc)" PG_CONFIG="$PREFIX/bin/pg_config"
make -s -C "$BUILD" install PG_CONFIG="$PREFIX/bin/pg_config" >/dev/null

mtrs_log "starting a throw-away cluster of the assert-enabled build"
PGBIN=$PREFIX/bin PG_CONFIG=$PREFIX/bin/pg_config
mtrs_cluster_start contrib_regression
trap 'rc=$?; rm -rf "$BUILD"; mtrs_cluster_on_exit $rc' EXIT

if [ "${MTRS_CASSERT_DISCARD_CACHES:-0}" = 1 ]; then
  mtrs_log "with debug_discard_caches = 1"
  export PGOPTIONS="-c debug_discard_caches=1"
fi
mtrs_run_suites "$BUILD" "$OUT" "$@"

as_pg "$PGBIN/pg_ctl" stop -m fast -w -t 60 >/dev/null || true
cp "$MTRS_WORK/server.log" "$OUT/"
mtrs_log "failed assertions, memory checks, leaks and crashes in the server log"
grep -E "TRAP:|$MTRS_MEMORY_WARNINGS|terminated by signal|PANIC:" "$OUT/server.log" > "$OUT/problems.txt" || true
n_problems=$(wc -l < "$OUT/problems.txt")
head -50 "$OUT/problems.txt"
echo "cassert: $n_problems problems in the server log ($n_tests tests, $n_failed failed)"
[ "$n_problems" -eq 0 ] && [ "$n_failed" -eq 0 ]
