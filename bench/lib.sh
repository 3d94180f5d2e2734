# bench/lib.sh -- sourced by the benchmark scripts.
#
# bench_packages PKG...: install the Debian packages a benchmark needs beyond scripts/test.sh's
# (the shared scorers' Python libraries, the fastText baseline) if any is missing, with
# apt-get update then apt-get install -y; MTRS_SKIP_APT=1 skips it.
#
# bench_setup OUT_DIR DB: create OUT_DIR afresh (writable by the server for COPY TO), define
# PSQL and PGBENCH for the server in PGHOST/PGPORT if PGHOST is set, else start a throw-away
# cluster (scripts/lib.sh; stopped on exit), and create the empty database DB.
#
# pgbench_percentiles LOG...: "median M ms, p95 P ms, n N" of pgbench's per-transaction logs
# (pgbench -l; the third field is the latency in microseconds)
bench_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ] || [ "${MTRS_SKIP_APT:-0}" = 1 ]; then
    return 0
  fi
  echo "installing ${missing[*]}" >&2
  source "$ROOT/scripts/lib.sh"
  mtrs_apt_install "${missing[@]}"
}

bench_setup() {
  local out=$1 db=$2
  rm -rf "$out"
  mkdir -p "$out"
  chmod 777 "$out"
  if [ -z "${PGHOST:-}" ]; then
    source "$ROOT/scripts/lib.sh"
    mtrs_cluster_start "$db"
    PSQL() { psql_pg "$@"; }
    PGBENCH() { as_pg pgbench "$@"; }
  else
    PSQL() { psql -X -v ON_ERROR_STOP=1 "$@"; }
    PGBENCH() { pgbench "$@"; }
  fi
  PSQL -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
}

# ml100k_split_sql TRAIN_CSV TEST_CSV: print the SQL that loads a split of the shared
# MovieLens-100K protocol as the tables ml_train and ml_test (user_id, item_id, rating, ts)
ml100k_split_sql() {
  cat <<SQL
CREATE TABLE ml_train (user_id bigint, item_id bigint, rating real, ts bigint);
CREATE TABLE ml_test  (user_id bigint, item_id bigint, rating real, ts bigint);
\\copy ml_train FROM '$1' CSV HEADER
\\copy ml_test  FROM '$2' CSV HEADER
SQL
}

# ml100k_events_sql: print the SQL that makes ml_events from ml_train as bench/recsys/ml100k.sh
# trains on it: every rating is a 'rate' event, ratings >= 4 are also a 'like' event
ml100k_events_sql() {
  cat <<SQL
CREATE TABLE ml_events AS
SELECT user_id, item_id, 'rate'::text AS event, to_timestamp(ts) AS ts, rating FROM ml_train
UNION ALL
SELECT user_id, item_id, 'like', to_timestamp(ts), NULL FROM ml_train WHERE rating >= 4;
CREATE INDEX ON ml_events (user_id);	-- serving checks for fresh interactions by user
SQL
}

# ml100k_default_model_sql TRAIN_CSV TEST_CSV: print the SQL that creates the extension, loads
# a split (ml100k_split_sql, ml100k_events_sql) and trains the model 'ml100k' with default
# options, as bench/recsys/ml100k.sh '{}' does
ml100k_default_model_sql() {
  cat <<SQL
CREATE EXTENSION mtrs;
$(ml100k_split_sql "$1" "$2")
$(ml100k_events_sql)
SET client_min_messages = warning;
SELECT mtrs_train('ml100k', 'ml_events', rating_col => 'rating') > 0 AS trained;
SQL
}

# ml100k_movies_sql OUT_DIR: convert ../shared/data/ml-100k/u.item (Latin-1) into OUT_DIR and
# print the SQL that loads it as the catalog table movies (item_id, title without the year,
# genres: the genre names joined by spaces), for the ML-100K text benchmarks
ml100k_movies_sql() {
  local out=$1
  iconv -f latin1 -t utf-8 "$SHARED/data/ml-100k/u.item" > "$out/u.item.utf8"
  cat <<SQL
CREATE TABLE u_item (line text);
\\copy u_item FROM '$out/u.item.utf8' WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')
CREATE TABLE movies AS
SELECT split_part(line, '|', 1)::bigint AS item_id,
       regexp_replace(split_part(line, '|', 2), ' \\(\\d{4}\\)\$', '') AS title,
       (SELECT string_agg(g, ' ' ORDER BY n)
          FROM unnest(ARRAY['unknown', 'action', 'adventure', 'animation', 'children', 'comedy',
                            'crime', 'documentary', 'drama', 'fantasy', 'film noir', 'horror',
                            'musical', 'mystery', 'romance', 'sci-fi', 'thriller', 'war', 'western'])
               WITH ORDINALITY AS x(g, n)
         WHERE split_part(line, '|', 5 + n::int) = '1') AS genres
  FROM u_item;
SQL
}

# score_line JSON LABEL: print "LABEL: accuracy A macro-F1 F" from a shared scorer's JSON output
score_line() {
  /usr/bin/python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print("%s: accuracy %.4f macro-F1 %.4f" % (sys.argv[2], j["accuracy"], j["macro_f1"]))' "$1" "$2"
}

# synthetic_shop_sql N: print the SQL that (re)creates the unlogged table events (user_id,
# item_id, event, ts) of the synthetic shop at N interactions, deterministically (setseed):
# N / 50 users and max(1000, N / 200) items in 20 taste groups (a user picks from their group
# 70 % of the time, else from the whole catalog, popularity skewed), every row a "view", 30 %
# of them also a "click" and 5 % a "purchase" row, times over 90 days
synthetic_shop_sql() {
  local n=$1 u=$(($1 / 50)) i=$(($1 / 200 > 1000 ? $1 / 200 : 1000))
  cat <<SQL
DROP TABLE IF EXISTS events;
SELECT setseed(0.5);
CREATE UNLOGGED TABLE events AS
WITH base AS (
  SELECT u AS user_id,
         CASE WHEN random() < 0.7
              THEN (u % 20) + 20 * floor(($i / 20) * random() ^ 2)::bigint
              ELSE floor($i * random() ^ 3)::bigint END AS item_id,
         timestamptz '2026-01-01' + random() * interval '90 days' AS ts,
         random() AS r
    FROM generate_series(1, $n) g, LATERAL (SELECT 1 + (g::bigint * 7919) % $u AS u) x)
SELECT user_id, item_id, 'view'::text AS event, ts FROM base
UNION ALL SELECT user_id, item_id, 'click', ts + interval '1 minute' FROM base WHERE r < 0.30
UNION ALL SELECT user_id, item_id, 'purchase', ts + interval '2 minutes' FROM base WHERE r < 0.05;
CREATE INDEX ON events (user_id, ts);	-- serving looks up a user's fresh interactions
ANALYZE events;
SQL
}

pgbench_percentiles() {
  cat "$@" | awk '{print $3}' | sort -n |
    awk '{a[NR] = $1} END {printf "median %.3f ms, p95 %.3f ms, n %d", a[int(NR * 0.5) + 1] / 1000, a[int(NR * 0.95) + 1] / 1000, NR}'
}
