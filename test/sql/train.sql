-- mtrs_train: training from a table, what it records, its errors, and
-- serving fresh interactions without retraining (fold-in, sessions).
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;	-- per-iteration progress NOTICEs carry timings
-- a table with awkward column names: quoting, not injection
CREATE TABLE "Shop Events" (
	"User Id" integer, "item""id" bigint, "kind; DROP TABLE x" text, "when" timestamptz, stars smallint);
INSERT INTO "Shop Events"
SELECT u, (u % 2) * 100 + ((u * 3 + g) % 20), CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END,
       timestamptz '2026-01-01' + (u * 8 + g) * interval '1 minute', 1 + (u + g) % 5
  FROM generate_series(1, 60) u, generate_series(1, 8) g;
SELECT mtrs_train('shop', '"Shop Events"', user_col => 'User Id', item_col => 'item"id',
                  event_col => 'kind; DROP TABLE x', time_col => 'when', rating_col => 'stars',
                  options => '{"dim": 8, "iterations": 4}') AS id;
-- the registry records resolved options, the source and one log entry per iteration
SELECT version, active, tasks, options->>'dim' AS dim, options->>'half_life_days' AS half_life,
       options->>'task_weighting' AS weighting, source->>'table' AS source_table,
       source->>'user_col' AS user_col, (source->>'rows')::int AS source_rows
  FROM mtrs_model WHERE name = 'shop';
SELECT jsonb_array_length(training_log) AS iterations,
       (SELECT bool_and(e->'loss' ?& array['ranking', 'click', 'view', 'rating'] AND
                        e->'weight' ?& array['ranking', 'click', 'view', 'rating'] AND
                        (e->>'iteration')::int BETWEEN 1 AND 4)
          FROM jsonb_array_elements(training_log) e) AS per_task_losses
  FROM mtrs_model WHERE name = 'shop';
-- training is deterministic for a given seed: a second run gives the same bytes
SELECT mtrs_train('shop', '"Shop Events"', user_col => 'User Id', item_col => 'item"id',
                  event_col => 'kind; DROP TABLE x', time_col => 'when', rating_col => 'stars',
                  options => '{"dim": 8, "iterations": 4}') AS id;
SELECT (SELECT weights FROM mtrs_model WHERE name = 'shop' AND version = 1) =
       (SELECT weights FROM mtrs_model WHERE name = 'shop' AND version = 2) AS same_bytes,
       (SELECT version FROM mtrs_model WHERE name = 'shop' AND active) AS active_version;
-- errors
SELECT mtrs_train('shop', '"Shop Events"', user_col => 'nope');
SELECT mtrs_train('shop', '"Shop Events"', user_col => 'User Id', item_col => 'item"id',
                  event_col => 'kind; DROP TABLE x', time_col => 'stars');
SELECT mtrs_train('shop', '"Shop Events"', user_col => 'kind; DROP TABLE x');
SELECT mtrs_train('shop', 'no_such_table');
SELECT mtrs_train(NULL, '"Shop Events"');
SELECT mtrs_train('shop', '"Shop Events"', user_col => 'User Id', item_col => 'item"id',
                  event_col => 'kind; DROP TABLE x', time_col => 'when', options => '{"iterations": 0}');
CREATE TABLE empty_events (user_id bigint, item_id bigint, event text, ts timestamptz);
SELECT mtrs_train('shop', 'empty_events');
-- a cancelled run (statement_timeout) leaves the previous version active and intact
CREATE TABLE big_events AS
SELECT u AS user_id, (u * 31 + g * 17) % 3000 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 minute' AS ts
  FROM generate_series(1, 2000) u, generate_series(1, 30) g;
SET statement_timeout = '300ms';
SELECT mtrs_train('shop', 'big_events', options => '{"dim": 256, "iterations": 200}');
RESET statement_timeout;
SELECT count(*) AS versions, max(version) FILTER (WHERE active) AS active_version
  FROM mtrs_model WHERE name = 'shop';
SELECT count(*) = 5 AS still_serves FROM mtrs_recommend(7, 5, model => 'shop');
-- a small model for fold-in checks
CREATE TABLE live (user_id bigint, item_id bigint, event text, ts timestamptz);
INSERT INTO live
SELECT u, (u % 2) * 100 + ((u * 3 + g) % 20), 'view', timestamptz '2026-01-01' + g * interval '1 hour'
  FROM generate_series(1, 60) u, generate_series(1, 8) g;
CREATE INDEX ON live (user_id);
SELECT mtrs_train('live', 'live', options => '{"dim": 8, "iterations": 6}') > 0 AS trained;
SET mtrs.default_model = 'live';
-- a user the model has never seen gets the most popular items, not an error
SELECT count(*) AS n FROM mtrs_recommend(1000, 5);
-- after interacting with odd-community items the new user gets odd-community items,
-- and never the items just seen
INSERT INTO live VALUES (1000, 101, 'view', now()), (1000, 103, 'view', now()), (1000, 105, 'view', now());
SELECT count(*) AS n, bool_and(item_id >= 100) AS odd_community,
       bool_and(item_id NOT IN (101, 103, 105)) AS new_items_excluded
  FROM mtrs_recommend(1000, 5);
