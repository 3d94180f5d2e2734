-- The mtrs_fit aggregate under a parallel plan: partial aggregation really
-- happens and yields exactly the serial model.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
CREATE TABLE par_events AS
SELECT (g % 97) AS user_id, (g * 7 % 61) AS item_id,
       CASE WHEN g % 4 = 0 THEN 'click' ELSE 'view' END AS event,
       timestamptz '2026-01-01' + g * interval '1 minute' AS ts
  FROM generate_series(1, 20000) g;
ANALYZE par_events;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE par_serial AS SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}'::jsonb) AS w FROM par_events;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}'::jsonb) FROM par_events;
SELECT md5(mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}'::jsonb)) = (SELECT md5(w) FROM par_serial)
       AS parallel_equals_serial
  FROM par_events;
RESET ALL;
DROP EXTENSION mtrs;
DROP TABLE par_events, par_serial;
