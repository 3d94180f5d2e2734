-- Training threads (mtrs.training_threads): every number of threads gives the
-- same model bytes, the setting is bounded, and a cancelled threaded run
-- leaves the previous version active.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SHOW mtrs.training_threads;
SET mtrs.training_threads = 0;
SET mtrs.training_threads = 65;
-- three events (purchase follows cart: a chained head), ratings, private head factors
CREATE TABLE thr_events AS
SELECT g % 211 AS user_id, (g * 13 + (g % 211) * 7) % 157 AS item_id,
       (ARRAY['view', 'view', 'view', 'cart', 'purchase'])[1 + g % 5] AS event,
       timestamptz '2026-01-01' + g * interval '1 minute' AS ts,
       1 + (g * 7) % 5 AS rating
  FROM generate_series(1, 12000) g;
INSERT INTO thr_events
SELECT user_id, item_id, 'cart', ts - interval '1 second', rating FROM thr_events WHERE event = 'purchase';
CREATE TABLE thr_models (threads int, w bytea);
SET mtrs.training_threads = 1;
INSERT INTO thr_models
SELECT 1, mtrs_fit(user_id, item_id, event, ts, rating, '{"dim": 16, "head_dim": 4, "iterations": 3}') FROM thr_events;
SET mtrs.training_threads = 2;
INSERT INTO thr_models
SELECT 2, mtrs_fit(user_id, item_id, event, ts, rating, '{"dim": 16, "head_dim": 4, "iterations": 3}') FROM thr_events;
SET mtrs.training_threads = 3;
INSERT INTO thr_models
SELECT 3, mtrs_fit(user_id, item_id, event, ts, rating, '{"dim": 16, "head_dim": 4, "iterations": 3}') FROM thr_events;
SET mtrs.training_threads = 64;
INSERT INTO thr_models
SELECT 64, mtrs_fit(user_id, item_id, event, ts, rating, '{"dim": 16, "head_dim": 4, "iterations": 3}') FROM thr_events;
SELECT count(*) AS models, count(DISTINCT md5(w)) AS distinct_bytes,
       bool_and(length(w) > 100000) AS sizable
  FROM thr_models;
-- the model has every head (the events and the rating) and private factors
SELECT d->'tasks' AS tasks, d->'head_dim' AS head_dim
  FROM (SELECT mtrs_model_describe(w) AS d FROM thr_models WHERE threads = 1) s;
-- mtrs_train with threads gives the bytes of a single-threaded run
SET mtrs.training_threads = 2;
SET client_min_messages = warning;
SELECT mtrs_train('thr', 'thr_events', rating_col => 'rating',
                  options => '{"dim": 16, "head_dim": 4, "iterations": 3}') AS id \gset
RESET client_min_messages;
RESET mtrs.training_threads;
SELECT weights = (SELECT w FROM thr_models WHERE threads = 1) AS same_as_one_thread,
       source->'training_threads' AS training_threads
  FROM mtrs_model WHERE id = :id;
-- a cancelled threaded run leaves the previous version active and intact (its notices
-- are left out: on a slow server the timeout can come before the first one)
SET mtrs.training_threads = 2;
SET client_min_messages = warning;
SET statement_timeout = '300ms';
SELECT mtrs_train('thr', 'thr_events', options => '{"dim": 512, "iterations": 500}');
RESET statement_timeout;
RESET client_min_messages;
SELECT count(*) AS versions, max(version) FILTER (WHERE active) AS active_version,
       bool_and(weights = (SELECT w FROM thr_models WHERE threads = 1)) AS intact
  FROM mtrs_model WHERE name = 'thr';
SELECT count(*) = 5 AS still_serves FROM mtrs_recommend(7, 5, model => 'thr');
RESET ALL;
DROP TABLE thr_events, thr_models;
DROP EXTENSION mtrs;