-- items the model has never seen (and null items) in a new user's rows are skipped: the same
-- list, with the same scores, as for a user with only the known item
INSERT INTO live VALUES (2000, 103, 'view', '2026-06-01'), (2001, 103, 'view', '2026-06-01'),
                        (2001, 999999, 'view', '2026-06-01'), (2001, NULL, 'view', '2026-06-01');
SELECT array_agg(a.item_id ORDER BY a.rank) = array_agg(b.item_id ORDER BY b.rank) AS same_items,
       bool_and(a.score = b.score) AS same_scores, count(*) AS n
  FROM mtrs_recommend(2000, 5) a JOIN mtrs_recommend(2001, 5) b USING (rank);
-- a known user's new interactions are excluded and change the list
CREATE TEMP TABLE before AS SELECT item_id FROM mtrs_recommend(7, 5);
INSERT INTO live SELECT 7, item_id, 'view', now() FROM before;
SELECT count(*) AS n, bool_and(item_id NOT IN (SELECT item_id FROM before)) AS fresh_excluded
  FROM mtrs_recommend(7, 5);
-- ... from candidates too, with the items it was trained on
SELECT count(*) AS n, bool_and(item_id NOT IN (SELECT item_id FROM live WHERE user_id = 7)) AS seen_and_fresh_excluded
  FROM mtrs_recommend(7, 100, candidates => (SELECT array_agg(i::bigint) FROM generate_series(100, 119) i));
-- anonymous sessions
SELECT count(*) AS n, bool_and(item_id >= 100) AS odd_community,
       bool_and(item_id NOT IN (101, 103, 105)) AS history_excluded
  FROM mtrs_recommend_for(ARRAY[101, 103, 105]::bigint[], 5);
SELECT count(*) AS n FROM mtrs_recommend_for(ARRAY[]::bigint[], 5);
SELECT count(*) AS n FROM mtrs_recommend_for(ARRAY[424242]::bigint[], 3);
SELECT count(*) AS n FROM mtrs_recommend_for(ARRAY[101, 103]::bigint[], 40, exclude_seen => false);
SELECT * FROM mtrs_recommend_for(NULL, 5);
SELECT * FROM mtrs_recommend_for(ARRAY[[1, 2]]::bigint[], 5);
SELECT * FROM mtrs_recommend_for(ARRAY[101]::bigint[], 0);
-- a role that cannot read the source table is served the trained model
CREATE ROLE regress_mtrs_reader;
GRANT SELECT ON mtrs_model TO regress_mtrs_reader;
SET ROLE regress_mtrs_reader;
SELECT count(*) AS n FROM mtrs_recommend(1000, 5);
RESET ROLE;
DROP OWNED BY regress_mtrs_reader;
DROP ROLE regress_mtrs_reader;
-- a source table that lost a recorded column (after the fold-in plans were made) is
-- no longer read: the trained model is served as it is, not an error
ALTER TABLE live RENAME COLUMN ts TO seen_at;
SELECT count(*) AS n FROM mtrs_recommend(7, 5);
SELECT count(*) AS n FROM mtrs_recommend(1000, 5);
ALTER TABLE live RENAME COLUMN seen_at TO ts;
SELECT count(*) AS n, bool_and(item_id NOT IN (101, 103, 105)) AS fold_in_again
  FROM mtrs_recommend(1000, 5);
-- memory: a run that would need more than mtrs.max_training_memory stops before it
-- allocates it (while collecting rows, or once the pairs are known), and the active model stays
SHOW mtrs.max_training_memory;
SELECT (source->>'memory_bytes')::bigint BETWEEN 10000 AND 10000000 AS memory_recorded,
       (mtrs_last_fit()->>'memory_bytes')::bigint > 0 AS last_fit_memory
  FROM mtrs_model WHERE name = 'shop' AND active;
CREATE TABLE many_events AS
SELECT g % 500 AS user_id, g % 97 AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 minute' AS ts
  FROM generate_series(1, 20000) g;
CREATE TABLE wide_events AS
SELECT g AS user_id, g AS item_id, 'view'::text AS event, timestamptz '2026-01-01' AS ts
  FROM generate_series(1, 300) g;
SELECT version AS active_before FROM mtrs_model WHERE name = 'shop' AND active;
SET mtrs.max_training_memory = '1MB';
SELECT mtrs_train('shop', 'many_events');
SELECT mtrs_train('shop', 'wide_events', options => '{"dim": 256, "iterations": 1}');
SELECT count(*) AS versions, max(version) FILTER (WHERE active) AS active_after
  FROM mtrs_model WHERE name = 'shop';
