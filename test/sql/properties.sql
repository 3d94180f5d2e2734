-- Properties on planted structure (fixed data, fixed seeds):
--  1. multi-task beats the task trained alone: purchases are rare, clicks
--     reveal each user's category, and the model trained on both predicts
--     held-out purchases far better than one trained on purchases only;
--  2. the time column matters: users who moved from category A to B get B
--     when recent interactions weigh more, and a mix when they do not;
--  3. on a small table the default regularization ("reg": "auto") scales
--     with the interactions, where a fixed reg above their scale shrinks
--     every embedding to zero.
CREATE EXTENSION mtrs;
SET client_min_messages = warning;
-- 10 categories of 30 items (id = 100 * category + j).  User u likes category
-- c = u % 10, buys item p = (13 c + 11 (u / 10)) % 30 of it after clicking twelve
-- items p + 11 g (g = 0..11), and will later buy p + 12, which they never touched
CREATE TABLE users AS
SELECT u, u % 10 AS c, (13 * (u % 10) + 11 * (u / 10)) % 30 AS p FROM generate_series(0, 299) u;
CREATE TABLE shop AS
SELECT u AS user_id, c * 100 + (p + 11 * g) % 30 AS item_id, 'click'::text AS event,
       timestamptz '2026-01-01' + (g * 600 + u) * interval '1 second' AS ts
  FROM users, generate_series(0, 11) g
UNION ALL	-- two clicks elsewhere: noise
SELECT u, ((c + 3 + g) % 10) * 100 + (u + g) % 30, 'click',
       timestamptz '2026-01-01' + (g * 600 + u) * interval '1 second'
  FROM users, generate_series(0, 1) g
UNION ALL
SELECT u, c * 100 + p, 'purchase', timestamptz '2026-01-02' + u * interval '1 second'
  FROM users;
CREATE TABLE heldout AS SELECT u AS user_id, c * 100 + (p + 12) % 30 AS item_id FROM users;
SELECT count(*) AS overlap FROM heldout h JOIN shop s USING (user_id, item_id);
CREATE TABLE purchases_only AS SELECT * FROM shop WHERE event = 'purchase';
SELECT mtrs_train('multi', 'shop', options => '{"dim": 16, "iterations": 10}') > 0 AS multi,
       mtrs_train('single', 'purchases_only', options => '{"dim": 16, "iterations": 10}') > 0 AS single;
SELECT tasks FROM mtrs_model WHERE name = 'multi';
-- hit rate at 10 of the held-out purchase
CREATE TABLE hits AS
SELECT (SELECT avg((EXISTS (SELECT 1 FROM mtrs_recommend(h.user_id, 10, model => 'multi', task => 'purchase') r
                            WHERE r.item_id = h.item_id))::int) FROM heldout h) AS multi_purchase_head,
       (SELECT avg((EXISTS (SELECT 1 FROM mtrs_recommend(h.user_id, 10, model => 'single') r
                            WHERE r.item_id = h.item_id))::int) FROM heldout h) AS single_task;
SELECT multi_purchase_head > 0.3 AS multi_finds_purchases,
       multi_purchase_head > 3 * single_task AS multi_beats_single
  FROM hits;
-- purchase probabilities never exceed click probabilities (conversion chain)
SELECT bool_and(mtrs_predict(h.user_id, h.item_id, 'purchase', 'multi') <=
                mtrs_predict(h.user_id, h.item_id, 'click', 'multi')) AS chain_consistent
  FROM heldout h;
-- 2. two categories; even users use A (0..19), odd users B (100..119); users 1000..1019
-- used A in January and B in March
CREATE TABLE moves AS
SELECT u AS user_id, (u % 2) * 100 + (u * 3 + g) % 20 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 day' AS ts
  FROM generate_series(1, 100) u, generate_series(1, 8) g
UNION ALL
SELECT u, (u * 3 + g) % 20, 'view', timestamptz '2026-01-01' + g * interval '1 hour'
  FROM generate_series(1000, 1019) u, generate_series(1, 6) g
UNION ALL
SELECT u, 100 + (u * 7 + g) % 20, 'view', timestamptz '2026-03-01' + g * interval '1 hour'
  FROM generate_series(1000, 1019) u, generate_series(1, 6) g;
SELECT mtrs_train('timeless', 'moves', options => '{"dim": 8, "iterations": 8, "alpha": 5, "half_life_days": 0}') > 0 AS timeless,
       mtrs_train('recent', 'moves', options => '{"dim": 8, "iterations": 8, "alpha": 5, "half_life_days": 3}') > 0 AS recent;
CREATE TABLE b_share AS
SELECT (SELECT avg((r.item_id >= 100)::int) FROM generate_series(1000, 1019) u,
               mtrs_recommend(u, 5, model => 'recent') r) AS recent,
       (SELECT avg((r.item_id >= 100)::int) FROM generate_series(1000, 1019) u,
               mtrs_recommend(u, 5, model => 'timeless') r) AS timeless;
SELECT recent >= 0.8 AS recent_category_wins, recent > timeless + 0.2 AS time_changes_rankings
  FROM b_share;
