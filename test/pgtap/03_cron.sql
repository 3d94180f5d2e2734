-- Scheduled retraining with pg_cron (preloaded by the test cluster, jobs run in
-- this database): a job scheduled every minute retrains the model on its own,
-- and another one refreshes a table of precomputed recommendations.
-- The job's command sets training threads first, as docs/operations.md shows.
-- Waits for at most two minutes.  Runs in autocommit mode: the job runs in
-- another session and sees only committed rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS pg_cron;
DROP EXTENSION IF EXISTS mtrs;
CREATE EXTENSION mtrs;
SELECT plan(8);

CREATE TABLE cron_events AS
SELECT u AS user_id, (u % 8) * 100 + ((u * 3 + g) % 20) AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + (g * 60 + u) * interval '1 minute' AS ts
  FROM generate_series(1, 80) u, generate_series(1, 10) g;
SELECT mtrs_train('nightly', 'cron_events', options => '{"dim": 8, "iterations": 4}');
SELECT isnt(cron.schedule('mtrs-retrain-test', '* * * * *', $$SET mtrs.training_threads = 2; CALL mtrs_retrain('nightly')$$),
            NULL::bigint,
            'a retrain is scheduled every minute');

-- and a table of every user's top 5, refreshed by a second job (docs/operations.md)
CREATE TABLE cron_recs (user_id bigint, item_id bigint, score real, rank integer);
INSERT INTO cron_recs VALUES (-1, -1, 0, 1);
SELECT isnt(cron.schedule('mtrs-recs-test', '* * * * *', $$
  DELETE FROM cron_recs;
  INSERT INTO cron_recs SELECT * FROM mtrs_recommend_batch(k => 5, model => 'nightly');
$$), NULL::bigint, 'a refresh of precomputed recommendations is scheduled every minute');

CREATE FUNCTION pg_temp.wait_for_version(v integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE got integer;
BEGIN
	FOR i IN 1 .. 1200 LOOP		-- up to 120 s
		SELECT max(version) FILTER (WHERE active) INTO got FROM mtrs_model WHERE name = 'nightly';
		IF got >= v THEN RETURN got; END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN got;
END $$;
SELECT is(pg_temp.wait_for_version(2), 2, 'the scheduled job trained and activated version 2');
CREATE FUNCTION pg_temp.wait_for_recs() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	FOR i IN 1 .. 1200 LOOP		-- up to 120 s
		SELECT count(*) INTO n FROM cron_recs WHERE user_id > 0;
		IF n > 0 THEN RETURN n; END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN n;
END $$;
SELECT is(pg_temp.wait_for_recs(), 400::bigint, 'the job wrote the top 5 of all 80 users');
SELECT is((SELECT count(*) FROM cron_recs WHERE user_id < 0), 0::bigint, 'and replaced the old rows');
SELECT ok(cron.unschedule('mtrs-recs-test'), 'the refresh is unscheduled');
SELECT is((SELECT metrics->'last_retrain'->>'decision' FROM mtrs_model WHERE name = 'nightly' AND active),
          'activated', 'the new version records the guard decision');
SELECT ok(cron.unschedule('mtrs-retrain-test'), 'the job is unscheduled');

SELECT * FROM finish();
DROP TABLE cron_events, cron_recs;
DROP EXTENSION mtrs;
DROP EXTENSION pg_cron;
