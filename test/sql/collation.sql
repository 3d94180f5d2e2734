-- mtrs_intent_f1 counts the gold and pred arrays in their own collation: under a
-- case-insensitive one, Buy is buy. Nondeterministic collations need a server built with
-- ICU (Debian's is); expected/collation_1.out is the output of one built without.
SELECT count(*) > 0 AS have_icu FROM pg_collation WHERE collprovider = 'i' \gset
\if :have_icu
CREATE EXTENSION mtrs;
CREATE COLLATION ci_icu (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE ci_preds (gold text[] COLLATE ci_icu, pred text[] COLLATE ci_icu);
INSERT INTO ci_preds VALUES ('{Buy}', '{buy}'), ('{return}', '{RETURN}');
SELECT intent, support, predicted, correct, f1 FROM mtrs_intent_f1('ci_preds');
-- the same rows in the default collation: four intents, none right
CREATE TABLE cs_preds AS SELECT gold COLLATE "default" AS gold, pred COLLATE "default" AS pred FROM ci_preds;
SELECT intent, support, predicted, correct, f1 FROM mtrs_intent_f1('cs_preds');
DROP EXTENSION mtrs;
DROP TABLE ci_preds, cs_preds;
DROP COLLATION ci_icu;
\else
\echo 'this server is built without ICU'
\endif
