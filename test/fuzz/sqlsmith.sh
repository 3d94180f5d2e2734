#!/usr/bin/env bash
# test/fuzz/sqlsmith.sh -- fuzz mtrs's SQL functions with sqlsmith; fail on a crash.
#
# As root on Debian 12, with mtrs built and installed (scripts/test.sh or make install):
#
#   bash test/fuzz/sqlsmith.sh [QUERIES [SEED]]      # defaults: 2000 queries, seed 1
#
# Installs sqlsmith (skip with MTRS_SKIP_APT=1), starts a throw-away cluster
# (scripts/lib.sh), loads the demo shop (scripts/demo_data.sql), trains a few
# small models (multi-task with text and intents, intents only, ratings, no
# events or times, soft sharing registered from mtrs_fit bytes), adds a table
# of awkward argument values and scalar wrappers of the set-returning functions
# (sqlsmith never calls a set-returning function and has constants only for
# int4 and bool), then runs sqlsmith as a non-superuser role with a fixed seed.
# sqlsmith sees a filtered pg_proc: every mtrs function and wrapper plus a few
# dozen non-polymorphic catalog functions (string, bytea, array, jsonb), and a
# pg_type in which polymorphic pseudo-types read as concrete types, so most of
# its queries parse and reach mtrs.  Each statement runs in BEGIN ... ROLLBACK
# with sqlsmith's own statement_timeout of 1 s.
#
# Fails (exit 1) and prints the statements if a backend crashed (signal,
# abnormal exit, PANIC, TRAP), if the server warned of a memory or resource
# problem (an assert-enabled build's chunk checks, leaked references), if mtrs
# code raised an error without a proper
# SQLSTATE (XX000 from an mtrs_*.c file), or if a statement ran past 10 s
# despite the timeout (a loop that does not check for interrupts).  Each
# crashing statement is run again in a fresh session to tell whether it
# reproduces; a backtrace is taken from the core file when the kernel writes
# one into the data directory and gdb is installed.  The last line is
#   sqlsmith: N queries, C crashes, M memory warnings, E internal errors, H hangs (seed S, T s)
#
# Environment:
#   MTRS_SKIP_APT=1            do not install packages
#   MTRS_FUZZ_OUT=DIR          where queries, logs and reproducers are kept (default /tmp/mtrs-fuzz)
#   MTRS_FUZZ_CATALOG=1        let sqlsmith use the catalog tables too (drops --exclude-catalog)
#   MTRS_FUZZ_ALL_FUNCTIONS=1  show sqlsmith the whole pg_proc and pg_type (plain sqlsmith)
#   MTRS_FUZZ_TIMEOUT=SECONDS  stop sqlsmith after this long and count a hang (default 120 + QUERIES / 20)
#   MTRS_PG_CONFIG=PATH        run the cluster of this build instead of Debian's: after
#                              scripts/cassert.sh, /var/cache/mtrs-cassert/postgresql-15-cassert/bin/pg_config
#                              (assertions and memory checks; mtrs is installed there by cassert.sh)
set -Eeuo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$MTRS_ROOT"
mtrs_require_root

QUERIES=${1:-2000}
SEED=${2:-1}
OUT=${MTRS_FUZZ_OUT:-/tmp/mtrs-fuzz}
case $QUERIES$SEED in *[!0-9]*) echo "usage: $0 [QUERIES [SEED]]" >&2; exit 2 ;; esac

if [ "${MTRS_SKIP_APT:-0}" != 1 ]; then
  mtrs_log "installing sqlsmith"
  mtrs_apt_install sqlsmith postgresql-$PGV-cron
fi
command -v sqlsmith >/dev/null || { echo "error: sqlsmith is not installed" >&2; exit 1; }
if [ ! -f "$($PG_CONFIG --sharedir)/extension/mtrs.control" ]; then
  echo "error: mtrs is not installed into PostgreSQL $PGV (run scripts/test.sh or make install)" >&2
  exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT"

mtrs_log "starting a throw-away PostgreSQL $PGV cluster"
mtrs_cluster_start fuzz
# error codes and source locations in the log, the whole statement of a crashed
# backend, statements that outlive the timeout, and core files in the data directory
cat >> "$PGDATA/postgresql.conf" <<CONF
log_line_prefix = '%m [%p] %e %a: '
log_error_verbosity = verbose
log_min_duration_statement = 10000
track_activity_query_size = 1048576
track_functions = all
restart_after_crash = on
CONF
as_pg bash -c "ulimit -c unlimited 2>/dev/null; cd '$PGDATA' &&
  OPENBLAS_NUM_THREADS=1 $PGBIN/pg_ctl restart -m fast -w -t 60 -l '$MTRS_WORK/server.log'" >/dev/null
