-- Conversations over several turns: the earlier turns (context) carry into
-- the recommendations for the latest one, and a follow-up with no intent of
-- its own is read together with them (fixed data, fixed seed).
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
-- every item has interactions
\set warm_items 10
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/fixtures/catalog.sql'
\i :fixture
-- three intents, each said in two ways about eight things
CREATE TABLE utterances AS
SELECT format(t.pattern, x.thing) AS text, t.label
  FROM (VALUES ('I want to buy a %s', 'buy'), ('do you sell a good %s', 'buy'),
               ('where is my %s order', 'track'), ('when will my %s arrive', 'track'),
               ('how do I return my %s', 'return'), ('my %s is broken, refund it', 'return'))
       AS t(pattern, label),
       (VALUES ('camera'), ('laptop'), ('novel'), ('coffee grinder'), ('lens'), ('notebook'),
               ('book'), ('kettle')) AS x(thing);
SELECT mtrs_train('shop', 'views', items => 'catalog', item_text_cols => ARRAY['title', 'category'],
                  intents => 'utterances',
                  options => '{"dim": 16, "iterations": 8, "reg": 1, "text_epochs": 50, "buckets": 4096}') > 0 AS trained;
-- recommendations: an earlier turn ("I need a camera") moves a novel reader's
-- recommendations toward cameras, even when the latest turn names nothing
SELECT (SELECT count(*) FROM mtrs_recommend(2, 5) WHERE item_id / 100 = 0) AS cameras_before,
       (SELECT count(*) FROM mtrs_recommend(2, 5, context => ARRAY['I need a camera'])
         WHERE item_id / 100 = 0) AS cameras_in_context,
       (SELECT count(*) FROM mtrs_recommend(2, 5, context => ARRAY['I need a camera', NULL])
         WHERE item_id / 100 = 0) AS cameras_a_turn_later;
-- the newest turn counts most: laptop, then coffee, ranks coffee first and the other way round
SELECT (SELECT item_id / 100 FROM mtrs_recommend_for('{}', 1, query => 'coffee grinder',
                                                    context => ARRAY['laptop computer'])) AS coffee_last,
       (SELECT item_id / 100 FROM mtrs_recommend_for('{}', 1, query => 'laptop computer',
                                                    context => ARRAY['coffee grinder'])) AS laptop_last;
-- the latest turn may be passed as the last element of context instead of as query;
-- context_decay 0 keeps only the newest turn; NULL turns count as turns but add nothing
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, context => ARRAY['camera', 'novel'])) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, query => 'novel', context => ARRAY['camera']))
         AS query_is_the_last_turn,
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, query => 'novel', context => ARRAY['camera'], context_decay => 0)) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, query => 'novel'))
         AS decay_zero_is_no_context,
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, query => 'novel', context => ARRAY['camera', NULL])) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, query => 'novel', context => ARRAY['camera', '']))
         AS null_and_empty_turns_alike,
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(1, 5, context => ARRAY[]::text[])) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend(1, 5)) AS empty_context_is_none;
-- a latest turn without words is a turn too: with context_decay 0 nothing before it counts
SELECT (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5, query => '?', context => ARRAY['camera', 'novel'], context_decay => 0)) =
       (SELECT array_agg(item_id ORDER BY rank) FROM mtrs_recommend_for('{}', 5)) AS empty_latest_turn_counts;
-- a request reads like its item words: the words that belong to utterances ("do you
-- sell a good", "I want to buy a") weigh little in the item space, so a visitor's
-- request finds the thing (before item space weights: 2, 2 and 0 of 5), and a laptop
-- viewer's request moves their recommendations toward it (before: none for coffee)
SELECT format->'item_space_weights' AS item_space_weights FROM mtrs_model WHERE name = 'shop';
SELECT thing,
       (SELECT count(*) FROM mtrs_recommend_for('{}', 5, query => 'do you sell a good ' || thing)
         WHERE item_id / 100 = c) AS visitor_request,
       (SELECT count(*) FROM mtrs_recommend(1, 5) WHERE item_id / 100 = c) AS laptop_viewer,
       (SELECT count(*) FROM mtrs_recommend(1, 5, query => 'I want to buy a ' || thing)
         WHERE item_id / 100 = c) > 0 AS laptop_viewer_request_moves
  FROM (VALUES (0, 'camera'), (2, 'novel'), (3, 'coffee')) v(c, thing) ORDER BY c;
-- intents: "what about the lens" has no intent of its own; after "where is my camera
-- order" it is a tracking question, after "how do I return my camera" a return
SELECT count(*) AS own_intents FROM mtrs_intent('what about the lens', threshold => 0.5);
SELECT intent FROM mtrs_intent('what about the lens', threshold => 0.5,
                               context => ARRAY['where is my camera order']);
SELECT intent FROM mtrs_intent('what about the lens', threshold => 0.5,
                               context => ARRAY['how do I return my camera']);
-- a turn with an intent of its own keeps it, whatever came before
SELECT intent FROM mtrs_intent('I want to buy a laptop', threshold => 0.5,
                               context => ARRAY['where is my camera order']);
-- errors
SELECT * FROM mtrs_intent('and the laptop?', context => ARRAY[['a', 'b'], ['c', 'd']]);
SELECT * FROM mtrs_intent('and the laptop?', context => ARRAY['a'], context_decay => 1.5);
SELECT * FROM mtrs_recommend_for('{}', 5, context => ARRAY[['a'], ['b']]);
SELECT * FROM mtrs_recommend(1, 5, context => ARRAY['a'], context_decay => -1);
SELECT * FROM mtrs_recommend(1, 5, context => ARRAY['a'], context_decay => 'NaN');
CREATE TABLE plain AS SELECT * FROM views;
SELECT mtrs_train('plain', 'plain', options => '{"dim": 4, "iterations": 1}') > 0 AS trained;
SELECT * FROM mtrs_recommend(1, 5, model => 'plain', context => ARRAY['novel']);
DROP EXTENSION mtrs;
DROP TABLE catalog, views, utterances, plain;
