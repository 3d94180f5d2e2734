-- Error contracts: every user-reachable error has its SQLSTATE and message.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION mtrs;
SELECT plan(165);

CREATE TEMP TABLE ev AS
SELECT u AS user_id, (u % 3) * 10 + (g % 7) AS item_id,
       CASE WHEN g % 2 = 0 THEN 'click' ELSE 'view' END AS event,
       timestamptz '2026-03-01' + g * interval '1 day' AS ts, (1 + g % 5)::real AS rating
  FROM generate_series(1, 20) u, generate_series(1, 9) g;
CREATE TEMP TABLE w AS SELECT mtrs_fit(user_id, item_id, event, ts, rating, '{"dim": 4, "iterations": 2}'::jsonb) AS w FROM ev;

-- model bytes
SELECT throws_ok($$SELECT mtrs_model_describe('\x0102'::bytea)$$, '22P03',
                 'value is too short to be an mtrs model', 'two bytes: too short');
SELECT throws_ok($$SELECT mtrs_model_describe(overlay(w placing '\x504b0304'::bytea from 1)) FROM w$$, '22P03',
                 'value is not an mtrs model', 'zip magic: not a model');
SELECT throws_ok($$SELECT mtrs_model_describe(overlay(w placing '\x5352544d'::bytea from 1)) FROM w$$, '0A000',
                 'mtrs model was written on a machine with a different byte order', 'swapped magic');
SELECT throws_ok($$SELECT mtrs_model_describe(set_byte(w, 4, 7)) FROM w$$, '0A000',
                 'mtrs model format is newer than this version of mtrs', 'newer format version');
SELECT throws_ok($$SELECT mtrs_model_describe(set_byte(w, 12, 99)) FROM w$$, 'XX001',
                 'mtrs model header is invalid', 'inconsistent shapes');
SELECT throws_ok($$SELECT mtrs_model_describe(substring(w from 1 for length(w) / 2)) FROM w$$, 'XX001',
                 'mtrs model is truncated', 'half the bytes: truncated');
SELECT throws_ok($$SELECT mtrs_model_describe(w || '\xff'::bytea) FROM w$$, 'XX001',
                 'mtrs model has trailing bytes', 'one byte too many');
SELECT throws_ok($$SELECT mtrs_model_describe(set_bit(w, 2000, 1 - get_bit(w, 2000))) FROM w$$, 'XX001',
                 'mtrs model checksum does not match its content', 'one flipped bit');
SELECT lives_ok($$SELECT mtrs_model_describe(w) FROM w$$, 'intact bytes are accepted');

-- every flipped bit of the first 4 kB is refused with an SQLSTATE, and the backend survives
CREATE FUNCTION pg_temp.flips_refused(model bytea) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer := 0;
BEGIN
	FOR b IN 0 .. least(8 * length(model) - 1, 32767) BY 7 LOOP
		BEGIN
			PERFORM mtrs_model_describe(set_bit(model, b, 1 - get_bit(model, b)));
		EXCEPTION WHEN data_corrupted OR invalid_binary_representation OR feature_not_supported THEN
			n := n + 1;
		END;
	END LOOP;
	RETURN n;
END $$;
SELECT is(pg_temp.flips_refused(w), (least(8 * length(w) - 1, 32767) / 7 + 1)::integer,
          'every sampled bit flip is refused') FROM w;

-- no model yet
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1)$$, '42704', 'no mtrs model is active', 'no model: recommend');
SELECT throws_ok($$SELECT * FROM mtrs_intent('hello')$$, '42704', 'no mtrs model is active', 'no model: intent');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, model => '')$$, '42704', 'mtrs model "" does not exist',
                 'an empty model name');

-- registry
SELECT throws_ok($$SELECT mtrs_register('x', '\x00'::bytea)$$, '22P03', NULL, 'register validates the bytes');
SELECT throws_ok($$SELECT mtrs_register('x y', w) FROM w$$, '22023', 'invalid mtrs model name "x y"', 'name with a space');
SELECT throws_ok($$SELECT mtrs_register(NULL, w) FROM w$$, '22004', NULL, 'null name');
SELECT lives_ok($$SELECT mtrs_register('m', w) FROM w$$, 'register a model');
-- DDL on the registry after this backend has located it (its OID, index, column numbers)
SELECT lives_ok($$SELECT * FROM mtrs_recommend(1, model => 'm')$$, 'serving locates the registry');
SELECT throws_ok($q$DO $$ BEGIN DROP INDEX mtrs_model_active_name; PERFORM * FROM mtrs_recommend(1, model => 'm'); END $$$q$,
                 '42704', 'index "mtrs_model_active_name" does not exist', 'registry: a dropped index is noticed');
