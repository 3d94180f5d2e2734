-- mtrs_item_vectors and mtrs_user_vectors: the inner product of a user's and
-- an item's vector is the head's score (ranking) or unclamped rating, for
-- every pair; ordering by it gives mtrs_recommend's items and ranks (seen
-- items included), fresh rows folded in; the first dim components of an
-- item's vector give mtrs_similar_items; ids are taken in order, unknown ones
-- and NULLs skipped; event heads have no vectors; mtrs_query_vector ranks
-- the catalog as mtrs_recommend_for('{}', k, query => ...) does.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
-- two communities; views, clicks on every third view, ratings; soft sharing
-- gives the heads private factors
CREATE TABLE vec_events AS
SELECT u AS user_id, (u % 2) * 100 + ((u * 3 + g) % 25) AS item_id,
       'view'::text AS event, timestamptz '2026-01-01' + g * interval '1 hour' AS ts,
       (1 + (u + g) % 5)::real AS rating
  FROM generate_series(1, 60) u, generate_series(1, 9) g
UNION ALL
SELECT u, (u % 2) * 100 + ((u * 3 + g) % 25), 'click', timestamptz '2026-01-01' + g * interval '1 hour', NULL
  FROM generate_series(1, 60) u, generate_series(1, 9) g WHERE g % 3 = 0;
CREATE INDEX ON vec_events (user_id);
SET client_min_messages = warning;
SELECT mtrs_train('vec', 'vec_events', rating_col => 'rating',
                  options => '{"dim": 8, "iterations": 6, "sharing": "soft", "head_dim": 3}') > 0 AS trained;
RESET client_min_messages;
-- one vector per item and per trained user, dim + head_dim + 2 components
SELECT (SELECT count(*) FROM mtrs_item_vectors()) AS items,
       (SELECT count(*) FROM mtrs_user_vectors()) AS users,
       (SELECT array_agg(DISTINCT cardinality(vector)) FROM mtrs_item_vectors()) AS item_len,
       (SELECT array_agg(DISTINCT cardinality(vector)) FROM mtrs_user_vectors()) AS user_len,
       (SELECT bool_and(vector[13] = 1) FROM mtrs_item_vectors()) AS item_last_is_one,
       (SELECT bool_and(vector[12] = 1) FROM mtrs_user_vectors()) AS user_second_last_is_one;
