--
-- Upgrading from the released 0.1.0 (sql/mtrs--0.1.0.sql, frozen) to the version being
-- built: the old SQL runs on this build's library, ALTER EXTENSION ... UPDATE keeps the
-- registry and what its models serve, and the upgraded extension is object for object
-- the same as a fresh install (a change to sql/mtrs.sql that its upgrade script lacks
-- shows up below as rows "only after the upgrade" / "only in a fresh install").
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/fixtures/catalog.sql'
\set catalog_fn :abs_srcdir '/fixtures/extension_catalog.sql'
\set warm_items 8
SET client_min_messages = warning;
CREATE EXTENSION mtrs VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'mtrs';
\i :fixture
CREATE TABLE utterances AS
SELECT t AS text, l AS label
  FROM (VALUES ('i want to buy a laptop', 'buy'), ('add the camera to my cart', 'buy'),
               ('我想买一台电脑', 'buy'), ('how do i return my phone', 'return'),
               ('send the novel back', 'return'), ('我要退货', 'return')) v(t, l),
       generate_series(1, 3);

-- models trained through the 0.1.0 functions, on this build
SELECT mtrs_train('shop', 'views', items => 'catalog', item_text_cols => ARRAY['title', 'category'])
       IS NOT NULL AS trained;
SELECT mtrs_train('shop', 'views', options => '{"seed": 7, "dim": 16}') IS NOT NULL AS trained;
SELECT mtrs_activate('shop', 1) AS activated;
SELECT mtrs_train('talk', intents => 'utterances') IS NOT NULL AS trained;
-- a name of 33 characters and 64 bytes: 0.1.0's registry took it (serving never could)
INSERT INTO mtrs_model (name, version, format, n_users, n_items, n_params, size_bytes, weights)
SELECT repeat('é', 31) || 'xx', 1, format, n_users, n_items, n_params, size_bytes, weights
  FROM mtrs_model WHERE name = 'talk';
-- what the models serve (a plain SQL function: its body is looked up at each call)
CREATE FUNCTION served_now() RETURNS TABLE (what text, answer text) LANGUAGE sql AS $$
SELECT 'registry', format('%s %s %s %s', name, version, active, md5(weights)) FROM mtrs_model
UNION ALL
SELECT 'recommend', format('%s %s', item_id, score) FROM mtrs_recommend(1, 5, model => 'shop')
UNION ALL
SELECT 'query', format('%s %s', item_id, score)
  FROM mtrs_recommend_for('{}', 3, model => 'shop', query => 'a coffee grinder')
UNION ALL
SELECT 'similar', format('%s %s', item_id, score) FROM mtrs_similar_items(101, 3, model => 'shop')
UNION ALL
SELECT 'intent', format('%s %s', intent, score) FROM mtrs_intent('我想买相机', model => 'talk')
$$;
CREATE TABLE served AS SELECT * FROM served_now();
SELECT what, count(*) FROM served GROUP BY what ORDER BY what;

ALTER EXTENSION mtrs UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'mtrs')
       AS updated
  FROM pg_extension WHERE extname = 'mtrs';

-- the registry and what its models serve are unchanged (in a new backend, which reads
-- the models from the registry again)
\c
SET client_min_messages = warning;
SELECT (SELECT count(*) FROM (TABLE served EXCEPT ALL SELECT * FROM served_now()) a) AS lost,
       (SELECT count(*) FROM (SELECT * FROM served_now() EXCEPT ALL TABLE served) b) AS new;
-- names are now limited to 63 bytes: the row above is kept, the constraint checks new
-- rows (23514) until it is renamed and the constraint validated, as the warning said
SELECT convalidated FROM pg_constraint WHERE conname = 'mtrs_model_name_check';
\set VERBOSITY terse
INSERT INTO mtrs_model (name, version, format, n_users, n_items, n_params, size_bytes, weights)
SELECT repeat('é', 32), 1, format, n_users, n_items, n_params, size_bytes, weights
  FROM mtrs_model WHERE name = 'talk';
\set VERBOSITY default
UPDATE mtrs_model SET name = 'renamed' WHERE octet_length(name) > 63;
ALTER TABLE mtrs_model VALIDATE CONSTRAINT mtrs_model_name_check;
SELECT convalidated FROM pg_constraint WHERE conname = 'mtrs_model_name_check';
-- the upgraded model registry still takes new versions and activates them
SELECT mtrs_train('shop', 'views') IS NOT NULL AS trained;
SELECT version, active FROM mtrs_models WHERE name = 'shop' ORDER BY version;

-- object for object the same as a fresh install of this version
\set ECHO none
\i :catalog_fn
\set ECHO all
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.mtrs_catalog();
DROP EXTENSION mtrs;
CREATE EXTENSION mtrs;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.mtrs_catalog();
SELECT count(*) > 40 AS compared, count(*) FILTER (WHERE object LIKE 'function %') > 35 AS functions,
       count(*) FILTER (WHERE object LIKE 'table %') AS tables,
       count(*) FILTER (WHERE object LIKE 'view %') AS views
  FROM fresh;
SELECT 'only after the upgrade' AS side, object, definition FROM (TABLE upgraded EXCEPT TABLE fresh) u
UNION ALL
SELECT 'only in a fresh install', object, definition FROM (TABLE fresh EXCEPT TABLE upgraded) f
ORDER BY object, side;
DROP EXTENSION mtrs;
DROP TABLE catalog, views, utterances, served;
DROP FUNCTION served_now();
