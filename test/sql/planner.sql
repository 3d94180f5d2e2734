-- planner: row estimates of the set-returning functions follow their
-- constant arguments (mtrs_rows_support); EXPLAIN does not run them, so no
-- model is needed here.
CREATE EXTENSION mtrs;

-- the plan of a query, as EXPLAIN (FORMAT JSON) gives it
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
	j json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
	RETURN j -> 0 -> 'Plan';
END $$;

SELECT q, (pg_temp.plan_of(q) ->> 'Plan Rows')::float8 AS rows
  FROM unnest(ARRAY[
	'SELECT * FROM mtrs_recommend(1, 50)',
	'SELECT * FROM mtrs_recommend(1)',
	'SELECT * FROM mtrs_recommend(1, k => 3)',
	'SELECT * FROM mtrs_recommend(1, 0)',
	'SELECT * FROM mtrs_recommend(1, 50, candidates => ARRAY[1, 2, 3]::bigint[])',
	'SELECT * FROM mtrs_recommend(1, 2, candidates => ARRAY[1, 2, 3]::bigint[])',
	'SELECT * FROM mtrs_recommend_for(ARRAY[1, 2]::bigint[], 25)',
	'SELECT * FROM mtrs_recommend_batch(ARRAY[1, 2, 3]::bigint[], 20)',
	'SELECT * FROM mtrs_recommend_batch(ARRAY[]::bigint[], 20)',
	'SELECT * FROM mtrs_recommend_batch(k => 5)',
	'SELECT * FROM mtrs_explain(1, 2, 3)',
	'SELECT * FROM mtrs_explain_for(ARRAY[1]::bigint[], 2)',
	'SELECT * FROM mtrs_similar_items(7, 15)',
	'SELECT * FROM mtrs_similar_items_batch(ARRAY[1, 2]::bigint[], 4)',
	'SELECT * FROM mtrs_item_vectors(ARRAY[1, 2, 3, 4]::bigint[])',
	'SELECT * FROM mtrs_user_vectors()',
	'SELECT * FROM mtrs_intent_explain(''hello'', k => 4)',
	'SELECT mtrs_recommend(1, 30)'
  ]) AS q;

-- in a lateral join: a constant k gives k rows per outer row; a k that
-- varies leaves the function's ROWS estimate (10)
SELECT (pg_temp.plan_of('SELECT * FROM generate_series(1, 100) u, mtrs_recommend(u, 7) r')
          -> 'Plans' -> 1 ->> 'Plan Rows')::float8 AS constant_k,
       (pg_temp.plan_of('SELECT * FROM generate_series(1, 100) u, mtrs_recommend(u, u) r')
          -> 'Plans' -> 1 ->> 'Plan Rows')::float8 AS varying_k,
       (pg_temp.plan_of('SELECT * FROM generate_series(1, 100) u, mtrs_recommend(u, 7) r')
          ->> 'Plan Rows')::float8 AS join_rows;

-- a prepared statement's custom plan sees the parameter's value
PREPARE top(int) AS SELECT * FROM mtrs_recommend(1, $1);
CREATE TEMP TABLE plans (j json);
DO $$
DECLARE
	j json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) EXECUTE top(40)' INTO j;
	INSERT INTO plans VALUES (j);
END $$;
SELECT (j -> 0 -> 'Plan' ->> 'Plan Rows')::float8 AS prepared_rows FROM plans;
DEALLOCATE top;

-- mtrs_predict costs as much as 50 simple operators (COST 50), so cheaper
-- conditions filter first, however the query is written
CREATE TEMP TABLE cand (user_id bigint, item_id bigint, title text);
SELECT pg_temp.plan_of('SELECT * FROM cand WHERE mtrs_predict(user_id, item_id) > 0.5 AND lower(title) LIKE ''%bag%''')
       ->> 'Filter' AS filter;

-- with the model known at plan time (named, or the default model), the registry's counts
-- bound the estimate: a list has at most one row per item (looked up for k above 1000), and
-- a batch over every user or item (ids NULL) has one group per user or item; an unknown
-- model leaves the estimate as it was
SELECT mtrs_register('plan', mtrs_fit(u, u % 40, 'view', timestamptz '2026-01-01', '{"dim": 4, "iterations": 1}'::jsonb)) > 0
       AS registered
  FROM generate_series(1, 300) u;
SELECT n_users, n_items FROM mtrs_model WHERE name = 'plan';
SELECT q, (pg_temp.plan_of(q) ->> 'Plan Rows')::float8 AS rows
  FROM unnest(ARRAY[
	'SELECT * FROM mtrs_recommend(1, 2147483647, model => ''plan'')',
	'SELECT * FROM mtrs_recommend(1, 2147483647)',
	'SELECT * FROM mtrs_recommend(1, 5, model => ''plan'')',
	'SELECT * FROM mtrs_recommend(1, 1000, model => ''plan'')',
	'SELECT * FROM mtrs_recommend_for(ARRAY[1]::bigint[], 1001, model => ''plan'')',
	'SELECT * FROM mtrs_recommend_batch(NULL, 5, model => ''plan'')',
	'SELECT * FROM mtrs_recommend_batch(ARRAY[1, 2]::bigint[], 5000, model => ''plan'')',
	'SELECT * FROM mtrs_similar_items(1, 5000, model => ''plan'')',
	'SELECT * FROM mtrs_similar_items_batch(NULL, 3, model => ''plan'')',
	'SELECT * FROM mtrs_item_vectors(model => ''plan'')',
	'SELECT * FROM mtrs_user_vectors(model => ''plan'')',
	'SELECT * FROM mtrs_recommend(1, 2147483647, model => ''nope'')',
	-- explanations: k history items (at most the model's items), or k features of one
	-- utterance (estimated at most 1000); with the row of the rest, k = 2^31 - 1 once
	-- wrapped to an estimate of 1 row
	'SELECT * FROM mtrs_explain(1, 2, 2147483647, model => ''plan'')',
	'SELECT * FROM mtrs_explain_for(ARRAY[1]::bigint[], 2, 2147483647)',
	'SELECT * FROM mtrs_explain(1, 2, 2147483647, model => ''nope'')',
	'SELECT * FROM mtrs_intent_explain(''hello'', k => 2147483647)',
	'SELECT * FROM mtrs_intent_explain(''hello'', k => 999)'
  ]) AS q;
-- "every item" (k = 2^31 - 1) no longer costs enough to be compiled with JIT
SELECT (pg_temp.plan_of('SELECT * FROM mtrs_recommend(1, 2147483647)') ->> 'Total Cost')::float8
       < current_setting('jit_above_cost')::float8 AS below_jit_cost;
-- without SELECT on the registry the counts are not read (and planning does not fail)
CREATE ROLE regress_mtrs_planner;
SET ROLE regress_mtrs_planner;
SELECT (pg_temp.plan_of('SELECT * FROM mtrs_recommend(1, 2147483647, model => ''plan'')') ->> 'Plan Rows')::float8
       AS rows_without_privilege;
RESET ROLE;
DROP ROLE regress_mtrs_planner;

-- every set-returning function whose rows follow its arguments has the support function
SELECT p.proname, s.proname AS support
  FROM pg_proc p JOIN pg_proc s ON s.oid = p.prosupport
 WHERE p.proname LIKE 'mtrs\_%'
 ORDER BY 1;

DROP EXTENSION mtrs;
