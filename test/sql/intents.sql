-- Intents: training from labelled utterances (English and Chinese, multi-intent),
-- mtrs_intent, intents in the same model as interactions, and bad input.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE utt (text text, label text);
INSERT INTO utt
SELECT format(t.pattern, p.thing), t.label
  FROM (VALUES ('I want to buy a %s', 'buy'), ('do you have a good %s for me', 'buy'),
               ('looking for a cheap %s', 'buy'), ('how do I return my %s', 'return'),
               ('my %s arrived broken, I want a refund', 'return'), ('where is my %s order', 'track'),
               ('when will the %s be delivered', 'track'),
               ('I want a %s, and how do I return my old one?', 'buy#return'),
               ('track my %s order and find me a new one', 'buy#track')) AS t(pattern, label),
       (VALUES ('laptop'), ('phone'), ('backpack'), ('headphones'), ('novel'), ('camera'),
               ('coffee grinder'), ('pair of shoes'), ('tablet'), ('watch')) AS p(thing)
UNION ALL
SELECT format(t.pattern, p.thing), t.label
  FROM (VALUES ('我想买一台%s', 'buy'), ('有没有便宜的%s', 'buy'), ('我的%s怎么退货', 'return'),
               ('%s坏了，我要退款', 'return'), ('我的%s订单到哪里了', 'track'),
               ('%s什么时候送到', 'track'), ('我想买%s，旧的怎么退货？', 'buy#return')) AS t(pattern, label),
       (VALUES ('电脑'), ('手机'), ('背包'), ('耳机'), ('小说'), ('相机'), ('跑步鞋'), ('手表')) AS p(thing)
UNION ALL	-- out of scope: an empty label means "no intent"
SELECT x, '' FROM unnest(ARRAY['hello there', 'thanks a lot', 'what a nice day', '你好', '谢谢你']) x;
SELECT mtrs_train('talk', intents => 'utt', options => '{"text_epochs": 30, "dim": 16, "buckets": 4096}') > 0 AS trained;
SELECT tasks, intents, n_users, source->'intents'->>'utterances' AS utterances,
       (source->'intents'->>'threshold')::real BETWEEN 0.05 AND 0.95 AS threshold_tuned,
       jsonb_array_length(training_log) AS epochs_logged,
       (SELECT array_agg(DISTINCT k) FROM jsonb_array_elements(training_log) e, jsonb_object_keys(e->'loss') k)
         AS tasks_logged
  FROM mtrs_model WHERE name = 'talk';
-- unseen utterances, English, Chinese, several intents
SELECT u AS utterance, array_agg(i.intent ORDER BY i.intent) AS intents
  FROM unnest(ARRAY['I would like to buy a new laptop', 'how do I return my phone',
                    'where is my order of headphones', 'I want a camera, and how do I return my old one?',
                    '我想买一台相机', '我的手机订单到哪里了']) WITH ORDINALITY AS t(u, n)
  LEFT JOIN LATERAL mtrs_intent(u) i ON true
 GROUP BY u, n ORDER BY n;
-- rows come highest score first, all at or above the threshold
SELECT bool_and(score >= 0.5) AS above, count(*) > 0 AS some,
       (array_agg(score ORDER BY score DESC) = array_agg(score)) AS ordered
  FROM mtrs_intent('I want to buy a watch', threshold => 0.5);
-- NULL, empty, punctuation-only and very long text
-- in a select list too, as when scoring a whole table
SELECT count(*) AS select_list_rows FROM (SELECT (mtrs_intent(u)).* FROM unnest(ARRAY['I want to buy a watch', '我想买一台手机']) u) s;
SELECT count(*) AS null_rows FROM mtrs_intent(NULL);
SELECT count(*) AS empty_rows FROM mtrs_intent('');
SELECT count(*) AS blank_rows FROM mtrs_intent('   ?!  。');
SELECT count(*) > 0 AS long_text_works FROM mtrs_intent(repeat('buy a laptop ', 100000), threshold => 0);
-- threshold 1 leaves nothing (out of scope), 0 returns every intent
SELECT count(*) AS strict FROM mtrs_intent('I want to buy a laptop', threshold => 1);
SELECT count(*) AS every_intent FROM mtrs_intent('I want to buy a laptop', threshold => 0);
-- labels as a text[] column
CREATE TABLE utt_arr AS SELECT text, string_to_array(label, '#') AS labels FROM utt WHERE label <> '';
SELECT mtrs_train('talk2', intents => 'utt_arr', label_col => 'labels',
                  options => '{"text_epochs": 30, "dim": 16, "buckets": 4096}') > 0 AS trained_from_arrays;
