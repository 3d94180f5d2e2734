-- The demo's shop (scripts/demo_data.sql) and the demo's training call: what
-- the demo shows holds, and it holds for every user and item, not only the
-- ones the demo prints.  The shop plants a favourite category per user and a
-- second one for their last ten days, clicks that depend on the item and the
-- user's current category, and purchases that depend on the user.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set shop :abs_srcdir '/../scripts/demo_data.sql'
\set ECHO none
\i :shop
\set ECHO all
SELECT event, count(*) AS events FROM shop_events GROUP BY event ORDER BY count(*) DESC;
SELECT mtrs_train('shop', 'shop_events', intents => 'shop_utterances',
                  items => 'shop_items', item_text_cols => ARRAY['title', 'title_zh', 'category'],
                  options => '{"iterations": 8, "text_epochs": 30}') > 0 AS trained;

-- every user's current category (most of their views in their last ten days)
-- and their favourite (most of their views before)
CREATE TEMP TABLE taste AS
SELECT c.user_id, c.cat AS current_cat, f.cat AS favourite_cat
  FROM (SELECT DISTINCT ON (e.user_id) e.user_id, e.item_id / 100 AS cat
          FROM shop_events e
         WHERE e.event = 'view' AND e.ts >= timestamptz '2026-09-01' + interval '31 days'
         GROUP BY e.user_id, e.item_id / 100 ORDER BY e.user_id, count(*) DESC, e.item_id / 100) c
  JOIN (SELECT DISTINCT ON (e.user_id) e.user_id, e.item_id / 100 AS cat
          FROM shop_events e
         WHERE e.event = 'view' AND e.ts < timestamptz '2026-09-01' + interval '31 days'
         GROUP BY e.user_id, e.item_id / 100 ORDER BY e.user_id, count(*) DESC, e.item_id / 100) f USING (user_id);
-- of each user's top 5, how many are of their current and of their favourite
-- category; and of the five most viewed items of the shop (popularity)
WITH pop AS (SELECT item_id FROM shop_events WHERE event = 'view' GROUP BY item_id ORDER BY count(*) DESC, item_id LIMIT 5),
per_user AS (
SELECT (SELECT count(*) FROM mtrs_recommend(t.user_id, 5) r WHERE r.item_id / 100 = t.current_cat) AS model_current,
       (SELECT count(*) FROM mtrs_recommend(t.user_id, 5) r WHERE r.item_id / 100 = t.favourite_cat) AS model_favourite,
       (SELECT count(*) FROM pop WHERE pop.item_id / 100 = t.current_cat) AS popular_current
  FROM taste t)
SELECT count(*) AS users,
       avg(model_current) >= 2 AS model_follows_users,
       avg(model_current) > avg(model_favourite) AS newest_count_most,
       avg(popular_current) < 1 AS popularity_does_not
  FROM per_user;

-- every user's top item is explained by their history of its category: the
-- first row of mtrs_explain is of that category for >= 90 % of users, while
-- that category is less than half of the average user's history
WITH top1 AS (SELECT u.user_id, (SELECT item_id FROM mtrs_recommend(u.user_id, 1)) AS item_id
                FROM (SELECT DISTINCT user_id FROM shop_events) u),
first_reason AS (SELECT t.user_id, t.item_id, e.item_id AS because
                   FROM top1 t, mtrs_explain(t.user_id, t.item_id, 1) e WHERE e.rank = 1),
history_share AS (SELECT t.user_id, avg((h.item_id / 100 = t.item_id / 100)::int) AS share
                    FROM top1 t JOIN (SELECT DISTINCT user_id, item_id FROM shop_events) h USING (user_id)
                   GROUP BY t.user_id)
SELECT count(*) AS users,
       avg((because / 100 = item_id / 100)::int) >= 0.9 AS explained_by_its_category,
       (SELECT avg(share) FROM history_share) < 0.5 AS category_under_half_of_history
  FROM first_reason;
-- a new visitor who viewed two cameras gets cameras, at once
INSERT INTO shop_events VALUES (90001, 801, 'view', now()), (90001, 802, 'view', now());
SELECT count(*) FILTER (WHERE item_id / 100 = 8) AS cameras, count(*) AS of
  FROM mtrs_recommend(90001, 5);
-- a query moves users to what they typed, in English or Chinese: of their top
-- 5, how many match it, with the query and without
SELECT query, with_query >= 3.5 AS most_match, with_query - without >= 2 AS moved
  FROM (SELECT q.query,
               avg((SELECT count(*) FROM mtrs_recommend(u, 5, query => q.query) r WHERE r.item_id / 100 = q.cat)) AS with_query,
               avg((SELECT count(*) FROM mtrs_recommend(u, 5) r WHERE r.item_id / 100 = q.cat)) AS without
          FROM (VALUES ('a good camera', 8), ('coffee', 6), ('无反相机', 8), ('我想买咖啡磨豆机', 6)) q(query, cat),
               generate_series(1, 300, 10) u
         GROUP BY q.query) m
 ORDER BY query;
SELECT count(*) FILTER (WHERE item_id / 100 = 8) AS cameras, count(*) AS of
  FROM mtrs_recommend_for(ARRAY[]::bigint[], 3, query => '无反相机');
-- every item's most similar items are of its category
SELECT count(*) AS pairs, count(*) FILTER (WHERE s.item_id / 100 = i.item_id / 100) AS same_category
  FROM shop_items i, mtrs_similar_items(i.item_id, 5) s;

-- the demo's sentences, and two more the training utterances do not contain
SELECT u.utterance, coalesce(string_agg(i.intent, ', ' ORDER BY i.intent), '(none)') AS intents
  FROM unnest(ARRAY['I would like to buy new headphones',
                    'my camera arrived broken, how do I return it?',
                    'I need a new phone, and where is my camera order?',
                    '我想买一台相机', '我想买一台相机，我的耳机订单到哪里了',
                    'has my phone been delivered', '我要退掉这个背包']) WITH ORDINALITY AS u(utterance, n)
  LEFT JOIN LATERAL mtrs_intent(u.utterance) i ON true
 GROUP BY u.utterance, u.n ORDER BY u.n;

-- the event heads learn what the shop planted: the guarded retrain scores the
-- recipe on the last fifth of the events, trained on the rest
CALL mtrs_retrain('shop');
SELECT (g->'cart'->>'candidate')::float8 > 0.85 AS cart_auc_high,
       (g->'purchase'->>'candidate')::float8 > 0.85 AS purchase_auc_high,
       (g->'click'->>'candidate')::float8 > 0.6 AS click_auc_above_chance,
       g ? 'view' AS view_scored
  FROM (SELECT metrics->'last_retrain'->'guard' AS g FROM mtrs_model WHERE name = 'shop' AND active) m;
DROP EXTENSION mtrs;
DROP TABLE shop_items, shop_events, shop_utterances;