as_pg createdb fuzz

mtrs_log "loading the demo shop and training the fuzz models"
psql_pg -d fuzz -q -c 'CREATE EXTENSION mtrs' -f scripts/demo_data.sql
psql_pg -d fuzz -q >/dev/null <<'SQL'
SET client_min_messages = warning;

-- models: the demo's multi-task model with text, an intent-only model, a rating
-- model, one without events and times, a soft-sharing model registered from
-- bytes, and an inactive second version
SELECT mtrs_train('shop', 'shop_events', intents => 'shop_utterances',
                  items => 'shop_items', item_text_cols => ARRAY['title', 'title_zh', 'category'],
                  options => '{"iterations": 8, "text_epochs": 30, "dim": 16}');
SELECT mtrs_train('intents', intents => 'shop_utterances', options => '{"text_epochs": 20, "dim": 8}');
CREATE TABLE shop_ratings AS
SELECT user_id, item_id, 'rate'::text AS event, max(ts) AS ts, (1 + (user_id * 7 + item_id) % 5)::real AS rating
  FROM shop_events WHERE user_id % 3 = 0 AND event IN ('cart', 'purchase') GROUP BY 1, 2;
SELECT mtrs_train('ratings', 'shop_ratings', rating_col => 'rating', options => '{"iterations": 5, "dim": 8}');
CREATE TABLE shop_likes AS SELECT DISTINCT user_id, item_id FROM shop_events WHERE event = 'purchase';
SELECT mtrs_train('likes', 'shop_likes', options => '{"iterations": 5, "dim": 4}');
SELECT mtrs_register('soft', (SELECT mtrs_fit(user_id, item_id, event, ts,
                                   '{"sharing": "soft", "dim": 4, "head_dim": 2, "iterations": 3}'::jsonb)
                                FROM shop_events WHERE user_id < 100));
SELECT mtrs_train('shop', 'shop_events', options => '{"iterations": 2, "dim": 4}', activate => false);

-- small tables keep random joins fast (the models are trained); a few rows
-- newer than training are folded in
DELETE FROM shop_events WHERE user_id % 10 <> 0;
INSERT INTO shop_events VALUES (90001, 801, 'view', now()), (90001, 802, 'click', now()),
                               (42, 803, 'purchase', now()), (42, 99999, 'view', now());
CREATE INDEX ON shop_events (user_id, ts);
DELETE FROM shop_utterances WHERE ctid IN (SELECT ctid FROM shop_utterances ORDER BY text OFFSET 40);
DELETE FROM shop_items WHERE item_id % 3 = 0;

-- awkward argument values: sqlsmith takes arguments from the columns of the
-- tables in scope
CREATE TABLE fz_val (id int, uid bigint, iid bigint, k int, model text, task text, q text, w real,
                     ids bigint[], ctx text[], opts jsonb, b bytea, ts timestamptz, rel regclass,
                     col text, flag boolean);
