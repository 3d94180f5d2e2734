-- Privileges and row-level security: training, fold-in, explanations and
-- evaluation read the source tables with the caller's rights, so a role
-- trains on and is served from the rows its policies let it see; a role that
-- may not read a table gets an error (training, evaluation) or the trained
-- model (serving); row-level security on the registry is refused.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
CREATE ROLE regress_mtrs_a;
CREATE ROLE regress_mtrs_b;
CREATE ROLE regress_mtrs_none;
-- two tenants' interactions in one table, one policy: a role sees its own rows
CREATE TABLE sec_events AS
SELECT 'regress_mtrs_a'::name AS tenant, u AS user_id, 1 + (u * 3 + g) % 20 AS item_id,
       'view'::text AS event, timestamptz '2026-01-01' + g * interval '1 day' AS ts
  FROM generate_series(1, 30) u, generate_series(1, 8) g
UNION ALL
SELECT 'regress_mtrs_b', u, 201 + (u * 3 + g) % 20, 'view', timestamptz '2026-01-01' + g * interval '1 day'
  FROM generate_series(101, 140) u, generate_series(1, 8) g;
CREATE INDEX ON sec_events (user_id, ts);
ALTER TABLE sec_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON sec_events USING (tenant = current_user);
CREATE TABLE sec_utterances (tenant name, text text, label text);
INSERT INTO sec_utterances
SELECT 'regress_mtrs_a', t, l FROM (VALUES ('buy a phone', 'buy'), ('I want a laptop', 'buy'),
                                           ('return my phone', 'return'), ('send it back', 'return')) v(t, l)
UNION ALL
SELECT 'regress_mtrs_b', t, l FROM (VALUES ('where is my order', 'track'), ('cancel my order', 'cancel')) v(t, l);
ALTER TABLE sec_utterances ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON sec_utterances USING (tenant = current_user);
GRANT SELECT ON sec_events, sec_utterances TO regress_mtrs_a, regress_mtrs_b;
GRANT SELECT, INSERT, UPDATE, DELETE ON mtrs_model TO regress_mtrs_a, regress_mtrs_b;
GRANT USAGE ON SEQUENCE mtrs_model_id_seq TO regress_mtrs_a, regress_mtrs_b;
GRANT SELECT ON mtrs_model TO regress_mtrs_none;
-- tenant a trains: the model knows only a's users, items and intents
SET ROLE regress_mtrs_a;
SET client_min_messages = warning;
SELECT mtrs_train('sec', 'sec_events', intents => 'sec_utterances',
                  options => '{"dim": 4, "iterations": 4, "text_epochs": 20}') > 0 AS trained;
RESET client_min_messages;
SELECT n_users, n_items, intents FROM mtrs_model WHERE name = 'sec';
SELECT count(*) FILTER (WHERE item_id > 200) AS items_of_b, count(*) AS recommended
  FROM mtrs_recommend_batch(k => 5);
RESET ROLE;
-- a new user has rows of both tenants, newer than the model: each role folds
-- the user in from the rows it sees, and explains from them; the table owner
-- (not subject to the policy) sees all of them
INSERT INTO sec_events VALUES ('regress_mtrs_a', 500, 1, 'view', '2026-03-01'),
                              ('regress_mtrs_a', 500, 2, 'view', '2026-03-01'),
                              ('regress_mtrs_b', 500, 3, 'view', '2026-03-01'),
                              ('regress_mtrs_b', 500, 4, 'view', '2026-03-01');
SELECT current_user = (SELECT tableowner FROM pg_tables WHERE tablename = 'sec_events') AS owner;
SELECT array_agg(item_id ORDER BY item_id) AS owner_explains_from
  FROM mtrs_explain(500, 5, 100, model => 'sec') WHERE item_id IS NOT NULL;
SET ROLE regress_mtrs_a;
SELECT array_agg(item_id ORDER BY item_id) AS a_explains_from
  FROM mtrs_explain(500, 5, 100, model => 'sec') WHERE item_id IS NOT NULL;
-- a's fold-in uses only a's rows: the same scores as a session of items 1 and 2
SELECT bool_and(abs(r.score - s.score) < 1e-6) AND count(*) = 5 AS a_folds_in_own_rows
  FROM mtrs_recommend(500, 5, model => 'sec', exclude_seen => false) r
  JOIN mtrs_recommend_for(ARRAY[1, 2]::bigint[], 5, model => 'sec', exclude_seen => false) s USING (item_id, rank);
-- and so does the batch
SELECT bool_and(abs(r.score - b.score) < 1e-6) AND count(*) = 5 AS a_batch_folds_in_own_rows
  FROM mtrs_recommend(500, 5, model => 'sec') r
  JOIN mtrs_recommend_batch(ARRAY[500]::bigint[], 5, model => 'sec') b USING (item_id, rank);
RESET ROLE;
SET ROLE regress_mtrs_b;
SELECT array_agg(item_id ORDER BY item_id) AS b_explains_from
  FROM mtrs_explain(500, 5, 100, model => 'sec') WHERE item_id IS NOT NULL;
RESET ROLE;
-- a role that may not read the source table is served the trained model (no
-- fold-in: user 500 is unknown to it, so it gets the popular items) ...
SET ROLE regress_mtrs_none;
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(500, 5, model => 'sec')) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(424242, 5, model => 'sec'))
       AS none_gets_popular,
       (SELECT count(*) FROM mtrs_explain(500, 5, model => 'sec')) AS none_explains_rest_only;
-- ... and cannot train (it may not register a model: said before a row is read) or
-- evaluate with it (42501, then the message)
\set VERBOSITY sqlstate
SELECT mtrs_train('sec_none', 'sec_events');
SELECT * FROM mtrs_evaluate('sec', 'sec_events');
\set VERBOSITY default
SELECT mtrs_train('sec_none', 'sec_events');
SELECT * FROM mtrs_evaluate('sec', 'sec_events');
RESET ROLE;
-- row-level security on the registry is refused, not bypassed
ALTER TABLE mtrs_model ENABLE ROW LEVEL SECURITY;
CREATE POLICY all_rows ON mtrs_model USING (true);
SET ROLE regress_mtrs_a;
\set VERBOSITY sqlstate
SELECT count(*) FROM mtrs_recommend(1, 5, model => 'sec');
\set VERBOSITY default
SELECT count(*) FROM mtrs_recommend(1, 5, model => 'sec');
RESET ROLE;
DROP POLICY all_rows ON mtrs_model;
ALTER TABLE mtrs_model DISABLE ROW LEVEL SECURITY;
DROP EXTENSION mtrs;
DROP TABLE sec_events, sec_utterances;
DROP ROLE regress_mtrs_a, regress_mtrs_b, regress_mtrs_none;
