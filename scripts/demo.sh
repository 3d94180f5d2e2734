#!/usr/bin/env bash
# scripts/demo.sh -- set up everything and run the main job on the bundled shop.
#
# On a fresh Debian 12 machine, as root:   bash scripts/demo.sh
# Installs the Debian packages (skip with MTRS_SKIP_APT=1), builds and installs
# mtrs, starts a throw-away PostgreSQL 15 cluster, loads the generated shop
# (scripts/demo_data.sql), trains one multi-task model with mtrs_train (progress
# per iteration) with an intent head from the utterances, shows recommendations,
# per-task predictions, real-time fold-in of a new visitor, the intents of new
# English and Chinese sentences, similar items, a guarded retrain, a pg_cron
# schedule and an SVG training report (mtrs-demo-report.svg), and stops and
# removes the cluster (also on failure or Ctrl-C).
set -Eeuo pipefail
source "$(dirname "$0")/lib.sh"
cd "$MTRS_ROOT"

mtrs_setup
mtrs_log "starting a throw-away PostgreSQL $PGV cluster"
mtrs_cluster_start mtrs_demo
as_pg createdb mtrs_demo
export PGDATABASE=mtrs_demo
demo_sql() { psql_pg -d mtrs_demo -q "$@"; }

mtrs_log "loading the generated shop (items, events, utterances)"
demo_sql -c 'CREATE EXTENSION mtrs' -f scripts/demo_data.sql
demo_sql -c "SELECT event, count(*) AS events FROM shop_events GROUP BY event ORDER BY count(*) DESC"

mtrs_log "training one multi-task model over shop_events, shop_utterances and shop_items (mtrs_train)"
demo_sql <<'SQL'
\timing on
SELECT mtrs_train('shop', 'shop_events', intents => 'shop_utterances',
                  items => 'shop_items', item_text_cols => ARRAY['title', 'title_zh', 'category'],
                  options => '{"iterations": 8, "text_epochs": 30}') AS model_id;
\timing off
SELECT name, version, active, tasks, intents, n_users, n_items, pg_size_pretty(size_bytes) AS size
  FROM mtrs_model;
SQL

mtrs_log "user 42: what they did, and what mtrs recommends"
demo_sql <<'SQL'
SELECT c.category, count(*) AS events_of_user_42,
       count(*) FILTER (WHERE e.ts > timestamptz '2026-10-01') AS since_october
  FROM shop_events e JOIN shop_items c USING (item_id)
 WHERE e.user_id = 42 GROUP BY c.category ORDER BY 2 DESC LIMIT 3;
SELECT r.rank, c.title, c.category, round(r.score::numeric, 3) AS score,
       round(mtrs_predict(42, r.item_id, task => 'purchase')::numeric, 3) AS p_purchase
  FROM mtrs_recommend(42, 5) r JOIN shop_items c USING (item_id)
 ORDER BY r.rank;
SQL

mtrs_log "why user 42 gets their top item: the items of their history that add the most"
demo_sql <<'SQL'
SELECT e.rank, c.title, c.category, round(e.contribution::numeric, 3) AS contribution
  FROM mtrs_explain(42, (SELECT item_id FROM mtrs_recommend(42, 1)), 3) e
  JOIN shop_items c USING (item_id)
 ORDER BY e.rank;
SQL

mtrs_log "the purchase head ranks a business-filtered candidate list (cameras only)"
demo_sql <<'SQL'
SELECT r.rank, c.title, round(r.score::numeric, 3) AS p_purchase
  FROM mtrs_recommend(42, 3, task => 'purchase',
                      candidates => ARRAY(SELECT item_id FROM shop_items WHERE category = 'camera')) r
  JOIN shop_items c USING (item_id)
 ORDER BY r.rank;
SQL

mtrs_log "a new visitor (user 90001) views two cameras (801, 802): served at once, no retraining"
demo_sql <<'SQL'
INSERT INTO shop_events VALUES (90001, 801, 'view', now()), (90001, 802, 'view', now());
SELECT r.rank, c.title, c.category, round(r.score::numeric, 3) AS score
  FROM mtrs_recommend(90001, 5) r JOIN shop_items c USING (item_id)
 ORDER BY r.rank;
SQL

mtrs_log "user 42 types 'a good camera': the query is blended with their taste"
demo_sql <<'SQL'
SELECT r.rank, c.title, c.category, round(r.score::numeric, 3) AS score
  FROM mtrs_recommend(42, 5, query => 'a good camera') r JOIN shop_items c USING (item_id)
 ORDER BY r.rank;