INSERT INTO fz_val VALUES
 (1, 42, 101, 5, 'shop', 'ranking', 'a good camera', 0.5, '{101,103,105}', '{"I need a camera"}', '{}', NULL, now(), 'shop_events', 'user_id', true),
 (2, 90001, 801, 1, 'intents', 'purchase', '无反相机', 0, '{}', '{}', '{"iterations": 1, "dim": 2}', NULL, 'infinity', 'shop_utterances', 'text', false),
 (3, 0, 0, 0, 'ratings', 'rating', '', 1, NULL, NULL, NULL, '\x', '-infinity', 'shop_items', 'label', NULL),
 (4, -1, -1, -1, 'likes', 'click', ' ', -1, '{{101,102},{103,104}}', '{{a,b},{c,d}}', '[]', '\x00', 'epoch', 'shop_ratings', 'rating', true),
 (5, 9223372036854775807, 9223372036854775807, 2147483647, 'soft', 'cart', '!!! ??? ...', 'NaN', '{NULL,101,NULL}', '{NULL,""}', 'null', '\xdeadbeef', '2026-01-01', 'shop_likes', 'ts', false),
 (6, -9223372036854775808, -9223372036854775808, -2147483648, '', 'view', repeat('camera ', 5000), 'Infinity', '[5:7]={801,802,803}', '{"where is my order","what about the lens"}', '{"dim": 1, "iterations": 1, "text_epochs": 1}', NULL, NULL, 'fz_val', 'event', true),
 (7, 1, 99999, 100000, 'nope', 'interaction', E'\u0301\u200b\ufeff e\u0301 ', '-Infinity', '{9223372036854775807,-9223372036854775808,0}', ARRAY[repeat('x', 100000)], '{"sharing": "soft", "iterations": 1, "dim": 2}', NULL, now(), 'mtrs_model', 'item_id', NULL),
 (8, 300, 803, 2, NULL, '', '我想买一台相机，我的耳机订单到哪里了', 1e-45, '{801,801,801,801}', '{"a good camera","","a good camera"}', '{"reg": 0, "iterations": 1, "dim": 1}', NULL, '1970-01-01', 'mtrs_models', 'title', true),
 (9, 90002, 301, 3, 'SHOP', NULL, NULL, 2, array_fill(101::bigint, ARRAY[20000]), array_fill('camera'::text, ARRAY[2000]), '{"dim": "x"}', NULL, '2262-04-11', 'pg_class', 'nope', false),
 (10, 42, 102, 10, 'shop', 'bogus', E'tab\there\nnewline\\back', 3e38, '{}', NULL, '{"task_weights": {"purchase": -1, "view": 1e30}, "iterations": 1, "dim": 2}', NULL, now(), 'shop_events', 'event', true),
 (11, 120, 805, 7, repeat('m', 64), 'ranking', E'\U0001F600\U0001F4F7 camera', -0.0, '{1}', '{"camera"}', '{"buckets": 1, "word_ngrams": 4, "char_min": 1, "char_max": 1, "text_epochs": 1}', NULL, now(), 'shop_utterances', 'label', NULL),
 (12, 50, 104, 1, 'intents', 'rating', 'ÄÖÜ ß İstanbul ǅ ﬃ', 0.25, '{101}', '{}', '{"half_life_days": -1, "alpha": 1e308, "seed": -1, "iterations": 1, "dim": 1}', NULL, now(), 'shop_items', 'category', true),
 (13, 42, 801, 4, 'shop', 'purchase', 'where is my camera order', 0.75, '{801,802}', '{"buy a phone"}', '{"cold_items": "encoder", "intent_loss": "softmax", "max_pool": 1, "text_epochs": 2}', NULL, now(), 'shop_items', 'title_zh', false),
 (14, 7, 701, 20, 'ratings', 'rating', 'a', 0.5, '{701,702,703}', '{"x","y","z"}', '{"validation_fraction": 0.99, "text_epochs": 1, "per_intent_thresholds": 1, "balance": 10}', NULL, now(), 'shop_ratings', 'user_id', true),
 (15, 200, 201, 8, 'soft', 'ranking', 'phone', 0.9, '{201,202,203,204,205}', '{"phone"}', '{"sharing": "soft", "head_dim": 1024, "iterations": 1, "dim": 1}', NULL, now(), 'shop_events', 'ts', true);
-- model bytes: whole, truncated, a changed byte, the header only, a trailing byte
UPDATE fz_val SET b = (SELECT weights FROM mtrs_model WHERE name = 'shop' AND active) WHERE id IN (1, 13);
UPDATE fz_val SET b = (SELECT weights FROM mtrs_model WHERE name = 'intents') WHERE id = 2;
UPDATE fz_val SET b = (SELECT weights FROM mtrs_model WHERE name = 'ratings') WHERE id IN (12, 14);
UPDATE fz_val SET b = (SELECT weights FROM mtrs_model WHERE name = 'soft') WHERE id = 15;
UPDATE fz_val SET b = (SELECT weights FROM mtrs_model WHERE name = 'likes') WHERE id = 10;
UPDATE fz_val SET b = (SELECT substring(weights FROM 1 FOR length(weights) - 1) FROM mtrs_model WHERE name = 'likes') WHERE id = 6;
UPDATE fz_val SET b = (SELECT set_byte(weights, length(weights) / 2, 255 - get_byte(weights, length(weights) / 2))
                         FROM mtrs_model WHERE name = 'likes') WHERE id = 7;