SELECT intents FROM mtrs_model WHERE name = 'talk2';
-- one model with interactions and intents serves both
CREATE TABLE ev AS
SELECT u AS user_id, (u % 2) * 100 + ((u * 3 + g) % 20) AS item_id, 'view'::text AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 40) u, generate_series(1, 6) g;
SELECT mtrs_train('both', 'ev', intents => 'utt',
                  options => '{"dim": 16, "iterations": 4, "text_epochs": 30, "buckets": 4096}') > 0 AS trained;
SELECT tasks, intents FROM mtrs_model WHERE name = 'both';
SELECT count(*) AS recs FROM mtrs_recommend(1, 5, model => 'both');
SELECT array_agg(intent ORDER BY intent) AS intents FROM mtrs_intent('how do I return my laptop', model => 'both');
-- errors
SELECT * FROM mtrs_intent('hello', model => 'missing');
SELECT * FROM mtrs_recommend(1, 5, model => 'talk');
SELECT mtrs_register('ranker', mtrs_fit(user_id, item_id, event, ts, '{"dim": 4, "iterations": 1}'::jsonb)) > 0 AS ok FROM ev;
SELECT * FROM mtrs_intent('hello', model => 'ranker');
SELECT * FROM mtrs_intent('buy', model => 'talk', threshold => 1.5);
SELECT mtrs_train('bad', intents => 'utt', text_col => 'nope');
CREATE TABLE utt_bad (text text, label text);
INSERT INTO utt_bad VALUES ('buy a laptop', 'buy#');
SELECT mtrs_train('bad', intents => 'utt_bad');
SELECT mtrs_train('bad');
CREATE TABLE utt_null (text text, label text);
INSERT INTO utt_null VALUES (NULL, 'buy'), ('buy it', NULL);
SELECT mtrs_train('bad', intents => 'utt_null');
SELECT mtrs_fit_text(NULL, NULL, NULL, ARRAY['a', 'b'], ARRAY['x']);
SELECT count(*) AS nothing_registered FROM mtrs_model WHERE name = 'bad';
-- single-label data: intent_loss "auto" picks one softmax over the intents, whose
-- probabilities sum to 1; multi-label data stays one-vs-all
CREATE TABLE utt_single AS SELECT * FROM utt WHERE label <> '' AND label NOT LIKE '%#%';
SELECT mtrs_train('single', intents => 'utt_single',
                  options => '{"text_epochs": 30, "dim": 16, "buckets": 4096, "intent_loss": "auto"}') > 0 AS trained;
SELECT options->>'intent_loss' AS single_label_loss FROM mtrs_model WHERE name = 'single';
SELECT mtrs_train('multi', intents => 'utt',
                  options => '{"text_epochs": 1, "dim": 16, "buckets": 4096, "intent_loss": "auto"}') > 0 AS trained;
SELECT options->>'intent_loss' AS multi_label_loss FROM mtrs_model WHERE name = 'multi';
SELECT u AS utterance, round(sum(i.score)::numeric, 4) AS total,
       (array_agg(i.intent ORDER BY i.score DESC))[1] AS best
  FROM unnest(ARRAY['I want to buy a bicycle', '我的自行车怎么退货']) u,
       mtrs_intent(u, model => 'single', threshold => 0) i
 GROUP BY u ORDER BY u;
-- the decision rule tuned on a given validation table: recorded, and per-intent offsets for
-- multi-intent data (they are folded into the head, so the stored threshold serves every intent)
CREATE TABLE utt_check AS SELECT * FROM utt WHERE text LIKE '%phone%' OR text LIKE '%手机%';
SELECT mtrs_train('checked', intents => 'utt', intents_validation => 'utt_check',
                  options => '{"text_epochs": 30, "dim": 16, "buckets": 4096}') > 0 AS trained;
SELECT source->'intents'->>'validation_table' AS validation_table,
       (source->'intents'->>'validation_utterances')::int AS validation_utterances,
       (source->'intents'->>'validation_accuracy')::real >= 0.9 AS accurate,
       options->>'per_intent_thresholds' AS per_intent
  FROM mtrs_model WHERE name = 'checked';
