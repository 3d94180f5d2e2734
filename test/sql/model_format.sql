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
SELECT mtrs_model_describe(set_byte(w, 4, 4)) FROM fmt_model;
SELECT mtrs_model_describe(set_byte(w, 12, 200)) FROM fmt_model;
SELECT mtrs_model_describe(substring(w from 1 for length(w) - 1)) FROM fmt_model;
SELECT mtrs_model_describe(substring(w from 1 for 200)) FROM fmt_model;
SELECT mtrs_model_describe(w || '\x00'::bytea) FROM fmt_model;
SELECT mtrs_model_describe(set_bit(w, 8 * 300 + 3, 1 - get_bit(w, 8 * 300 + 3))) FROM fmt_model;
-- the registry refuses damaged bytes too, and stores nothing
SELECT mtrs_register('damaged', substring(w from 1 for length(w) - 8)) FROM fmt_model;
SELECT count(*) AS stored FROM mtrs_model;
-- a format 1 text model (written before vocabularies, with a row for every one of its 64
-- buckets) is still read and serves what it served then: an intent model trained by mtrs
-- 0.1.0 at commit 061b6e0 on 12 utterances ("play some music" ... "rain tomorrow") with
-- {"buckets": 64, "dim": 4, "text_epochs": 40, "char_max": 0, "word_ngrams": 1}; that build
-- answered music 1.000, weather 0.991, music 0.894, music 0.717 below
SELECT mtrs_register('old_v1', '\x4d5452530100060000000000040000000400000000000000000000000000000002000000400000000e000000000000001a0100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000006d75736963007765617468657200000020a59cbc50cbacbde27411be7e3c04be205fb73f359decbe872ed0bf63dcf8bebc4a19bee0bdf53d480af4bdb0ea4d3e8c0096be6939713ee412473f13e8c13ef0dcc4bd529103bed46bcd3d00a243ba652ab93f949332bf066b09c04f0dd5bec0ee60bd7093683d608833bde892203ea087393c3af3663eb2fe1e3ea8b97abeb0edb4bc802d12bcac739fbd646a5dbe7cfb6b3e2c001fbea2c4183ef6e3303e4028d33b384d66bd7c48ddbdd0afe33cf40cab3d4aba35be00b0c23a2c9d183e749786bf40d7293f4d1db53f30a8163f5a15283ebcc93f3ee07f443c00f91b3d3abd28be10ed2cbed8b5203d88642f3d0e52023e7c6120bedc40ee3da0d703bca5042ebf7283803e6c1d883fb358543d48dfc5bd40942e3c1cedfebd8099333d1aae263e50014fbe8039fabbb4a3273e6cc31f3ebce2023ed0fd323e700257be73192fbf9750843e79fb513f4a90323e9081bebd0023b93d7adf62be9863f7bdbc6bc3bdfe4773be84b81abe5aed6c3e347f193e98bb8ebd88d915bef064193da0b3403d30f6a73cc013a7bdfc35b5bd86e122be4002abbb40c7503ec4fce03d104ecbbce0af283e206f5abc9ed8393e4014ab3d882ea5bd5ca9453ed0753dbd62174a3e0cc1d4bd009670bd74b6d3bdff9bfa3e565447bec17320bf515d8abd58364dbe7ee4303ea0e3cc3d847183bd43fd30bfb29aff3dd155183f279a0b3ec5d4883fa7478abe750ea6bf9994a1bec0adda3ccac853be38f3f3bd86d836be5a2a383e00c061b9f2777e3e600b723e08f368befe6769bea6875a3e88d9e1bd9849023e94187abe6094983cec945dbee07bf6be9fbb9e3e4306293f6fe9a83e68002abe70e74f3e581f4cbe7c9809beb2bb6bbe08635bbeb8d9213e6c4def3dd04bb83d2c39eebd5eb20cbea48610bea09dd1bfb069473ffa9200402532423f7c44063e86a8283eac3596bdf89608bdc1e8bbbec552b13eab26933e9a5e493e40ee24bcb8c513bef428b9bdac7ddb3d9057483dc672693e2c0bf33d48ed293e302a663dea57433e6c28053e008df83c9329dd3e8209f3bee3c342bfd263a9bee0f244beecc3f9bd7075acbca0fc24beca11763e26313ebe1031debdec5f013e897e653f06b68cbd56af87bf7f10cbbec8931b3ea8eb08bdaac61c3ee0f5f6bdc1f9ab3e4b4386bec31548bf8893d2bc3dea0e3f94e2b2be297c54bf3838aebee0d318bdd664073ece6a5e3ee823683dc0c4463c7cb20f3e7c1e66be3e2227be384dda3d02a23d3e8aa16abe08330abdf2684b3ec81fe7bd505c153d3ad5183e3885ffbc557f113d3f540abebb3119bec2496abe6013f4bc5a3d44be26b6463e1e6814be00d44e3be453bc3d30c0443d484d483df075be3cd07ee8bce83b2b3d202b98bf1511ce3ec16d983fa0b61b3fb01b96bc602f4f3d6c01d9bd409ec0bc829b204082998abfed294fc0c76c80bf829b20c082998a3fed294f40c86c803f881fe83cd81fe8bc000000000000000000000000000000000000000000000000000000000000003f0000803f0000000000000000000000000000803f000000000000803f0000803ff6675cd7684194b0'::bytea) > 0 AS registered;
-- a format 2 text model (a vocabulary, no item space weights) is still read and serves
-- what it served then: an intent model trained at commit 14d8092 on 8 utterances
-- ("play some music" ... "how cold is it outside") with {"buckets": 64, "dim": 4,
-- "text_epochs": 40, "char_max": 0, "word_ngrams": 1}; that build answered music 0.999,
-- weather 0.978, music 0.840, weather 0.606 below
SELECT mtrs_register('old_v2', '\x4d5452530200060001000000040000000400000000000000000000000000000002000000400000000e00000000000000560000000000000000000000000000000f00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000006d7573696300776561746865720000000100000003000000050000000c00000010000000140000002000000025000000290000002b0000003100000032000000350000003a0000003e0000000000000088b362bf2a354f3f577b24bfaa39493fed74483f80cf13bf78dbe93e16d32cbf6f98cdbf13f0cd3f6c2173bf4942d93f81c05c3f9b922cbf66d0f53ec98405bf5594ed3da5cbafbed4265d3ea2935abe54a9fa3ef4a914bff642ab3d7f93c4be309463bfd5ff673f028303bf2a52823f42fedabd1db1ab3e7d45a83dee84debdc592c63fafeed1bf9400543f1804f0bf065b083ff5a7eabea123a53e092e1abea38e073fb6b219bfa4f8493e9a6007bf69b1e7be8d85c83e24d39ebe441e373fa18224bfe819513fce0b1ebe989d463f23e6723e84dd953d3edb6c3d032f7fbd2915293f8a0e82bf4193043f524c56bf91f607c07c390c409c099abfe6d20f4093f607407d390cc09c099a3fe3d20fc0bff4dbbeb7f4db3e000000000000000000000000000000000000000000000000000000000000003f0000803f0000000000000000000000000000803f000000000000803f0000803fd9c13542e6dd5064'::bytea) > 0 AS registered;
-- both old models, side by side
SELECT name, format->>'format_version' AS version, format->>'n_buckets' AS buckets,
       format->>'n_vocab' AS token_rows, format->>'item_space_weights' AS item_space_weights
  FROM mtrs_model WHERE name IN ('old_v1', 'old_v2') ORDER BY name;
SELECT m AS model, t AS utterance, i.intent, round(i.score::numeric, 3) AS score
  FROM unnest(ARRAY['old_v1', 'old_v2']) m,
       unnest(ARRAY['play music now', 'rain today', 'a song please', 'xyzzy']) WITH ORDINALITY AS u(t, k),
       mtrs_intent(t, model => m) i
 ORDER BY m, k;
SELECT mtrs_drop_model(m) AS dropped FROM unnest(ARRAY['old_v1', 'old_v2']) m;
DROP EXTENSION mtrs;
DROP TABLE fmt_events, fmt_model;