SELECT throws_ok($q$DO $$ BEGIN ALTER TABLE mtrs_model DROP COLUMN source; PERFORM * FROM mtrs_recommend(1, model => 'm'); END $$$q$,
                 '42703', 'column "source" of table "mtrs_model" does not exist', 'registry: a dropped column is noticed');
SELECT throws_ok($q$DO $$ BEGIN ALTER TABLE mtrs_model RENAME TO mtrs_model_old; PERFORM * FROM mtrs_recommend(1, model => 'm'); END $$$q$,
                 '42P01', 'relation "public.mtrs_model" does not exist', 'registry: a renamed table is noticed');
SELECT throws_ok($q$DO $$ BEGIN ALTER TABLE mtrs_model ALTER weights DROP NOT NULL; UPDATE mtrs_model SET weights = NULL;
                              PERFORM * FROM mtrs_recommend(1, model => 'm'); END $$$q$,
                 'XX001', 'mtrs model "m" has no weights', 'registry: a row without weights');
SELECT lives_ok($$SELECT * FROM mtrs_recommend(1, model => 'm')$$, 'registry: found again once the DDL is rolled back');
CREATE ROLE regress_mtrs_nopriv;
SELECT throws_ok($q$DO $$ BEGIN SET LOCAL ROLE regress_mtrs_nopriv; PERFORM * FROM mtrs_recommend(1, model => 'm'); END $$$q$,
                 '42501', 'permission denied for table mtrs_model', 'serving needs SELECT on the registry');
SELECT throws_ok($$SELECT mtrs_activate('m', 5)$$, '42704', 'version 5 of mtrs model "m" does not exist', 'unknown version');
SELECT throws_ok($$SELECT mtrs_activate('zz', 1)$$, '42704', 'mtrs model "zz" does not exist', 'unknown model');
SELECT throws_ok($$SELECT mtrs_model_info('zz')$$, '42704', 'mtrs model "zz" does not exist', 'info of unknown model');
SELECT throws_ok($$SELECT mtrs_drop_model('zz')$$, '42704', 'mtrs model "zz" does not exist', 'drop unknown model');
SELECT throws_ok($$SELECT mtrs_drop_model(NULL)$$, '22004', 'name must not be null', 'drop: null name');
SELECT throws_ok($$SELECT mtrs_activate('m', NULL)$$, '22004', 'name and version must not be null', 'activate: null version');
SELECT lives_ok($$SELECT mtrs_register('m', w) FROM w$$, 'register version 2');
SELECT throws_ok($$SELECT mtrs_drop_model('m', 2)$$, '55006', 'cannot drop the active version 2 of mtrs model "m"',
                 'the active version cannot be dropped while others exist');
SELECT throws_ok($$UPDATE mtrs_model SET active = true$$, '23505', NULL, 'two active versions violate a unique index');

-- serving arguments
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 0)$$, '22023', 'k must be greater than zero', 'k = 0');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, -5)$$, '22023', 'k must be greater than zero', 'k < 0');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, NULL)$$, '22004', 'k must not be null', 'k null');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 5, task => 'buy')$$, '22023', 'mtrs model "m" has no task "buy"', 'unknown task');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 5, model => 'zz')$$, '42704', 'mtrs model "zz" does not exist', 'unknown model');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 5, candidates => '{{1,2},{3,4}}'::bigint[])$$, '2202E',
                 'candidates must be a one-dimensional array', 'two-dimensional candidates');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_batch(NULL, 0)$$, '22023', 'k must be greater than zero', 'batch: k = 0');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_batch('{1}', NULL)$$, '22004', 'k must not be null', 'batch: k null');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_batch('{{1,2},{3,4}}', 5)$$, '2202E',
                 'user_ids must be a one-dimensional array', 'batch: 2-D user_ids');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_batch(NULL, 5, task => 'buy')$$, '22023',
                 'mtrs model "m" has no task "buy"', 'batch: unknown task');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_batch(NULL, 5, model => 'zz')$$, '42704',
                 'mtrs model "zz" does not exist', 'batch: unknown model');
