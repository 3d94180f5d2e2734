-- reentrant: a serving call folds a user in by querying the model's source
-- table; when that source is a view whose function serves the same model
-- after a new row version of it was written, the backend cache loads the new
-- version while the outer call still uses the old one.  The old one must stay
-- alive until the outer call is done (it used to be freed: a crash in
-- mtrs_recommend, mtrs_explain, mtrs_recommend_batch and mtrs_user_vectors,
-- and "fold-in query failed" when it happened during the first query).
CREATE EXTENSION mtrs;
SET client_min_messages = warning;
CREATE TABLE ev_rows AS
SELECT u AS user_id, (u % 3) * 10 + (u + g) % 7 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + (u * 10 + g) * interval '1 hour' AS ts
  FROM generate_series(1, 30) u, generate_series(1, 6) g;
CREATE VIEW ev AS SELECT * FROM ev_rows;
SELECT mtrs_train('r', 'ev', options => '{"dim": 8, "iterations": 5}') > 0 AS trained;
-- user 7 gets a row newer than the model: every serving call folds it in
INSERT INTO ev_rows VALUES (7, 25, 'view', now() + interval '1 day');

-- what the calls give when nothing reloads the model
CREATE TEMP TABLE expected AS
SELECT 'recommend' AS f, array_agg(item_id ORDER BY rank) AS items FROM mtrs_recommend(7, 5, model => 'r')
UNION ALL
SELECT 'explain', array_agg(item_id ORDER BY rank) FROM mtrs_explain(7, 12, 3, 'r')
UNION ALL
SELECT 'batch', array_agg(item_id ORDER BY rank) FROM mtrs_recommend_batch(ARRAY[7]::bigint[], 5, model => 'r')
UNION ALL
SELECT 'vectors', array_agg(round(x::numeric, 4)) FROM mtrs_user_vectors(ARRAY[7]::bigint[], 'r'), unnest(vector) x;

-- a function that writes a new row version of 'r' and serves it, for the rows
-- whose time is in the chosen range (old: the fold-in's second query reads
-- them; new: its first one)
CREATE TABLE reloads (n int);
INSERT INTO reloads VALUES (0);
CREATE FUNCTION reload(ts timestamptz, newer boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	IF (ts > now()) = newer THEN
		UPDATE mtrs_model SET metrics = metrics WHERE name = 'r';
		PERFORM mtrs_predict(7, 12, model => 'r');
		UPDATE reloads SET n = n + 1;
	END IF;
	RETURN true;
END $$;

CREATE OR REPLACE VIEW ev AS SELECT * FROM ev_rows WHERE reload(ts, false);
SELECT f, items = (SELECT items FROM expected e WHERE e.f = r.f) AS same
  FROM (SELECT 'recommend' AS f, array_agg(item_id ORDER BY rank) AS items FROM mtrs_recommend(7, 5, model => 'r')
        UNION ALL
        SELECT 'explain', array_agg(item_id ORDER BY rank) FROM mtrs_explain(7, 12, 3, 'r')
        UNION ALL
        SELECT 'batch', array_agg(item_id ORDER BY rank) FROM mtrs_recommend_batch(ARRAY[7]::bigint[], 5, model => 'r')
        UNION ALL
        SELECT 'vectors', array_agg(round(x::numeric, 4)) FROM mtrs_user_vectors(ARRAY[7]::bigint[], 'r'), unnest(vector) x) r
 ORDER BY f;

CREATE OR REPLACE VIEW ev AS SELECT * FROM ev_rows WHERE reload(ts, true);
SELECT array_agg(item_id ORDER BY rank)::numeric[] = (SELECT items FROM expected WHERE f = 'recommend') AS same_when_first_query_reloads
  FROM mtrs_recommend(7, 5, model => 'r');

-- the model was reloaded inside those calls, and serving goes on
SELECT n > 4 AS reloaded FROM reloads;
CREATE OR REPLACE VIEW ev AS SELECT * FROM ev_rows;
SELECT count(*) AS served FROM mtrs_recommend(7, 5, model => 'r');
DROP EXTENSION mtrs;
DROP TABLE ev_rows, reloads CASCADE;
DROP FUNCTION reload(timestamptz, boolean);
