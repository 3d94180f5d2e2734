-- scripts/demo_data.sql -- a small generated shop for the demo (deterministic).
--
--   shop_items(item_id, category, title, title_zh)      120 items in 8 categories
--   shop_events(user_id, item_id, event, ts)             ~18,000 view/click/cart/purchase events
--   shop_utterances(text, label)                         labelled utterances, English and Chinese;
--                                                        several intents are joined by '#'
--
-- Structure planted in the events: every user has a favourite category and a
-- second one that they move to in their most recent weeks; clicks follow views
-- (more often for appealing items in the user's current category), carts follow
-- clicks and purchases follow carts (more often for the users who like buying).
SELECT setseed(0.42) \g /dev/null

CREATE TABLE shop_items (
	item_id  bigint PRIMARY KEY,
	category text NOT NULL,
	title    text NOT NULL,
	title_zh text NOT NULL
);

INSERT INTO shop_items
SELECT c.n * 100 + i AS item_id, c.name,
       format('%s %s %s', (ARRAY['Aurora','Nimbus','Vertex','Solace','Kite','Orbit','Lumen','Pico',
                                 'Atlas','Zephyr','Nova','Quill','Ember','Tundra','Cobalt'])[i], c.name, c.noun),
       format('%s%s', (ARRAY['极光','云朵','顶点','安宁','风筝','轨道','流明','微光',
                             '阿特拉斯','和风','新星','羽毛','余烬','苔原','钴蓝'])[i], c.zh)
  FROM (VALUES (1, 'laptop', 'notebook computer', '笔记本电脑'),
               (2, 'phone', 'smartphone', '智能手机'),
               (3, 'bag', 'laptop backpack', '电脑背包'),
               (4, 'headphones', 'wireless headphones', '无线耳机'),
               (5, 'book', 'paperback novel', '平装小说'),
               (6, 'kitchen', 'coffee grinder', '咖啡磨豆机'),
               (7, 'shoes', 'running shoes', '跑步鞋'),
               (8, 'camera', 'mirrorless camera', '无反相机')) AS c(n, name, noun, zh),
       generate_series(1, 15) AS i;

CREATE TABLE shop_events (
	user_id bigint NOT NULL,
	item_id bigint NOT NULL,
	event   text NOT NULL,
	ts      timestamptz NOT NULL
);

-- every user has a favourite category and a second one, drawn independently
-- (so two categories share users only by chance), and a taste for buying
CREATE TEMP TABLE demo_users AS
SELECT u AS user_id, fav, 1 + (fav + floor(random() * 7)::int) % 8 AS second,
       random() < 0.3 AS buyer
  FROM (SELECT u, floor(random() * 8)::int AS fav FROM generate_series(1, 300) AS u) AS d;

-- every item has an appeal: shoppers who look at it click it more often
CREATE TEMP TABLE demo_appeal AS
SELECT item_id, random() AS appeal FROM shop_items ORDER BY item_id;

-- views: 80 % in the user's current category (the favourite first, the
-- second one during the last quarter of their history), 20 % anywhere
CREATE TEMP TABLE demo_views AS
SELECT v.user_id, v.item_id, v.ts, (v.item_id / 100 = v.current_cat) AS in_taste
  FROM (SELECT d.user_id,
               CASE WHEN s > 30 THEN d.second ELSE 1 + d.fav END AS current_cat,
               CASE WHEN random() < 0.8
                    THEN (CASE WHEN s > 30 THEN d.second ELSE 1 + d.fav END) * 100
                         + 1 + floor(random() * 15)::int
                    ELSE (1 + floor(random() * 8)::int) * 100 + 1 + floor(random() * 15)::int
               END AS item_id,
               timestamptz '2026-09-01' + (d.user_id * 13 % 60) * interval '1 hour'
                                        + s * interval '1 day' AS ts
          FROM demo_users d, generate_series(1, 40) AS s
         ORDER BY d.user_id, s) AS v;

-- clicks follow views of appealing items in the user's current category,
-- carts follow clicks, purchases follow carts of the users who like buying;
-- the events of one visit share its time, so a split by time keeps visits whole
INSERT INTO shop_events SELECT user_id, item_id, 'view', ts FROM demo_views;
CREATE TEMP TABLE demo_clicks AS
SELECT v.user_id, v.item_id, v.ts
  FROM demo_views v JOIN demo_appeal a USING (item_id)
 WHERE random() < CASE WHEN v.in_taste THEN 0.05 + 0.8 * a.appeal ELSE 0.05 END
 ORDER BY v.user_id, v.ts;
INSERT INTO shop_events SELECT user_id, item_id, 'click', ts FROM demo_clicks;
CREATE TEMP TABLE demo_carts AS
SELECT c.user_id, c.item_id, c.ts
  FROM demo_clicks c JOIN demo_users d USING (user_id)
 WHERE random() < CASE WHEN d.buyer THEN 0.5 ELSE 0.15 END
 ORDER BY c.user_id, c.ts;
INSERT INTO shop_events SELECT user_id, item_id, 'cart', ts FROM demo_carts;
INSERT INTO shop_events SELECT c.user_id, c.item_id, 'purchase', c.ts
  FROM demo_carts c JOIN demo_users d USING (user_id)
 WHERE random() < CASE WHEN d.buyer THEN 0.7 ELSE 0.3 END
 ORDER BY c.user_id, c.ts;
CREATE INDEX ON shop_events (user_id, ts);	-- serving checks a user's rows newer than training

CREATE TABLE shop_utterances (
	text  text NOT NULL,
	label text NOT NULL
);

INSERT INTO shop_utterances
SELECT format(t.pattern, p.thing), t.label
  FROM (VALUES ('I want to buy a %s', 'buy'),
               ('do you have a good %s for me', 'buy'),
               ('looking for a cheap %s', 'buy'),
               ('how do I return my %s', 'return'),
               ('my %s arrived broken, I want a refund', 'return'),
               ('where is my %s order', 'track_order'),
               ('when will the %s be delivered', 'track_order'),
               ('I want a %s, and how do I return my old one?', 'buy#return'),
               ('track my %s order and find me a new one', 'buy#track_order')) AS t(pattern, label),
       (VALUES ('laptop'), ('phone'), ('backpack'), ('headphones'), ('novel'),
               ('coffee grinder'), ('pair of running shoes'), ('camera')) AS p(thing)
UNION ALL
SELECT format(t.pattern, p.thing), t.label
  FROM (VALUES ('我想买一台%s', 'buy'),
               ('有没有便宜的%s', 'buy'),
               ('我的%s怎么退货', 'return'),
               ('%s坏了，我要退款', 'return'),
               ('我的%s订单到哪里了', 'track_order'),
               ('%s什么时候送到', 'track_order'),
               ('我想买%s，旧的怎么退货？', 'buy#return'),
               ('帮我查一下%s订单，再推荐一个新的', 'buy#track_order')) AS t(pattern, label),
       (VALUES ('电脑'), ('手机'), ('背包'), ('耳机'), ('小说'), ('咖啡磨豆机'), ('跑步鞋'), ('相机')) AS p(thing)
UNION ALL
SELECT x, 'smalltalk'
  FROM unnest(ARRAY['hello there', 'thanks a lot', 'what is the weather like', '你好', '谢谢你', '今天天气怎么样']) AS x;

ANALYZE shop_items;
ANALYZE shop_events;
ANALYZE shop_utterances;
