-- The source table a model folds fresh rows in from (its recorded source):
-- a source that cannot be read, or whose columns are no longer of the types
-- training reads, serves the model as trained, and no recorded source,
-- however odd, stops a model from serving.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE src_rows AS
SELECT u AS user_id, (u % 3) * 10 + (u + g) % 7 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + (u * 10 + g) * interval '1 hour' AS ts
  FROM generate_series(1, 30) u, generate_series(1, 6) g;
CREATE VIEW src AS SELECT * FROM src_rows;
SELECT mtrs_train('s', 'src', options => '{"dim": 8, "iterations": 5}') > 0 AS trained;
-- user 7 and the new user 900 get rows newer than the model
INSERT INTO src_rows VALUES (7, 25, 'view', now() + interval '1 day'),
                            (900, 12, 'view', now() + interval '1 day');
CREATE TABLE folded AS
SELECT user_id, array_agg(item_id ORDER BY rank) AS items
  FROM (VALUES (7), (900)) u(user_id), mtrs_recommend(user_id, 5, model => 's') r GROUP BY user_id;
SET mtrs.fold_in = off;
CREATE TABLE as_trained AS
SELECT user_id, array_agg(item_id ORDER BY rank) AS items
  FROM (VALUES (7), (900)) u(user_id), mtrs_recommend(user_id, 5, model => 's') r GROUP BY user_id;
RESET mtrs.fold_in;
SELECT f.items <> t.items AS fold_in_changes_user_7 FROM folded f JOIN as_trained t USING (user_id)
 WHERE user_id = 7;

-- the source's columns change type (the item column to uuid, the user column to
-- text): served as trained, in a new session too (the model is loaded again and
-- its fold-in queries prepared again), and folded in again once they are fixed
CREATE OR REPLACE FUNCTION item_uuid(i int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT lpad(i::text, 32, '0')::uuid $$;
DROP VIEW src;
CREATE VIEW src AS SELECT user_id, item_uuid(item_id) AS item_id, event, ts FROM src_rows;
\c
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT array_agg(item_id ORDER BY rank) = (SELECT items FROM as_trained WHERE user_id = 7) AS item_uuid_as_trained
  FROM mtrs_recommend(7, 5, model => 's');
DROP VIEW src;
CREATE VIEW src AS SELECT user_id::text AS user_id, item_id, event, ts FROM src_rows;
SELECT array_agg(item_id ORDER BY rank) = (SELECT items FROM as_trained WHERE user_id = 7) AS user_text_as_trained
  FROM mtrs_recommend(7, 5, model => 's');
DROP VIEW src;
CREATE DOMAIN src_id AS bigint;
CREATE VIEW src AS SELECT user_id::src_id AS user_id, item_id, event, ts::date AS ts FROM src_rows;
SELECT array_agg(item_id ORDER BY rank) <> (SELECT items FROM as_trained WHERE user_id = 7) AS domain_and_date_fold_in
  FROM mtrs_recommend(7, 5, model => 's');
DROP VIEW src;
CREATE VIEW src AS SELECT * FROM src_rows;
SELECT array_agg(item_id ORDER BY rank) = (SELECT items FROM folded WHERE user_id = 7) AS folded_in_again
  FROM mtrs_recommend(7, 5, model => 's');

-- a new user whose only rows are on items the model does not know is served like a user
-- without rows (the popular items), not from a zero vector (items in id order, score 0)
INSERT INTO src_rows VALUES (901, 99999, 'view', now() + interval '1 day');
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(901, 5, model => 's'))
     = (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(902, 5, model => 's')) AS served_as_unknown,
       (SELECT min(score) > 0 FROM mtrs_recommend(901, 5, model => 's')) AS scored,
       (SELECT count(*) FROM mtrs_user_vectors(ARRAY[901]::bigint[], 's')) AS vectors;

-- a source in a schema the caller may not use: served as trained, no error
CREATE SCHEMA src_hidden;
CREATE TABLE src_hidden.ev AS SELECT * FROM src_rows WHERE ts < now();
SELECT mtrs_train('h', 'src_hidden.ev', options => '{"dim": 8, "iterations": 5}') > 0 AS trained;
SELECT source->>'table' AS recorded FROM mtrs_model WHERE name = 'h';
INSERT INTO src_hidden.ev SELECT * FROM src_rows WHERE ts > now();
CREATE ROLE regress_mtrs_src_reader;
GRANT SELECT ON mtrs_model TO regress_mtrs_src_reader;
GRANT SELECT ON src_hidden.ev TO regress_mtrs_src_reader;
SET mtrs.fold_in = off;
CREATE TABLE h_as_trained AS SELECT array_agg(item_id ORDER BY rank) AS items FROM mtrs_recommend(7, 5, model => 'h');
RESET mtrs.fold_in;
GRANT SELECT ON h_as_trained TO regress_mtrs_src_reader;
SET ROLE regress_mtrs_src_reader;
SELECT array_agg(item_id ORDER BY rank) = (SELECT items FROM h_as_trained) AS served_as_trained
  FROM mtrs_recommend(7, 5, model => 'h');
