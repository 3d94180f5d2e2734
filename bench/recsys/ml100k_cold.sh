#!/usr/bin/env bash
# bench/recsys/ml100k_cold.sh -- items that nobody has touched yet, recommended from their text.
#
# Usage (as root):  bash bench/recsys/ml100k_cold.sh [OPTIONS_JSON]
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Protocol (own, deterministic):
#   * the catalog is ../shared/data/ml-100k/u.item: title and genre names per movie;
#   * every item with item_id % 10 = 3 is held out: all its interactions are removed
#     (COLD_REMAINDER=7 holds out item_id % 10 = 7 instead: a second split for choosing methods)
#     from the shared training split before training;
#   * the model is trained with mtrs_train(interactions => the rest, items => catalog);
#   * evaluation pairs: the first 20 interactions (by time, over the whole data set) of
#     every held-out item -- the first users who will meet it;
#   * for every user in those pairs, mtrs_recommend ranks the held-out items only
#     (candidates => held-out ids); Recall@20 = hits / min(20, pairs of the user),
#     averaged over users; the same for a random ranking (expected value 20 / n_held_out
#     per pair, capped) and for the model trained without item text (cold items unknown:
#     they cannot be ranked at all).
# Output: bench/out/ml100k-cold/result.txt
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
OPTIONS=${1:-'{}'}
DATA=$SHARED/data
OUT=$ROOT/bench/out/ml100k-cold
DB=mtrs_bench_cold
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL | tee "$OUT/result.txt"
CREATE EXTENSION mtrs;
SET client_min_messages = warning;
CREATE TABLE ml_train (user_id bigint, item_id bigint, rating real, ts bigint);
CREATE TABLE ml_all (user_id bigint, item_id bigint, rating real, ts bigint);
\copy ml_train FROM '$DATA/splits/ml-100k/train.csv' CSV HEADER
\copy ml_all FROM PROGRAM 'cat "$DATA/ml-100k/u.data"' WITH (FORMAT text)
$(ml100k_movies_sql "$OUT")
CREATE TABLE held_out AS SELECT item_id FROM movies WHERE item_id % 10 = ${COLD_REMAINDER:-3};
CREATE TABLE events AS
SELECT user_id, item_id, 'rate'::text AS event, to_timestamp(ts) AS ts FROM ml_train
 WHERE item_id NOT IN (SELECT item_id FROM held_out);
CREATE INDEX ON events (user_id);
CREATE TABLE pairs AS
SELECT user_id, item_id FROM (
  SELECT user_id, item_id, row_number() OVER (PARTITION BY item_id ORDER BY ts, user_id) AS rn
    FROM ml_all WHERE item_id IN (SELECT item_id FROM held_out)) s
 WHERE rn <= 20;
\echo '== held-out items, evaluation pairs and users'
SELECT (SELECT count(*) FROM held_out) AS held_out_items, count(*) AS pairs,
       count(DISTINCT user_id) AS users FROM pairs;
\timing on
SELECT mtrs_train('with_text', 'events', items => 'movies', item_text_cols => ARRAY['title', 'genres'],
                  options => '$OPTIONS') > 0 AS trained_with_text;
\timing off
SELECT mtrs_train('without_text', 'events', options => '$OPTIONS') > 0 AS trained_without_text;
SELECT n_items, source->'items'->>'text_only_items' AS text_only_items
  FROM mtrs_model WHERE name = 'with_text';
CREATE TABLE per_user AS
SELECT p.user_id, count(*) AS n,
       (SELECT count(*) FROM mtrs_recommend(p.user_id, 20, model => 'with_text',
                candidates => (SELECT array_agg(item_id) FROM held_out), exclude_seen => false) r
         WHERE r.item_id IN (SELECT item_id FROM pairs q WHERE q.user_id = p.user_id)) AS hits
  FROM pairs p GROUP BY p.user_id;
\echo '== Recall@20 over the held-out items, averaged over users'
SELECT round(avg(hits::numeric / least(20, n)), 4) AS recall_at_20_with_text,
       round(avg(least(n, 20) * 20.0 / (SELECT count(*) FROM held_out) / least(20, n)), 4) AS recall_at_20_random,
       round(avg(hits::numeric / least(20, n)) /
             avg(least(n, 20) * 20.0 / (SELECT count(*) FROM held_out) / least(20, n)), 2) AS ratio_to_random,
       (SELECT count(*) FROM mtrs_recommend(1, 20, model => 'without_text',
                candidates => (SELECT array_agg(item_id) FROM held_out))) AS rankable_without_text
  FROM per_user;
\echo '== a typed query moves recommendations (user 1, top 10): share of items of the queried genre'
SELECT q AS query,
       (SELECT count(*) FROM mtrs_recommend(1, 10, model => 'with_text') r JOIN movies m USING (item_id)
         WHERE m.genres LIKE '%' || g || '%') AS before,
       (SELECT count(*) FROM mtrs_recommend(1, 10, model => 'with_text', query => q) r JOIN movies m USING (item_id)
         WHERE m.genres LIKE '%' || g || '%') AS after
  FROM (VALUES ('a scary horror movie', 'horror'), ('western', 'western'), ('animation for children', 'animation')) v(q, g);
SQL