SET mtrs.max_training_memory = '64MB';
SELECT mtrs_train('shop', 'wide_events', options => '{"dim": 256, "iterations": 1}') IS NOT NULL AS trained;
RESET mtrs.max_training_memory;
RESET mtrs.default_model;
-- the plainest table, (user_id, item_id): the default event and time columns are
-- optional; without times, users the model has not seen are folded in from their rows
-- and the users it has seen are served as trained; the batch gives each user's top 3 with
-- the scores mtrs_recommend gives (items whose scores tie to float rounding may swap:
-- sgemm and sgemv round differently, and differently on each CPU)
CREATE TABLE likes AS
SELECT u AS user_id, (u % 2) * 100 + (u * 3 + g) % 10 AS item_id
  FROM generate_series(1, 40) u, generate_series(1, 5) g;
SET client_min_messages = notice;
SELECT mtrs_train('likes', 'likes', options => '{"progress": false}') > 0 AS trained;
SET client_min_messages = warning;
SELECT source->>'event_col' AS event_col, source->>'time_col' AS time_col, tasks
  FROM mtrs_model WHERE name = 'likes';
CREATE TABLE likes_before AS SELECT * FROM mtrs_recommend(2, 5, model => 'likes');
INSERT INTO likes VALUES (1000, 101), (1000, 103), (2, 109);
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(1000, 5, model => 'likes')) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{101,103}', 5, model => 'likes'))
         AS new_user_folded_in,
       (SELECT bool_and(item_id / 100 = 1) FROM mtrs_recommend(1000, 5, model => 'likes')) AS new_user_category,
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(2, 5, model => 'likes')) =
       (SELECT array_agg(item_id ORDER BY rank) FROM likes_before) AS known_user_as_trained,
       (WITH bat AS (SELECT * FROM mtrs_recommend_batch('{2,1000}', 3, model => 'likes')),
             one AS (SELECT u AS user_id, r.* FROM unnest('{2,1000}'::bigint[]) u,
                                                   mtrs_recommend(u, 10, model => 'likes') r)
        SELECT count(*) = 6 AND bool_and(abs(b.score - o.score) < 1e-5 AND abs(b.score - s.score) < 1e-5)
          FROM bat b JOIN one o USING (user_id, rank)
               JOIN one s ON s.user_id = b.user_id AND s.item_id = b.item_id) AS batch_agrees;
-- time_col => NULL ignores a time column the table has: the same bytes as a view without it
CREATE VIEW likes_plain AS SELECT user_id, item_id FROM likes;
SELECT mtrs_train('likes_plain', 'likes_plain') > 0 AS trained;
ALTER TABLE likes ADD COLUMN ts timestamptz DEFAULT now();
SELECT mtrs_train('likes_nt', 'likes', event_col => NULL, time_col => NULL) > 0 AS trained;
SELECT (SELECT weights FROM mtrs_model WHERE name = 'likes_nt') =
       (SELECT weights FROM mtrs_model WHERE name = 'likes_plain') AS same_model;
-- mtrs_retrain without times holds out a hash-chosen fifth of the pairs
CALL mtrs_retrain('likes_nt');
SELECT count(*) AS versions, max(version) FILTER (WHERE active) AS active_version,
       max(metrics->'last_retrain'->>'holdout') AS holdout,
       max((metrics->'last_retrain'->>'holdout_rows')::int) BETWEEN 0.1 * 203 AND 0.3 * 203 AS about_a_fifth
  FROM mtrs_model WHERE name = 'likes_nt';
-- ids that are not integers (the recipe of docs/sql-reference.md): number them once, train
-- on a view, join the results back
CREATE TABLE orders AS
SELECT 'customer-' || u AS customer, format('SKU-%s-%s', (u % 2)::text, (u * 3 + g) % 8) AS sku,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ordered_at
  FROM generate_series(1, 30) u, generate_series(1, 4) g;
CREATE TABLE customer_ids (user_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer text UNIQUE NOT NULL);
CREATE TABLE sku_ids (item_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sku text UNIQUE NOT NULL);
INSERT INTO customer_ids (customer) SELECT DISTINCT customer FROM orders ORDER BY 1 ON CONFLICT (customer) DO NOTHING;
INSERT INTO sku_ids (sku) SELECT DISTINCT sku FROM orders ORDER BY 1 ON CONFLICT (sku) DO NOTHING;
CREATE VIEW order_events AS
SELECT c.user_id, s.item_id, o.ordered_at AS ts
  FROM orders o JOIN customer_ids c USING (customer) JOIN sku_ids s USING (sku);
SELECT mtrs_train('orders', 'order_events') > 0 AS trained;
SELECT count(*) AS skus, bool_and(s.sku LIKE 'SKU-1-%') AS customer_7s_kind
  FROM customer_ids c, mtrs_recommend(c.user_id, 3, model => 'orders') r JOIN sku_ids s USING (item_id)
 WHERE c.customer = 'customer-7';
SELECT mtrs_train('likes', 'likes', user_col => NULL);
SELECT mtrs_train('likes', 'likes', time_col => 'missing');
DROP EXTENSION mtrs;
DROP VIEW likes_plain, order_events;
DROP TABLE "Shop Events", empty_events, big_events, live, many_events, wide_events, likes, likes_before,
  orders, customer_ids, sku_ids;
