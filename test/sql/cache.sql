-- The backend's model cache serves what the registry says under the caller's
-- snapshot, and holds nothing it no longer says: a row updated twice in one
-- transaction, a savepoint rolled back under a PL/pgSQL call site that keeps
-- its memo between statements, a model dropped, an extension created again.
-- (test/specs/memo_snapshot.spec: a transaction committing between two
-- statements of another.)
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE cache_events AS
SELECT u AS user_id, (u % 3) * 10 + (u + g) % 7 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + (u * 10 + g) * interval '1 hour' AS ts
  FROM generate_series(1, 30) u, generate_series(1, 6) g;
-- two different models of the same rows
CREATE TABLE cache_w AS
SELECT (SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 2, "seed": 1}'::jsonb)
          FROM cache_events) AS a,
       (SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 3, "seed": 2}'::jsonb)
          FROM cache_events) AS b;
SELECT mtrs_register('ma', a) > 0 AS a, mtrs_register('mb', b) > 0 AS b FROM cache_w;
CREATE TEMP TABLE want AS
SELECT mtrs_predict(7, 12, model => 'ma') AS a, mtrs_predict(7, 12, model => 'mb') AS b;
SELECT a <> b AS models_differ FROM want;

-- a row whose weights are updated twice in one transaction: every version of
-- it has the same xmin, and each is served (also after the commit)
BEGIN;
SELECT mtrs_register('x', a) > 0 AS registered FROM cache_w;
SELECT mtrs_predict(7, 12, model => 'x') = a AS serves_a FROM want;
UPDATE mtrs_model SET weights = (SELECT b FROM cache_w) WHERE name = 'x';
SELECT mtrs_predict(7, 12, model => 'x') = b AS serves_b FROM want;
UPDATE mtrs_model SET weights = (SELECT a FROM cache_w) WHERE name = 'x';
SELECT mtrs_predict(7, 12, model => 'x') = a AS serves_a_again FROM want;
UPDATE mtrs_model SET weights = (SELECT b FROM cache_w) WHERE name = 'x';
COMMIT;
SELECT mtrs_predict(7, 12, model => 'x') = b AS serves_b_after_commit FROM want;

-- a PL/pgSQL call site keeps its memo from statement to statement of a
-- transaction, across a savepoint rolled back too
CREATE FUNCTION predict_x() RETURNS real LANGUAGE plpgsql AS $$
BEGIN
	RETURN mtrs_predict(7, 12, model => 'x');
END $$;
BEGIN;
SELECT predict_x() = b AS b_before FROM want;
SAVEPOINT s;
UPDATE mtrs_model SET weights = (SELECT a FROM cache_w) WHERE name = 'x';
SELECT predict_x() = a AS a_in_savepoint FROM want;
ROLLBACK TO SAVEPOINT s;
SELECT predict_x() = b AS b_after_rollback, mtrs_predict(7, 12, model => 'x') = b AS fresh_call_site
  FROM want;
COMMIT;

-- a dropped model leaves the cache of a backend that served it
SELECT entries AS held FROM mtrs_cache_stats();
SELECT mtrs_drop_model('x') AS dropped;
SELECT * FROM mtrs_recommend(7, 3, model => 'x');
SELECT entries AS held_after_drop FROM mtrs_cache_stats();
-- and so does a model with versions but none active
SELECT mtrs_register('ma', a, activate => false) > 0 AS registered FROM cache_w;
UPDATE mtrs_model SET active = false WHERE name = 'ma';
SELECT * FROM mtrs_recommend(7, 3, model => 'ma');
SELECT entries AS held_after_deactivation FROM mtrs_cache_stats();

-- a model deleted behind the cache's back, whose name this backend never looks up again
-- (as mtrs_retrain's scratch models), leaves the cache when another model is loaded
SELECT mtrs_register('mc', a) > 0 AS registered FROM cache_w;
SELECT mtrs_predict(7, 12, model => 'mc') = a AS serves_a FROM want;
SELECT entries AS held_before_delete FROM mtrs_cache_stats();
DELETE FROM mtrs_model WHERE name = 'mb';
SELECT mtrs_register('md', b) > 0 AS registered FROM cache_w;
SELECT mtrs_predict(7, 12, model => 'md') = b AS serves_b FROM want;
SELECT entries AS held_after_load FROM mtrs_cache_stats();
SELECT loads AS loads_before FROM mtrs_cache_stats() \gset
SELECT mtrs_predict(7, 12, model => 'mc') = a AS serves_a FROM want;
SELECT loads - :loads_before AS mc_reloads FROM mtrs_cache_stats();

-- the models of a dropped extension leave the cache when it is created again
DROP EXTENSION mtrs;
CREATE EXTENSION mtrs;
SELECT mtrs_register('mb', b) > 0 AS registered FROM cache_w;
SELECT mtrs_predict(7, 12, model => 'mb') = b AS serves_b FROM want;
SELECT entries AS held_after_recreate FROM mtrs_cache_stats();

DROP FUNCTION predict_x();
DROP EXTENSION mtrs;
DROP TABLE cache_events, cache_w;