SQL
mtrs_log "a new visitor types '无反相机' (mirrorless camera): the query alone ranks the catalog"
demo_sql <<'SQL'
SELECT r.rank, c.title_zh, c.title, round(r.score::numeric, 3) AS score
  FROM mtrs_recommend_for(ARRAY[]::bigint[], 3, query => '无反相机') r JOIN shop_items c USING (item_id)
 ORDER BY r.rank;
SQL

mtrs_log "what shoppers mean: intents of new sentences, English and Chinese"
demo_sql <<'SQL'
SELECT u.utterance, coalesce(string_agg(i.intent || ' ' || round(i.score::numeric, 2), ', '
                                        ORDER BY i.score DESC), '(none)') AS intents
  FROM unnest(ARRAY['I would like to buy new headphones',
                    'my camera arrived broken, how do I return it?',
                    'I need a new phone, and where is my camera order?',
                    '我想买一台相机', '我想买一台相机，我的耳机订单到哪里了']) WITH ORDINALITY AS u(utterance, n)
  LEFT JOIN LATERAL mtrs_intent(u.utterance) i ON true
 GROUP BY u.utterance, u.n ORDER BY u.n;
SQL

mtrs_log "why the third sentence is track_order: the features that add the most to its logit"
demo_sql <<'SQL'
SELECT e.rank, e.feature, e.kind, round(e.contribution::numeric, 2) AS contribution
  FROM mtrs_intent_explain('I need a new phone, and where is my camera order?', 'track_order', 3) e;
SQL

mtrs_log "items similar to '$(demo_sql -Atc "SELECT title FROM shop_items WHERE item_id = 301")'"
demo_sql <<'SQL'
SELECT s.rank, c.title, c.title_zh, round(s.score::numeric, 3) AS cosine
  FROM mtrs_similar_items(301, 5) s JOIN shop_items c USING (item_id)
 ORDER BY s.rank;
SQL

mtrs_log "a report: every shopper's top 3 in one call (mtrs_recommend_batch), by category"
demo_sql <<'SQL'
CREATE TABLE shop_recs AS SELECT * FROM mtrs_recommend_batch(k => 3);
SELECT c.category, count(*) AS recommended, count(DISTINCT r.user_id) AS shoppers
  FROM shop_recs r JOIN shop_items c USING (item_id)
 GROUP BY c.category ORDER BY recommended DESC, c.category;
SQL

mtrs_log "lifecycle: a worse recipe is refused, a retrain of the current recipe is activated"
demo_sql <<'SQL'
SET client_min_messages = notice;
CALL mtrs_retrain('shop', options => '{"dim": 2}');   -- the other options: the active version's
CALL mtrs_retrain('shop');
SELECT name, version, active, size, headline_metrics FROM mtrs_models ORDER BY version;
SQL

mtrs_log "a quick refresh that starts from the active version (warm_start: 5 iterations)"
demo_sql <<'SQL'
\timing on
SELECT mtrs_train('shop', 'shop_events', intents => 'shop_utterances',
                  items => 'shop_items', item_text_cols => ARRAY['title', 'title_zh', 'category'],
                  options => '{"text_epochs": 30, "warm_start": true, "progress": false}') AS model_id;
\timing off
SELECT version, active, source->>'iterations' AS iterations,
       source->'warm_start'->>'version' AS started_from, source->'warm_start'->>'users' AS users_in_common
  FROM mtrs_model WHERE name = 'shop' ORDER BY version;
SQL

mtrs_log "nightly retraining with pg_cron (scheduled, listed, unscheduled again)"
demo_sql <<'SQL'
CREATE EXTENSION pg_cron;
SELECT cron.schedule('retrain-shop', '0 3 * * *',
                     $$SET mtrs.training_threads = 2; CALL mtrs_retrain('shop')$$) AS job;
SELECT jobname, schedule, command FROM cron.job;
SELECT cron.unschedule('retrain-shop');
SQL

REPORT=${MTRS_REPORT:-$MTRS_ROOT/mtrs-demo-report.svg}
demo_sql -Atc "SELECT mtrs_report('shop')" > "$REPORT"
mtrs_log "training report written to $REPORT (open it in a browser)"

mtrs_log "done; stopping and removing the cluster"
