-- Partial states of mtrs_fit (bytea): split over partitions by the planner,
-- built per "shard" in SQL and combined elsewhere (what Citus does with
-- shards), they train exactly the serial model; a state from anywhere else
-- is checked and rejected with a clear error.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
CREATE TABLE st_events (user_id bigint, item_id bigint, event text, ts timestamptz)
	PARTITION BY HASH (user_id);
CREATE TABLE st_events_0 PARTITION OF st_events FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE st_events_1 PARTITION OF st_events FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE st_events_2 PARTITION OF st_events FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO st_events
SELECT g % 89, g * 7 % 53, CASE WHEN g % 5 = 0 THEN 'cart' WHEN g % 3 = 0 THEN 'click' ELSE 'view' END,
       timestamptz '2026-01-01' + g * interval '1 minute'
  FROM generate_series(1, 12000) g;
ANALYZE st_events;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE st_serial AS
SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}'::jsonb) AS w FROM st_events;

-- the planner's split: one partial state per partition, combined in one process
SET enable_partitionwise_aggregate = on;
EXPLAIN (COSTS OFF)
SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}'::jsonb) FROM st_events;
SELECT md5(mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}'::jsonb)) = (SELECT md5(w) FROM st_serial)
       AS partitionwise_equals_serial
  FROM st_events;
RESET enable_partitionwise_aggregate;

-- the same split by hand: a flat state per shard, stored, then combined and trained
CREATE AGGREGATE fit_state(bigint, bigint, text, timestamptz, jsonb) (
	SFUNC = mtrs_fit_transfn, STYPE = bytea);
CREATE AGGREGATE fit_from_states(bytea) (
	SFUNC = mtrs_fit_combine, STYPE = bytea,
	FINALFUNC = mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE);
-- each shard scans in its own order, so each numbers the events differently
CREATE TABLE st_states AS
SELECT 0 AS shard, fit_state(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}' ORDER BY event) AS state FROM st_events_0
UNION ALL
SELECT 1, fit_state(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}' ORDER BY event DESC) FROM st_events_1
UNION ALL
SELECT 2, fit_state(user_id, item_id, event, ts, '{"dim": 8, "iterations": 2}' ORDER BY ts DESC) FROM st_events_2;
-- 24-byte header, 64 bytes per event name, the options, 32 bytes per row
SELECT shard, length(state) = 24 + 64 * 3 + length('{"dim": 8, "iterations": 2}') + 32 * n AS size_is_exact
  FROM st_states JOIN (SELECT tableoid, count(*) AS n FROM st_events GROUP BY 1) c
    ON c.tableoid = ('st_events_' || shard)::regclass
 ORDER BY shard;
-- in any order, with an empty shard's NULL state among them
SELECT md5(fit_from_states(state ORDER BY shard DESC)) = (SELECT md5(w) FROM st_serial) AS states_equal_serial
  FROM (SELECT shard, state FROM st_states UNION ALL SELECT 3, NULL) s;
SELECT fit_from_states(state) IS NULL AS no_states_no_model FROM st_states WHERE false;

-- one model per group: hashed and sorted grouping keep each group's state apart
SET enable_sort = off;
CREATE TABLE st_hashed AS
SELECT user_id % 2 AS g, md5(mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 1}'::jsonb)) AS m
  FROM st_events GROUP BY 1;
RESET enable_sort;
SET enable_hashagg = off;
SELECT g, m = (SELECT md5(mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 1}'::jsonb))
                 FROM st_events WHERE user_id % 2 = g) AS equals_filtered,
       m = (SELECT m2 FROM (SELECT user_id % 2 AS g2, md5(mtrs_fit(user_id, item_id, event, ts,
                                   '{"dim": 4, "iterations": 1}'::jsonb)) AS m2
                              FROM st_events GROUP BY 1) s WHERE g2 = g) AS sorted_equals_hashed
  FROM st_hashed ORDER BY g;
RESET enable_hashagg;

-- states from elsewhere are checked: each corruption is named
CREATE FUNCTION rows_at(s bytea) RETURNS int LANGUAGE sql IMMUTABLE
	AS $$ SELECT 24 + 64 * get_byte(s, 4) + get_byte(s, 16) + 256 * get_byte(s, 17) $$;
CREATE TABLE st_one AS SELECT state AS s FROM st_states WHERE shard = 0;
SELECT fit_from_states('\x00'::bytea);
SELECT fit_from_states(set_byte(s, 0, 0)) FROM st_one;
SELECT fit_from_states(set_byte(s, 20, 9)) FROM st_one;
SELECT fit_from_states(substr(s, 1, length(s) - 1)) FROM st_one;
SELECT fit_from_states(s || '\x00'::bytea) FROM st_one;
SELECT fit_from_states(set_byte(s, rows_at(s) + 28, 7)) FROM st_one;
SELECT fit_from_states(overlay(s placing '\x000000000000f07f'::bytea from rows_at(s) + 17 for 8)) FROM st_one;
SELECT fit_from_states(overlay(s placing decode(repeat('61', 64), 'hex') from 25 for 64)) FROM st_one;
SELECT fit_from_states(overlay(s placing convert_to('ranking', 'UTF8') || '\x00'::bytea from 25 for 8)) FROM st_one;
SELECT fit_from_states(set_byte(s, 24 + 64 * 3 + 2, 0)) FROM st_one;
-- a state given as an aggregate's initial value reaches the final function unchanged
CREATE AGGREGATE fit_initcond(bigint, bigint, text, timestamptz) (
	SFUNC = mtrs_fit_transfn, STYPE = bytea, INITCOND = '\x4d464954',
	FINALFUNC = mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE);
SELECT fit_initcond(user_id, item_id, event, ts) FROM st_events WHERE false;
SELECT fit_initcond(user_id, item_id, event, ts) FROM st_events;
-- the support functions only run inside an aggregate
SELECT mtrs_fit_transfn(NULL, 1, 2, 'view', now());
SELECT mtrs_fit_finalfn(s) FROM st_one;

RESET max_parallel_workers_per_gather;
DROP AGGREGATE fit_state(bigint, bigint, text, timestamptz, jsonb);
DROP AGGREGATE fit_from_states(bytea);
DROP AGGREGATE fit_initcond(bigint, bigint, text, timestamptz);
DROP FUNCTION rows_at(bytea);
DROP TABLE st_events, st_serial, st_states, st_one, st_hashed;
DROP EXTENSION mtrs;
