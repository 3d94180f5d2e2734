-- Edges a new user found: the extension in a schema whose name needs quotes,
-- model names counted in bytes, a temporary source table, domains, a retrain
-- with nothing before its cut-off, a metric that is not a number, an item
-- whose text the model does not know.
CREATE SCHEMA "ML Tools";
CREATE EXTENSION mtrs SCHEMA "ML Tools";
SET search_path = public, "ML Tools";
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE edge_events AS
SELECT u AS user_id, (u % 3) * 10 + (u + g) % 7 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + (u * 10 + g) * interval '1 hour' AS ts
  FROM generate_series(1, 30) u, generate_series(1, 6) g;
CREATE TABLE edge_utt (text text, label text);
INSERT INTO edge_utt
SELECT format('%s %s please', v, w), l
  FROM (VALUES ('buy', 'buy'), ('purchase', 'buy'), ('return', 'return'), ('refund', 'return')) x(v, l),
       unnest(ARRAY['a phone', 'shoes', 'a camera', 'the bag', 'headphones', 'a laptop', 'a watch',
                    'the charger', 'a lens', 'boots', 'a tripod', 'the cable', 'a tablet', 'a mouse',
                    'a keyboard']) w;

-- intents evaluated in that schema (its name was quoted twice in a built query)
SELECT mtrs_train('talk', intents => 'edge_utt', options => '{"text_epochs": 30}') > 0 AS trained;
SELECT task, metric, round(value::numeric, 2) AS value
  FROM mtrs_evaluate('talk', 'edge_utt') WHERE metric IN ('accuracy', 'utterances') ORDER BY metric;
SELECT count(*) AS utterances FROM mtrs_intent_predictions('talk', 'edge_utt');

-- a model name has at most 63 bytes: 21 three-byte characters train and serve, 22 are refused
SELECT mtrs_train(repeat('表', 21), 'edge_events', options => '{"dim": 4, "iterations": 2}') > 0 AS trained;
SELECT count(*) AS recommended FROM mtrs_recommend(7, 3, model => repeat('表', 21));
SELECT mtrs_train(repeat('表', 22), 'edge_events', options => '{"dim": 4, "iterations": 2}');
SELECT * FROM mtrs_recommend(7, 3, model => repeat('表', 22));
SELECT * FROM mtrs_recommend(7, 3, model => '');
-- ... and so do the scratch models of mtrs_retrain for a name of 54 to 63 bytes
CALL mtrs_retrain(repeat('表', 21), options => '{"iterations": 3}');
SELECT version, active FROM mtrs_model WHERE name = repeat('表', 21) ORDER BY version;
SELECT count(*) AS scratch_left FROM mtrs_model WHERE name LIKE '%~%';

-- a temporary source is recorded as pg_temp.name: another session, whose name
-- resolves to another table, serves the model as trained
CREATE TEMP TABLE tev AS SELECT * FROM edge_events;
SELECT mtrs_train('tempsrc', 'tev', options => '{"dim": 4, "iterations": 2}') > 0 AS trained;
SELECT source->>'table' AS recorded FROM mtrs_model WHERE name = 'tempsrc';
SET mtrs.fold_in = off;
CREATE TABLE tempsrc_as_trained AS
SELECT array_agg(item_id ORDER BY rank) AS items FROM mtrs_recommend(7, 5, model => 'tempsrc');
RESET mtrs.fold_in;
\c
SET search_path = public, "ML Tools";
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE public.tev AS
SELECT 7 AS user_id, item_id, 'view'::text AS event, now() AS ts FROM generate_series(20, 26) item_id;
SELECT array_agg(item_id ORDER BY rank) = (SELECT items FROM tempsrc_as_trained) AS served_as_trained
  FROM mtrs_recommend(7, 5, model => 'tempsrc');
CALL mtrs_retrain('tempsrc');
DROP TABLE public.tev, tempsrc_as_trained;

-- domains count as their base types
CREATE DOMAIN edge_id AS bigint;
CREATE DOMAIN edge_text AS text;
CREATE TABLE edge_dom AS SELECT user_id::edge_id AS user_id, item_id::edge_id AS item_id, event, ts FROM edge_events;
CREATE TABLE edge_utt_dom AS SELECT text::edge_text AS text, label::edge_text AS label FROM edge_utt;
SELECT mtrs_train('dom', 'edge_dom', intents => 'edge_utt_dom',
                  options => '{"dim": 4, "iterations": 2, "text_epochs": 5}') > 0 AS trained;

-- a retrain of rows that all have one time: nothing is left before the cut-off
CREATE TABLE edge_sameday AS SELECT user_id, item_id, event, timestamptz '2026-10-01' AS ts FROM edge_events;
SELECT mtrs_train('sameday', 'edge_sameday', options => '{"dim": 4, "iterations": 2}') > 0 AS trained;
CALL mtrs_retrain('sameday');