SELECT throws_ok($$SELECT * FROM mtrs_similar_items_batch(NULL, 0)$$, '22023', 'k must be greater than zero',
                 'similar batch: k = 0');
SELECT throws_ok($$SELECT * FROM mtrs_similar_items_batch('{{1,2},{3,4}}', 5)$$, '2202E',
                 'item_ids must be a one-dimensional array', 'similar batch: 2-D item_ids');
SELECT throws_ok($$SELECT * FROM mtrs_similar_items_batch(NULL, 5, model => 'zz')$$, '42704',
                 'mtrs model "zz" does not exist', 'similar batch: unknown model');
SELECT throws_ok($$SELECT mtrs_predict(1, 1, 'buy')$$, '22023', 'mtrs model "m" has no task "buy"', 'predict: unknown task');
SELECT throws_ok($$SELECT * FROM mtrs_similar_items(1, 0)$$, '22023', 'k must be greater than zero', 'similar: k = 0');
SELECT lives_ok($$SELECT mtrs_register('m2', w) FROM w$$, 'a second active model');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 5)$$, '42P08', 'more than one mtrs model is active', 'ambiguous default model');

-- training input
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'view', now(), 'NaN'::real)$$, '22000', 'rating must be a finite number', 'NaN rating');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'view', now(), 'Infinity'::real)$$, '22000', 'rating must be a finite number', 'infinite rating');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'view', 'infinity'::timestamptz)$$, '22008', 'interaction time must be finite', 'infinite time');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'view', timestamptz '2026-01-01' + interval '292000 years')$$, '22008',
                 'interaction time is out of range', 'a time past what a model records, while the rows are read');
SELECT throws_ok($$SELECT mtrs_fit(user_id, item_id, event, ts,
                                   CASE WHEN user_id < 3 THEN '{"dim": 4}' ELSE '{"dim": 8}' END::jsonb) FROM ev$$,
                 '22023', 'mtrs_fit was given different options in different rows', 'options that differ between rows');
SELECT lives_ok($$SELECT mtrs_fit(user_id, item_id, event, ts,
                                  CASE WHEN user_id < 3 THEN '{"dim": 4, "iterations": 1}' ELSE NULL END::jsonb) FROM ev$$,
                'rows without options follow the rows that have them');
SELECT throws_ok($$SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "task_weights": {"clik": 2}}'::jsonb) FROM ev$$,
                 '22023', 'option "task_weights" names task "clik", which these rows do not have',
                 'task_weights naming a task the rows do not have');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'ranking', now())$$, '22023', 'event name "ranking" is reserved', 'reserved event name');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'last_retrain', now())$$, '22023', 'event name "last_retrain" is reserved',
                 'an event name that is a key of a model''s metrics');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, '', now())$$, '22023', 'invalid event name ""', 'empty event name');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'view', now(), '{"dimm": 4}'::jsonb)$$, '22023',
                 'unrecognized training option "dimm"', 'misspelled option');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'view', now(), '{"dim": 100000}'::jsonb)$$, '22023',
                 'option "dim" must be an integer between 1 and 1024', 'absurd dim');
SELECT throws_ok($$SELECT mtrs_fit(1, 2, 'e' || g, now()) FROM generate_series(1, 63) g$$, '54000',
                 'too many distinct event names', '63 event names');
SELECT throws_ok($$SELECT mtrs_fit(g, g, 'view', now(), '{"dim": 1024, "iterations": 1}'::jsonb)
                     FROM generate_series(1, 140000) g$$, '54000',
                 'model would exceed the maximum model size of 1073741759 bytes',
                 'a model beyond 1 GB is refused before it trains');
SELECT throws_ok($$SELECT mtrs_options('{"task_weights": 3}')$$, '22023',
                 'option "task_weights" must be an object of task names and weights', 'task_weights not an object');
SELECT throws_ok($$SELECT mtrs_options('{"task_weights": {"": 1}}')$$, '22023',
                 'option "task_weights" has an invalid task name', 'task_weights: empty task name');
SELECT throws_ok($$SELECT mtrs_options('{"task_weights": {"view": -1}}')$$, '22023',
                 'task weight of "view" must be between 0 and 1e6', 'task_weights: negative weight');