-- 3. four categories of ten items (id = 100 * category + j): users 1..50 like
-- category 0, users 51..80 one of the small categories 1..3; each views five
-- items of their category and will later view a sixth
CREATE TABLE small_users AS
SELECT u, CASE WHEN u <= 50 THEN 0 ELSE 1 + u % 3 END AS c FROM generate_series(1, 80) u;
CREATE TABLE small AS
SELECT u AS user_id, c * 100 + (u * 3 + g) % 10 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 minute' AS ts
  FROM small_users, generate_series(1, 5) g;
CREATE TABLE small_next AS SELECT u AS user_id, c, c * 100 + (u * 3 + 6) % 10 AS item_id FROM small_users;
SELECT mtrs_train('small_auto', 'small') > 0 AS auto,
       mtrs_train('small_explicit', 'small', options => '{"reg": "auto"}') > 0 AS explicit,
       mtrs_train('small_fixed', 'small', options => '{"reg": 20}') > 0 AS fixed;
-- what was recorded: the rule and, in source, the value used and the scale it came from
SELECT name, options->>'reg' AS option, round((source->>'reg')::numeric, 3) AS reg,
       round((source->>'interaction_norm')::numeric, 3) AS interaction_norm,
       abs((source->>'reg')::float8 - 0.15 * (source->>'interaction_norm')::float8) < 1e-4 AS reg_is_scaled
  FROM mtrs_model WHERE name LIKE 'small%' ORDER BY name;
SELECT (SELECT weights FROM mtrs_model WHERE name = 'small_auto') =
       (SELECT weights FROM mtrs_model WHERE name = 'small_explicit') AS auto_is_default;
-- reg 20 is above the interactions' scale: every embedding shrinks towards the
-- largest component (category 0), and users of the small categories get its items
CREATE TABLE small_hits AS
SELECT m AS model, n.c > 0 AS small_category,
       avg((EXISTS (SELECT 1 FROM mtrs_recommend(n.user_id, 3, model => m) r
                    WHERE r.item_id = n.item_id))::int) AS hit_rate,
       max((SELECT max(r.score) FROM mtrs_recommend(n.user_id, 1, model => m) r)) AS top_score
  FROM small_next n, unnest(ARRAY['small_auto', 'small_fixed']) m GROUP BY 1, 2;
SELECT model, small_category, round(hit_rate, 2) AS hit_rate_at_3, top_score > 0.1 AS scores_alive
  FROM small_hits ORDER BY 1, 2;
SELECT a.hit_rate > 2 * f.hit_rate AS auto_beats_fixed, f.top_score < 1e-6 AS fixed_collapsed
  FROM small_hits a, small_hits f
 WHERE a.model = 'small_auto' AND f.model = 'small_fixed' AND a.small_category AND f.small_category;
-- task_weights: a fixed weight holds in every iteration, and weight 0 lets a head train
-- without shaping the shared embeddings: two tables that differ only in which pairs are
-- clicks give the same ranking scores to the last bit, and different click scores
SELECT mtrs_options('{"task_weights": {"click": 0, "rating": 0.5}}')->'task_weights' AS task_weights;
CREATE TABLE tw_base AS
SELECT u AS user_id, (u % 2) * 100 + ((u * 3 + g) % 20) AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 40) u, generate_series(1, 6) g;
CREATE TABLE tw_a AS SELECT * FROM tw_base UNION ALL
SELECT user_id, item_id, 'click', ts FROM tw_base WHERE (user_id + item_id) % 3 = 0;
CREATE TABLE tw_b AS SELECT * FROM tw_base UNION ALL
SELECT user_id, item_id, 'click', ts FROM tw_base WHERE (user_id + item_id) % 3 = 1;
SELECT mtrs_train('tw_' || t || w, 'tw_' || t,
                  options => jsonb_build_object('iterations', 4, 'dim', 4, 'progress', false)
                             || CASE w WHEN '0' THEN '{"task_weights": {"click": 0}}' ELSE '{}' END::jsonb) > 0 AS trained
  FROM unnest(ARRAY['a', 'b']) t, unnest(ARRAY['0', 'auto']) w ORDER BY t, w;
SELECT bool_and((e->'weight'->>'click')::float8 = 0) FILTER (WHERE name = 'tw_a0') AS click_weight_0,
       bool_and((e->'weight'->>'click')::float8 > 0) FILTER (WHERE name = 'tw_aauto') AS adaptive_click_weight,
       count(DISTINCT e->'weight'->>'click') FILTER (WHERE name = 'tw_aauto') > 1 AS adapts
  FROM mtrs_model, jsonb_array_elements(training_log) e WHERE name IN ('tw_a0', 'tw_aauto') AND active;
SELECT max(abs(mtrs_predict(u, i, 'ranking', 'tw_a0') - mtrs_predict(u, i, 'ranking', 'tw_b0'))) = 0 AS weight_0_same_ranking,
       max(abs(mtrs_predict(u, i, 'ranking', 'tw_aauto') - mtrs_predict(u, i, 'ranking', 'tw_bauto'))) > 1e-5
         AS adaptive_weights_differ,
       max(abs(mtrs_predict(u, i, 'click', 'tw_a0') - mtrs_predict(u, i, 'click', 'tw_b0'))) > 0.1 AS click_heads_differ
  FROM generate_series(1, 40) u, (SELECT DISTINCT item_id AS i FROM tw_base) it;
DROP EXTENSION mtrs;
DROP TABLE users, shop, heldout, purchases_only, hits, moves, b_share, small_users, small, small_next, small_hits,
           tw_base, tw_a, tw_b;
