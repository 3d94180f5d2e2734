-- mtrs_recommend_batch: for every user it gives the rows of mtrs_recommend
-- (items and ranks exactly, scores to float precision), for every kind of
-- task head, with and without seen items, fold-in of fresh rows included;
-- mtrs_similar_items_batch likewise for mtrs_similar_items; and every
-- argument error.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
-- two communities; views, clicks on every third view, carts on every fourth
-- click's items (a chain: cart follows click), ratings; soft sharing gives the
-- heads private factors
CREATE TABLE bat_events AS
SELECT u AS user_id, (u % 2) * 100 + ((u * 3 + g) % 25) AS item_id,
       'view'::text AS event, timestamptz '2026-01-01' + g * interval '1 hour' AS ts,
       (1 + (u + g) % 5)::real AS rating
  FROM generate_series(1, 70) u, generate_series(1, 9) g
UNION ALL
SELECT u, (u % 2) * 100 + ((u * 3 + g) % 25), 'click', timestamptz '2026-01-01' + g * interval '1 hour', NULL
  FROM generate_series(1, 70) u, generate_series(1, 9) g WHERE g % 3 = 0
UNION ALL
SELECT u, (u % 2) * 100 + ((u * 3 + g) % 25), 'cart', timestamptz '2026-01-01' + g * interval '1 hour', NULL
  FROM generate_series(1, 70) u, generate_series(1, 9) g WHERE g % 3 = 0 AND u % 4 = 0;
CREATE INDEX ON bat_events (user_id);
SET client_min_messages = warning;
SELECT mtrs_train('bat', 'bat_events', rating_col => 'rating',
                  options => '{"dim": 8, "iterations": 6, "sharing": "soft", "head_dim": 3}') > 0 AS trained;
RESET client_min_messages;
SELECT tasks, (mtrs_model_describe(weights)->>'head_dim')::int AS head_dim
  FROM mtrs_model WHERE name = 'bat';
-- the rows of a batch (id, item, score, rank) that do not match one call per id, plus
-- the rows missing or extra: a batch row matches if the call gives its item the same
-- score and gives that score at its rank, since two items whose scores tie to float
-- rounding may swap places (sgemm and sgemv round differently, and differently on each
-- CPU); the call's top k + 10 holds the items swapped in at rank k
CREATE TYPE pg_temp.ranked AS (id bigint, item bigint, score real, rank int);
CREATE FUNCTION pg_temp.mismatched(bat pg_temp.ranked[], one pg_temp.ranked[], k int)
RETURNS bigint LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM unnest(bat) b
	         WHERE NOT EXISTS (SELECT 1 FROM unnest(one) o WHERE o.id = b.id AND o.item = b.item
	                                                       AND abs(o.score - b.score) < 1e-5)
	            OR NOT EXISTS (SELECT 1 FROM unnest(one) o WHERE o.id = b.id AND o.rank = b.rank
	                                                       AND abs(o.score - b.score) < 1e-5)) +
	       abs(cardinality(bat) - (SELECT count(*) FROM unnest(one) o WHERE o.rank <= k))
$$;
-- compare the batch with one mtrs_recommend call per user: the mismatched rows and the
-- largest score difference
CREATE FUNCTION pg_temp.compare(ids bigint[], k int, task text, exclude_seen boolean)
RETURNS TABLE (rows_batch bigint, mismatched bigint, max_score_diff_small boolean)
LANGUAGE sql AS $$
	WITH one AS (SELECT u.user_id, u.ord, r.*
	               FROM unnest(coalesce(ids, (SELECT array_agg(DISTINCT user_id ORDER BY user_id)
	                                            FROM bat_events))) WITH ORDINALITY u(user_id, ord),
	                    mtrs_recommend(u.user_id, k + 10, task => task, exclude_seen => exclude_seen) r),
	     bat AS (SELECT * FROM mtrs_recommend_batch(ids, k, task => task, exclude_seen => exclude_seen))
	SELECT (SELECT count(*) FROM bat),
	       pg_temp.mismatched(ARRAY(SELECT (user_id, item_id, score, rank)::pg_temp.ranked FROM bat),
	                          ARRAY(SELECT (user_id, item_id, score, rank)::pg_temp.ranked FROM one), k),
	       coalesce((SELECT max(abs(o.score - b.score) / greatest(abs(o.score), 1e-3))
	                   FROM one o JOIN bat b USING (user_id, item_id, rank)), 0) < 1e-5
$$;
-- every user the model knows (NULL), each kind of head
SELECT 'ranking' AS task, * FROM pg_temp.compare(NULL, 5, NULL, true);
SELECT 'click (event)' AS task, * FROM pg_temp.compare(NULL, 5, 'click', true);
SELECT 'cart (chained event)' AS task, * FROM pg_temp.compare(NULL, 5, 'cart', true);
SELECT 'rating' AS task, * FROM pg_temp.compare(NULL, 5, 'rating', false);
SELECT 'ranking, seen included' AS task, * FROM pg_temp.compare(NULL, 7, NULL, false);
-- the batch follows the input order, one block of rows per user
SELECT array_agg(DISTINCT user_id ORDER BY user_id) =
       (SELECT array_agg(DISTINCT user_id::bigint ORDER BY user_id::bigint) FROM bat_events) AS all_model_users,
       bool_and(rank BETWEEN 1 AND 5) AS ranks
  FROM mtrs_recommend_batch(k => 5);
