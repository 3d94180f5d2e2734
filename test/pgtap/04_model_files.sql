-- Shared model files: the first backend that serves a model version writes its bytes to
-- pg_mtrs/<checksum>-<size>.model in the data directory and maps it; other backends map
-- the same file instead of reading the registry; a damaged file is never served (it is
-- replaced); mtrs.model_files_size = 0 turns sharing off.  Autocommit, because the other
-- sessions (dblink) only see committed rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS dblink;
DROP EXTENSION IF EXISTS mtrs;
CREATE EXTENSION mtrs;
SELECT plan(20);

-- models large enough to be stored out of line (300 users, 200 items, dim 16: about 30 kB)
CREATE TABLE mf_events AS
SELECT u AS user_id, (u * 7 + g * 13) % 200 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 300) u, generate_series(1, 15) g;
SELECT ok(mtrs_train('mf', 'mf_events', options => '{"dim": 16, "iterations": 3}') > 0 AND
          mtrs_train('mf2', 'mf_events', options => '{"dim": 16, "iterations": 3, "seed": 7}') > 0,
          'two models trained');
-- a model's file: its database, its registry row, its checksum (its last 8 bytes,
-- little-endian) and its size
CREATE FUNCTION pg_temp.model_file(model text) RETURNS text LANGUAGE sql AS $$
	SELECT current_setting('data_directory') || '/pg_mtrs/' ||
	       (SELECT oid FROM pg_database WHERE datname = current_database()) || '-' || id || '-' ||
	       (SELECT string_agg(lpad(to_hex(get_byte(weights, length(weights) - i)), 2, '0'), '' ORDER BY i)
	          FROM generate_series(1, 8) i) || '-' || length(weights) || '.model'
	  FROM mtrs_model WHERE name = model AND active $$;
CREATE FUNCTION pg_temp.connstr() RETURNS text LANGUAGE sql AS $$
	SELECT format('host=%s port=%s dbname=%s user=%s',
	              split_part(current_setting('unix_socket_directories'), ',', 1),
	              current_setting('port'), current_database(), current_user) $$;
CREATE FUNCTION pg_temp.served_in(conn text, model text) RETURNS bigint[] LANGUAGE sql AS $$
	SELECT ids FROM dblink(conn, format('SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(1, 5, model => %L)', model))
	       AS t(ids bigint[]) $$;
CREATE FUNCTION pg_temp.stats_in(conn text) RETURNS TABLE(shared_loads bigint, shared_bytes bigint) LANGUAGE sql AS $$
	SELECT * FROM dblink(conn, 'SELECT shared_loads, shared_bytes FROM mtrs_cache_stats()')
	       AS t(shared_loads bigint, shared_bytes bigint) $$;
CREATE FUNCTION pg_temp.private_in(conn text) RETURNS bigint LANGUAGE sql AS $$
	SELECT * FROM dblink(conn, 'SELECT private_bytes FROM mtrs_cache_stats()') AS t(private_bytes bigint) $$;
CREATE TABLE mf_len AS SELECT name, length(weights)::bigint AS len FROM mtrs_model WHERE active;
SELECT ok((SELECT len > 8192 FROM mf_len WHERE name = 'mf'), 'the model is stored out of line');

-- session b serves mf first: it reads the registry, writes the file, and serves from it
SELECT dblink_connect('b', pg_temp.connstr());
SELECT is(cardinality(pg_temp.served_in('b', 'mf')), 5, 'session b serves mf');
SELECT is((pg_stat_file(pg_temp.model_file('mf'), true)).size, (SELECT len FROM mf_len WHERE name = 'mf'),
          'its file holds the model''s bytes');
SELECT is((SELECT row(s.shared_loads, s.shared_bytes)::text FROM pg_temp.stats_in('b') s),
          row(0, (SELECT len FROM mf_len WHERE name = 'mf'))::text,
          'session b read the registry (no shared load) and serves the mapped file');
-- session c maps the file b wrote, and serves the same
SELECT dblink_connect('c', pg_temp.connstr());
SELECT is(pg_temp.served_in('c', 'mf'), pg_temp.served_in('b', 'mf'), 'session c serves the same items');
SELECT is((SELECT s.shared_loads FROM pg_temp.stats_in('c') s), 1::bigint, 'session c mapped the shared file');

