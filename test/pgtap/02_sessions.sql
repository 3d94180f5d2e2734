-- The per-backend model cache across sessions: a second session sees a new
-- version, an activation change and a rolled-back update on its next call,
-- and a cache hit does not reload the model.  Runs in autocommit mode,
-- because the other sessions (dblink) only see committed rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS dblink;
DROP EXTENSION IF EXISTS mtrs;
CREATE EXTENSION mtrs;
SELECT plan(29);

CREATE TEMP TABLE sess_events AS
SELECT u AS user_id, g AS item_id, 'view'::text AS event,
       timestamptz '2026-05-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 12) u, generate_series(1, 20) g
 WHERE (u + g) % 3 <> 0;
-- version 1 knows 10 items, version 2 knows 20: the catalog size tells them apart
CREATE TEMP TABLE sess_w AS
SELECT (SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 2}'::jsonb)
          FROM sess_events WHERE item_id <= 10) AS w10,
       (SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 2}'::jsonb)
          FROM sess_events) AS w20;
SELECT mtrs_register('sess', w10) FROM sess_w;

CREATE FUNCTION pg_temp.connstr() RETURNS text LANGUAGE sql AS $$
	SELECT format('host=%s port=%s dbname=%s user=%s',
	              split_part(current_setting('unix_socket_directories'), ',', 1),
	              current_setting('port'), current_database(), current_user) $$;
SELECT dblink_connect('b', pg_temp.connstr());
SELECT dblink_connect('c', pg_temp.connstr());
CREATE FUNCTION pg_temp.catalog_in_b() RETURNS bigint LANGUAGE sql AS $$
	SELECT n FROM dblink('b', $q$SELECT count(*) FROM mtrs_recommend(1, 1000, model => 'sess', exclude_seen => false)$q$)
	       AS t(n bigint) $$;
CREATE FUNCTION pg_temp.loads_in_b() RETURNS bigint LANGUAGE sql AS $$
	SELECT loads FROM dblink('b', 'SELECT loads FROM mtrs_cache_stats()') AS t(loads bigint) $$;

SELECT is(pg_temp.catalog_in_b(), 10::bigint, 'session b serves version 1');
SELECT is(pg_temp.loads_in_b(), 1::bigint, 'session b decoded the model once');
SELECT is(pg_temp.catalog_in_b(), 10::bigint, 'a second call in session b');
SELECT is(pg_temp.loads_in_b(), 1::bigint, 'the second call was a cache hit (no reload, no detoast)');

SELECT mtrs_register('sess', w20) FROM sess_w;
SELECT is(pg_temp.catalog_in_b(), 20::bigint, 'session b sees the newly registered and activated version 2');
SELECT is(pg_temp.loads_in_b(), 2::bigint, 'and decoded it once');

SELECT mtrs_activate('sess', 1);
SELECT is(pg_temp.catalog_in_b(), 10::bigint, 'session b follows a rollback to version 1');

-- an uncommitted UPDATE of the active row in session c is invisible to b,
-- and after its ROLLBACK b still serves version 1
SELECT dblink_exec('c', 'BEGIN');
SELECT dblink_exec('c', format('UPDATE mtrs_model SET weights = %L WHERE name = %L AND version = 1',
                               (SELECT w20 FROM sess_w), 'sess'));
SELECT is(pg_temp.catalog_in_b(), 10::bigint, 'an uncommitted update is not served');
SELECT dblink_exec('c', 'ROLLBACK');
SELECT is(pg_temp.catalog_in_b(), 10::bigint, 'a rolled-back update is not served');

-- a committed UPDATE of the weights (same id, new xmin) is seen
SELECT dblink_exec('c', format('UPDATE mtrs_model SET weights = %L WHERE name = %L AND version = 1',
                               (SELECT w20 FROM sess_w), 'sess'));
SELECT is(pg_temp.catalog_in_b(), 20::bigint, 'a committed update of the active row is seen');

-- a retrain of a model another session is retraining is refused at once
SELECT dblink_exec('c', 'BEGIN');
SELECT * FROM dblink('c', $q$SELECT pg_advisory_xact_lock(hashtext('mtrs_retrain'), hashtext('sess'))::text$q$) AS t(x text);
SELECT throws_ok($$CALL mtrs_retrain('sess')$$, '55P03', 'another mtrs_retrain of model "sess" is running',
                 'a concurrent retrain is refused');
SELECT dblink_exec('c', 'ROLLBACK');
SELECT throws_ok($$CALL mtrs_retrain('sess')$$, '55000', 'mtrs model "sess" has no recorded source',
                 'once the other one ends, the retrain proceeds (and needs a recorded source)');

-- dropping the model is seen too
SELECT mtrs_drop_model('sess');
SELECT throws_ok($$SELECT pg_temp.catalog_in_b()$$, '42704', NULL, 'a dropped model is no longer served');

-- a long mtrs_train in session c (on two training threads) shows its running
-- iteration in pg_stat_activity
CREATE TABLE sess_big AS
SELECT u AS user_id, (u * 31 + g * 17) % 2000 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 minute' AS ts
  FROM generate_series(1, 2000) u, generate_series(1, 20) g;
