-- The model registry: versions, activation, the one-active rule, dropping.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
CREATE TABLE reg_events AS
SELECT u AS user_id, (u % 2) * 100 + (g % 20) AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 30) u, generate_series(1, 10) g;
CREATE TABLE reg_w AS
SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 2}'::jsonb) AS w FROM reg_events;
-- three versions; the second is registered inactive
SELECT mtrs_register('shop', w) AS id1 FROM reg_w;
SELECT mtrs_register('shop', w, activate => false) AS id2 FROM reg_w;
SELECT mtrs_register('shop', w, options => '{"note": "third"}') AS id3 FROM reg_w;
SELECT name, version, active, n_users, n_items, tasks, size_bytes = length(weights) AS sized
  FROM mtrs_model ORDER BY version;
-- activation moves the single active flag
SELECT mtrs_activate('shop', 1);
SELECT version, active FROM mtrs_model ORDER BY version;
-- the database, not convention, allows one active version per name
UPDATE mtrs_model SET active = true WHERE version = 2;
-- model info describes the active version and lists all versions
SELECT i->'version' AS version, i->'active' AS active, i->'tasks' AS tasks,
       i->'n_users' AS users, jsonb_array_length(i->'versions') AS n_versions,
       i->'format'->'dim' AS dim
  FROM mtrs_model_info('shop') i;
-- errors
SELECT mtrs_activate('shop', 9);
SELECT mtrs_activate('nope', 1);
SELECT mtrs_model_info('nope');
SELECT mtrs_register('bad name', w) FROM reg_w;
SELECT mtrs_register('', w) FROM reg_w;
SELECT mtrs_register(NULL, w) FROM reg_w;
SELECT mtrs_drop_model('shop', 1);
SELECT mtrs_drop_model('shop', 7);
SELECT mtrs_drop_model('nope');
-- dropping an inactive version, then the whole model
SELECT mtrs_drop_model('shop', 2) AS dropped;
SELECT version, active FROM mtrs_model ORDER BY version;
SELECT mtrs_drop_model('shop') AS dropped;
SELECT count(*) AS left_over FROM mtrs_model;
-- a model that has versions but none active
SELECT mtrs_register('idle', w, activate => false) > 0 AS registered FROM reg_w;
SELECT * FROM mtrs_recommend(1, 3, model => 'idle');
SELECT * FROM mtrs_recommend(1, 3, model => 'missing');
DROP EXTENSION mtrs;
DROP TABLE reg_events, reg_w;