-- a damaged file (right name and size, wrong content) is never served: it is replaced
DO $$
BEGIN
	EXECUTE format('COPY (SELECT repeat(%L, %s)) TO %L', 'x', (SELECT len - 1 FROM mf_len WHERE name = 'mf2'),
	               pg_temp.model_file('mf2'));
END $$;
SELECT is((pg_stat_file(pg_temp.model_file('mf2'), true)).size, (SELECT len FROM mf_len WHERE name = 'mf2'),
          'a damaged file of the right size is in place');
SELECT dblink_connect('d', pg_temp.connstr());
SELECT is(cardinality(pg_temp.served_in('d', 'mf2')), 5, 'session d serves mf2 all the same');
SELECT is((SELECT s.shared_loads FROM pg_temp.stats_in('d') s), 0::bigint,
          'from the registry, not from the damaged file');
SELECT is(pg_read_binary_file(pg_temp.model_file('mf2'), 0, 4), '\x4d545253'::bytea,
          'the damaged file was replaced by the model (it starts with the magic MTRS)');
SELECT is(pg_temp.served_in('c', 'mf2'), pg_temp.served_in('d', 'mf2'),
          'session c maps the replaced file and serves the same');

-- the budget: with room for one of two larger models (about 650 kB each in 1 MB), the file
-- written last stays and the other one goes, even when both are written within a second
CREATE TABLE mf_big_events AS
SELECT u AS user_id, (u * 7 + g * 13) % 500 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 1500) u, generate_series(1, 15) g;
SELECT ok(mtrs_train('big1', 'mf_big_events', options => '{"iterations": 2}') > 0 AND
          mtrs_train('big2', 'mf_big_events', options => '{"iterations": 2, "seed": 7}') > 0, 'two larger models trained');
SELECT is((SELECT count(*) FROM mtrs_model WHERE name IN ('big1', 'big2') AND active AND length(weights) BETWEEN 600000 AND 1000000),
          2::bigint, 'both between 0.6 and 1 MB');
ALTER SYSTEM SET mtrs.model_files_size = 1;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT dblink_connect('f', pg_temp.connstr());
SELECT is(cardinality(pg_temp.served_in('f', 'big1')) + cardinality(pg_temp.served_in('f', 'big2')), 10,
          'session f serves both');
SELECT is(ARRAY[(pg_stat_file(pg_temp.model_file('big1'), true)).size IS NULL,
                (pg_stat_file(pg_temp.model_file('big2'), true)).size IS NOT NULL],
          ARRAY[true, true], 'only the file written last is kept within mtrs.model_files_size');

-- mtrs.model_files_size = 0: no sharing (a setting of the server, reloaded)
ALTER SYSTEM SET mtrs.model_files_size = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT dblink_connect('e', pg_temp.connstr());
SELECT is(cardinality(pg_temp.served_in('e', 'mf')), 5, 'with sharing off, session e serves mf');
SELECT is((SELECT row(s.shared_loads, s.shared_bytes)::text FROM pg_temp.stats_in('e') s), '(0,0)',
          'from its own copy');
-- what a backend holds privately: its own copy of the model's bytes (e), or only what
-- serving derived from them when the bytes are mapped (c serves mf and mf2, both mapped)
SELECT ok(pg_temp.private_in('e') - pg_temp.private_in('c') / 2 BETWEEN (SELECT len FROM mf_len WHERE name = 'mf')
                                                                  AND (SELECT len FROM mf_len WHERE name = 'mf') + 256,
          'a backend with its own copy holds the model''s bytes privately, one that maps them does not');
SELECT ok(pg_temp.private_in('c') BETWEEN 1 AND (SELECT sum(len) / 2 FROM mf_len WHERE name IN ('mf', 'mf2')),
          'a backend serving mapped models holds less than half their size privately');
ALTER SYSTEM RESET mtrs.model_files_size;
SELECT pg_reload_conf();

SELECT dblink_disconnect(c) FROM unnest(ARRAY['b', 'c', 'd', 'e', 'f']) c;
SELECT * FROM finish();
DROP TABLE mf_events, mf_len, mf_big_events;
DROP EXTENSION mtrs;