UPDATE fz_val SET b = (SELECT substring(weights FROM 1 FOR 64) FROM mtrs_model WHERE name = 'shop' AND active) WHERE id = 8;
UPDATE fz_val SET b = (SELECT weights || '\x00'::bytea FROM mtrs_model WHERE name = 'likes') WHERE id = 9;
UPDATE fz_val SET b = (SELECT set_byte(weights, 20, 255) FROM mtrs_model WHERE name = 'shop' AND active) WHERE id = 11;

-- odd training sources: NULLs, reserved and empty events, infinite times,
-- extreme ids, no rows, a view, a partitioned table, int4 ids and dates,
-- array labels, one pair repeated, a dropped column
CREATE TABLE fz_odd (user_id bigint, item_id bigint, event text, ts timestamptz, rating real, text text, label text);
INSERT INTO fz_odd VALUES (1, 101, 'view', now(), 1, 'buy a phone', 'buy'), (1, NULL, 'view', now(), NULL, NULL, NULL),
 (NULL, 101, 'view', now(), 'NaN', 'x', ''), (2, 102, NULL, now(), 'Infinity', 'y', '#'),
 (3, 103, 'view', NULL, 5, '', 'a#b'), (4, 104, '', now(), 1, 'z', 'buy#'),
 (5, 105, 'ranking', now(), 1, 'w', 'return'),
 (9223372036854775807, -9223372036854775808, 'click', 'infinity', 1e30, 'v', 'buy'),
 (6, 106, 'click', '-infinity', -1e30, repeat('q ', 1000), 'return');
CREATE TABLE fz_empty (user_id bigint, item_id bigint, event text, ts timestamptz, text text, label text, title text);
CREATE VIEW fz_view AS SELECT user_id, item_id, event, ts FROM shop_events WHERE item_id % 2 = 0;
CREATE TABLE fz_part (user_id bigint, item_id bigint, event text, ts timestamptz) PARTITION BY HASH (user_id);
CREATE TABLE fz_part_0 PARTITION OF fz_part FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE fz_part_1 PARTITION OF fz_part FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO fz_part SELECT user_id, item_id, event, ts FROM shop_events WHERE user_id < 100;
CREATE TABLE fz_int4 (user_id int, item_id int, event varchar(10), ts date, rating numeric);
INSERT INTO fz_int4 SELECT user_id, item_id, event, ts::date, 3 FROM shop_events WHERE user_id < 60;
CREATE TABLE fz_labels_arr (text text, label text[], labels text[]);
INSERT INTO fz_labels_arr VALUES ('buy a phone', '{buy}', '{buy,return}'), ('return it', '{return,NULL}', '{}'),
 ('x', '{}', NULL), ('y', '{{a,b},{c,d}}', '{""}'), ('z', NULL, '{buy}'), ('where is it', '{track_order,buy}', '{a}');
CREATE TABLE fz_dup AS SELECT 1::bigint AS user_id, 101::bigint AS item_id, 'view'::text AS event, now() AS ts
  FROM generate_series(1, 3000);
ALTER TABLE fz_dup ADD COLUMN dropped int;
ALTER TABLE fz_dup DROP COLUMN dropped;
CREATE TABLE fz_utt (text text, label text);
INSERT INTO fz_utt VALUES ('buy a phone', 'buy'), ('return it', 'return#'), ('nothing', ''),
 ('two', 'buy#return'), (NULL, 'buy'), ('x', NULL), ('', 'buy'), ('many', '#'), ('ok', 'a#b#c#d');
ANALYZE;

