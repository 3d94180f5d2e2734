-- Model bytes: a round trip through mtrs_fit and mtrs_model_describe, then
-- every kind of damaged input, each with its own error.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
\set VERBOSITY default
CREATE TABLE fmt_events AS
SELECT u AS user_id, (u % 2) * 100 + (g % 20) AS item_id,
       CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END AS event,
       timestamptz '2026-01-01' + g * interval '1 hour' AS ts
  FROM generate_series(1, 40) u, generate_series(1, 12) g
 WHERE (u * 7 + g * 3) % 5 <> 0;
CREATE TABLE fmt_model AS
SELECT mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 3}'::jsonb) AS w FROM fmt_events;
SELECT d->'format_version' AS version, d->'kind' AS kind, d->'dim' AS dim,
       d->'n_users' AS users, d->'n_items' AS items, d->'tasks' AS tasks,
       (d->>'size_bytes')::int = length(w) AS size_matches
  FROM fmt_model, mtrs_model_describe(w) d;
-- the same rows in another order give the same bytes
SELECT md5(w) = (SELECT md5(mtrs_fit(user_id, item_id, event, ts, '{"dim": 8, "iterations": 3}'::jsonb ORDER BY ts DESC, user_id))
                   FROM fmt_events) AS order_independent
  FROM fmt_model;
-- no rows: NULL, not an error
SELECT mtrs_fit(user_id, item_id, event, ts) IS NULL AS empty_is_null FROM fmt_events WHERE false;
-- damaged bytes
SELECT mtrs_model_describe('\x00'::bytea);
SELECT mtrs_model_describe(overlay(w placing '\x504b0304'::bytea from 1)) FROM fmt_model;
SELECT mtrs_model_describe(overlay(w placing '\x5352544d'::bytea from 1)) FROM fmt_model;
SELECT mtrs_model_describe(set_byte(w, 4, 3)) FROM fmt_model;
SELECT mtrs_model_describe(set_byte(w, 12, 200)) FROM fmt_model;
SELECT mtrs_model_describe(substring(w from 1 for length(w) - 1)) FROM fmt_model;
SELECT mtrs_model_describe(substring(w from 1 for 200)) FROM fmt_model;
SELECT mtrs_model_describe(w || '\x00'::bytea) FROM fmt_model;
SELECT mtrs_model_describe(set_bit(w, 8 * 300 + 3, 1 - get_bit(w, 8 * 300 + 3))) FROM fmt_model;
-- the registry refuses damaged bytes too, and stores nothing
SELECT mtrs_register('damaged', substring(w from 1 for length(w) - 8)) FROM fmt_model;
SELECT count(*) AS stored FROM mtrs_model;
DROP EXTENSION mtrs;
DROP TABLE fmt_events, fmt_model;