-- options in range that make training fail, with a hint which to change
SELECT throws_ok($$SELECT mtrs_fit(u, (u % 2) * 100 + (u * 3 + g) % 20, 'view', now(), '{"alpha": 1e6, "reg": 1e-6, "iterations": 3}'::jsonb)
                     FROM generate_series(1, 40) u, generate_series(1, 6) g$$, '22000',
                 'training failed: a least-squares system is not positive definite', 'alpha 1e6 with reg 1e-6');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, array_agg('word' || g % 50 || ' other' || g % 7 || ' x' || g),
                                        array_agg('l' || g % 5), '{"text_lr": 10, "text_epochs": 1000, "intent_loss": "softmax"}')
                     FROM generate_series(1, 300) g$$, '22000', 'text training diverged', 'text_lr 10');
-- mtrs_fit_text (what mtrs_train calls to train on texts), called directly
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, NULL, NULL)$$, '22004', 'nothing to train on',
                 'fit text: no texts');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, '{1}', '{a}', NULL, NULL)$$, '22023',
                 'item texts need a model trained on interactions', 'fit text: item texts without a model');
SELECT throws_ok($$SELECT mtrs_fit_text(w, '{{1,2}}', '{{a,b}}', NULL, NULL) FROM w$$, '2202E',
                 'item ids and texts must be one-dimensional arrays', 'fit text: 2-D item ids');
SELECT throws_ok($$SELECT mtrs_fit_text(w, '{1,2}', '{a}', NULL, NULL) FROM w$$, '2202E',
                 'item ids and texts must have the same length', 'fit text: fewer texts than ids');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, '{{a,b}}', '{{x,y}}')$$, '2202E',
                 'texts and labels must be one-dimensional arrays', 'fit text: 2-D utterances');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, '{a,NULL}', '{NULL,x}')$$, '22000',
                 'no labelled utterances to train on', 'fit text: every pair has a null');
SELECT is(mtrs_model_describe(mtrs_fit_text(NULL, NULL, NULL, ARRAY['a b', 'c d'], ARRAY[' x #y ', E'y\t'],
                                             '{"text_epochs": 1}'))->'intents',
          '["x", "y"]'::jsonb, 'fit text: white space around intents and # is trimmed');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, ARRAY['a'], ARRAY[repeat('x', 64)])$$, '42622',
                 'an intent label is longer than 63 bytes', 'fit text: a 64-byte label');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, array_agg('u' || g), array_agg('i' || g))
                     FROM generate_series(1, 4097) g$$, '54000', 'too many distinct intents: 4097',
                 'fit text: 4097 intents');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, array_agg('w' || g), array_agg('l' || g % 2), '{"dim": 1024}')
                     FROM generate_series(1, 300000) g$$, '54000',
                 'model would exceed the maximum model size of 1073741759 bytes',
                 'fit text: 300,000 words at dim 1024 are refused before training');
-- partial states (bytea) from elsewhere are checked; the support functions need an aggregate
CREATE AGGREGATE pg_temp.fit_from_states(bytea) (SFUNC = mtrs_fit_combine, STYPE = bytea,
	FINALFUNC = mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE);
SELECT throws_ok($$SELECT pg_temp.fit_from_states('\x4d4649540000'::bytea)$$, '22P03',
                 'value is not a valid mtrs_fit state', 'truncated partial state');
SELECT throws_ok($$SELECT mtrs_fit_transfn(NULL, 1, 2, 'view', now())$$, '0A000',
                 'mtrs_fit_transfn can only be called by an aggregate', 'support function outside an aggregate');

-- mtrs_train
CREATE TEMP TABLE tr_events (user_id bigint, item_id bigint, event text, ts timestamptz, note text);
SELECT throws_ok($$SELECT mtrs_train(NULL, 'tr_events')$$, '22004', NULL, 'train: null name');
-- the name is checked before a row is read (reading this view divides by zero)
CREATE TEMP VIEW tr_unreadable AS
SELECT 1::bigint AS user_id, (1 / (SELECT count(*) FROM tr_events))::bigint AS item_id,
       'view'::text AS event, now() AS ts;
SELECT throws_ok($$SELECT mtrs_train('a b', 'tr_unreadable')$$, '22023', 'invalid mtrs model name "a b"',
                 'train: an invalid name fails before a row is read');
