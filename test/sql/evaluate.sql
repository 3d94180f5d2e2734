-- mtrs_evaluate: each metric equals an independent SQL computation on the same
-- recommendations and predictions, and results are stored with the model.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE ev AS
SELECT u AS user_id, (u % 2) * 100 + ((u * 3 + g) % 20) AS item_id,
       CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts, (1 + (u + g) % 5)::real AS rating
  FROM generate_series(1, 60) u, generate_series(1, 10) g;
CREATE TABLE split AS
SELECT *, row_number() OVER w > (4 * count(*) OVER (PARTITION BY user_id)) / 5 AS held_out
  FROM ev WINDOW w AS (PARTITION BY user_id ORDER BY ts, item_id);
CREATE VIEW train_rows AS SELECT * FROM split WHERE NOT held_out;
CREATE VIEW test_rows AS SELECT * FROM split WHERE held_out;
SELECT count(*) FILTER (WHERE held_out) AS held_out, count(*) AS total FROM split;
SELECT mtrs_train('m', 'train_rows', rating_col => 'rating', options => '{"dim": 8, "iterations": 6}') > 0 AS trained;
CREATE TABLE ev_result AS
SELECT * FROM mtrs_evaluate('m', 'test_rows', 5, event_col => 'event', rating_col => 'rating');
SELECT task, metric FROM ev_result ORDER BY 1, 2;
-- recall@5 and ndcg@5, recomputed
WITH t AS (SELECT user_id, array_agg(DISTINCT item_id) AS items FROM test_rows GROUP BY user_id),
     per AS (SELECT t.user_id, cardinality(t.items) AS n,
                    count(*) FILTER (WHERE r.item_id = ANY (t.items)) AS hits,
                    coalesce(sum(1 / log(2, r.rank + 1)) FILTER (WHERE r.item_id = ANY (t.items)), 0) AS dcg
               FROM t, mtrs_recommend(t.user_id, 5, model => 'm') r GROUP BY t.user_id, t.items)
SELECT abs(avg(hits::float8 / n) - (SELECT value FROM ev_result WHERE metric = 'recall@5')) < 1e-9 AS recall_matches,
       abs(avg(dcg / (SELECT sum(1 / log(2, j + 1)) FROM generate_series(1, least(5, n)) j)) -
           (SELECT value FROM ev_result WHERE metric = 'ndcg@5')) < 1e-9 AS ndcg_matches
  FROM per;
-- rmse, recomputed; AUC from all positive/negative pairs
SELECT abs(sqrt(avg((mtrs_predict(user_id, item_id, 'rating', 'm') - rating) ^ 2)) -
           (SELECT value FROM ev_result WHERE task = 'rating' AND metric = 'rmse')) < 1e-6 AS rmse_matches
  FROM test_rows;
WITH p AS (SELECT user_id, item_id, bool_or(event = 'click') AS y,
                  mtrs_predict(user_id, item_id, 'click', 'm') AS s FROM test_rows GROUP BY user_id, item_id)
SELECT abs(avg(CASE WHEN a.s > b.s THEN 1 WHEN a.s = b.s THEN 0.5 ELSE 0 END) -
           (SELECT value FROM ev_result WHERE task = 'click' AND metric = 'auc')) < 1e-9 AS auc_matches
  FROM p a, p b WHERE a.y AND NOT b.y;
-- stored with the active version
SELECT metrics->>'holdout' AS holdout, metrics->'ranking' ? 'recall@5' AS stored FROM mtrs_model WHERE name = 'm';
-- intents: accuracy, macro-F1 and out-of-scope recall
CREATE TABLE utt (text text, label text);
INSERT INTO utt SELECT 'buy a ' || x, 'buy' FROM unnest(ARRAY['laptop', 'phone', 'camera', 'watch']) x
UNION ALL SELECT 'return my ' || x, 'return' FROM unnest(ARRAY['laptop', 'phone', 'camera', 'watch']) x
UNION ALL SELECT x, '' FROM unnest(ARRAY['hello', 'thanks']) x;
SELECT mtrs_train('talk', intents => 'utt', options => '{"dim": 8, "text_epochs": 40, "buckets": 1024}') > 0 AS trained;
CREATE TABLE utt_test (text text, label text);
INSERT INTO utt_test VALUES ('buy a tablet', 'buy'), ('return my tablet', 'return'), ('hello', '');
SELECT task, metric, round(value::numeric, 4) AS value
  FROM mtrs_evaluate('talk', 'utt_test', text_col => 'text', label_col => 'label');
