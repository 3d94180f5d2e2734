-- mtrs_explain / mtrs_explain_for: the terms add up to the score the user is
-- served by fold-in (anonymous histories, fresh rows, every kind of head);
-- on planted tastes an item is explained by the history items of its own
-- group; k, NULL and unknown ids; a trained user is explained from the
-- source table's rows, or from the training history without it.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
-- two groups of users: odd users view items 1-20, even users items 101-120;
-- every user also viewed two items of the other group long ago; clicks on
-- every third view; ratings; soft sharing gives the heads private factors
CREATE TABLE exp_events AS
SELECT u AS user_id, (u % 2) * 100 + 1 + ((u * 7 + g * 3) % 20) AS item_id,
       'view'::text AS event, timestamptz '2026-01-01' + g * interval '1 day' AS ts,
       (1 + (u + g) % 5)::real AS rating
  FROM generate_series(1, 80) u, generate_series(1, 10) g
UNION ALL
SELECT u, (1 - u % 2) * 100 + 1 + (u + g) % 20, 'view', timestamptz '2025-12-01', 3
  FROM generate_series(1, 80) u, generate_series(1, 2) g
UNION ALL
SELECT u, (u % 2) * 100 + 1 + ((u * 7 + g * 3) % 20), 'click', timestamptz '2026-01-01' + g * interval '1 day', NULL
  FROM generate_series(1, 80) u, generate_series(1, 10) g WHERE g % 3 = 0;
CREATE INDEX ON exp_events (user_id, ts);
SET client_min_messages = warning;
SELECT mtrs_train('exp', 'exp_events', rating_col => 'rating',
                  options => '{"dim": 8, "iterations": 8, "reg": 1, "sharing": "soft", "head_dim": 3}') > 0 AS trained;
RESET client_min_messages;
-- an anonymous session: the rows sum to the score mtrs_recommend_for gives
-- (ranking: the score is the logit; rating: inside the rating range)
CREATE FUNCTION pg_temp.sum_vs_served(hist bigint[], item bigint, task text)
RETURNS TABLE (history_rows bigint, rest_rows bigint, sum_matches boolean)
LANGUAGE sql AS $$
	SELECT count(*) FILTER (WHERE e.item_id IS NOT NULL),
	       count(*) FILTER (WHERE e.item_id IS NULL AND e.rank IS NULL),
	       abs(sum(e.contribution) -
	           (SELECT score FROM mtrs_recommend_for(hist, 1, task => task, exclude_seen => false,
	                                                 candidates => ARRAY[item]))) < 1e-5
	  FROM mtrs_explain_for(hist, item, 1000, task => task) e
$$;
SELECT * FROM pg_temp.sum_vs_served(ARRAY[1, 2, 3, 105, 9999, NULL]::bigint[], 4, NULL);
SELECT * FROM pg_temp.sum_vs_served(ARRAY[1, 2, 3, 105]::bigint[], 110, NULL);
SELECT * FROM pg_temp.sum_vs_served(ARRAY[101, 102, 103, 104, 105, 106, 107]::bigint[], 108, 'rating');
-- event heads: the rows sum to the head's logit; mtrs_recommend_for ranks by
-- the probability along the chain (click follows view) times the ranking
-- score clamped to [0, 1]
WITH z AS (SELECT t, (SELECT sum(contribution) FROM mtrs_explain_for(ARRAY[1, 2, 3]::bigint[], 4, 1000, task => t)) AS logit
             FROM unnest(ARRAY['ranking', 'click', 'view']) t)
SELECT abs((SELECT 1 / (1 + exp(-logit)) FROM z WHERE t = 'click') *
           (SELECT 1 / (1 + exp(-logit)) FROM z WHERE t = 'view') *
           (SELECT least(greatest(logit, 0), 1) FROM z WHERE t = 'ranking') -
           (SELECT score FROM mtrs_recommend_for(ARRAY[1, 2, 3]::bigint[], 1, task => 'click',
                                                 exclude_seen => false, candidates => ARRAY[4::bigint]))) < 1e-6
       AS click_matches;
-- planted tastes: a session with five items of group 1 and two of group 2;
-- a group-1 item is explained by the group-1 items, a group-2 item by the
-- group-2 items, and each item's own interaction tops its explanation
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_explain_for(ARRAY[1, 2, 3, 4, 5, 101, 102]::bigint[], 6, 2) WHERE rank IS NOT NULL) <@ ARRAY[1, 2, 3, 4, 5]::bigint[]
       AS group1_item_by_group1,
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_explain_for(ARRAY[1, 2, 3, 4, 5, 101, 102]::bigint[], 110, 2) WHERE rank IS NOT NULL) <@ ARRAY[101, 102]::bigint[]
       AS group2_item_by_group2,
       (SELECT item_id FROM mtrs_explain_for(ARRAY[1, 2, 3, 4, 5, 101, 102]::bigint[], 3, 1) WHERE rank = 1) = 3
       AS own_item_first;
