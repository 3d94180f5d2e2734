-- mtrs_retrain: retraining from the recorded source with guard rails, pruning,
-- and failure atomicity; the mtrs_models view.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE shop (user_id bigint, item_id bigint, event text, ts timestamptz);
INSERT INTO shop
SELECT u, (u % 8) * 100 + ((u * 3 + g) % 20), CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END,
       timestamptz '2026-01-01' + (g * 60 + u) * interval '1 minute'
  FROM generate_series(1, 160) u, generate_series(1, 12) g;
CREATE INDEX ON shop (user_id);
SELECT mtrs_train('m', 'shop', options => '{"dim": 8, "iterations": 6}') > 0 AS trained;
-- same recipe, new data: the new version is activated and records the guard
INSERT INTO shop SELECT u, (u % 8) * 100 + ((u * 7) % 20), 'view', timestamptz '2026-02-01' + u * interval '1 minute'
  FROM generate_series(1, 160) u;
CALL mtrs_retrain('m');
SELECT version, active, metrics->'last_retrain'->>'decision' AS decision,
       metrics->'last_retrain'->>'replaced_version' AS replaced,
       metrics->'last_retrain'->'guard' ?& ARRAY['ranking', 'click'] AS guarded,
       metrics->'ranking' ? 'ndcg@20' AS has_metrics
  FROM mtrs_model WHERE name = 'm' ORDER BY version;
-- a deliberately worse recipe (one dimension for eight communities) is not activated,
-- and the reason is recorded
CALL mtrs_retrain('m', options => '{"dim": 1, "iterations": 6}');
SELECT version, active, metrics->'last_retrain'->>'decision' AS decision,
       metrics->'last_retrain'->>'reason' LIKE 'ranking ndcg@20 %' AS reason_names_ranking
  FROM mtrs_model WHERE name = 'm' ORDER BY version;
SELECT count(*) AS scratch_models FROM mtrs_model WHERE name LIKE 'm~%';
-- the guard's scratch models, which this backend served, leave its cache when it loads
-- another model
SELECT count(*) AS served FROM mtrs_recommend(1, 3, model => 'm');
SELECT entries AS cached_models FROM mtrs_cache_stats();
-- a per-task tolerance can let it through
CALL mtrs_retrain('m', options => '{"dim": 1, "iterations": 6}', task_tolerance => '{"ranking": 1, "click": 1, "view": 1}');
SELECT max(version) FILTER (WHERE active) AS active_version FROM mtrs_model WHERE name = 'm';
-- retention keeps the newest versions
CALL mtrs_retrain('m', options => '{"dim": 8, "iterations": 6}', keep_versions => 2);
SELECT array_agg(version ORDER BY version) AS versions, max(version) FILTER (WHERE active) AS active
  FROM mtrs_model WHERE name = 'm';
-- options change the active version's key by key: a new seed keeps "dim" 8, and a null
-- puts "iterations" back to its default
CALL mtrs_retrain('m', options => '{"seed": 7, "iterations": null}', tolerance => 1);
SELECT version, options->>'dim' AS dim, options->>'iterations' AS iterations, options->>'seed' AS seed
  FROM mtrs_model WHERE name = 'm' AND active;
-- a recipe that differs from the incumbent's is trained beside it (three runs), and the
-- incumbent's scratch model is dropped even when it scores the same (the item-text option
-- changes nothing in a model without items)
SET track_functions = 'all';
BEGIN;	-- counts pending since the last flush of statistics, which never happens inside a transaction
SELECT coalesce(sum(calls), 0) AS calls_before FROM pg_stat_xact_user_functions WHERE funcname = 'mtrs_train_like' \gset
CALL mtrs_retrain('m', options => '{"cold_items": "encoder"}');
SELECT sum(calls) - :calls_before AS recipes_trained FROM pg_stat_xact_user_functions WHERE funcname = 'mtrs_train_like';
COMMIT;
RESET track_functions;
SELECT metrics->'last_retrain'->'guard'->'ranking'->'candidate' = metrics->'last_retrain'->'guard'->'ranking'->'incumbent' AS same_score,
       (SELECT count(*) FROM mtrs_model WHERE name LIKE 'm~%') AS scratch_models
  FROM mtrs_model WHERE name = 'm' AND active;
CALL mtrs_retrain('m', options => '{"dim": "wide"}');
-- a failure leaves the active version untouched
CREATE TABLE before AS SELECT id, version, weights FROM mtrs_model WHERE name = 'm' AND active;
SET statement_timeout = '50ms';
CALL mtrs_retrain('m', options => '{"dim": 512, "iterations": 500}');
RESET statement_timeout;
SELECT (SELECT (id, version, weights) FROM mtrs_model WHERE name = 'm' AND active) =
       (SELECT (id, version, weights) FROM before) AS unchanged;
