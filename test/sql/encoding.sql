-- Text in a database whose encoding is not UTF-8 (LATIN1): utterances are converted to
-- UTF-8 for the tokenizer, so case folds as in a UTF-8 database (É is é), and
-- explanations give their features back in the database's encoding.
\set regress_db :DBNAME
CREATE DATABASE mtrs_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c mtrs_latin1
SET client_encoding = 'UTF8';
SHOW server_encoding;
CREATE EXTENSION mtrs;
CREATE TABLE utt (text text, label text);
INSERT INTO utt VALUES ('café au lait', 'drink'), ('un café noir', 'drink'), ('thé vert', 'drink'),
  ('école primaire', 'school'), ('aller à l''école', 'school'), ('la classe', 'school');
SELECT mtrs_train('fr', intents => 'utt', options => '{"char_max": 0, "dim": 16, "buckets": 4096, "progress": false}') > 0 AS trained;
-- words only (no character n-grams), so nothing but the folding can match them
SELECT (SELECT array_agg(score ORDER BY intent) FROM mtrs_intent('CAFÉ NOIR', 'fr', 0)) =
       (SELECT array_agg(score ORDER BY intent) FROM mtrs_intent('café noir', 'fr', 0)) AS case_folds,
       (SELECT array_agg(score ORDER BY intent) FROM mtrs_intent('thé', 'fr', 0)) <>
       (SELECT array_agg(score ORDER BY intent) FROM mtrs_intent('th', 'fr', 0)) AS accents_are_letters,
       (SELECT intent FROM mtrs_intent('ÉCOLE', 'fr') LIMIT 1) AS ecole,
       (SELECT intent FROM mtrs_intent('Thé', 'fr') LIMIT 1) AS the;
SELECT feature, encode(convert_to(feature, 'LATIN1'), 'hex') AS latin1_bytes, kind
  FROM mtrs_intent_explain('CAFÉ', model => 'fr') WHERE kind = 'word';
\c :regress_db
DROP DATABASE mtrs_latin1;