-- k rows ranked 1..k by contribution, then the rest
SELECT count(*) AS n_rows, array_agg(rank ORDER BY rank) AS ranks,
       bool_and(contribution IS NOT NULL) AS all_contributions
  FROM mtrs_explain_for(ARRAY[1, 2, 3, 4, 5, 101, 102]::bigint[], 6, 3);
SELECT bool_and(a.contribution >= b.contribution) AS ordered
  FROM mtrs_explain_for(ARRAY[1, 2, 3, 4, 5, 101, 102]::bigint[], 6) a
  JOIN mtrs_explain_for(ARRAY[1, 2, 3, 4, 5, 101, 102]::bigint[], 6) b ON b.rank = a.rank + 1;
-- NULL or unknown item: no rows; an empty or unknown history: the rest only
SELECT (SELECT count(*) FROM mtrs_explain_for(ARRAY[1]::bigint[], NULL)) AS null_item,
       (SELECT count(*) FROM mtrs_explain_for(ARRAY[1]::bigint[], 424242)) AS unknown_item,
       (SELECT count(*) FROM mtrs_explain(1, 424242)) AS unknown_item_user,
       (SELECT count(*) FROM mtrs_explain(NULL, 4)) AS null_user,
       (SELECT count(*) FROM mtrs_explain_for('{}'::bigint[], 4)) AS empty_history,
       (SELECT count(*) FROM mtrs_explain_for(ARRAY[9999, NULL]::bigint[], 4)) AS unknown_history,
       (SELECT count(*) FROM mtrs_explain(424242, 4)) AS unknown_user;
-- a trained user is explained from all of their rows in the source table:
-- its distinct items, which are also the training history
SELECT (SELECT array_agg(item_id ORDER BY item_id) FROM mtrs_explain(7, 4, 1000) WHERE item_id IS NOT NULL) =
       (SELECT array_agg(DISTINCT item_id::bigint ORDER BY item_id::bigint) FROM exp_events WHERE user_id = 7)
       AS user_rows_explained;
-- its terms explain the re-solved embedding: close to the trained score of
-- its top item (a score well away from 0, so a sum of nothing would fail)
SELECT r.score > 0.2 AS clear_score,
       abs((SELECT sum(contribution) FROM mtrs_explain(7, r.item_id, 1000)) - r.score) < 0.01 AS close_to_trained
  FROM mtrs_recommend(7, 1) r;
-- fresh rows: the user is served by fold-in, and the terms add up to the served score
INSERT INTO exp_events VALUES (7, 110, 'view', '2026-03-01', NULL), (7, 111, 'view', '2026-03-01', NULL),
                              (500, 101, 'view', '2026-03-01', NULL), (500, 102, 'view', '2026-03-01', NULL);
SELECT u AS user_id,
       abs((SELECT sum(contribution) FROM mtrs_explain(u, 112, 1000)) -
           (SELECT score FROM mtrs_recommend(u, 1, exclude_seen => false, candidates => ARRAY[112::bigint]))) < 1e-5
       AS sum_matches,
       (SELECT count(*) FROM mtrs_explain(u, 112, 1000) WHERE item_id IS NOT NULL) AS history_rows
  FROM unnest(ARRAY[7, 500]) u;
-- a user whose rows left the source table is explained from the training
-- history, as without fold-in
DELETE FROM exp_events WHERE user_id = 9;
CREATE TEMP TABLE no_rows AS SELECT * FROM mtrs_explain(9, 4, 1000);
SET mtrs.fold_in = off;
SELECT count(*) AS history_rows,
       array_agg(item_id ORDER BY rank) = (SELECT array_agg(item_id ORDER BY rank) FROM no_rows WHERE rank IS NOT NULL)
       AS same_as_without_fold_in
  FROM mtrs_explain(9, 4, 1000) WHERE rank IS NOT NULL;
RESET mtrs.fold_in;
-- without fold-in, the training history (no new rows; each item counted as recent)
SET mtrs.fold_in = off;
SELECT (SELECT array_agg(item_id ORDER BY item_id) FROM mtrs_explain(7, 4, 1000) WHERE item_id IS NOT NULL) =
       (SELECT array_agg(DISTINCT item_id::bigint ORDER BY item_id::bigint) FROM exp_events WHERE user_id = 7 AND ts < '2026-02-01')
       AS training_history_explained,
       (SELECT count(*) FROM mtrs_explain(500, 4)) AS new_user_rest_only;
RESET mtrs.fold_in;
DROP EXTENSION mtrs;
DROP TABLE exp_events;