SELECT jsonb_array_length(mtrs_last_fit()->'text'->'intent_offsets') AS offsets;
SELECT mtrs_train('bad', 'ev', intents_validation => 'utt_check');
CREATE TABLE utt_foreign (text text, label text);
INSERT INTO utt_foreign VALUES ('hello', 'greet'), ('bye', 'farewell');
SELECT mtrs_train('bad', intents => 'utt', intents_validation => 'utt_foreign');
-- a one-vs-all head trained on one intent per utterance answers with one intent by default,
-- even for a sentence that mixes two (an explicit threshold still returns every intent reaching it)
SELECT mtrs_train('single_ova', intents => 'utt_single',
                  options => '{"text_epochs": 30, "dim": 16, "buckets": 4096}') > 0 AS trained;
SELECT count(*) AS default_rule,
       (SELECT count(*) FROM mtrs_intent('I want to buy a laptop, how do I return my phone', model => 'single_ova', threshold => 0)) AS every_intent
  FROM mtrs_intent('I want to buy a laptop, how do I return my phone', model => 'single_ova');
SELECT mtrs_train('bad', intents => 'utt', options => '{"intent_loss": "hinge"}');
SELECT mtrs_train('bad', intents => 'utt', options => '{"word_ngrams": 5}');
-- text_marks (on by default) is stored with the model and read back when serving: a model
-- trained without it answers its training sentences with their intents
SELECT options->>'text_marks' AS text_marks FROM mtrs_model WHERE name = 'talk';
SELECT mtrs_train('no_marks', intents => 'utt_single',
                  options => '{"text_epochs": 30, "dim": 16, "buckets": 4096, "text_marks": 0}') > 0 AS trained;
SELECT options->>'text_marks' AS text_marks,
       (SELECT count(*) FROM utt_single u
         WHERE u.label = (SELECT intent FROM mtrs_intent(u.text, model => 'no_marks') LIMIT 1))
       = (SELECT count(*) FROM utt_single) AS recognises_training_sentences
  FROM mtrs_model WHERE name = 'no_marks';
SELECT mtrs_train('bad', intents => 'utt', options => '{"text_marks": 2}');
-- case folding: upper and lower case are one word in the cased scripts, also for the
-- letters at the end of Latin Extended-A and Greek final sigma (rules 1, stored with the
-- model); words only, so that nothing but the folding can match them
CREATE TABLE utt_cased (text text, label text);
INSERT INTO utt_cased VALUES ('źródło wody', 'water'), ('gdzie jest źródło', 'water'),
  ('żółw w wodzie', 'animal'), ('mały żółw', 'animal'), ('η οδος', 'road'), ('μια οδος', 'road'),
  ('žena a muž', 'people'), ('muž a žena', 'people');
SELECT mtrs_train('cased', intents => 'utt_cased', options => '{"dim": 16, "buckets": 4096, "char_max": 0}') > 0 AS trained;
SELECT bool_and((SELECT array_agg(score ORDER BY intent) FROM mtrs_intent(v.upper, 'cased', 0)) =
                (SELECT array_agg(score ORDER BY intent) FROM mtrs_intent(v.lower, 'cased', 0))) AS same_scores,
       bool_and((SELECT intent FROM mtrs_intent(v.upper, 'cased') LIMIT 1) = v.label) AS right_intents
  FROM (VALUES ('ŹRÓDŁO', 'źródło', 'water'), ('ŻÓŁW', 'żółw', 'animal'), ('ΟΔΟΣ', 'οδος', 'road'),
               ('ŽENA', 'žena', 'people')) v(upper, lower, label);
SELECT mtrs_model_describe(weights)->'tokenizer' AS tokenizer FROM mtrs_model WHERE name = 'cased' AND active;
-- the vocabulary: only the features of the training utterances get an embedding row (far
-- fewer than the 2^24 buckets of the hash space), and features never seen are ignored, so
-- texts made only of them are scored by the biases alone: the same scores for each, and
-- still one intent by default (the top-1 rule of single-intent data)
SELECT mtrs_train('vocab', intents => 'utt_single', options => '{"text_epochs": 30, "dim": 16}') > 0 AS trained;
SELECT (format->>'n_buckets')::int AS buckets, (format->>'n_vocab')::int BETWEEN 500 AND 5000 AS vocabulary_rows,
       (mtrs_last_fit()->'text'->>'vocabulary') = format->>'n_vocab' AS vocabulary_reported
  FROM mtrs_model WHERE name = 'vocab';