CREATE TEMP VIEW tr_unreadable_utt AS SELECT 'hello'::text AS text, (1 / (SELECT count(*) FROM tr_events))::text AS label;
SELECT throws_ok($$SELECT mtrs_train('m', intents => 'tr_unreadable_utt', options => '{"dimm": 3}')$$,
                 '22023', 'unrecognized training option "dimm"',
                 'train: an invalid option fails before a text is read');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', items => 'tr_events', item_text_cols => ARRAY['note', NULL])$$,
                 '22004', 'item_text_cols must not contain nulls', 'train: a null item text column');
CREATE TEMP TABLE tr_utt_typed (text integer, label integer);
SELECT throws_ok($$SELECT mtrs_train('m', intents => 'tr_utt_typed')$$, '42804',
                 'column "text" of tr_utt_typed must be a text column, not integer', 'train: integer utterances');
SELECT throws_ok($$SELECT mtrs_train('m', intents => 'tr_utt_typed', text_col => 'label::text')$$, '42703',
                 'column "label::text" does not exist in tr_utt_typed', 'train: an expression is not a column');
ALTER TABLE tr_utt_typed ALTER text TYPE varchar;
SELECT throws_ok($$SELECT mtrs_train('m', intents => 'tr_utt_typed')$$, '42804',
                 'column "label" of tr_utt_typed must be a text column or a text array, not integer',
                 'train: integer labels');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', items => 'tr_events', item_text_cols => '{}')$$,
                 '22004', 'item_id_col and item_text_cols must be given', 'train: no item text columns');
SELECT throws_ok($$SELECT mtrs_train('m', 'no_such_table')$$, '42P01', NULL, 'train: unknown table');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', user_col => 'nope')$$, '42703',
                 NULL, 'train: unknown column');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', item_col => 'note')$$, '42804',
                 NULL, 'train: text id column');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', time_col => 'user_id')$$, '42804',
                 NULL, 'train: integer time column');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events')$$, '22000',
                 'no interactions to train on in tr_events', 'train: empty table');
INSERT INTO tr_events VALUES (1, 2, 'view', now(), NULL);
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"sharing": "loose"}')$$, '22023',
                 'option "sharing" must be "hard" or "soft"', 'train: bad sharing');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"reg": "none"}')$$, '22023',
                 'option "reg" must be a number or "auto"', 'train: bad reg word');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"text_epochs": [10]}')$$, '22023',
                 'option "text_epochs" must be a number or "auto"', 'train: bad text_epochs');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"reg": 0}')$$, '22023',
                 'option "reg" must be a number between 1e-06 and 1e+06', 'train: reg 0');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"reg": 1e400}')$$, '22023',
                 'option "reg" must be a number between 1e-06 and 1e+06', 'train: reg beyond double');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"progress": 1}')$$, '22023',
                 'option "progress" must be true or false', 'train: bad progress');
SELECT lives_ok($$SELECT mtrs_train('m', 'tr_events', options => '{"dim": 2, "iterations": 1, "progress": false}')$$,
                'train: one row is enough');
SELECT throws_ok($$SELECT mtrs_train('m2', 'tr_events', options => '{"dim": 3, "warm_start": "m"}')$$, '22023',
                 'cannot warm-start from mtrs model "m": its dim is 2, this run''s is 3', 'train: warm start of another dim');
SELECT throws_ok($$SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 3, "warm_start": "m"}'::jsonb) FROM tr_events$$, '22023',
                 'cannot warm-start from mtrs model "m": its dim is 2, this run''s is 3',
                 'fit: warm start of another dim (the aggregate checks once it has the rows; the same message)');
SELECT throws_ok($$CALL mtrs_retrain('m', options => '{"warm_start": true, "dim": 3}')$$, '22023',
                 'cannot warm-start from mtrs model "m": its dim is 2, this run''s is 3', 'retrain: warm start of another dim');
SELECT throws_ok($$CALL mtrs_retrain('m', options => '{"dimm": 4}')$$, '22023', 'unrecognized training option "dimm"',
                 'retrain: misspelled option (before anything is trained)');
SELECT throws_ok($$SELECT mtrs_options('{"dimm": 4}')$$, '22023', 'unrecognized training option "dimm"',
                 'options: misspelled option');
SELECT throws_ok($$SELECT mtrs_options('{"warm_start": true}')$$, '22023', 'option "warm_start" must name a model here',
                 'options: warm_start true');