-- a metric that is not a number is left out of mtrs_models, not an error
SELECT mtrs_register('badmetric', (SELECT weights FROM mtrs_model WHERE name = 'sameday'),
                     metrics => '{"ranking": {"ndcg@20": "abc"}, "view": {"auc": 0.75}}') > 0 AS registered;
SELECT name, headline_metrics FROM mtrs_models WHERE name = 'badmetric';

-- an item known only by a text none of whose features the model knows has a
-- zero vector: it has no similar items and is no one's
CREATE TABLE edge_items (item_id bigint, title text);
INSERT INTO edge_items
SELECT DISTINCT item_id, format('item %s', item_id) FROM edge_events
UNION ALL SELECT 999, '😀';
SELECT mtrs_train('cold', 'edge_events', items => 'edge_items',
                  options => '{"dim": 4, "iterations": 2, "text_epochs": 5}') > 0 AS trained;
SELECT count(*) AS similar_to_emoji FROM mtrs_similar_items(999, 5, 'cold');
SELECT count(*) AS emoji_among_similar FROM mtrs_similar_items_batch(NULL, 50, 'cold') WHERE similar_item_id = 999;

-- a code review's edges: one bucket (no room for character n-grams: the tokenizer wrote far
-- past the vocabulary), an event name that needs escaping in the training log, bias_reg 0
-- with ratings on some rows only (0/0 for the rows without), and -0 next to 0 as a rating
SELECT mtrs_train('onebucket', intents => 'edge_utt', options => '{"buckets": 1, "text_epochs": 3}') > 0 AS trained;
SELECT count(*) <= 1 AS at_most_one_intent FROM mtrs_intent('buy a phone please', 'onebucket');
CREATE TABLE edge_quoted AS
SELECT user_id, item_id, CASE WHEN item_id % 2 = 0 THEN 'say "hi" \ now' ELSE 'view' END AS event, ts
  FROM edge_events;
SELECT mtrs_train('quoted', 'edge_quoted', options => '{"dim": 4, "iterations": 2}') > 0 AS trained;
SELECT training_log->0->'loss' ? 'say "hi" \ now' AS logged FROM mtrs_model WHERE name = 'quoted';
SELECT mtrs_fit(user_id, item_id, event, ts, CASE WHEN user_id % 2 = 0 THEN 4 END::real,
                '{"dim": 4, "iterations": 2, "bias_reg": 0}'::jsonb) IS NOT NULL AS bias_reg_0
  FROM edge_events;
SELECT md5(mtrs_fit(user_id, item_id, event, ts, r, '{"dim": 4, "iterations": 1}'::jsonb ORDER BY r::text))
     = md5(mtrs_fit(user_id, item_id, event, ts, r, '{"dim": 4, "iterations": 1}'::jsonb ORDER BY r::text DESC))
       AS signed_zero_order_free
  FROM edge_events, (VALUES ('-0'::real), ('0'::real)) v(r) WHERE user_id <= 8;

-- lifecycle edges an operator found: held-out rows without an event are no evidence for
-- an event head (they made AUC exceed 1)
CREATE TABLE edge_quoted_null AS
SELECT user_id, item_id, CASE WHEN user_id % 3 = 0 THEN NULL ELSE event END AS event, ts FROM edge_quoted;
CREATE VIEW edge_quoted_known AS SELECT * FROM edge_quoted WHERE user_id % 3 <> 0;
SELECT a.task, round(a.value::numeric, 6) = round(b.value::numeric, 6) AND a.value BETWEEN 0 AND 1 AS same_auc_in_range
  FROM mtrs_evaluate('quoted', 'edge_quoted_null', event_col => 'event', store => false) a
  JOIN mtrs_evaluate('quoted', 'edge_quoted_known', event_col => 'event', store => false) b USING (task, metric)
 WHERE a.metric = 'auc' ORDER BY a.task;