-- per intent: support, predictions and F1; macro-F1 is their mean (a fixed prediction table
-- checks the arithmetic, the model's report checks the wiring)
CREATE TABLE fixed_preds (gold text[], pred text[]);
INSERT INTO fixed_preds VALUES ('{a}', '{a}'), ('{a}', '{b}'), ('{b}', '{b}'), ('{a,b}', '{a}'), ('{}', '{c}');
SELECT intent, support, predicted, correct, round("precision"::numeric, 4) AS p,
       round(recall::numeric, 4) AS r, round(f1::numeric, 4) AS f1
  FROM mtrs_intent_f1('fixed_preds');
SELECT intent, support, correct FROM mtrs_intent_report('talk', 'utt_test');
SELECT abs((SELECT avg(coalesce(f1, 0)) FROM mtrs_intent_report('talk', 'utt_test')) -
           (SELECT value FROM mtrs_evaluate('talk', 'utt_test', text_col => 'text', label_col => 'label', store => false)
             WHERE metric = 'macro_f1')) < 1e-12 AS macro_f1_is_the_mean;
SELECT * FROM mtrs_intent_report('talk', 'utt_test', text_col => NULL);
-- an utterance table in the columns mtrs_train reads by default needs no column names
SELECT (SELECT array_agg(value ORDER BY metric) FROM mtrs_evaluate('talk', 'utt_test', store => false)) =
       (SELECT array_agg(value ORDER BY metric)
          FROM mtrs_evaluate('talk', 'utt_test', text_col => 'text', label_col => 'label', store => false))
       AS default_text_columns;
-- nothing to evaluate: an error, and the stored metrics stay
SELECT * FROM mtrs_evaluate('m', 'test_rows', user_col => NULL);
SELECT * FROM mtrs_evaluate('m', 'utt_test');
-- (also with the largest k: no rows to rank means no work, not 2^31 discounts)
CREATE TABLE no_users AS SELECT NULL::bigint AS user_id, i::bigint AS item_id FROM generate_series(1, 240) i;
ANALYZE no_users;
SET temp_file_limit = '64MB';
SELECT * FROM mtrs_evaluate('m', 'no_users', 2147483647, store => false);
RESET temp_file_limit;
SELECT metrics->>'holdout' AS holdout, metrics->'ranking' ? 'recall@5' AS still_stored FROM mtrs_model WHERE name = 'm';
-- in a read-only transaction (as on a hot standby; scripts/test.sh runs a real one):
-- evaluation without storing, the per-intent report and the training report run, with the
-- same figures; storing is a write.
-- A user's temporary table named as the ones 0.2.0 development versions made is left alone.
CREATE TEMP TABLE mtrs_eval_rows (mine text);
INSERT INTO mtrs_eval_rows VALUES ('kept');
BEGIN READ ONLY;
SELECT count(*) = (SELECT count(*) FROM ev_result) AND bool_and(abs(r.value - e.value) < 1e-12) AS same_read_only
  FROM mtrs_evaluate('m', 'test_rows', 5, event_col => 'event', rating_col => 'rating', store => false) r
  JOIN ev_result e USING (task, metric);
SELECT intent, support, correct FROM mtrs_intent_report('talk', 'utt_test');
SELECT metric, round(value::numeric, 4) AS value
  FROM mtrs_evaluate('talk', 'utt_test', store => false) WHERE task = 'intent';
SELECT mtrs_report('m') ~ '^<svg .*</svg>$' AS report_read_only;
SELECT * FROM mtrs_evaluate('m', 'test_rows', 5);
ROLLBACK;
-- training and retraining register a model: they say so before they read a row
BEGIN READ ONLY;
SELECT mtrs_train('m2', 'train_rows');
ROLLBACK;
BEGIN READ ONLY;
CALL mtrs_retrain('m');
ROLLBACK;
BEGIN READ ONLY;
SELECT length(mtrs_fit(user_id, item_id, event, ts)) > 0 AS fit_read_only FROM train_rows;
ROLLBACK;
TABLE mtrs_eval_rows;
DROP TABLE mtrs_eval_rows;
-- errors
SELECT * FROM mtrs_evaluate('m', 'test_rows', 0);
SELECT * FROM mtrs_evaluate('m', 'test_rows', event_col => 'nope');
SELECT * FROM mtrs_evaluate('missing', 'test_rows');
DROP EXTENSION mtrs;
DROP TABLE ev, split, ev_result, utt, utt_test, fixed_preds, no_users CASCADE;