SELECT (SELECT array_agg(round(score::numeric, 6) ORDER BY intent)
          FROM mtrs_intent('zqxj vwkp', model => 'vocab', threshold => 0)) =
       (SELECT array_agg(round(score::numeric, 6) ORDER BY intent)
          FROM mtrs_intent('ŋŋŋ ꙮ', model => 'vocab', threshold => 0)) AS unseen_texts_score_alike,
       (SELECT count(*) FROM mtrs_intent('zqxj vwkp', model => 'vocab')) AS default_rows;
-- a dozen utterances: "text_epochs": "auto" (the default) trains for 10,000 steps
-- (ceil(10000 / 12) = 834 epochs), where ten epochs leave the head near its initial
-- values (one answer for every sentence). Too few utterances for a held-out part: the
-- best intent is always given, unless the data has out-of-scope utterances
CREATE TABLE utt_few (text text, label text);
INSERT INTO utt_few VALUES
  ('i want to buy a laptop', 'buy'), ('add these shoes to my cart', 'buy'),
  ('i would like to order a camera', 'buy'), ('我想买一台电脑', 'buy'),
  ('how do i return my phone', 'return'), ('i want my money back for the shoes', 'return'),
  ('send the broken camera back', 'return'), ('我要退货', 'return'),
  ('where is my order', 'track'), ('when will my package arrive', 'track'),
  ('track my delivery please', 'track'), ('我的快递到哪里了', 'track');
CREATE TABLE utt_few_oos AS SELECT * FROM utt_few UNION ALL VALUES ('what a nice day', '');
SELECT mtrs_train('few_auto', intents => 'utt_few') > 0 AS auto,
       mtrs_train('few_10', intents => 'utt_few', options => '{"text_epochs": 10}') > 0 AS ten_epochs,
       mtrs_train('few_oos', intents => 'utt_few_oos') > 0 AS with_out_of_scope;
SELECT name, options->>'text_epochs' AS option, source->>'text_epochs' AS epochs,
       jsonb_array_length(training_log) AS log_entries,
       source->'intents'->>'always_best_intent' AS always_best_intent
  FROM mtrs_model WHERE name LIKE 'few%' ORDER BY name;
SELECT m AS model, t AS utterance,
       (SELECT string_agg(intent, ', ' ORDER BY score DESC) FROM mtrs_intent(t, m)) AS intents
  FROM unnest(ARRAY['few_auto', 'few_10']) m,
       unnest(ARRAY['i want to buy new headphones', 'return the laptop', 'where is my camera order',
                    '我想买相机', '退货']) t
 ORDER BY m, t;
-- mtrs_intent_explain: the features that make an utterance's intent score high. The rows
-- (with k large enough) add up to the logit mtrs_intent scores, for every intent, with
-- one-vs-all (log-odds of its score) and softmax heads (differences of log scores)
SELECT mtrs_train('pooled', intents => 'utt',
                  options => '{"text_epochs": 30, "dim": 16, "buckets": 4096, "max_pool": 1}') > 0 AS trained;
SELECT m AS model, count(*) AS intents_checked,
       max(abs(e.total - ln(i.score / (1 - i.score)))) < 1e-3 AS rows_add_up_to_the_logit
  FROM unnest(ARRAY['talk', 'pooled']) m,
       unnest(ARRAY['how do I return my phone', 'I want a camera, and where is my laptop order?',
                    '我的手机怎么退货', 'hello there']) t,
       mtrs_intent(t, m, threshold => 0) i,
       LATERAL (SELECT sum(contribution) AS total FROM mtrs_intent_explain(t, i.intent, 4096, m)) e
 WHERE i.score BETWEEN 1e-4 AND 1 - 1e-4
 GROUP BY m ORDER BY m;