SELECT throws_ok($$SELECT mtrs_options('"dim"')$$, '22023', 'training options must be a jsonb object',
                 'options: not an object');
SELECT throws_ok($$SELECT mtrs_fit(user_id, item_id, event, ts, '{"warm_start": true}'::jsonb) FROM tr_events$$, '22023',
                 'option "warm_start" must name a model here', 'fit: warm_start true');
SELECT throws_ok($$SELECT mtrs_train('m2', 'tr_events', options => '{"warm_start": ""}')$$, '22023',
                 'option "warm_start" must be a model name, true or false', 'train: empty warm_start');
SELECT throws_ok($$SELECT mtrs_train('m2', 'tr_events', options => '{"iterations": "often"}')$$, '22023',
                 'option "iterations" must be a number or "auto"', 'train: bad iterations');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', rating_col => 'note')$$, '42804',
                 'column "note" of tr_events must be a numeric column, not text', 'train: text rating column');
SELECT throws_ok($$SELECT mtrs_train('m', 'tr_events', intents_validation => 'tr_events')$$, '22023',
                 'intents_validation needs intents', 'train: validation utterances without intents');
-- checked before anything is trained
SELECT throws_ok($$CALL mtrs_retrain('m', k => 0)$$, '22023',
                 'holdout_fraction must be in (0, 1), tolerance >= 0, k >= 1 and keep_versions >= 1',
                 'retrain: k 0');
SELECT throws_ok($$CALL mtrs_retrain('m', task_tolerance => '{"ranking": 0.1, "nosuch": 0.1}')$$, '22023',
                 'task_tolerance names tasks mtrs model "m" does not have: nosuch', 'retrain: unknown task');
SELECT throws_ok($$SELECT mtrs_report(NULL)$$, '22004', 'name and versions must not be null', 'report: null name');
SELECT throws_ok($$SELECT mtrs_report('m', 0)$$, '22023', 'versions must be at least 1', 'report: no versions');
SELECT throws_ok($$SELECT * FROM mtrs_evaluate('m', 'tr_events', user_col => NULL)$$, '22000',
                 'nothing to evaluate in tr_events', 'evaluate: nothing to evaluate');
SELECT throws_ok($$SELECT * FROM mtrs_evaluate('m', 'tr_events', k => NULL)$$, '22004',
                 'model, holdout, k and store must not be null', 'evaluate: null k');
-- training memory: the configured limit, while collecting rows and once the pairs are known
CREATE TEMP TABLE mem_events AS
SELECT g % 500 AS user_id, g % 97 AS item_id, 'view'::text AS event, timestamptz '2026-01-01' AS ts
  FROM generate_series(1, 20000) g;
SET mtrs.max_training_memory = '1MB';
SELECT throws_ok($$SELECT mtrs_train('m', 'mem_events')$$, '53400',
                 'training needs more memory than "mtrs.max_training_memory" allows',
                 'train: rows beyond the memory limit');
SELECT throws_ok($$SELECT mtrs_fit(user_id, user_id, 'view', timestamptz '2026-01-01', '{"dim": 256, "iterations": 1}'::jsonb)
                     FROM generate_series(1, 300) user_id$$, '53400',
                 'training needs more memory than "mtrs.max_training_memory" allows',
                 'fit: a model beyond the memory limit');
