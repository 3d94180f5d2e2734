#!/usr/bin/env bash
# bench/recsys/ml100k_query.sh -- text search with the words people type: how well a query
# written as a request ("can you find me a western movie to watch") ranks the catalog,
# for a model that learned its words from item text only and for one that also learned
# intents from utterances (the shared token table of DESIGN §2).
#
# Usage (as root):  bash bench/recsys/ml100k_query.sh [OPTIONS_JSON]
# Uses the server in PGHOST/PGPORT if PGHOST is set, else starts a throw-away cluster.
# Protocol (own, deterministic):
#   * interactions: the shared ML-100K training split; catalog: ../shared/data/ml-100k/u.item
#     (title and genre names); utterances: the SNIPS training split (7 intents, among them
#     searching for movies and screenings);
#   * models: items_only (interactions + item text) and with_intents (the same + SNIPS);
#   * queries: each of the 18 genres in 6 phrasings, from the bare genre name to a request
#     full of words that no title or genre has ("find", "movie", "tonight", ...);
#   * metric: precision@10 of the genre -- the share of the top 10 that has the queried
#     genre -- for an anonymous visitor (the query alone ranks the catalog) and for users
#     1..50 (the query blended with their taste, query_weight 0.5), averaged over genres;
#     the catalog's share of each genre is the precision of a random ranking.
# Output: bench/out/ml100k-query/result.txt
set -Eeuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${MTRS_SHARED:-$ROOT/../shared}
OPTIONS=${1:-'{}'}
DATA=$SHARED/data
OUT=$ROOT/bench/out/ml100k-query
DB=mtrs_bench_query
source "$ROOT/bench/lib.sh"
bench_setup "$OUT" "$DB"

PSQL -q -d $DB <<SQL | tee "$OUT/result.txt"
CREATE EXTENSION mtrs;
SET client_min_messages = warning;
CREATE TABLE ml_train (user_id bigint, item_id bigint, rating real, ts bigint);
\copy ml_train FROM '$DATA/splits/ml-100k/train.csv' CSV HEADER
CREATE TABLE events AS
SELECT user_id, item_id, 'rate'::text AS event, to_timestamp(ts) AS ts FROM ml_train;
$(ml100k_movies_sql "$OUT")
CREATE TABLE utterances (text text, label text);
\copy utterances FROM '$DATA/intent/snips/train.tsv' WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\x01')
SELECT mtrs_train('items_only', 'events', items => 'movies', item_text_cols => ARRAY['title', 'genres'],
                  options => '$OPTIONS') > 0 AS trained_items_only;
SELECT mtrs_train('with_intents', 'events', items => 'movies', item_text_cols => ARRAY['title', 'genres'],
                  intents => 'utterances', options => '$OPTIONS') > 0 AS trained_with_intents;
CREATE TABLE genres AS
SELECT g, (SELECT count(*) FROM movies WHERE ' ' || genres || ' ' LIKE '% ' || g || ' %')::numeric
          / (SELECT count(*) FROM movies) AS share
  FROM unnest(ARRAY['action', 'adventure', 'animation', 'children', 'comedy', 'crime', 'documentary',
                    'drama', 'fantasy', 'film noir', 'horror', 'musical', 'mystery', 'romance',
                    'sci-fi', 'thriller', 'war', 'western']) g;
CREATE TABLE phrasings (p int, template text);
INSERT INTO phrasings VALUES
  (1, '%s'),
  (2, '%s movies'),
  (3, 'a good %s film'),
  (4, 'show me a %s movie'),
  (5, 'can you find me a %s movie to watch tonight'),
  (6, 'i would like to see the best %s picture playing at the cinema');
CREATE FUNCTION genre_hits(model text, uid bigint, q text, g text) RETURNS numeric
LANGUAGE sql STABLE AS \$\$
  SELECT count(*)::numeric / 10
    FROM (SELECT item_id FROM mtrs_recommend_for(ARRAY[]::bigint[], 10, model => model, query => q)
           WHERE uid IS NULL
          UNION ALL
          SELECT item_id FROM mtrs_recommend(uid, 10, model => model, query => q)
           WHERE uid IS NOT NULL) r
    JOIN movies m USING (item_id)
   WHERE ' ' || m.genres || ' ' LIKE '% ' || g || ' %'
\$\$;
\echo '== a random ranking: precision@10 = the share of the genre in of the catalog, mean over 18 genres'
SELECT round(avg(share), 4) AS random_precision FROM genres;
\echo '== anonymous visitor: the query alone ranks the catalog'
SELECT p, template,
       round(avg(genre_hits('items_only', NULL, format(template, g), g)), 4) AS items_only,
       round(avg(genre_hits('with_intents', NULL, format(template, g), g)), 4) AS with_intents
  FROM phrasings, genres GROUP BY p, template ORDER BY p;
\echo '== users 1..50: the query blended with their taste'
SELECT p, template,
       round(avg(genre_hits('items_only', u, format(template, g), g)), 4) AS items_only,
       round(avg(genre_hits('with_intents', u, format(template, g), g)), 4) AS with_intents
  FROM phrasings, genres, generate_series(1, 50) u GROUP BY p, template ORDER BY p;
SQL
