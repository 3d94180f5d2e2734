-- Item text in the shared model: items with a title but no interactions are
-- recommended and found similar from their text, and a typed query moves
-- recommendations toward matching items (fixed data, fixed seed).
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- items 8 and 9 of each category have a title but no interactions
\set warm_items 8
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/fixtures/catalog.sql'
\i :fixture
SELECT mtrs_train('shop', 'views', items => 'catalog', item_text_cols => ARRAY['title', 'category'],
                  options => '{"dim": 16, "iterations": 8, "reg": 1, "text_epochs": 50, "buckets": 4096}') > 0 AS trained;
SELECT n_items, kind, source->'items'->>'item_texts' AS item_texts,
       source->'items'->>'text_only_items' AS text_only_items,
       (SELECT array_agg(DISTINCT t ORDER BY t) FROM jsonb_array_elements(training_log) e, jsonb_object_keys(e->'loss') t)
         AS tasks_logged
  FROM mtrs_model, LATERAL (SELECT format->'kind' AS kind) k WHERE name = 'shop';
-- the items known only by their text are recommended to users of their category
SELECT count(*) FILTER (WHERE r.item_id % 100 >= 8 AND r.item_id / 100 = u % 4) AS cold_hits,
       count(*) FILTER (WHERE r.item_id / 100 <> u % 4) AS off_category
  FROM generate_series(1, 20) u, mtrs_recommend(u, 2) r;
-- and their nearest items are of the same category
SELECT i AS cold_item, bool_and(s.item_id / 100 = i / 100) AS same_category
  FROM unnest(ARRAY[8, 109, 208, 309]) i, mtrs_similar_items(i, 4) s
 GROUP BY i ORDER BY i;
-- the same with new items embedded by their text's encoding instead of feature centroids
SELECT mtrs_train('shop_enc', 'views', items => 'catalog', item_text_cols => ARRAY['title', 'category'],
                  options => '{"dim": 16, "iterations": 8, "reg": 1, "text_epochs": 50, "buckets": 4096,
                               "cold_items": "encoder"}') > 0 AS trained;
SELECT options->>'cold_items' AS cold_items FROM mtrs_model WHERE name = 'shop_enc';
SELECT count(*) FILTER (WHERE r.item_id % 100 >= 8 AND r.item_id / 100 = u % 4) AS cold_hits,
       count(*) FILTER (WHERE r.item_id / 100 <> u % 4) AS off_category
  FROM generate_series(1, 20) u, mtrs_recommend(u, 2, model => 'shop_enc') r;
SELECT mtrs_drop_model('shop_enc') AS dropped;
SELECT mtrs_train('x', 'views', items => 'catalog', options => '{"cold_items": "knn"}');
-- a typed query moves a user's recommendations toward matching items
SELECT (SELECT count(*) FROM mtrs_recommend(1, 5) WHERE item_id / 100 = 2) AS novels_before,
       (SELECT count(*) FROM mtrs_recommend(1, 5, query => 'a novel, a good story book') WHERE item_id / 100 = 2) AS novels_after,
       (SELECT count(*) FROM mtrs_recommend(1, 5, query => 'novel', query_weight => 0) WHERE item_id / 100 = 2) AS weight_zero;
-- an anonymous session with only a query is a text search over the catalog
SELECT bool_and(item_id / 100 = 3) AS coffee_items
  FROM mtrs_recommend_for(ARRAY[]::bigint[], 5, query => 'coffee grinder');
-- a query without words changes nothing
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(1, 5, query => ' ?! ')) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(1, 5)) AS unchanged;
-- errors
SELECT * FROM mtrs_recommend(1, 5, query => 'novel', query_weight => 2);
CREATE TABLE plain AS SELECT * FROM views;
SELECT mtrs_train('plain', 'plain', options => '{"dim": 4, "iterations": 1}') > 0 AS trained;
SELECT * FROM mtrs_recommend(1, 5, model => 'plain', query => 'novel');
SELECT mtrs_train('x', items => 'catalog');
SELECT mtrs_train('x', 'views', items => 'catalog', item_text_cols => ARRAY['nope']);
CREATE TABLE dup_catalog AS SELECT * FROM catalog UNION ALL SELECT * FROM catalog WHERE item_id = 1;
SELECT mtrs_train('x', 'views', items => 'dup_catalog');
CREATE TABLE empty_catalog (item_id bigint, title text);
SELECT mtrs_train('x', 'views', items => 'empty_catalog');
SELECT count(*) AS nothing_registered FROM mtrs_model WHERE name = 'x';
DROP EXTENSION mtrs;
DROP TABLE catalog, views, plain, dup_catalog, empty_catalog;