-- the set-returning functions as scalar ones (their rows as one text)
CREATE SCHEMA fz;
CREATE FUNCTION fz.recommend(bigint, integer, text, text, boolean, bigint[], text, real, text[], real) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, score, rank), ',') FROM public.mtrs_recommend($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) $$;
CREATE FUNCTION fz.recommend_for(bigint[], integer, text, text, boolean, bigint[], text, real, text[], real) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, score, rank), ',') FROM public.mtrs_recommend_for($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) $$;
CREATE FUNCTION fz.recommend_batch(bigint[], integer, text, text, boolean) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', user_id, item_id, score, rank), ',') FROM public.mtrs_recommend_batch($1, $2, $3, $4, $5) $$;
CREATE FUNCTION fz.explain(bigint, bigint, integer, text, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, contribution, rank), ',') FROM public.mtrs_explain($1, $2, $3, $4, $5) $$;
CREATE FUNCTION fz.explain_for(bigint[], bigint, integer, text, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, contribution, rank), ',') FROM public.mtrs_explain_for($1, $2, $3, $4, $5) $$;
CREATE FUNCTION fz.similar_items(bigint, integer, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, score, rank), ',') FROM public.mtrs_similar_items($1, $2, $3) $$;
CREATE FUNCTION fz.similar_items_batch(bigint[], integer, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, similar_item_id, score, rank), ',') FROM public.mtrs_similar_items_batch($1, $2, $3) $$;
CREATE FUNCTION fz.item_vectors(bigint[], text, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', item_id, vector), ',') FROM public.mtrs_item_vectors($1, $2, $3) $$;
CREATE FUNCTION fz.user_vectors(bigint[], text, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', user_id, vector), ',') FROM public.mtrs_user_vectors($1, $2, $3) $$;
CREATE FUNCTION fz.intent(text, text, real, text[], real) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', intent, score), ',') FROM public.mtrs_intent($1, $2, $3, $4, $5) $$;
CREATE FUNCTION fz.intent_explain(text, text, integer, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', feature, kind, contribution, rank), ',') FROM public.mtrs_intent_explain($1, $2, $3, $4) $$;
CREATE FUNCTION fz.intent_predictions(text, regclass, text, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', utterance, gold, pred), ',') FROM public.mtrs_intent_predictions($1, $2, $3, $4) $$;
CREATE FUNCTION fz.intent_report(text, regclass, text, text) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', intent, support, predicted, correct, precision, recall, f1), ',') FROM public.mtrs_intent_report($1, $2, $3, $4) $$;
CREATE FUNCTION fz.intent_f1(regclass) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', intent, support, f1), ',') FROM public.mtrs_intent_f1($1) $$;
CREATE FUNCTION fz.evaluate(text, regclass, integer, text, text, text, text, text, text, boolean) RETURNS text
LANGUAGE sql AS $$ SELECT string_agg(concat_ws(':', task, metric, value), ',') FROM public.mtrs_evaluate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) $$;
CREATE FUNCTION fz.retrain(text, jsonb, real, real, jsonb, integer, integer) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN CALL public.mtrs_retrain($1, $2, $3, $4, $5, $6, $7); END $$;

-- the role sqlsmith runs as: no superuser; it may use the registry and the tables
CREATE ROLE fuzz LOGIN;
GRANT USAGE ON SCHEMA fz TO fuzz;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fuzz;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO fuzz;

-- what sqlsmith sees of pg_proc and pg_type (it reads both unqualified): the
-- mtrs functions and wrappers plus catalog functions that make awkward values,
-- none polymorphic (sqlsmith cannot resolve those: most such calls fail), and
-- the polymorphic pseudo-types as concrete types (it writes operator calls on
-- "cast(null as anyrange)" otherwise, which fail)
CREATE SCHEMA fuzzcat;
CREATE VIEW fuzzcat.pg_proc AS
SELECT p.* FROM pg_catalog.pg_proc p
 WHERE p.prokind IN ('f', 'a')
   AND NOT EXISTS (SELECT FROM unnest(p.proargtypes::oid[] || p.prorettype) a(t)
                     JOIN pg_catalog.pg_type y ON y.oid = a.t
                    WHERE y.typtype = 'p' AND y.typname LIKE 'any_%')
   AND (p.pronamespace IN ('public'::regnamespace, 'fz'::regnamespace)
        OR (p.pronamespace = 'pg_catalog'::regnamespace AND p.proname IN (
   'length', 'substr', 'substring', 'repeat', 'concat', 'concat_ws', 'lower', 'upper', 'initcap',
   'reverse', 'left', 'right', 'lpad', 'rpad', 'btrim', 'replace', 'translate', 'md5', 'chr',
   'split_part', 'regexp_replace', 'convert_from', 'convert_to', 'encode', 'decode', 'array_to_string',
   'set_byte', 'set_bit', 'get_byte', 'overlay', 'sha256', 'int8send', 'float4send', 'textsend',
   'abs', 'sqrt', 'power', 'float4', 'float8', 'int4', 'int8', 'mod', 'trunc', 'round', 'exp', 'ln',
   'string_to_array', 'regexp_split_to_array', 'array_length', 'cardinality',
   'jsonb_build_object', 'jsonb_set', 'to_jsonb', 'jsonb_object', 'jsonb_strip_nulls', 'jsonb_insert',
   'to_timestamp', 'now', 'to_regclass', 'quote_ident',
   'count', 'sum', 'max', 'min', 'avg', 'string_agg', 'jsonb_agg', 'jsonb_object_agg', 'bool_and')));
CREATE VIEW fuzzcat.pg_type AS
SELECT t.oid, t.typnamespace, t.typdelim, t.typrelid, t.typelem, t.typarray,
       coalesce(m.concrete, t.typname) AS typname,
       CASE WHEN m.concrete IS NULL THEN t.typtype ELSE 'b' END AS typtype
  FROM pg_catalog.pg_type t
  LEFT JOIN (VALUES ('anyelement', 'int8'), ('anynonarray', 'text'), ('anyenum', 'text'),
                    ('anyrange', 'int8range'), ('anymultirange', 'int8multirange'),
                    ('anycompatible', 'int8'), ('anycompatiblearray', '_int8'),
                    ('anycompatiblenonarray', 'int8'), ('anycompatiblerange', 'int8range'),
                    ('anycompatiblemultirange', 'int8multirange')) m(poly, concrete)
    ON t.typnamespace = 'pg_catalog'::regnamespace AND t.typname = m.poly::name;
GRANT USAGE ON SCHEMA fuzzcat TO fuzz;
GRANT SELECT ON fuzzcat.pg_proc, fuzzcat.pg_type TO fuzz;
ALTER ROLE fuzz SET search_path = fuzzcat, public, pg_catalog;
ALTER DATABASE fuzz SET statement_timeout = '2s';
ALTER DATABASE fuzz SET mtrs.default_model = 'shop';
SQL
if [ "${MTRS_FUZZ_ALL_FUNCTIONS:-0}" = 1 ]; then
  psql_pg -d fuzz -q -c 'ALTER ROLE fuzz RESET search_path'
fi

SMITH_ARGS=(--target="host=$PGHOST port=$PGPORT dbname=fuzz user=fuzz" --seed="$SEED"
            --max-queries="$QUERIES" --verbose --dump-all-queries)
[ "${MTRS_FUZZ_CATALOG:-0}" = 1 ] || SMITH_ARGS+=(--exclude-catalog)
mtrs_log "running sqlsmith: $QUERIES queries, seed $SEED (queries in $OUT/queries.sql)"
LOG=$MTRS_WORK/server.log
log_start=$(( $(wc -l < "$LOG") + 1 ))
t0=$(date +%s)
rc=0
# a statement that never returns would stall sqlsmith: give up after a generous time
limit=${MTRS_FUZZ_TIMEOUT:-$(( 120 + QUERIES / 20 ))}
timeout "$limit" sqlsmith "${SMITH_ARGS[@]}" > "$OUT/queries.sql" 2> "$OUT/sqlsmith.log" || rc=$?
secs=$(( $(date +%s) - t0 ))
stalled=0
if [ "$rc" -eq 124 ]; then
  stalled=1
  mtrs_log "sqlsmith did not finish within $limit s; statements running then:"
  as_pg psql -X -d fuzz -Atc "SELECT pid, now() - query_start, left(query, 2000) FROM pg_stat_activity
                              WHERE usename = 'fuzz' AND state = 'active'" | tee "$OUT/stalled.txt" || true
elif [ "$rc" -ne 0 ]; then
  tail -5 "$OUT/sqlsmith.log" >&2
  echo "error: sqlsmith exited with $rc" >&2
  exit 1
fi
grep -E '^(queries|error rate):' "$OUT/sqlsmith.log" | tail -2 || true

# the server may still be recovering from a crash near the end
for _ in $(seq 60); do as_pg $PGBIN/pg_isready -q && break; sleep 1; done
tail -n +"$log_start" "$LOG" > "$OUT/server.log"

# one reproducer per crashed backend: the statement its DETAIL line names
crash_re='server process \(PID [0-9]+\) (was terminated by|exited with exit code)|PANIC:|TRAP:|terminating any other active server processes'
crashes=$(grep -acE 'server process \(PID [0-9]+\) (was terminated by|exited with exit code)' "$OUT/server.log" || true)
panics=$(grep -acE '(PANIC|TRAP):' "$OUT/server.log" || true)
awk -v out="$OUT" '
  /Failed process was running: / { n++; f = sprintf("%s/crash-%d.sql", out, n);
                                     sub(/.*Failed process was running: /, ""); print > f; inq = 1; next }
  inq && /^\t/ { sub(/^\t/, ""); print > f; next }
  { if (inq) { print ";" > f; close(f) } inq = 0 }
  END { if (inq) { print ";" > f; close(f) } }' "$OUT/server.log"

# XX000 errors raised in mtrs code (the LOCATION line names an mtrs_*.c file)
awk '
  /\] XX000 [^ ]*: ERROR: / { err = $0; show = 0; next }
  /\] XX000 [^ ]*: LOCATION: / { if (err != "" && $0 ~ /mtrs[_a-z]*\.c:/) { print err; print; show = 1 }
                                  err = ""; next }
  /\] XX000 [^ ]*: STATEMENT: / { if (show) { print; stmt = 1 } next }
  stmt && /^\t/ { print; next }
  { if (stmt) print "--"; stmt = 0; if (!/\] XX000 /) show = 0 }' \
  "$OUT/server.log" > "$OUT/internal-errors.txt"