CREATE FUNCTION pg_temp.dot(a real[], b real[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$ SELECT sum(x::float8 * y) FROM unnest(a, b) AS t(x, y) $$;
-- every pair: the inner product is mtrs_predict's score, and its rating
-- before clamping to the training range
SELECT 'ranking' AS task,
       count(*) AS pairs,
       max(abs(pg_temp.dot(u.vector, i.vector) - mtrs_predict(u.user_id, i.item_id))) < 1e-4 AS equal
  FROM mtrs_user_vectors() u, mtrs_item_vectors() i
UNION ALL
SELECT 'rating', count(*),
       max(abs(least(greatest(pg_temp.dot(u.vector, i.vector), 1), 5)
               - mtrs_predict(u.user_id, i.item_id, 'rating'))) < 1e-4
  FROM mtrs_user_vectors(task => 'rating') u, mtrs_item_vectors(task => 'rating') i;
-- top 5 by inner product = mtrs_recommend(exclude_seen => false), items and
-- ranks, for every user
CREATE FUNCTION pg_temp.mismatched(ids bigint[], task text) RETURNS bigint
LANGUAGE sql AS $$
	WITH u AS (SELECT * FROM mtrs_user_vectors(ids, task => task)),
	     byvec AS (SELECT user_id, item_id, rank
	                 FROM (SELECT u.user_id, i.item_id,
	                              row_number() OVER (PARTITION BY u.user_id
	                                                 ORDER BY pg_temp.dot(u.vector, i.vector) DESC) AS rank
	                         FROM u, mtrs_item_vectors(task => task) i) s
	                WHERE rank <= 5),
	     rec AS (SELECT u.user_id, r.item_id, r.rank
	               FROM u, mtrs_recommend(u.user_id, 5, task => task, exclude_seen => false) r)
	SELECT (SELECT count(*) FROM (SELECT * FROM byvec EXCEPT ALL SELECT * FROM rec) x) +
	       (SELECT count(*) FROM (SELECT * FROM rec EXCEPT ALL SELECT * FROM byvec) y)
$$;
SELECT pg_temp.mismatched(NULL, NULL) AS ranking_mismatched,
       pg_temp.mismatched(NULL, 'rating') AS rating_mismatched;
-- the first dim components are the embedding mtrs_similar_items compares
SELECT count(*) AS rows, count(*) FILTER (WHERE s.item_id IS DISTINCT FROM c.item_id) AS mismatched
  FROM (SELECT a.item_id AS of, b.item_id,
               row_number() OVER (PARTITION BY a.item_id
                                  ORDER BY pg_temp.dot(a.vector[1:8], b.vector[1:8])
                                           / sqrt(pg_temp.dot(b.vector[1:8], b.vector[1:8])) DESC) AS rank
          FROM mtrs_item_vectors() a, mtrs_item_vectors() b
         WHERE a.item_id <> b.item_id) c
  JOIN LATERAL mtrs_similar_items(c.of, 3) s ON s.rank = c.rank
 WHERE c.rank <= 3;
-- ids in the order given; unknown items, NULLs skipped; repeats repeated
SELECT array_agg(item_id ORDER BY ord) AS items
  FROM (SELECT item_id, row_number() OVER () AS ord
          FROM mtrs_item_vectors(ARRAY[101, 999999, NULL, 3, 101]::bigint[])) s;
-- fresh rows: a new user is folded in and served like mtrs_recommend serves
-- them; an unknown user without rows has no vector
INSERT INTO vec_events SELECT 5000, i, 'view', now(), NULL FROM generate_series(0, 4) i;
SELECT array_agg(user_id ORDER BY ord) AS users
  FROM (SELECT user_id, row_number() OVER () AS ord
          FROM mtrs_user_vectors(ARRAY[5000, 777777, NULL, 8]::bigint[])) s;
SELECT pg_temp.mismatched(ARRAY[5000, 8]::bigint[], NULL) AS fresh_user_mismatched;
SELECT bool_and(item_id < 100) AS new_user_nearest_even_community
  FROM (SELECT i.item_id
          FROM mtrs_user_vectors(ARRAY[5000]::bigint[]) u, mtrs_item_vectors() i
         ORDER BY pg_temp.dot(u.vector, i.vector) DESC LIMIT 5) s;
-- nothing to do
SELECT count(*) AS n FROM mtrs_user_vectors(ARRAY[]::bigint[]);
SELECT count(*) AS n FROM mtrs_item_vectors(ARRAY[NULL]::bigint[]);
-- errors
SELECT * FROM mtrs_item_vectors(task => 'click');
SELECT * FROM mtrs_user_vectors(task => 'click');
SELECT * FROM mtrs_user_vectors(task => 'nope');
SELECT * FROM mtrs_item_vectors(model => 'nope');
SELECT * FROM mtrs_user_vectors(ARRAY[[1, 2], [3, 4]]::bigint[]);
-- a visitor who has only typed a query: titles say which community an item
-- belongs to; top 5 by inner product = mtrs_recommend_for('{}', 5, query => ...)
CREATE TABLE vec_items AS
SELECT item_id, CASE WHEN item_id < 100 THEN 'red shoe ' ELSE 'blue hat ' END || item_id AS title
  FROM (SELECT DISTINCT item_id FROM vec_events) i;
SET client_min_messages = warning;
SELECT mtrs_train('vectext', 'vec_events', items => 'vec_items',
                  options => '{"dim": 8, "iterations": 6}') > 0 AS trained;
RESET client_min_messages;
CREATE FUNCTION pg_temp.query_mismatched(q text) RETURNS bigint
LANGUAGE sql AS $$
	WITH byvec AS (SELECT item_id, row_number() OVER (ORDER BY pg_temp.dot(mtrs_query_vector(q, 'vectext'), vector) DESC) AS rank
	                 FROM mtrs_item_vectors(model => 'vectext')),
	     rec AS (SELECT item_id, rank FROM mtrs_recommend_for('{}', 5, 'vectext', query => q))
	SELECT (SELECT count(*) FROM (SELECT * FROM byvec WHERE rank <= 5 EXCEPT ALL SELECT * FROM rec) x) +
	       (SELECT count(*) FROM (SELECT * FROM rec EXCEPT ALL SELECT * FROM byvec WHERE rank <= 5) y)
$$;
SELECT q, pg_temp.query_mismatched(q) AS mismatched,
       (SELECT array_agg(DISTINCT item_id / 100) FROM mtrs_recommend_for('{}', 5, 'vectext', query => q)) AS communities
  FROM unnest(ARRAY['red shoe', 'a blue hat please']) q;
SELECT cardinality(mtrs_query_vector('red shoe', 'vectext')) AS len,
       mtrs_query_vector('红色', 'vectext') IS NULL AS unknown_words_null,
       mtrs_query_vector('', 'vectext') IS NULL AS empty_null,
       mtrs_query_vector(NULL, 'vectext') IS NULL AS null_null;
SELECT mtrs_query_vector('red shoe', 'vec');
SELECT mtrs_query_vector('red shoe', 'vectext', 'click');
DROP TABLE vec_events, vec_items;
DROP EXTENSION mtrs;
