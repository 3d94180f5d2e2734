-- Option "warm_start": a run starts from the active version of a trained model.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- eight communities of 20 users, each with its own 20 items; clicks on every third row
CREATE TABLE shop (user_id bigint, item_id bigint, event text, ts timestamptz);
INSERT INTO shop
SELECT u, (u % 8) * 100 + ((u * 3 + g) % 20), CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END,
       timestamptz '2026-01-01' + (g * 60 + u) * interval '1 minute'
  FROM generate_series(1, 160) u, generate_series(1, 12) g;
SELECT mtrs_train('m', 'shop', options => '{"dim": 8}') > 0 AS trained;
SELECT options->>'iterations' AS iterations_option, source->>'iterations' AS iterations,
       source->'warm_start' AS warm_start, mtrs_options('{"dim": 8}') = options AS options_as_resolved
  FROM mtrs_model WHERE name = 'm';
-- a day later: more rows, 40 new users, two new items per community, a new event type
INSERT INTO shop
SELECT u, (u % 8) * 100 + ((u * 7 + g) % 22), CASE WHEN g = 1 THEN 'cart' ELSE 'view' END,
       timestamptz '2026-01-02' + (g * 60 + u) * interval '1 minute'
  FROM generate_series(1, 200) u, generate_series(1, 3) g;
-- warm_start true: the active version of the model being trained; "iterations": "auto" is
-- then 5; users, items and tasks in common are counted
SELECT mtrs_train('m', 'shop', options => '{"dim": 8, "warm_start": true}') > 0 AS trained;
SELECT version, options->>'warm_start' AS warm_start_option, source->>'iterations' AS iterations,
       jsonb_array_length(training_log) AS logged_iterations,
       (source->'warm_start') - 'id'::text AS warm_start
  FROM mtrs_model WHERE name = 'm' AND version = 2;
-- deterministic: the same start and rows give the same bytes, under any name
SELECT mtrs_train('a', 'shop', options => '{"dim": 8, "warm_start": "m", "iterations": 3}') > 0 AS a,
       mtrs_train('b', 'shop', options => '{"dim": 8, "warm_start": "m", "iterations": 3}') > 0 AS b;
SELECT count(DISTINCT md5(weights)) AS distinct_models FROM mtrs_model WHERE name IN ('a', 'b');
-- the start counts: after one iteration the warm model's ranking loss is below a cold
-- model's, and within 2 % of a cold model's after five
SELECT mtrs_train('cold1', 'shop', options => '{"dim": 8, "iterations": 1}') > 0 AS cold1,
       mtrs_train('cold5', 'shop', options => '{"dim": 8, "iterations": 5}') > 0 AS cold5,
       mtrs_train('warm1', 'shop', options => '{"dim": 8, "iterations": 1, "warm_start": "m"}') > 0 AS warm1;
CREATE TEMP VIEW last_loss AS
SELECT name, (training_log->-1->'loss'->>'ranking')::float8 AS ranking_loss
  FROM mtrs_model WHERE active;
SELECT (SELECT ranking_loss FROM last_loss WHERE name = 'warm1') <
       (SELECT ranking_loss FROM last_loss WHERE name = 'cold1') AS warm1_below_cold1,
       (SELECT ranking_loss FROM last_loss WHERE name = 'warm1') <=
       (SELECT ranking_loss FROM last_loss WHERE name = 'cold5') * 1.02 AS warm1_near_cold5;