-- ... and for texts: while the utterances or item texts are read (every feature counted,
-- with what the run holds), and once the vocabulary and so the model's size are known
CREATE FUNCTION pg_temp.error_detail(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	detail text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
	RETURN state || ': ' || detail;
END $$;
CREATE TEMP TABLE mem_utt AS
SELECT repeat('word' || g || ' ', 300) AS text, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END AS label
  FROM generate_series(1, 100) g;
CREATE TEMP TABLE mem_few AS
SELECT t AS text, l AS label
  FROM unnest(ARRAY['buy a phone', 'return my phone', 'buy a laptop', 'return the laptop'],
              ARRAY['buy', 'return', 'buy', 'return']) AS u(t, l);
SELECT matches(pg_temp.error_detail($$SELECT mtrs_train('m_text', intents => 'mem_utt')$$),
               '^53400: The utterances read so far need at least [0-9]+ MB; the limit is 1 MB\.$',
               'train: utterances beyond the memory limit while they are read');
SELECT matches(pg_temp.error_detail($$SELECT mtrs_train('m_text', intents => 'mem_few')$$),
               '^53400: 4 utterances and 0 item texts \([0-9]+ features, a vocabulary of [0-9]+\) need at least [0-9]+ MB',
               'train: a text model beyond the memory limit, before it is allocated');
SET mtrs.max_training_memory = '64MB';
SELECT ok(mtrs_train('m_text', intents => 'mem_few', options => '{"progress": false}') > 0, 'train: the same text model within a larger limit');
SELECT is((SELECT count(*) FROM mtrs_intent('buy a tablet', 'm_text')), 1::bigint,
          'train: that model serves');
RESET mtrs.max_training_memory;
-- mtrs_recommend_for
SELECT throws_ok($$SELECT * FROM mtrs_recommend_for(NULL, 3, model => 'm')$$, '22004',
                 'history must not be null', 'session: null history');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_for(ARRAY[[1,2]]::bigint[], 3, model => 'm')$$, '2202E',
                 'history must be a one-dimensional array', 'session: 2-d history');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_for('{}', 3, model => 'm', context => '{{a},{b}}')$$, '2202E',
                 'context must be a one-dimensional array', 'conversation: 2-d context');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 3, model => 'm', context => '{a}', context_decay => 2)$$, '22023',
                 'context_decay must be between 0 and 1', 'conversation: context_decay out of range');
SELECT throws_ok($$SELECT * FROM mtrs_recommend(1, 3, model => 'm', context => '{a}')$$, '55000',
                 'mtrs model "m" has no text encoder', 'conversation: model without text');

-- intents
CREATE TEMP TABLE tr_utt (text text, label text);
INSERT INTO tr_utt VALUES ('buy a laptop', 'buy'), ('return my phone', 'return');
SELECT throws_ok($$SELECT * FROM mtrs_intent('hello', model => 'm')$$, '55000',
                 'mtrs model "m" has no intent head', 'intent: model without intents');
SELECT throws_ok($$SELECT mtrs_train('i', intents => 'tr_utt', options => '{"char_min": 5, "char_max": 3}')$$,
                 '22023', 'option "char_min" must not exceed "char_max"', 'intent: bad n-gram range');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, ARRAY['a'], ARRAY['x#'])$$, '22023',
                 'an utterance has an empty intent in its label', 'intent: empty intent in a label');
SELECT throws_ok($$SELECT mtrs_fit_text(NULL, NULL, NULL, ARRAY['a'], ARRAY['   '])$$, '22000',
                 'no intents to learn', 'intent: only out-of-scope utterances');
SELECT throws_ok($$SELECT mtrs_train('i')$$, '22004', 'nothing to train on', 'train: neither interactions nor intents');
SELECT ok(mtrs_train('io', intents => 'tr_utt') > 0, 'an intent-only model');
SELECT throws_ok($$SELECT * FROM mtrs_recommend_batch(NULL, 3, model => 'io')$$, '55000',
                 'mtrs model "io" has no interaction tasks', 'batch: intent-only model');
SELECT throws_ok($$SELECT * FROM mtrs_similar_items_batch(NULL, 3, model => 'io')$$, '55000',
                 'mtrs model "io" has no interaction tasks', 'similar batch: intent-only model');
-- vectors
SELECT throws_ok($$SELECT * FROM mtrs_item_vectors(model => 'io')$$, '55000',
                 'mtrs model "io" has no interaction tasks', 'item vectors: intent-only model');
SELECT throws_ok($$SELECT * FROM mtrs_user_vectors(model => 'io')$$, '55000',
                 'mtrs model "io" has no interaction tasks', 'user vectors: intent-only model');
SELECT throws_ok($$SELECT * FROM mtrs_item_vectors(model => 'm2', task => 'click')$$, '22023',
                 'task "click" of mtrs model "m2" has no vectors', 'item vectors: event head');
SELECT throws_ok($$SELECT * FROM mtrs_user_vectors(model => 'm2', task => 'click')$$, '22023',
                 'task "click" of mtrs model "m2" has no vectors', 'user vectors: event head');
SELECT throws_ok($$SELECT * FROM mtrs_user_vectors(model => 'm', task => 'buy')$$, '22023',
                 'mtrs model "m" has no task "buy"', 'user vectors: unknown task');