internal=$(grep -ac 'ERROR:' "$OUT/internal-errors.txt" || true)

# an assert-enabled build's memory checks and PostgreSQL's resource leak warnings,
# while the models were trained too
grep -aE "$MTRS_MEMORY_WARNINGS" "$LOG" > "$OUT/memory-warnings.txt" || true
memory=$(grep -ac . "$OUT/memory-warnings.txt" || true)

# statements that ran 10 s or longer although sqlsmith sets statement_timeout = 1s
grep -aE 'duration: [0-9]+\.[0-9]+ ms' "$OUT/server.log" > "$OUT/hangs.txt" || true
hangs=$(( $(grep -ac . "$OUT/hangs.txt" || true) + stalled ))

# crashes: show them, run each statement again in a fresh session, take backtraces
if [ "$crashes" -gt 0 ] || [ "$panics" -gt 0 ]; then
  mtrs_log "the server crashed"
  grep -aE "$crash_re" "$OUT/server.log" | head -20
  for f in "$OUT"/crash-*.sql; do
    [ -f "$f" ] || continue
    echo "---- $f"
    head -c 4000 "$f"; echo
    before=$(wc -l < "$LOG")
    as_pg psql -X -q -d fuzz -U fuzz -c 'BEGIN' -f "$f" -c 'ROLLBACK' >/dev/null 2>&1 || true
    for _ in $(seq 60); do as_pg $PGBIN/pg_isready -q && break; sleep 1; done
    if tail -n +"$((before + 1))" "$LOG" | grep -aqE 'server process \(PID [0-9]+\) (was terminated by|exited with exit code)'; then
      echo "     reproduces in a fresh session: yes"
    else
      echo "     reproduces in a fresh session: no (depends on what ran before in that session)"
    fi
  done
  if command -v gdb >/dev/null; then
    n=0
    for core in "$PGDATA"/core*; do
      [ -f "$core" ] || continue
      n=$((n + 1))
      gdb -batch -q -ex 'bt' "$PGBIN/postgres" "$core" > "$OUT/backtrace-$n.txt" 2>&1 || true
      echo "---- backtrace from $core ($OUT/backtrace-$n.txt)"
      grep -E '^#' "$OUT/backtrace-$n.txt" | awk '!seen[$0]++' | head -25
    done
  fi
fi
if [ "$internal" -gt 0 ]; then
  mtrs_log "errors without a proper SQLSTATE (XX000 from mtrs code)"
  head -60 "$OUT/internal-errors.txt"
fi
if [ "$memory" -gt 0 ]; then
  mtrs_log "memory and resource warnings"
  head -20 "$OUT/memory-warnings.txt"
fi
if [ "$hangs" -gt 0 ]; then
  mtrs_log "statements that outlived statement_timeout (10 s or more)"
  cut -c1-400 "$OUT/hangs.txt" | head -20
fi
cp "$LOG" "$OUT/server-full.log"

[ "$crashes" -gt 0 ] || [ "$panics" -eq 0 ] || crashes=1
echo "sqlsmith: $QUERIES queries, $crashes crashes, $memory memory warnings, $internal internal errors, $hangs hangs (seed $SEED, $secs s; details in $OUT)"
[ "$crashes" -eq 0 ] && [ "$memory" -eq 0 ] && [ "$internal" -eq 0 ] && [ "$hangs" -eq 0 ]