RESET ROLE;
-- with USAGE on the schema, the same role folds the fresh row in
GRANT USAGE ON SCHEMA src_hidden TO regress_mtrs_src_reader;
SET ROLE regress_mtrs_src_reader;
SELECT array_agg(item_id ORDER BY rank) <> (SELECT items FROM h_as_trained) AS folded_in
  FROM mtrs_recommend(7, 5, model => 'h');
RESET ROLE;

-- recorded sources that name no table of this database (mtrs_register takes
-- any jsonb): the model is served as trained
SELECT mtrs_register(n, (SELECT weights FROM mtrs_model WHERE name = 's'),
                     source => jsonb_build_object('table', t, 'user_col', 'user_id', 'item_col', 'item_id')) > 0 AS registered
  FROM (VALUES ('bad_syntax', 'a b'), ('other_db', 'otherdb.public.src'), ('four_parts', 'a.b.c.d'),
               ('empty_name', '""'), ('missing', 'no_such_table')) v(n, t);
SET mtrs.fold_in = off;
CREATE TABLE s_as_trained AS SELECT array_agg(item_id ORDER BY rank) AS items FROM mtrs_recommend(7, 5, model => 's');
RESET mtrs.fold_in;
SELECT n, array_agg(item_id ORDER BY rank) = (SELECT items FROM s_as_trained) AS served_as_trained
  FROM (VALUES ('bad_syntax'), ('other_db'), ('four_parts'), ('empty_name'), ('missing')) v(n),
       mtrs_recommend(7, 5, model => n) GROUP BY n ORDER BY n;

-- the recorded source is whatever a writer of mtrs_model put there: a view of another
-- role runs its functions as the caller, so it is read only if its owner has the
-- caller's privileges.  A role that may register models records a view that logs who
-- reads it; a superuser's serving call and retrain must not run it.
CREATE TABLE src_log (reader text);
GRANT INSERT ON src_log TO regress_mtrs_src_reader;
GRANT INSERT, UPDATE ON mtrs_model TO regress_mtrs_src_reader;
GRANT USAGE ON SEQUENCE mtrs_model_id_seq TO regress_mtrs_src_reader;
GRANT SELECT ON src_rows, s_as_trained TO regress_mtrs_src_reader;
GRANT CREATE ON SCHEMA public TO regress_mtrs_src_reader;
SET ROLE regress_mtrs_src_reader;
CREATE FUNCTION src_spy(u int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO src_log VALUES (current_user);
	RETURN u;
END $$;
CREATE VIEW src_trap AS SELECT src_spy(user_id) AS user_id, item_id, event, ts FROM src_rows;
SELECT mtrs_register('trap', (SELECT weights FROM mtrs_model WHERE name = 's'),
                     source => '{"table": "public.src_trap", "user_col": "user_id", "item_col": "item_id", "time_col": "ts"}') > 0
       AS registered;
RESET ROLE;
SELECT array_agg(item_id ORDER BY rank) = (SELECT items FROM s_as_trained) AS trap_served_as_trained
  FROM mtrs_recommend(7, 5, model => 'trap');
CALL mtrs_retrain('trap');
SELECT count(*) AS spied FROM src_log;
-- its owner reading it runs only its own code: fold-in works
SET ROLE regress_mtrs_src_reader;
SELECT array_agg(item_id ORDER BY rank) <> (SELECT items FROM s_as_trained) AS owner_folds_in
  FROM mtrs_recommend(7, 5, model => 'trap');
RESET ROLE;
SELECT count(*) > 0 AS owner_ran_own_view, bool_and(reader = 'regress_mtrs_src_reader') AS only_as_owner FROM src_log;

-- fold-in's queries resolve operators in pg_catalog: an operator another role put in the
-- caller's search_path for a domain column is not called
CREATE TABLE src_dom AS SELECT user_id::src_id AS user_id, item_id, event, ts FROM src_rows;
SELECT mtrs_train('dom', 'src_dom', options => '{"dim": 8, "iterations": 5}') > 0 AS trained;
INSERT INTO src_dom VALUES (7, 25, 'view', now() + interval '1 day');
TRUNCATE src_log;
CREATE FUNCTION src_eq(a src_id, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO src_log VALUES (current_user);
	RETURN a::bigint = b;
END $$;
CREATE OPERATOR public.= (LEFTARG = src_id, RIGHTARG = bigint, FUNCTION = src_eq);
SELECT count(*) AS recommended FROM mtrs_recommend(7, 5, model => 'dom');
SELECT count(*) AS operator_calls FROM src_log;
DROP OPERATOR public.= (src_id, bigint);
DROP FUNCTION src_eq(src_id, bigint);

DROP EXTENSION mtrs;
DROP VIEW src;
DROP VIEW src_trap;
DROP FUNCTION src_spy(int);
DROP TABLE src_rows, folded, as_trained, h_as_trained, s_as_trained, src_hidden.ev, src_log, src_dom;
DROP SCHEMA src_hidden;
DROP FUNCTION item_uuid(int);
DROP DOMAIN src_id;
REVOKE ALL ON SCHEMA public FROM regress_mtrs_src_reader;
DROP ROLE regress_mtrs_src_reader;