-- mtrs_retrain's arguments are checked before anything is trained
CALL mtrs_retrain('quoted', tolerance => 'NaN');
CALL mtrs_retrain('quoted', task_tolerance => '{"ranking": -5}');
CALL mtrs_retrain('quoted', task_tolerance => '{"ranking": "abc"}');
CALL mtrs_retrain('quoted', task_tolerance => '[1]');
-- a source without times and a holdout_fraction below 1/1024 holds out nothing
SELECT mtrs_train('ui', 'edge_events', time_col => NULL, options => '{"dim": 4, "iterations": 2}') > 0 AS trained;
CALL mtrs_retrain('ui', holdout_fraction => 0.0001);
-- the cut-off is read back as written under any DateStyle and TimeZone (IST was read as
-- Israel's zone), and an evaluation stored later keeps the record of the retrain
SET DateStyle = 'Postgres, MDY';
SET TimeZone = 'Asia/Kolkata';
CALL mtrs_retrain(repeat('表', 21), options => '{"iterations": 3}', tolerance => 1);
SELECT (metrics->'last_retrain'->>'holdout_rows')::bigint
       = (SELECT count(*) FROM edge_events WHERE ts >= (m.metrics->'last_retrain'->>'holdout_from')::timestamptz)
       AS holdout_as_recorded,
       metrics->>'holdout' AS evaluated_on
  FROM mtrs_model m WHERE name = repeat('表', 21) AND active;
RESET DateStyle;
RESET TimeZone;
SELECT count(*) > 0 AS evaluated FROM mtrs_evaluate(repeat('表', 21), 'edge_events');
SELECT metrics ? 'last_retrain' AS keeps_last_retrain FROM mtrs_model WHERE name = repeat('表', 21) AND active;
-- a retrain of a model of texts alone records the held-out accuracy as its intent metric
CALL mtrs_retrain('talk', tolerance => 1);
SELECT headline_metrics LIKE 'intent accuracy %' AS headline, evaluated_on FROM mtrs_models WHERE name = 'talk' AND active;

-- serving edges of a code review: a turn with no word the model knows is read with the
-- conversation's context (it used to get the intents' prior, here buy 0.86, whenever that
-- passed the threshold); query_weight 0 ignores the query for a user without a vector too;
-- an empty context is no context, also for a model without text
CREATE TABLE edge_skewed (text text, label text);
INSERT INTO edge_skewed
SELECT format('i want to buy %s now', w), 'buy'
  FROM unnest(ARRAY['a phone', 'shoes', 'a camera', 'the bag', 'headphones', 'a laptop', 'a watch',
                    'the charger', 'a lens', 'boots', 'a tripod', 'the cable', 'a tablet', 'a mouse',
                    'a keyboard']) w, generate_series(1, 4);
INSERT INTO edge_skewed
SELECT format('where is my %s order', w), 'track' FROM unnest(ARRAY['phone', 'shoes', 'camera', 'bag', 'headphones']) w;
SELECT mtrs_train('skewed', intents => 'edge_skewed', options => '{"text_epochs": 20}') > 0 AS trained;
SELECT intent AS without_context FROM mtrs_intent('zzqqx', 'skewed');
SELECT intent AS with_context FROM mtrs_intent('zzqqx', 'skewed', context => ARRAY['where is my order']);
SELECT count(*) AS empty_context_on_a_model_without_text FROM mtrs_recommend(7, 3, model => 'ui', context => '{}');
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(123456, 5, model => 'cold', query => 'item 25', query_weight => 0))
     = (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(123456, 5, model => 'cold')) AS weight_0_ignores_query;

-- SQL-layer edges of a code review: the guard holds a candidate without the incumbent's
-- metric back (a text model retrained with nothing held out had nothing compared)
CALL mtrs_retrain('talk', options => '{"validation_fraction": 0}');
SELECT metrics->'last_retrain'->>'decision' AS decision, metrics->'last_retrain'->>'reason' AS reason
  FROM mtrs_model WHERE name = 'talk' AND active;
-- gold labels are a set (buy#buy is buy), as in the shared scorer
CREATE VIEW edge_utt_dup AS SELECT text, label || ' # ' || label AS label FROM edge_utt;
SELECT a.value = b.value AS same_accuracy
  FROM mtrs_evaluate('talk', 'edge_utt', store => false) a
  JOIN mtrs_evaluate('talk', 'edge_utt_dup', store => false) b USING (task, metric) WHERE metric = 'accuracy';
-- a k far above every user's held-out items is as quick as their number
SELECT count(*) > 0 AS evaluated FROM mtrs_evaluate(repeat('表', 21), 'edge_events', k => 2147483647, store => false);
-- mtrs_report in a session whose roles change (a pool that uses SET ROLE)
CREATE ROLE regress_mtrs_edge_r1;
CREATE ROLE regress_mtrs_edge_r2;
GRANT USAGE ON SCHEMA "ML Tools" TO regress_mtrs_edge_r1, regress_mtrs_edge_r2;
GRANT SELECT ON mtrs_model, mtrs_models TO regress_mtrs_edge_r1, regress_mtrs_edge_r2;
SET ROLE regress_mtrs_edge_r1;
SELECT mtrs_report('talk') LIKE '<svg%' AS r1_report;
RESET ROLE;
SET ROLE regress_mtrs_edge_r2;
SELECT mtrs_report('talk') LIKE '<svg%' AS r2_report;
RESET ROLE;

DROP EXTENSION mtrs;
DROP SCHEMA "ML Tools";
DROP VIEW edge_quoted_known, edge_utt_dup;
DROP TABLE edge_events, edge_utt, edge_dom, edge_utt_dom, edge_sameday, edge_items, edge_quoted, edge_quoted_null, edge_skewed;
DROP DOMAIN edge_id, edge_text;
DROP ROLE regress_mtrs_edge_r1, regress_mtrs_edge_r2;