SELECT count(*) AS pairs_checked,
       max(abs((ea.total - eb.total) - ln(a.score / b.score))) < 1e-3 AS softmax_differences_add_up
  FROM unnest(ARRAY['I want to buy a bicycle', '我的自行车怎么退货']) t,
       mtrs_intent(t, 'single', threshold => 0) a, mtrs_intent(t, 'single', threshold => 0) b,
       LATERAL (SELECT sum(contribution) AS total FROM mtrs_intent_explain(t, a.intent, 4096, 'single')) ea,
       LATERAL (SELECT sum(contribution) AS total FROM mtrs_intent_explain(t, b.intent, 4096, 'single')) eb
 WHERE a.intent < b.intent;
-- by default the best intent; the k largest features first, then the bias (feature, kind and
-- rank NULL); words, runs of words ("^" the start of the text) and character n-grams ("<" ">"
-- the word's edges); a feature counts once however often it occurs
SELECT (SELECT array_agg(contribution ORDER BY rank) FROM mtrs_intent_explain('how do I return my phone', model => 'talk'))
     = (SELECT array_agg(contribution ORDER BY rank) FROM mtrs_intent_explain('how do I return my phone', 'return', model => 'talk'))
       AS default_is_best_intent;
SELECT count(*) AS rows, count(feature) AS features, count(rank) AS ranked,
       bool_or(feature IS NULL AND kind IS NULL AND rank IS NULL) AS bias_row,
       array_agg(rank ORDER BY rank) FILTER (WHERE rank IS NOT NULL) = '{1,2,3,4,5}' AS ranks,
       (array_agg(contribution ORDER BY rank))[1:5] = (array_agg(contribution ORDER BY contribution DESC) FILTER (WHERE rank IS NOT NULL))[1:5] AS highest_first
  FROM mtrs_intent_explain('how do I return my phone', k => 5, model => 'talk');
SELECT t AS utterance, i AS intent,
       (SELECT bool_or(feature ~ w) FROM mtrs_intent_explain(t, i, 3, 'talk')) AS top3_has_the_word
  FROM (VALUES ('how do I return my phone', 'return', 'return|retur|eturn'),
               ('where is my camera order', 'track', 'where|order|ord|rder'),
               ('我的手机怎么退货', 'return', '退|货'),
               ('我想买一台相机', 'buy', '买')) v(t, i, w);
SELECT kind, count(*) > 0 AS present, bool_and(feature ~ pattern) AS written_as_documented
  FROM mtrs_intent_explain('Return my phone', 'return', 4096, 'talk'),
       LATERAL (SELECT CASE kind WHEN 'word' THEN '^(return|my|phone|Return)$'
                                 WHEN 'words' THEN '^(\^ Return|Return my|my phone|phone \$|\^ Return my|Return my phone|my phone \$)$'
                                 ELSE '^<?[a-zA-Z]+>?$' END AS pattern) p
 WHERE kind IS NOT NULL GROUP BY kind ORDER BY kind;
SELECT count(*) FILTER (WHERE feature = 'buy' AND kind = 'word') AS word_buy_rows,
       count(*) FILTER (WHERE feature = 'buy buy') AS run_buy_buy_rows,
       count(feature) = count(DISTINCT (feature, kind)) FILTER (WHERE feature IS NOT NULL) AS distinct_features
  FROM mtrs_intent_explain('buy buy buy a laptop', 'buy', 4096, 'talk');
-- features the model never saw add nothing: only the bias row, which is then the whole logit
-- (a model with the default hash space, where unseen features are not in the vocabulary)
SELECT count(*) AS rows, count(feature) AS features,
       abs(sum(contribution) - (SELECT ln(score / (1 - score)) FROM mtrs_intent('qqqq zzzz', 'few_auto', 0) WHERE intent = 'buy')) < 1e-4 AS bias_is_the_logit
  FROM mtrs_intent_explain('qqqq zzzz', 'buy', model => 'few_auto');
SELECT (SELECT count(*) FROM mtrs_intent_explain(NULL, model => 'talk')) AS null_rows,
       (SELECT count(*) FROM mtrs_intent_explain('', model => 'talk')) AS empty_rows,
       (SELECT count(*) FROM mtrs_intent_explain(' ?! ', model => 'talk')) AS blank_rows;
DROP EXTENSION mtrs;
DROP TABLE utt, utt_arr, ev, utt_bad, utt_null, utt_single, utt_check, utt_foreign, utt_few, utt_few_oos,
           utt_cased;