-- soft sharing starts warm too (the click head's loss after one iteration is below a cold
-- run's), and so does a soft run from a hard model: all but the private factors
SELECT mtrs_train('soft', 'shop', options => '{"dim": 8, "sharing": "soft", "iterations": 3}') > 0 AS soft,
       mtrs_train('soft_warm', 'shop', options => '{"dim": 8, "sharing": "soft", "iterations": 1, "warm_start": "soft"}') > 0 AS soft_warm,
       mtrs_train('soft_cold', 'shop', options => '{"dim": 8, "sharing": "soft", "iterations": 1}') > 0 AS soft_cold,
       mtrs_train('soft_from_hard', 'shop', options => '{"dim": 8, "sharing": "soft", "iterations": 1, "warm_start": "m"}') > 0 AS soft_from_hard;
SELECT (SELECT (training_log->-1->'loss'->>'click')::float8 FROM mtrs_model WHERE name = 'soft_warm') <
       (SELECT (training_log->-1->'loss'->>'click')::float8 FROM mtrs_model WHERE name = 'soft_cold') AS private_factors_warm,
       (SELECT source->'warm_start'->>'tasks' FROM mtrs_model WHERE name = 'soft_from_hard') AS tasks_from_hard;
-- new users are served as usual: a new user of community 3 gets community 3's items
SELECT count(*) FILTER (WHERE item_id / 100 = 3) AS community_items
  FROM mtrs_recommend(163, 10, model => 'm');
-- a missing model: a NOTICE, and the run trains from scratch
SET client_min_messages = notice;
SELECT mtrs_train('c', 'shop', options => '{"dim": 8, "iterations": 2, "warm_start": "nobody", "progress": false}') > 0 AS trained;
SET client_min_messages = warning;
SELECT source->'warm_start' AS warm_start FROM mtrs_model WHERE name = 'c';
-- the aggregate, given a name
SELECT md5(mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "warm_start": "m", "iterations": 3}'::jsonb)) =
       (SELECT md5(weights) FROM mtrs_model WHERE name = 'a') AS same_as_train
  FROM shop;
-- without "dim", mtrs_train's warm start takes its start's ("m" has dim 8, the default is
-- 64), and records it; a model without a start gets the default
SELECT mtrs_train('m8', 'shop', options => '{"warm_start": "m", "iterations": 1}') > 0 AS m8,
       mtrs_train('d', 'shop', options => '{"warm_start": "nobody", "iterations": 1}') > 0 AS d;
SELECT name, options->>'dim' AS dim, source->'warm_start'->>'model' AS started_from
  FROM mtrs_model WHERE name IN ('m8', 'd') ORDER BY name;
-- errors
SELECT mtrs_train('x', 'shop', options => '{"dim": 4, "warm_start": "m"}');
SELECT mtrs_fit(user_id, item_id, event, ts, '{"warm_start": true}'::jsonb) FROM shop;
SELECT mtrs_train('x', 'shop', options => '{"warm_start": 7}');
SELECT mtrs_train('x', 'shop', options => '{"iterations": "many"}');
CREATE TABLE utt (text text, label text);
INSERT INTO utt VALUES ('hello there', 'greet'), ('good bye', 'leave'), ('hi', 'greet'), ('bye now', 'leave');
SELECT mtrs_train('talk', intents => 'utt') > 0 AS trained;
SELECT mtrs_train('x', 'shop', options => '{"warm_start": "talk"}');
SELECT mtrs_fit(user_id, item_id, event, ts, '{"warm_start": "talk"}'::jsonb) FROM shop;
SELECT count(*) AS failed_models FROM mtrs_model WHERE name = 'x';
-- mtrs_retrain keeps the option for its final run, which starts from the version it
-- replaces; the guard's candidate trains from scratch (the active version has seen the
-- held-out rows)
CALL mtrs_retrain('m');
SELECT version, active, source->'warm_start'->>'version' AS started_from,
       source->>'iterations' AS iterations,
       metrics->'last_retrain'->'options'->>'warm_start' AS retrain_option
  FROM mtrs_model WHERE name = 'm' ORDER BY version;
-- a warm start the final run could not take fails before the guard trains anything: in a
-- new backend, no training has run when the error comes
\c
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CALL mtrs_retrain('m', options => '{"warm_start": true, "dim": 4}');
SELECT mtrs_last_fit() IS NULL AS nothing_trained, count(*) AS versions FROM mtrs_model WHERE name = 'm';
-- options change the active version's key by key, so "warm_start" alone keeps its "dim" 8;
-- the recipe is the incumbent's, so the guard trains it once (mtrs_train_like: the
-- candidate, then the final run)
SET track_functions = 'all';
BEGIN;	-- counts pending since the last flush of statistics, which never happens inside a transaction
SELECT coalesce(sum(calls), 0) AS calls_before FROM pg_stat_xact_user_functions WHERE funcname = 'mtrs_train_like' \gset
CALL mtrs_retrain('m', options => '{"warm_start": true}');
SELECT sum(calls) - :calls_before AS recipes_trained FROM pg_stat_xact_user_functions WHERE funcname = 'mtrs_train_like';
COMMIT;
SELECT version, active, source->'warm_start'->>'version' AS started_from, source->>'iterations' AS iterations,
       options->>'dim' AS dim
  FROM mtrs_model WHERE name = 'm' AND active;
DROP TABLE shop, utt;
DROP EXTENSION mtrs;