SELECT throws_ok($$SELECT * FROM mtrs_item_vectors(model => 'zz')$$, '42704',
                 'mtrs model "zz" does not exist', 'item vectors: unknown model');
SELECT throws_ok($$SELECT * FROM mtrs_item_vectors('{{1,2},{3,4}}', model => 'm')$$, '2202E',
                 'item_ids must be a one-dimensional array', 'item vectors: 2-D item_ids');
SELECT throws_ok($$SELECT * FROM mtrs_user_vectors('{{1,2},{3,4}}', model => 'm')$$, '2202E',
                 'user_ids must be a one-dimensional array', 'user vectors: 2-D user_ids');
SELECT throws_ok($$SELECT mtrs_query_vector('red shoes', model => 'm')$$, '55000',
                 'mtrs model "m" has no text encoder', 'query vector: model without text');
-- explanations
SELECT throws_ok($$SELECT * FROM mtrs_explain_for(NULL, 2, model => 'm')$$, '22004',
                 'history must not be null', 'explain: null history');
SELECT throws_ok($$SELECT * FROM mtrs_explain_for(ARRAY[[1,2]]::bigint[], 2, model => 'm')$$, '2202E',
                 'history must be a one-dimensional array', 'explain: 2-d history');
SELECT throws_ok($$SELECT * FROM mtrs_explain(1, 2, 0, model => 'm')$$, '22023',
                 'k must be greater than zero', 'explain: k 0');
SELECT throws_ok($$SELECT * FROM mtrs_explain_for('{1}', 2, NULL, model => 'm')$$, '22004',
                 'k must not be null', 'explain: k NULL');
SELECT throws_ok($$SELECT * FROM mtrs_explain(1, 2, model => 'm', task => 'buy')$$, '22023',
                 'mtrs model "m" has no task "buy"', 'explain: unknown task');
SELECT throws_ok($$SELECT * FROM mtrs_explain(1, 2, model => 'nope')$$, '42704',
                 'mtrs model "nope" does not exist', 'explain: unknown model');
SELECT throws_ok($$SELECT * FROM mtrs_explain(1, 2, model => 'io')$$, '55000',
                 'mtrs model "io" has no interaction tasks', 'explain: intent-only model');
SELECT throws_ok($$SELECT * FROM mtrs_explain_for('{1}', 2, model => 'io')$$, '55000',
                 'mtrs model "io" has no interaction tasks', 'explain for: intent-only model');
SELECT throws_ok($$SELECT * FROM mtrs_intent_explain('hello', model => 'm')$$, '55000',
                 'mtrs model "m" has no intent head', 'intent explain: model without intents');
SELECT throws_ok($$SELECT * FROM mtrs_intent_explain('hello', 'refund', model => 'io')$$, '22023',
                 'mtrs model "io" has no intent "refund"', 'intent explain: unknown intent');
SELECT throws_ok($$SELECT * FROM mtrs_intent_explain('hello', k => 0, model => 'io')$$, '22023',
                 'k must be greater than zero', 'intent explain: k 0');
SELECT throws_ok($$SELECT * FROM mtrs_intent_explain('hello', model => 'nope')$$, '42704',
                 'mtrs model "nope" does not exist', 'intent explain: unknown model');
-- evaluation helpers (found by fuzzing: a syntax error, "<NULL>", a missing pg_temp)
SELECT throws_ok($$SELECT * FROM mtrs_intent_f1(NULL)$$, '22004',
                 'predictions must not be null', 'intent f1: null table');
SELECT throws_ok($$SELECT * FROM mtrs_intent_predictions('io', 'tr_utt', '', 'label')$$, '42703',
                 'column "" does not exist in tr_utt', 'intent predictions: empty text column');
SELECT throws_ok($$SELECT * FROM mtrs_intent_predictions('io', 'tr_utt', 'text', 'intent')$$, '42703',
                 'column "intent" does not exist in tr_utt', 'intent predictions: unknown label column');
SELECT throws_ok($$SELECT mtrs_column_type(NULL, 'x')$$, '22004',
                 'rel must not be null', 'column type: null table');
SELECT throws_ok($$SELECT mtrs_retrain_score('io', '{}', 20)$$, '55000',
                 'mtrs_retrain_score can only be called by mtrs_retrain', 'retrain score outside mtrs_retrain');

SELECT * FROM finish();
ROLLBACK;