-- the human view
SELECT name, version, active, tasks, headline_metrics ~ '^ranking ndcg@20 [0-9.]+, click auc [0-9.]+, view auc' AS headline
  FROM mtrs_models WHERE name = 'm' ORDER BY version;
-- the SVG report: one panel per task, one legend line and one curve per version and task
SELECT r LIKE '<svg xmlns="http://www.w3.org/2000/svg"%</svg>' AS is_svg,
       (length(r) - length(replace(r, '<g transform', ''))) / length('<g transform') AS panels,
       (length(r) - length(replace(r, '<path ', ''))) / length('<path ') AS curves,
       r LIKE '%version 5, %' AND r LIKE '%version 6 (active)%' AS legend
  FROM mtrs_report('m') r;
SELECT mtrs_report('nope');
-- a model of texts alone: both recipes train on every utterance, the guard compares their
-- accuracy on the utterances training held out, and the passing candidate is the new version
CREATE TABLE utt (text text, label text);
INSERT INTO utt
SELECT concat_ws(' ', (ARRAY['please', 'now', 'hey', 'ok'])[1 + g % 4],
                 (ARRAY[ARRAY['hello', 'hi', 'morning'], ARRAY['bye', 'farewell', 'later'],
                        ARRAY['buy', 'order', 'purchase']])[1 + i][1 + (g / 4) % 3],
                 (ARRAY['there', 'friend', 'team', 'shop', 'today'])[1 + g % 5]),
       (ARRAY['greet', 'leave', 'buy'])[1 + i]
  FROM generate_series(0, 2) i, generate_series(0, 39) g;
SELECT mtrs_train('talk', intents => 'utt') > 0 AS trained;
INSERT INTO utt VALUES ('good evening friend', 'greet'), ('see you tomorrow', 'leave');
SET track_functions = 'all';
BEGIN;	-- counts pending since the last flush of statistics, which never happens inside a transaction
SELECT coalesce(sum(calls), 0) AS calls_before FROM pg_stat_xact_user_functions WHERE funcname = 'mtrs_train_like' \gset
CALL mtrs_retrain('talk');
SELECT sum(calls) - :calls_before AS recipes_trained FROM pg_stat_xact_user_functions WHERE funcname = 'mtrs_train_like';
COMMIT;
CALL mtrs_retrain('talk', options => '{"text_epochs": 1, "dim": 1}');
RESET track_functions;
SELECT version, active, source->'intents'->>'utterances' AS utterances,
       metrics->'last_retrain'->>'decision' AS decision,
       metrics->'last_retrain'->>'reason' AS reason,
       metrics->'last_retrain'->'guard'->'intent_validation'->>'incumbent' AS incumbent
  FROM mtrs_model WHERE name = 'talk' ORDER BY version;
SELECT intent FROM mtrs_intent('hello friend', 'talk');
SELECT count(*) AS scratch_models FROM mtrs_model WHERE name LIKE 'talk~%';
CALL mtrs_retrain('talk', options => '{"warm_start": true}');
-- a table of the source that is gone is an error, not a model without its task
ALTER TABLE utt RENAME TO utt_old;
CALL mtrs_retrain('talk');
ALTER TABLE utt_old RENAME TO utt;
-- a name of 63 characters retrains too (its scratch models' names are cut and hashed)
SELECT mtrs_train(repeat('n', 63), 'shop', options => '{"dim": 8, "iterations": 3}') > 0 AS trained;
CALL mtrs_retrain(repeat('n', 63), options => '{"iterations": 4}', tolerance => 1);
SELECT version, active, char_length(name) AS name_length, metrics->'last_retrain'->>'decision' AS decision
  FROM mtrs_model WHERE name LIKE 'nnn%' ORDER BY version;
-- a model that has a scratch model's name: one that 0.1.0 left behind (trained on the
-- retrain's temporary view) is dropped, any other is an error and stays
SELECT mtrs_register('m~incumbent', weights, source => '{"table": "mtrs_retrain_train"}') > 0 AS left_behind
  FROM mtrs_model WHERE name = 'm' AND active;
CALL mtrs_retrain('m');
SELECT count(*) AS scratch_models FROM mtrs_model WHERE name LIKE 'm~%';
SELECT mtrs_register('m~incumbent', weights) > 0 AS registered FROM mtrs_model WHERE name = 'm' AND active;
CALL mtrs_retrain('m');
SELECT name, version, active FROM mtrs_model WHERE name LIKE 'm~%';
SELECT mtrs_drop_model('m~incumbent');
-- errors
CALL mtrs_retrain('nope');
SELECT mtrs_register('raw', mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 1}'::jsonb)) > 0 AS registered FROM shop;
CALL mtrs_retrain('raw');
CALL mtrs_retrain('m', holdout_fraction => 1.5);
CALL mtrs_retrain(NULL);
DROP EXTENSION mtrs;
DROP TABLE shop, before, utt;