SELECT dblink_exec('c', 'SET mtrs.training_threads = 2');
CREATE TEMP TABLE sess_c AS SELECT x AS pid FROM dblink('c', 'SELECT pg_backend_pid()') AS t(x int);
-- what session c's pg_stat_activity.query is once its statement has ended
CREATE FUNCTION pg_temp.query_of_c() RETURNS text LANGUAGE sql AS $$
	SELECT pg_stat_clear_snapshot();
	SELECT a.query FROM pg_stat_activity a WHERE a.pid = (SELECT pid FROM sess_c) $$;
SELECT dblink_send_query('c', $q$SELECT mtrs_train('sess_big', 'sess_big', options => '{"dim": 64, "iterations": 1000}')$q$);
CREATE FUNCTION pg_temp.progress_seen(pattern text DEFAULT 'mtrs training: iteration %')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE q text;
BEGIN
	FOR i IN 1 .. 600 LOOP	-- up to 60 s
		SELECT a.query INTO q FROM pg_stat_activity a
		 WHERE a.datname = current_database() AND a.query LIKE pattern LIMIT 1;
		IF q IS NOT NULL THEN RETURN q; END IF;
		PERFORM pg_sleep(0.1);
		PERFORM pg_stat_clear_snapshot();
	END LOOP;
	RETURN NULL;
END $$;
SELECT matches(pg_temp.progress_seen(), '^mtrs training: iteration [0-9]+ of 1000, .*ranking [0-9.]+',
               'another session sees the running iteration and loss');
-- cancelling it leaves no new model behind
SELECT ok(dblink_cancel_query('c') = 'OK', 'the training is cancelled');
SELECT is((SELECT count(*) FROM mtrs_model WHERE name = 'sess_big'), 0::bigint, 'nothing was registered');
SELECT is((SELECT count(*) FROM dblink_get_result('c', false) AS t(id bigint)), 0::bigint,
          'the cancelled call returned no row');
SELECT count(*) FROM dblink_get_result('c', false) AS t(id bigint);
SELECT matches(pg_temp.query_of_c(), '^SELECT mtrs_train\(''sess_big''',
               'after the cancel, session c shows its statement again, not the last iteration');
SELECT is((SELECT x FROM dblink('c', 'SELECT 1') AS t(x int)), 1, 'session c goes on working');
-- and so does a long text training (20,000 utterances, 1,000 epochs), epoch by epoch
CREATE TABLE sess_utt AS
SELECT format('%s the item number %s', v, g) AS text, v AS label
  FROM generate_series(1, 10000) g, unnest(ARRAY['buy', 'return']) v;
SELECT dblink_send_query('c', $q$SELECT mtrs_train('sess_text', intents => 'sess_utt', options => '{"text_epochs": 1000}')$q$);
SELECT matches(pg_temp.progress_seen('mtrs training: text %'),
               '^mtrs training: text (tuning|training) epoch [0-9]+ of 1000, .*intent [0-9.]+',
               'another session sees the running text epoch and loss');
SELECT ok(dblink_cancel_query('c') = 'OK', 'the text training is cancelled');
SELECT is((SELECT count(*) FROM dblink_get_result('c', false) AS t(id bigint)), 0::bigint,
          'the cancelled text training returned no row');
SELECT count(*) FROM dblink_get_result('c', false) AS t(id bigint);
SELECT matches(pg_temp.query_of_c(), '^SELECT mtrs_train\(''sess_text''',
               'after the cancel, session c shows its statement again, not the last text epoch');
SELECT is((SELECT count(*) FROM mtrs_model WHERE name = 'sess_text'), 0::bigint, 'no text model was registered');

-- terminating a backend while its training threads run ends only that backend
CREATE TEMP TABLE sess_start AS SELECT pg_postmaster_start_time() AS t;
SELECT dblink_connect('d', pg_temp.connstr());
SELECT dblink_exec('d', 'SET mtrs.training_threads = 4');
CREATE TEMP TABLE sess_d AS SELECT x AS pid FROM dblink('d', 'SELECT pg_backend_pid()') AS t(x int);
SELECT dblink_send_query('d', $q$SELECT mtrs_train('sess_big', 'sess_big', options => '{"dim": 64, "iterations": 1000}')$q$);
SELECT matches(pg_temp.progress_seen(), '^mtrs training: iteration', 'the four-thread training runs');
SELECT ok(pg_terminate_backend(pid, 10000), 'the training backend is terminated') FROM sess_d;
SELECT is((SELECT pg_postmaster_start_time() = t FROM sess_start), true,
          'the server did not restart (no crash)');
SELECT is((SELECT count(*) FROM mtrs_model WHERE name = 'sess_big'), 0::bigint, 'still nothing registered');
SELECT ok(dblink_disconnect('b') = 'OK' AND dblink_disconnect('c') = 'OK' AND dblink_disconnect('d') = 'OK',
          'sessions closed');

SELECT * FROM finish();
DROP TABLE sess_big, sess_utt;
DROP EXTENSION mtrs;
