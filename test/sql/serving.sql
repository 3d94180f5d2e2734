-- Serving: recommend, predict, similar items on a planted structure, and
-- every argument error.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
-- two communities: odd users use items 100..119, even users items 0..19;
-- every third interaction of a user is also a click
CREATE TABLE srv_events AS
SELECT u AS user_id, (u % 2) * 100 + ((u * 3 + g) % 20) AS item_id,
       'view'::text AS event, timestamptz '2026-01-01' + g * interval '1 hour' AS ts,
       (1 + (u + g) % 5)::real AS rating
  FROM generate_series(1, 60) u, generate_series(1, 8) g
UNION ALL
SELECT u, (u % 2) * 100 + ((u * 3 + g) % 20), 'click', timestamptz '2026-01-01' + g * interval '1 hour', NULL
  FROM generate_series(1, 60) u, generate_series(1, 8) g WHERE g % 3 = 0;
SELECT mtrs_register('srv', mtrs_fit(user_id, item_id, event, ts, rating, '{"dim": 8, "iterations": 8}'::jsonb)) > 0 AS registered
  FROM srv_events;
SELECT tasks FROM mtrs_model WHERE name = 'srv';
-- recommendations stay inside the user's community and skip seen items
SELECT bool_and(item_id >= 100) AS odd_user_gets_odd_items, count(*) AS n,
       bool_and(NOT EXISTS (SELECT 1 FROM srv_events e WHERE e.user_id = 7 AND e.item_id = r.item_id)) AS unseen
  FROM mtrs_recommend(7, 5) r;
SELECT bool_and(item_id < 100) AS even_user_gets_even_items FROM mtrs_recommend(8, 5);
SELECT array_agg(rank ORDER BY rank) AS ranks, bool_and(score IS NOT NULL) AS scored FROM mtrs_recommend(8, 5);
-- with exclude_seen => false the user's own items may come back
SELECT count(*) > 0 AS seen_included
  FROM mtrs_recommend(7, 20, exclude_seen => false) r
 WHERE EXISTS (SELECT 1 FROM srv_events e WHERE e.user_id = 7 AND e.item_id = r.item_id);
-- candidates restrict the result; unknown candidates are skipped
SELECT array_agg(item_id ORDER BY item_id) AS picked
  FROM mtrs_recommend(7, 10, candidates => ARRAY[1, 101, 102, 999999]::bigint[], exclude_seen => false);
-- with exclude_seen (the default) the user's items are left out of the candidates too
SELECT count(*) AS n,
       array_agg(item_id ORDER BY item_id) = (SELECT array_agg(i::bigint ORDER BY i) FROM generate_series(100, 119) i
                                               WHERE i NOT IN (SELECT item_id FROM srv_events WHERE user_id = 7))
         AS exactly_the_unseen_candidates
  FROM mtrs_recommend(7, 100, candidates => (SELECT array_agg(i::bigint) FROM generate_series(100, 119) i));
-- an id given twice (or with a null) is ranked once, with the score it has alone
SELECT array_agg(item_id ORDER BY rank) AS picked_once, array_agg(rank ORDER BY rank) AS ranks,
       bool_and(score = (SELECT a.score FROM mtrs_recommend(7, 1, candidates => ARRAY[r.item_id], exclude_seen => false) a))
         AS same_scores
  FROM mtrs_recommend(7, 10, candidates => ARRAY[102, 1, 101, NULL, 102, 101, 102]::bigint[], exclude_seen => false) r;
-- an unseen user gets the most popular items
SELECT count(*) AS n FROM mtrs_recommend(123456, 5);
-- a user id given as NULL gives no rows
SELECT count(*) AS n FROM mtrs_recommend(NULL, 5);
-- k larger than the catalog returns the whole unseen catalog
SELECT count(*) = 40 - (SELECT count(DISTINCT item_id) FROM srv_events WHERE user_id = 7) AS whole_catalog
  FROM mtrs_recommend(7, 1000000);
-- event heads give probabilities, the rating head a rating in range; an unknown
-- item has no item part (the plain ranking score is then exactly 0)
SELECT mtrs_predict(7, 101, 'click') BETWEEN 0 AND 1 AS click_is_probability,
       mtrs_predict(7, 101, 'rating') BETWEEN 1 AND 5 AS rating_in_range,
       mtrs_predict(7, 101) > mtrs_predict(7, 1) AS own_community_scores_higher,
       mtrs_predict(7, 424242) = 0 AS unknown_item_scores_zero,
       mtrs_predict(NULL, 1) IS NULL AS null_user_null;
-- similar items come from the same community
SELECT bool_and(item_id >= 100) AS similar_same_community, count(*) AS n FROM mtrs_similar_items(105, 5);
SELECT count(*) AS n FROM mtrs_similar_items(424242, 5);
-- the set-returning functions also work in a select list, in every call form
SELECT (SELECT array_agg(rank ORDER BY rank) FROM (SELECT (mtrs_recommend(7, 3)).*) r) AS select_list_ranks,
       (SELECT count(*) FROM (SELECT mtrs_recommend_for(ARRAY[1, 2]::bigint[], 3)) r) AS recommend_for_rows,
       (SELECT count(*) FROM (SELECT (mtrs_similar_items(1, 2)).item_id) r) AS similar_rows,
       (SELECT array_agg(item_id ORDER BY rank) FROM (SELECT (mtrs_recommend(7, 3)).*) r) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(7, 3)) AS same_as_from_clause;
-- argument errors
SELECT * FROM mtrs_recommend(7, 0);
SELECT * FROM mtrs_recommend(7, NULL);
SELECT * FROM mtrs_recommend(7, 5, task => 'purchase');
SELECT * FROM mtrs_recommend(7, 5, model => 'nope');
SELECT mtrs_predict(7, 1, 'nope');
SELECT * FROM mtrs_similar_items(1, -1);
-- two active models: the model must be named
SELECT mtrs_register('srv2', weights) > 0 AS registered FROM mtrs_model WHERE name = 'srv';
SELECT * FROM mtrs_recommend(7, 1);
SET mtrs.default_model = 'srv2';
SELECT count(*) AS n FROM mtrs_recommend(7, 1);
RESET mtrs.default_model;
DROP EXTENSION mtrs;
DROP TABLE srv_events;