SELECT array_agg(user_id ORDER BY ord) AS users_in_order
  FROM (SELECT user_id, row_number() OVER () AS ord FROM mtrs_recommend_batch(ARRAY[9, 4, 9]::bigint[], 2)) s;
-- fresh rows are folded in: an existing user's and a new user's; an unknown
-- user gets the popular items; NULL elements are skipped
INSERT INTO bat_events SELECT 3, 100 + i, 'view', now(), NULL FROM generate_series(20, 24) i;
INSERT INTO bat_events SELECT 5000, i, 'view', now(), NULL FROM generate_series(0, 4) i;
SELECT * FROM pg_temp.compare(ARRAY[3, 5000, 777777, NULL, 3, 8]::bigint[], 6, NULL, true);
SELECT * FROM pg_temp.compare(ARRAY[3, 5000, 777777, 8]::bigint[], 6, 'click', true);
SELECT bool_and(item_id < 100) AS new_user_gets_even_community
  FROM mtrs_recommend_batch(ARRAY[5000]::bigint[], 5);
-- a user the model cannot place: event heads rank by the item's probability of
-- the event times its training users relative to the most popular item's
CREATE TEMP TABLE bat_pop AS
SELECT item_id, count(DISTINCT user_id) AS n FROM bat_events WHERE ts < '2026-01-02' GROUP BY item_id;
SELECT t AS task, count(*) AS rows, count(DISTINCT r.score) > 5 AS ordered,
       max(abs(r.score - mtrs_predict(777777, r.item_id, t) * p.n / (SELECT max(n) FROM bat_pop))) < 1e-5
         AS expected_events
  FROM unnest(ARRAY['click', 'cart']) t, mtrs_recommend(777777, 10, task => t) r JOIN bat_pop p USING (item_id)
 GROUP BY t ORDER BY t;
-- k larger than the catalog: each user's whole unseen catalog
SELECT count(*) = 50 - (SELECT count(DISTINCT item_id) FROM bat_events WHERE user_id = 7) AS whole_catalog
  FROM mtrs_recommend_batch(ARRAY[7]::bigint[], 1000000);
-- nothing to do
SELECT count(*) AS n FROM mtrs_recommend_batch(ARRAY[]::bigint[], 5);
SELECT count(*) AS n FROM mtrs_recommend_batch(ARRAY[NULL]::bigint[], 5);
-- similar items: every item of the model, and a list with an unknown item, a
-- NULL and a repeat
CREATE FUNCTION pg_temp.compare_similar(ids bigint[], k int)
RETURNS TABLE (rows_batch bigint, mismatched bigint, max_score_diff_small boolean)
LANGUAGE sql AS $$
	WITH one AS (SELECT u.item_id, s.item_id AS similar_item_id, s.score, s.rank
	               FROM unnest(coalesce(ids, (SELECT array_agg(DISTINCT item_id::bigint ORDER BY item_id::bigint)
	                                            FROM bat_events))) u(item_id),
	                    mtrs_similar_items(u.item_id, k + 10) s),
	     bat AS (SELECT * FROM mtrs_similar_items_batch(ids, k))
	SELECT (SELECT count(*) FROM bat),
	       pg_temp.mismatched(ARRAY(SELECT (item_id, similar_item_id, score, rank)::pg_temp.ranked FROM bat),
	                          ARRAY(SELECT (item_id, similar_item_id, score, rank)::pg_temp.ranked FROM one), k),
	       coalesce((SELECT max(abs(o.score - b.score))
	                   FROM one o JOIN bat b USING (item_id, similar_item_id, rank)), 0) < 1e-5
$$;
SELECT * FROM pg_temp.compare_similar(NULL, 6);
SELECT * FROM pg_temp.compare_similar(ARRAY[101, 999999, NULL, 3, 101]::bigint[], 4);
SELECT count(*) = 49 AS all_other_items FROM mtrs_similar_items_batch(ARRAY[3]::bigint[], 1000);
-- errors
SELECT * FROM mtrs_similar_items_batch(NULL, 0);
SELECT * FROM mtrs_similar_items_batch(ARRAY[[1, 2], [3, 4]]::bigint[], 5);
SELECT * FROM mtrs_recommend_batch(NULL, 0);
SELECT * FROM mtrs_recommend_batch(ARRAY[[1, 2], [3, 4]]::bigint[], 5);
SELECT * FROM mtrs_recommend_batch(NULL, 5, task => 'nope');
SELECT * FROM mtrs_recommend_batch(NULL, 5, model => 'nope');
DROP TABLE bat_events;
DROP EXTENSION mtrs;
