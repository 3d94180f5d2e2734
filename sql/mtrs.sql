/*
 * mtrs.sql -- install script of the mtrs extension (copied to
 * mtrs--<version>.sql by make).  Objects carry the mtrs_ prefix and live in
 * the schema the extension is created in.
 */
\echo Use "CREATE EXTENSION mtrs" to load this file. \quit

/* ------------------------------------------------------------------ registry */

CREATE TABLE @extschema@.mtrs_model (
	id            bigserial PRIMARY KEY,
	name          text NOT NULL
	              /* bytes, as mtrs_check_name and serving count: a name PostgreSQL would cut */
	              CHECK (octet_length(name) BETWEEN 1 AND 63 AND name !~ '[[:space:][:cntrl:]]'),
	version       integer NOT NULL CHECK (version > 0),
	created_at    timestamptz NOT NULL DEFAULT now(),
	active        boolean NOT NULL DEFAULT false,
	options       jsonb NOT NULL DEFAULT '{}',
	source        jsonb NOT NULL DEFAULT '{}',
	metrics       jsonb NOT NULL DEFAULT '{}',
	training_log  jsonb NOT NULL DEFAULT '[]',
	format        jsonb NOT NULL,
	tasks         text[] NOT NULL DEFAULT '{}',
	intents       text[] NOT NULL DEFAULT '{}',
	n_users       integer NOT NULL,
	n_items       integer NOT NULL,
	n_params      bigint NOT NULL,
	size_bytes    bigint NOT NULL,
	weights       bytea NOT NULL,
	UNIQUE (name, version)
);
ALTER TABLE @extschema@.mtrs_model ALTER COLUMN weights SET STORAGE EXTERNAL;
/* at most one active version per name, enforced by the database */
CREATE UNIQUE INDEX mtrs_model_active_name ON @extschema@.mtrs_model (name) WHERE active;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mtrs_model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mtrs_model_id_seq', '');

COMMENT ON TABLE @extschema@.mtrs_model IS
	'mtrs model registry: one row per model version; at most one active version per name';
COMMENT ON COLUMN @extschema@.mtrs_model.weights IS
	'the model in the mtrs binary format (validated on write and on every load)';
COMMENT ON COLUMN @extschema@.mtrs_model.format IS
	'shapes read from the model header by mtrs_model_describe()';

/* ----------------------------------------------------------- model bytes */

CREATE FUNCTION @extschema@.mtrs_model_describe(weights bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mtrs_model_describe'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mtrs_model_describe(bytea) IS
	'validate model bytes and describe them: format version, kind, shapes, tasks, intents, size';

/* --------------------------------------------------------- registry API */

CREATE FUNCTION @extschema@.mtrs_check_name(name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	/* bytes, as PostgreSQL counts names: serving looks a model up by a name of 63 at most */
	IF octet_length(mtrs_check_name.name) NOT BETWEEN 1 AND 63
	   OR mtrs_check_name.name ~ '[[:space:][:cntrl:]]' THEN
		RAISE EXCEPTION 'invalid mtrs model name "%"', mtrs_check_name.name
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'A model name has 1 to 63 bytes and no white space.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_check_name(text) IS
	'raise 22023 unless name can name an mtrs model (1 to 63 bytes, no white space); mtrs_train checks before it reads a row';

CREATE FUNCTION @extschema@.mtrs_register(
	name text,
	weights bytea,
	activate boolean DEFAULT true,
	options jsonb DEFAULT '{}',
	source jsonb DEFAULT '{}',
	metrics jsonb DEFAULT '{}',
	training_log jsonb DEFAULT '[]')
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d       jsonb;
	new_ver integer;
	new_id  bigint;
BEGIN
	IF mtrs_register.name IS NULL OR mtrs_register.weights IS NULL OR mtrs_register.activate IS NULL THEN
		RAISE EXCEPTION 'name, weights and activate must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM @extschema@.mtrs_check_name(mtrs_register.name);
	d := @extschema@.mtrs_model_describe(mtrs_register.weights);	/* validates the bytes */
	PERFORM pg_advisory_xact_lock(hashtext('mtrs_model'), hashtext(mtrs_register.name));
	SELECT coalesce(max(m.version), 0) + 1 INTO new_ver
	  FROM @extschema@.mtrs_model m WHERE m.name = mtrs_register.name;
	IF mtrs_register.activate THEN
		UPDATE @extschema@.mtrs_model m SET active = false
		 WHERE m.name = mtrs_register.name AND m.active;
	END IF;
	BEGIN
		INSERT INTO @extschema@.mtrs_model AS m
			(name, version, active, options, source, metrics, training_log, format,
			 tasks, intents, n_users, n_items, n_params, size_bytes, weights)
		VALUES (mtrs_register.name, new_ver, mtrs_register.activate,
			coalesce(mtrs_register.options, '{}'), coalesce(mtrs_register.source, '{}'),
			coalesce(mtrs_register.metrics, '{}'), coalesce(mtrs_register.training_log, '[]'), d,
			ARRAY(SELECT jsonb_array_elements_text(d->'tasks')),
			ARRAY(SELECT jsonb_array_elements_text(d->'intents')),
			(d->>'n_users')::integer, (d->>'n_items')::integer,
			(d->>'n_params')::bigint, (d->>'size_bytes')::bigint, mtrs_register.weights)
		RETURNING m.id INTO new_id;
	EXCEPTION WHEN unique_violation THEN
		/* the lock orders registrations, but a snapshot older than the other one's commit
		   (REPEATABLE READ, SERIALIZABLE) cannot see its version */
		RAISE EXCEPTION 'could not register mtrs model "%": another transaction registered a version of it concurrently',
			mtrs_register.name
			USING ERRCODE = 'serialization_failure',
			      HINT = 'Retry the transaction.';
	END;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_register(text, bytea, boolean, jsonb, jsonb, jsonb, jsonb) IS
	'validate model bytes and store them as the next version of a named model (activated by default); returns the new id';

CREATE FUNCTION @extschema@.mtrs_activate(name text, version integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	target_id bigint;
	known     text;
BEGIN
	IF mtrs_activate.name IS NULL OR mtrs_activate.version IS NULL THEN
		RAISE EXCEPTION 'name and version must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('mtrs_model'), hashtext(mtrs_activate.name));
	SELECT m.id INTO target_id FROM @extschema@.mtrs_model m
	 WHERE m.name = mtrs_activate.name AND m.version = mtrs_activate.version;
	IF target_id IS NULL THEN
		SELECT string_agg(m.version::text, ', ' ORDER BY m.version) INTO known
		  FROM @extschema@.mtrs_model m WHERE m.name = mtrs_activate.name;
		IF known IS NULL THEN
			RAISE EXCEPTION 'mtrs model "%" does not exist', mtrs_activate.name
				USING ERRCODE = 'undefined_object',
				      HINT = 'Train a model with mtrs_train() or register one with mtrs_register().';
		END IF;
		RAISE EXCEPTION 'version % of mtrs model "%" does not exist', mtrs_activate.version, mtrs_activate.name
			USING ERRCODE = 'undefined_object',
			      HINT = format('Existing versions: %s.', known);
	END IF;
	UPDATE @extschema@.mtrs_model m SET active = false
	 WHERE m.name = mtrs_activate.name AND m.active AND m.id <> target_id;
	UPDATE @extschema@.mtrs_model m SET active = true
	 WHERE m.id = target_id AND NOT m.active;
	RETURN target_id;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_activate(text, integer) IS
	'make one version of a named model the active one (the version serving functions use); returns its id';

CREATE FUNCTION @extschema@.mtrs_drop_model(name text, version integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n_all     integer;
	is_active boolean;
	dropped   integer;
BEGIN
	IF mtrs_drop_model.name IS NULL THEN
		RAISE EXCEPTION 'name must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('mtrs_model'), hashtext(mtrs_drop_model.name));
	SELECT count(*) INTO n_all FROM @extschema@.mtrs_model m WHERE m.name = mtrs_drop_model.name;
	IF n_all = 0 THEN
		RAISE EXCEPTION 'mtrs model "%" does not exist', mtrs_drop_model.name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF mtrs_drop_model.version IS NULL THEN
		DELETE FROM @extschema@.mtrs_model m WHERE m.name = mtrs_drop_model.name;
		RETURN n_all;
	END IF;
	SELECT m.active INTO is_active FROM @extschema@.mtrs_model m
	 WHERE m.name = mtrs_drop_model.name AND m.version = mtrs_drop_model.version;
	IF is_active IS NULL THEN
		RAISE EXCEPTION 'version % of mtrs model "%" does not exist', mtrs_drop_model.version, mtrs_drop_model.name
			USING ERRCODE = 'undefined_object';
	END IF;
	IF is_active AND n_all > 1 THEN
		RAISE EXCEPTION 'cannot drop the active version % of mtrs model "%"', mtrs_drop_model.version, mtrs_drop_model.name
			USING ERRCODE = 'object_in_use',
			      HINT = 'Activate another version with mtrs_activate() first, or drop all versions with mtrs_drop_model(name).';
	END IF;
	DELETE FROM @extschema@.mtrs_model m
	 WHERE m.name = mtrs_drop_model.name AND m.version = mtrs_drop_model.version;
	GET DIAGNOSTICS dropped = ROW_COUNT;
	RETURN dropped;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_drop_model(text, integer) IS
	'delete one version of a named model, or every version when version is null; returns the number deleted';

CREATE FUNCTION @extschema@.mtrs_model_info(name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	info jsonb;
BEGIN
	SELECT jsonb_build_object(
			'name', m.name, 'version', m.version, 'id', m.id, 'active', m.active,
			'created_at', m.created_at, 'tasks', to_jsonb(m.tasks), 'intents', to_jsonb(m.intents),
			'n_users', m.n_users, 'n_items', m.n_items, 'n_params', m.n_params,
			'size_bytes', m.size_bytes, 'format', m.format, 'options', m.options,
			'source', m.source, 'metrics', m.metrics,
			'versions', (SELECT jsonb_agg(jsonb_build_object('version', o.version, 'active', o.active,
			                                                 'created_at', o.created_at, 'size_bytes', o.size_bytes)
			                              ORDER BY o.version)
			               FROM @extschema@.mtrs_model o WHERE o.name = m.name))
	  INTO info
	  FROM @extschema@.mtrs_model m
	 WHERE m.name = mtrs_model_info.name
	 ORDER BY m.active DESC, m.version DESC
	 LIMIT 1;
	IF info IS NULL THEN
		RAISE EXCEPTION 'mtrs model "%" does not exist', mtrs_model_info.name
			USING ERRCODE = 'undefined_object',
			      HINT = 'List models with SELECT DISTINCT name FROM mtrs_model.';
	END IF;
	RETURN info;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_model_info(text) IS
	'describe a named model as jsonb: its active (else newest) version''s shapes, tasks, sizes, creation time, options, source, metrics and all versions';

CREATE FUNCTION @extschema@.mtrs_cache_stats(OUT loads bigint, OUT hits bigint, OUT entries bigint,
                                             OUT shared_loads bigint, OUT shared_bytes bigint,
                                             OUT private_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'mtrs_cache_stats'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.mtrs_cache_stats() IS
	'this backend''s model cache: models loaded, cache hits, models held, loads that mapped a model file another backend shared, bytes of the held models mapped from shared files, bytes the cache holds in this backend''s own memory';

/* ----------------------------------------------------------------- training */

CREATE FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz)
RETURNS bytea AS 'MODULE_PATHNAME', 'mtrs_fit_transfn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz, real)
RETURNS bytea AS 'MODULE_PATHNAME', 'mtrs_fit_transfn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz, jsonb)
RETURNS bytea AS 'MODULE_PATHNAME', 'mtrs_fit_transfn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz, real, jsonb)
RETURNS bytea AS 'MODULE_PATHNAME', 'mtrs_fit_transfn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.mtrs_fit_combine(bytea, bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'mtrs_fit_combine' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.mtrs_fit_finalfn(bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'mtrs_fit_finalfn' LANGUAGE C PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz) IS
	'transition function of mtrs_fit: collects one interaction';
COMMENT ON FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz, real) IS
	'transition function of mtrs_fit: collects one interaction with a rating';
COMMENT ON FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz, jsonb) IS
	'transition function of mtrs_fit: collects one interaction, with training options';
COMMENT ON FUNCTION @extschema@.mtrs_fit_transfn(bytea, bigint, bigint, text, timestamptz, real, jsonb) IS
	'transition function of mtrs_fit: collects one interaction with a rating, with training options';
COMMENT ON FUNCTION @extschema@.mtrs_fit_combine(bytea, bytea) IS
	'combine function of mtrs_fit: appends the rows of two partial states';
COMMENT ON FUNCTION @extschema@.mtrs_fit_finalfn(bytea) IS
	'final function of mtrs_fit: trains the model and returns its bytes';

CREATE AGGREGATE @extschema@.mtrs_fit(user_id bigint, item_id bigint, event text, ts timestamptz) (
	SFUNC = @extschema@.mtrs_fit_transfn, STYPE = bytea, SSPACE = 1048576,
	FINALFUNC = @extschema@.mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
	COMBINEFUNC = @extschema@.mtrs_fit_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.mtrs_fit(user_id bigint, item_id bigint, event text, ts timestamptz, rating real) (
	SFUNC = @extschema@.mtrs_fit_transfn, STYPE = bytea, SSPACE = 1048576,
	FINALFUNC = @extschema@.mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
	COMBINEFUNC = @extschema@.mtrs_fit_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.mtrs_fit(user_id bigint, item_id bigint, event text, ts timestamptz, options jsonb) (
	SFUNC = @extschema@.mtrs_fit_transfn, STYPE = bytea, SSPACE = 1048576,
	FINALFUNC = @extschema@.mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
	COMBINEFUNC = @extschema@.mtrs_fit_combine, PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.mtrs_fit(user_id bigint, item_id bigint, event text, ts timestamptz, rating real, options jsonb) (
	SFUNC = @extschema@.mtrs_fit_transfn, STYPE = bytea, SSPACE = 1048576,
	FINALFUNC = @extschema@.mtrs_fit_finalfn, FINALFUNC_MODIFY = READ_WRITE,
	COMBINEFUNC = @extschema@.mtrs_fit_combine, PARALLEL = SAFE);

COMMENT ON AGGREGATE @extschema@.mtrs_fit(bigint, bigint, text, timestamptz) IS
	'train a multi-task model over interaction rows (user, item, event, time); returns the model bytes';
COMMENT ON AGGREGATE @extschema@.mtrs_fit(bigint, bigint, text, timestamptz, real) IS
	'train a multi-task model over interaction rows with ratings; returns the model bytes';
COMMENT ON AGGREGATE @extschema@.mtrs_fit(bigint, bigint, text, timestamptz, jsonb) IS
	'train a multi-task model over interaction rows with training options; returns the model bytes';
COMMENT ON AGGREGATE @extschema@.mtrs_fit(bigint, bigint, text, timestamptz, real, jsonb) IS
	'train a multi-task model over interaction rows with ratings and training options; returns the model bytes';

CREATE FUNCTION @extschema@.mtrs_last_fit()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mtrs_last_fit'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.mtrs_last_fit() IS
	'resolved options, row count and per-iteration training log of the last mtrs_fit finished in this session';

CREATE FUNCTION @extschema@.mtrs_options(options jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mtrs_options'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mtrs_options(jsonb) IS
	'the training options a run given these options would use, each resolved to its value or "auto" (NULL or {}: the defaults); an invalid option is the error the run would give';

CREATE FUNCTION @extschema@.mtrs_check_warm_start(name text, options jsonb)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	from_model text;
	m          record;
	run_dim    integer;
BEGIN
	IF options->'warm_start' = 'true' THEN
		from_model := mtrs_check_warm_start.name;
	ELSIF jsonb_typeof(options->'warm_start') = 'string' THEN
		from_model := options->>'warm_start';
	ELSE
		RETURN;
	END IF;
	SELECT x.format, x.n_users, x.n_items INTO m
	  FROM @extschema@.mtrs_model x WHERE x.name = from_model AND x.active;
	IF NOT FOUND THEN
		RETURN;		/* the run starts from scratch, with a notice */
	END IF;
	IF m.n_users = 0 OR m.n_items = 0 THEN
		RAISE EXCEPTION 'cannot warm-start from mtrs model "%": it has no users and items', from_model
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Option "warm_start" needs a model trained on interactions.';
	END IF;
	run_dim := (@extschema@.mtrs_options(options || jsonb_build_object('warm_start', from_model))->>'dim')::integer;
	IF (m.format->>'dim')::integer <> run_dim THEN
		RAISE EXCEPTION 'cannot warm-start from mtrs model "%": its dim is %, this run''s is %',
			from_model, m.format->>'dim', run_dim
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Train with the same "dim", or without "warm_start".';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_check_warm_start(text, jsonb) IS
	'raise the error a run of model "name" with these options would give after reading its rows if its warm_start model cannot be its start (no users and items, another dim); used by mtrs_train and mtrs_retrain before they train';

CREATE FUNCTION @extschema@.mtrs_fit_text(
	model bytea,
	item_ids bigint[],
	item_texts text[],
	utterances text[],
	labels text[],
	options jsonb DEFAULT '{}',
	validation_utterances text[] DEFAULT NULL,
	validation_labels text[] DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'mtrs_fit_text'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.mtrs_fit_text(bytea, bigint[], text[], text[], text[], jsonb, text[], text[]) IS
	'train the shared token embeddings on item texts (mapped into the item embedding space) and/or labelled utterances (multi-label intent head), keeping the interaction part of model; the decision rule is tuned on the validation utterances if given, else on a held-out part; returns the model bytes';

CREATE FUNCTION @extschema@.mtrs_column_type(rel regclass, col text, missing_ok boolean DEFAULT false)
RETURNS regtype
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	typ     regtype;
	base    regtype;
BEGIN
	IF rel IS NULL THEN
		RAISE EXCEPTION 'rel must not be null' USING ERRCODE = 'null_value_not_allowed';
	ELSIF col IS NULL THEN
		RETURN NULL;			-- an optional column not given
	END IF;
	SELECT a.atttypid::regtype INTO typ FROM pg_attribute a
	 WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND AND NOT missing_ok THEN
		RAISE EXCEPTION 'column "%" does not exist in %', col, rel
			USING ERRCODE = 'undefined_column';
	END IF;
	/* a domain counts as its base type */
	WHILE typ IS NOT NULL LOOP
		SELECT t.typbasetype INTO base FROM pg_type t WHERE t.oid = typ AND t.typtype = 'd';
		EXIT WHEN NOT FOUND;
		typ := base;
	END LOOP;
	RETURN typ;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_column_type(regclass, text, boolean) IS
	'the type of a column of a table or view, a domain''s base type (error 42703 if there is none, unless missing_ok; NULL for a NULL column name); used to check the columns given to mtrs_train and mtrs_evaluate';

CREATE FUNCTION @extschema@.mtrs_read_utterances(
	tbl regclass, text_col text, label_col text, OUT texts text[], OUT labels text[])
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col     text;
	typ     regtype;
BEGIN
	IF text_col IS NULL OR label_col IS NULL THEN
		RAISE EXCEPTION 'text_col and label_col must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	FOREACH col IN ARRAY ARRAY[text_col, label_col] LOOP
		typ := @extschema@.mtrs_column_type(tbl, col);
		IF typ NOT IN ('text', 'character varying', 'character')
		   AND NOT (col = label_col AND typ IN ('text[]', 'character varying[]')) THEN
			RAISE EXCEPTION 'column "%" of % must be a text column%, not %', col, tbl,
				CASE WHEN col = label_col THEN ' or a text array' ELSE '' END, typ
				USING ERRCODE = 'datatype_mismatch';
		END IF;
	END LOOP;
	typ := @extschema@.mtrs_column_type(tbl, label_col);
	EXECUTE format('SELECT array_agg(t ORDER BY t, l), array_agg(l ORDER BY t, l) FROM '
	               '(SELECT %I::text AS t, %s AS l FROM %s) s WHERE t IS NOT NULL AND l IS NOT NULL',
		text_col,
		CASE WHEN typ::text LIKE '%[]' THEN format('array_to_string(%I, %L)', label_col, '#')
		     ELSE format('%I::text', label_col) END,
		tbl)
		INTO texts, labels;
	IF texts IS NULL THEN
		RAISE EXCEPTION 'no labelled utterances to train on in %', tbl
			USING ERRCODE = 'data_exception',
			      DETAIL = 'Every row has a null text or label.';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_read_utterances(regclass, text, text) IS
	'the labelled utterances of a table as parallel arrays (labels of a text[] column joined by #), checking the column types; used by mtrs_train';

CREATE FUNCTION @extschema@.mtrs_train(
	name text,
	interactions regclass DEFAULT NULL,
	user_col text DEFAULT 'user_id',
	item_col text DEFAULT 'item_id',
	event_col text DEFAULT 'event',
	time_col text DEFAULT 'ts',
	rating_col text DEFAULT NULL,
	options jsonb DEFAULT '{}',
	activate boolean DEFAULT true,
	intents regclass DEFAULT NULL,
	text_col text DEFAULT 'text',
	label_col text DEFAULT 'label',
	items regclass DEFAULT NULL,
	item_id_col text DEFAULT 'item_id',
	item_text_cols text[] DEFAULT ARRAY['title'],
	intents_validation regclass DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col     text;
	typ     regtype;
	fit_sql text;
	model   bytea;
	fit     jsonb := '{}';
	tfit    jsonb;
	opts    jsonb := jsonb_build_object('progress', true) || coalesce(options, '{}');
	src     jsonb := '{}';
	texts   text[];
	labels  text[];
	vtexts  text[];
	vlabels text[];
	ids     bigint[];
	itexts  text[];
	tables  text[];		/* interactions, intents, intents_validation, items as recorded */
	any_row boolean;
BEGIN
	IF mtrs_train.name IS NULL OR activate IS NULL THEN
		RAISE EXCEPTION 'name and activate must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM @extschema@.mtrs_check_name(mtrs_train.name);
	/* registering is the last step: a role that may not, learns it now */
	IF NOT (has_table_privilege('@extschema@.mtrs_model', 'INSERT')
	        AND (NOT activate OR has_table_privilege('@extschema@.mtrs_model', 'UPDATE'))
	        AND has_sequence_privilege('@extschema@.mtrs_model_id_seq', 'USAGE')) THEN
		RAISE EXCEPTION 'permission denied for table mtrs_model'
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'mtrs_train registers what it trains: it needs INSERT (to activate, also UPDATE) on mtrs_model and USAGE on mtrs_model_id_seq.';
	END IF;
	/* on a hot standby, or in a transaction declared read-only */
	IF current_setting('transaction_read_only')::boolean THEN
		RAISE EXCEPTION 'mtrs_train cannot register a model in a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction',
			      HINT = 'Train on the primary, or fit the model''s bytes with the mtrs_fit aggregate and register them there.';
	END IF;
	IF items IS NOT NULL AND interactions IS NULL THEN
		RAISE EXCEPTION 'items need interactions'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Item texts map into the embedding space learned from interactions: give interactions => too.';
	END IF;
	IF intents_validation IS NOT NULL AND intents IS NULL THEN
		RAISE EXCEPTION 'intents_validation needs intents'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Give the labelled utterances to train on with intents => ....';
	END IF;
	/* warm_start true: the active version of the model being trained, if it has one */
	IF opts->'warm_start' = 'true' THEN
		opts := opts || jsonb_build_object('warm_start', mtrs_train.name);
	END IF;
	/* a warm start without "dim" takes its start's: the one dim it can start from */
	IF interactions IS NOT NULL AND jsonb_typeof(opts->'warm_start') = 'string' AND NOT opts ? 'dim' THEN
		opts := opts || coalesce((SELECT jsonb_build_object('dim', (x.format->'dim')::integer)
		                            FROM @extschema@.mtrs_model x
		                           WHERE x.name = opts->>'warm_start' AND x.active
		                             AND x.n_users > 0 AND x.n_items > 0), '{}');
	END IF;
	PERFORM @extschema@.mtrs_options(opts);		/* an invalid option: the run's error, now */
	IF interactions IS NOT NULL THEN
		PERFORM @extschema@.mtrs_check_warm_start(mtrs_train.name, opts);
	END IF;
	IF interactions IS NULL AND intents IS NULL THEN
		RAISE EXCEPTION 'nothing to train on'
			USING ERRCODE = 'null_value_not_allowed',
			      HINT = 'Give interactions => a table of interactions, intents => a table of labelled utterances, or both.';
	END IF;
	IF interactions IS NOT NULL THEN
		IF user_col IS NULL OR item_col IS NULL THEN
			RAISE EXCEPTION 'user_col and item_col must not be null'
				USING ERRCODE = 'null_value_not_allowed';
		END IF;
		/* the default event and time columns are optional: (user_id, item_id) is enough */
		IF event_col = 'event' AND @extschema@.mtrs_column_type(interactions, event_col, true) IS NULL THEN
			RAISE NOTICE '% has no column "event": every row is one event, "interaction"', interactions;
			event_col := NULL;
		END IF;
		IF time_col = 'ts' AND @extschema@.mtrs_column_type(interactions, time_col, true) IS NULL THEN
			RAISE NOTICE '% has no column "ts": training without times', interactions
				USING DETAIL = 'No recency weighting, and only users the model has not seen are folded in from new rows.',
				      HINT = 'Name a timestamp column with time_col => ... to use one.';
			time_col := NULL;
		END IF;
		FOREACH col IN ARRAY ARRAY[user_col, item_col, event_col, time_col, rating_col] LOOP
			CONTINUE WHEN col IS NULL;
			typ := @extschema@.mtrs_column_type(interactions, col);
			IF col IN (user_col, item_col) AND typ NOT IN ('bigint', 'integer', 'smallint') THEN
				RAISE EXCEPTION 'column "%" of % must be an integer column, not %', col, interactions, typ
					USING ERRCODE = 'datatype_mismatch',
					      HINT = 'Number the ids in a table of their own and train on a view that joins it (docs: "Ids that are not integers").';
			END IF;
			IF col = rating_col AND typ NOT IN ('real', 'double precision', 'numeric', 'bigint', 'integer', 'smallint') THEN
				RAISE EXCEPTION 'column "%" of % must be a numeric column, not %', col, interactions, typ
					USING ERRCODE = 'datatype_mismatch';
			END IF;
			IF col = time_col AND typ NOT IN ('timestamp with time zone', 'timestamp without time zone', 'date') THEN
				RAISE EXCEPTION 'column "%" of % must be a timestamp or date column, not %', col, interactions, typ
					USING ERRCODE = 'datatype_mismatch',
					      HINT = 'For epoch seconds, train on a view that selects to_timestamp(column).';
			END IF;
		END LOOP;
	END IF;
	/* the texts are read before the interactions train: a wrong column fails at once */
	IF intents IS NOT NULL THEN
		SELECT u.texts, u.labels INTO texts, labels
		  FROM @extschema@.mtrs_read_utterances(intents, text_col, label_col) u;
	END IF;
	IF intents_validation IS NOT NULL THEN
		SELECT u.texts, u.labels INTO vtexts, vlabels
		  FROM @extschema@.mtrs_read_utterances(intents_validation, text_col, label_col) u;
	END IF;
	IF items IS NOT NULL THEN
		IF item_id_col IS NULL OR item_text_cols IS NULL OR cardinality(item_text_cols) = 0 THEN
			RAISE EXCEPTION 'item_id_col and item_text_cols must be given'
				USING ERRCODE = 'null_value_not_allowed';
		END IF;
		IF array_position(item_text_cols, NULL) IS NOT NULL THEN
			RAISE EXCEPTION 'item_text_cols must not contain nulls'
				USING ERRCODE = 'null_value_not_allowed';
		END IF;
		FOREACH col IN ARRAY item_id_col || item_text_cols LOOP
			typ := @extschema@.mtrs_column_type(items, col);
			IF col = item_id_col AND typ NOT IN ('bigint', 'integer', 'smallint') THEN
				RAISE EXCEPTION 'column "%" of % must be an integer column, not %', col, items, typ
					USING ERRCODE = 'datatype_mismatch';
			END IF;
		END LOOP;
		EXECUTE format('SELECT array_agg(i ORDER BY i), array_agg(t ORDER BY i) FROM '
		               '(SELECT %I::bigint AS i, concat_ws(%L, %s) AS t FROM %s) s '
		               'WHERE i IS NOT NULL AND t <> %L',
			item_id_col, ' ',
			(SELECT string_agg(format('%I::text', c), ', ') FROM unnest(item_text_cols) c),
			items, '')
			INTO ids, itexts;
		IF ids IS NULL THEN
			RAISE EXCEPTION 'no item texts in %', items
				USING ERRCODE = 'data_exception',
				      DETAIL = 'Every row has a null id or only null or empty text columns.';
		END IF;
	END IF;
	/* the tables as every session resolves them alike: schema-qualified (the search_path
	   here is pg_catalog, pg_temp), a temporary one as pg_temp.name, its own session's
	   (which serving does not fold in from: the name may be another table there) */
	SELECT array_agg(CASE WHEN c.relpersistence = 't' THEN 'pg_temp.' || quote_ident(c.relname)
	                      ELSE t.r::text END ORDER BY t.o)
	  INTO tables
	  FROM unnest(ARRAY[interactions, intents, intents_validation, items]) WITH ORDINALITY AS t(r, o)
	  LEFT JOIN pg_class c ON c.oid = t.r;
	IF interactions IS NOT NULL THEN
		fit_sql := format('SELECT @extschema@.mtrs_fit(%I::bigint, %I::bigint, %s, %s%s, $1) FROM %s',
			user_col, item_col,
			CASE WHEN event_col IS NULL THEN quote_literal('interaction') ELSE format('%I::text', event_col) END,
			CASE WHEN time_col IS NULL THEN 'timestamptz ''2000-01-01 00:00:00+00'''
			     ELSE format('%I::timestamptz', time_col) END,
			CASE WHEN rating_col IS NULL THEN '' ELSE format(', %I::real', rating_col) END,
			interactions);
		EXECUTE fit_sql INTO model USING opts;
		IF model IS NULL THEN
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', interactions) INTO any_row;
			RAISE EXCEPTION 'no interactions to train on in %', interactions
				USING ERRCODE = 'data_exception',
				      DETAIL = CASE WHEN any_row THEN 'Every row has a null user, item, event or time.'
				                    ELSE 'It has no rows.' END;
		END IF;
		fit := @extschema@.mtrs_last_fit();
		src := jsonb_build_object('table', tables[1], 'user_col', user_col,
			'item_col', item_col, 'event_col', event_col, 'time_col', time_col,
			'rating_col', rating_col, 'rows', fit->'rows', 'memory_bytes', fit->'memory_bytes',
			'training_threads', fit->'threads', 'reg', fit->'reg',
			'interaction_norm', fit->'interaction_norm', 'iterations', fit->'iterations',
			'warm_start', fit->'warm_start');
	END IF;
	IF intents IS NOT NULL OR items IS NOT NULL THEN
		model := @extschema@.mtrs_fit_text(model, ids, itexts, texts, labels, opts, vtexts, vlabels);
		tfit := @extschema@.mtrs_last_fit()->'text';
		fit := jsonb_build_object(
			'options', coalesce(fit->'options', '{}') || (tfit->'options'),
			'training_log', coalesce(fit->'training_log', '[]') || (tfit->'training_log'));
	END IF;
	IF intents IS NOT NULL THEN
		src := src || jsonb_build_object('intents', jsonb_build_object(
			'table', tables[2], 'text_col', text_col, 'label_col', label_col,
			'validation_table', tables[3],
			'utterances', tfit->'utterances', 'intents', tfit->'intents',
			'threshold', tfit->'threshold', 'always_best_intent', tfit->'always_best_intent',
			'validation_utterances', tfit->'validation_utterances',
			'validation_accuracy', tfit->'validation_accuracy'));
	END IF;
	IF items IS NOT NULL THEN
		src := src || jsonb_build_object('items', jsonb_build_object(
			'table', tables[4], 'item_id_col', item_id_col, 'item_text_cols', to_jsonb(item_text_cols),
			'item_texts', tfit->'item_texts', 'text_only_items', tfit->'text_only_items'));
	END IF;
	IF tfit IS NOT NULL THEN
		src := src || jsonb_build_object('text_epochs', tfit->'text_epochs');
	END IF;
	src := src || jsonb_build_object('trained_at', now());
	RETURN @extschema@.mtrs_register(mtrs_train.name, model, activate,
		options => fit->'options', source => src, training_log => fit->'training_log');
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_train(text, regclass, text, text, text, text, text, jsonb, boolean, regclass, text, text, regclass, text, text[], regclass) IS
	'train a multi-task model on an interaction table, labelled utterances and/or item texts, record options, source and training log, and activate it; returns the new id';

/* ------------------------------------------------------------------ serving */

CREATE FUNCTION @extschema@.mtrs_rows_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'mtrs_rows_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@.mtrs_rows_support(internal) IS
	'planner support of the set-returning serving functions: estimates their rows from constant arguments (k, plus one for the explain functions; times the number of ids of the batch and vector functions; at most the number of candidates)';

CREATE FUNCTION @extschema@.mtrs_recommend(
	user_id bigint,
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	task text DEFAULT NULL,
	exclude_seen boolean DEFAULT true,
	candidates bigint[] DEFAULT NULL,
	query text DEFAULT NULL,
	query_weight real DEFAULT 0.5,
	context text[] DEFAULT NULL,
	context_decay real DEFAULT 0.5)
RETURNS TABLE(item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_recommend'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_recommend(bigint, integer, text, text, boolean, bigint[], text, real, text[], real) IS
	'the k best items for a user by one task head (default: ranking) of a model (default: the only active one), folding in interactions added to the source table since training and blending in what the user typed (query, earlier turns in context)';

CREATE FUNCTION @extschema@.mtrs_recommend_for(
	history bigint[],
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	task text DEFAULT NULL,
	exclude_seen boolean DEFAULT true,
	candidates bigint[] DEFAULT NULL,
	query text DEFAULT NULL,
	query_weight real DEFAULT 0.5,
	context text[] DEFAULT NULL,
	context_decay real DEFAULT 0.5)
RETURNS TABLE(item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_recommend_for'
LANGUAGE C STABLE PARALLEL SAFE ROWS 10
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_recommend_for(bigint[], integer, text, text, boolean, bigint[], text, real, text[], real) IS
	'the k best items for an anonymous session given the items it interacted with and what it typed (query, earlier turns in context)';

CREATE FUNCTION @extschema@.mtrs_recommend_batch(
	user_ids bigint[] DEFAULT NULL,
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	task text DEFAULT NULL,
	exclude_seen boolean DEFAULT true)
RETURNS TABLE(user_id bigint, item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_recommend_batch'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10000
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_recommend_batch(bigint[], integer, text, text, boolean) IS
	'the k best items for each of many users (default: every user the model was trained on), the rows mtrs_recommend gives each of them, scored in blocks of users with one matrix product per head: for reports and precomputed recommendation tables';

CREATE FUNCTION @extschema@.mtrs_predict(
	user_id bigint,
	item_id bigint,
	task text DEFAULT NULL,
	model text DEFAULT NULL)
RETURNS real
AS 'MODULE_PATHNAME', 'mtrs_predict'
LANGUAGE C STABLE PARALLEL SAFE COST 50;
COMMENT ON FUNCTION @extschema@.mtrs_predict(bigint, bigint, text, text) IS
	'one task head''s output for a user and an item: a score (ranking), a probability (event heads) or a rating';

CREATE FUNCTION @extschema@.mtrs_explain(
	user_id bigint,
	item_id bigint,
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	task text DEFAULT NULL)
RETURNS TABLE(item_id bigint, contribution real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_explain'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 11
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_explain(bigint, bigint, integer, text, text) IS
	'why an item scores high for a user: the k items of the user''s history that add the most to the task head''s logit, then a row with item_id NULL holding the rest (biases)';

CREATE FUNCTION @extschema@.mtrs_explain_for(
	history bigint[],
	item_id bigint,
	k integer DEFAULT 10,
	model text DEFAULT NULL,
	task text DEFAULT NULL)
RETURNS TABLE(item_id bigint, contribution real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_explain_for'
LANGUAGE C STABLE PARALLEL SAFE ROWS 11
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_explain_for(bigint[], bigint, integer, text, text) IS
	'why an item scores high for an anonymous session: the k history items that add the most to the task head''s logit as mtrs_recommend_for scores it, then a row with item_id NULL holding the rest (biases)';

CREATE FUNCTION @extschema@.mtrs_similar_items(
	item_id bigint,
	k integer DEFAULT 10,
	model text DEFAULT NULL)
RETURNS TABLE(item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_similar_items'
LANGUAGE C STABLE PARALLEL SAFE ROWS 10
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_similar_items(bigint, integer, text) IS
	'the k items most similar to an item (cosine of the shared item embeddings)';

CREATE FUNCTION @extschema@.mtrs_similar_items_batch(
	item_ids bigint[] DEFAULT NULL,
	k integer DEFAULT 10,
	model text DEFAULT NULL)
RETURNS TABLE(item_id bigint, similar_item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_similar_items_batch'
LANGUAGE C STABLE PARALLEL SAFE ROWS 10000
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_similar_items_batch(bigint[], integer, text) IS
	'the k most similar items of each of many items (default: every item of the model), the rows mtrs_similar_items gives each of them, scored in blocks with one matrix product: for tables of related items';

CREATE FUNCTION @extschema@.mtrs_item_vectors(
	item_ids bigint[] DEFAULT NULL,
	model text DEFAULT NULL,
	task text DEFAULT NULL)
RETURNS TABLE(item_id bigint, vector real[])
AS 'MODULE_PATHNAME', 'mtrs_item_vectors'
LANGUAGE C STABLE PARALLEL SAFE ROWS 10000
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_item_vectors(bigint[], text, text) IS
	'each item''s vector for the ranking or rating head (default: every item of the model): its inner product with a vector of mtrs_user_vectors is the head''s score, so a vector index ranking by inner product serves the model';

CREATE FUNCTION @extschema@.mtrs_user_vectors(
	user_ids bigint[] DEFAULT NULL,
	model text DEFAULT NULL,
	task text DEFAULT NULL)
RETURNS TABLE(user_id bigint, vector real[])
AS 'MODULE_PATHNAME', 'mtrs_user_vectors'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10000
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_user_vectors(bigint[], text, text) IS
	'each user''s vector for the ranking or rating head (default: every user the model was trained on), fresh rows folded in as mtrs_recommend does: its inner product with a vector of mtrs_item_vectors is the head''s score; no row for a user the model cannot place';

CREATE FUNCTION @extschema@.mtrs_query_vector(
	query text,
	model text DEFAULT NULL,
	task text DEFAULT NULL)
RETURNS real[]
AS 'MODULE_PATHNAME', 'mtrs_query_vector'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.mtrs_query_vector(text, text, text) IS
	'the vector of a visitor who has only typed a query, for the ranking or rating head: its inner products with the vectors of mtrs_item_vectors rank the catalog as mtrs_recommend_for(''{}'', k, query => query) does; NULL for a query with no word the model knows';

CREATE FUNCTION @extschema@.mtrs_intent(
	utterance text,
	model text DEFAULT NULL,
	threshold real DEFAULT NULL,
	context text[] DEFAULT NULL,
	context_decay real DEFAULT 0.5)
RETURNS TABLE(intent text, score real)
AS 'MODULE_PATHNAME', 'mtrs_intent'
LANGUAGE C STABLE PARALLEL SAFE ROWS 2;
COMMENT ON FUNCTION @extschema@.mtrs_intent(text, text, real, text[], real) IS
	'the intents of an utterance whose probability reaches the threshold (default: tuned in training), highest first; a follow-up with none of its own is read with the earlier turns in context; none when out of scope';

CREATE FUNCTION @extschema@.mtrs_intent_explain(
	utterance text,
	intent text DEFAULT NULL,
	k integer DEFAULT 10,
	model text DEFAULT NULL)
RETURNS TABLE(feature text, kind text, contribution real, rank integer)
AS 'MODULE_PATHNAME', 'mtrs_intent_explain'
LANGUAGE C STABLE PARALLEL SAFE ROWS 11
SUPPORT @extschema@.mtrs_rows_support;
COMMENT ON FUNCTION @extschema@.mtrs_intent_explain(text, text, integer, text) IS
	'why an utterance gets an intent (default: its best one): the k features of the text (words, runs of words, character n-grams) that add the most to the intent''s logit, then a row with feature NULL holding the intent''s bias';

/* --------------------------------------------------------------- evaluation */

CREATE FUNCTION @extschema@.mtrs_intent_predictions(
	model text, holdout regclass, text_col text DEFAULT 'text', label_col text DEFAULT 'label')
RETURNS TABLE(utterance text, gold text[], pred text[])
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF model IS NULL OR holdout IS NULL OR text_col IS NULL OR label_col IS NULL THEN
		RAISE EXCEPTION 'model, holdout, text_col and label_col must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM @extschema@.mtrs_column_type(holdout, text_col);
	PERFORM @extschema@.mtrs_column_type(holdout, label_col);
	RETURN QUERY EXECUTE format(
		'SELECT t, ARRAY(SELECT DISTINCT btrim(x, %L) FROM unnest(string_to_array(l, %L)) x WHERE btrim(x, %L) <> %L ORDER BY 1), '
		'       ARRAY(SELECT i.intent FROM %s.mtrs_intent(t, $1) i ORDER BY 1) '
		'  FROM (SELECT %I::text AS t, array_to_string(ARRAY[%I]::text[], %L) AS l FROM %s '
		'         WHERE %I IS NOT NULL AND %I IS NOT NULL) s',
		/* @extschema@ is replaced by the schema's name already quoted as an identifier */
		E' \t\r\n\f' || chr(11), '#', E' \t\r\n\f' || chr(11), '', '@extschema@', text_col, label_col, '#',
		holdout, text_col, label_col)
		USING model;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_intent_predictions(text, regclass, text, text) IS
	'the gold and predicted intents (sorted arrays) of every labelled utterance of a table, as mtrs_evaluate and mtrs_intent_report score them';

CREATE FUNCTION @extschema@.mtrs_intent_f1_sql(predictions text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	/* one query over the rows themselves (no aggregate of them all in one value): the
	   arrays keep their type and collation, and a table of any size fits */
	SELECT format(
		'WITH p AS (SELECT gold, pred FROM %s), '
		'     intents AS (SELECT DISTINCT x FROM p, unnest(gold || pred) x) '
		'SELECT n.x AS intent, count(*) FILTER (WHERE n.x = ANY (gold)) AS support, '
		'       count(*) FILTER (WHERE n.x = ANY (pred)) AS predicted, '
		'       count(*) FILTER (WHERE n.x = ANY (gold) AND n.x = ANY (pred)) AS correct, '
		'       (count(*) FILTER (WHERE n.x = ANY (gold) AND n.x = ANY (pred)))::float8 / '
		'           nullif(count(*) FILTER (WHERE n.x = ANY (pred)), 0) AS "precision", '
		'       (count(*) FILTER (WHERE n.x = ANY (gold) AND n.x = ANY (pred)))::float8 / '
		'           nullif(count(*) FILTER (WHERE n.x = ANY (gold)), 0) AS recall, '
		'       2.0::float8 * count(*) FILTER (WHERE n.x = ANY (gold) AND n.x = ANY (pred)) / '
		'           nullif(count(*) FILTER (WHERE n.x = ANY (gold)) + count(*) FILTER (WHERE n.x = ANY (pred)), 0) AS f1 '
		'  FROM intents n, p GROUP BY n.x ORDER BY n.x', predictions)
$$;
COMMENT ON FUNCTION @extschema@.mtrs_intent_f1_sql(text) IS
	'the query mtrs_intent_f1, mtrs_intent_report and mtrs_evaluate count intents with: per-intent support, predicted, correct, precision, recall and F1 over the gold and pred arrays of a FROM item given as SQL text';

CREATE FUNCTION @extschema@.mtrs_intent_f1(predictions regclass)
RETURNS TABLE(intent text, support bigint, predicted bigint, correct bigint,
              "precision" float8, recall float8, f1 float8)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF predictions IS NULL THEN
		RAISE EXCEPTION 'predictions must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN QUERY EXECUTE @extschema@.mtrs_intent_f1_sql(predictions::text);
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_intent_f1(regclass) IS
	'per-intent support, precision, recall and F1 over a table of (gold, pred) intent arrays; F1 is null for an intent never given nor predicted';

CREATE FUNCTION @extschema@.mtrs_intent_report(
	model text, holdout regclass, text_col text DEFAULT 'text', label_col text DEFAULT 'label')
RETURNS TABLE(intent text, support bigint, predicted bigint, correct bigint,
              "precision" float8, recall float8, f1 float8)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN QUERY EXECUTE @extschema@.mtrs_intent_f1_sql(
		/* @extschema@ is replaced by the schema's name already quoted as an identifier */
		format('%s.mtrs_intent_predictions($1, $2, $3, $4)', '@extschema@'))
		USING model, holdout, text_col, label_col;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_intent_report(text, regclass, text, text) IS
	'per-intent support, precision, recall and F1 of a model on a table of labelled utterances (where macro-F1 is won or lost)';

CREATE FUNCTION @extschema@.mtrs_evaluate(
	model text,
	holdout regclass,
	k integer DEFAULT 20,
	user_col text DEFAULT 'user_id',
	item_col text DEFAULT 'item_id',
	event_col text DEFAULT NULL,
	rating_col text DEFAULT NULL,
	text_col text DEFAULT NULL,
	label_col text DEFAULT NULL,
	store boolean DEFAULT true)
RETURNS TABLE(task text, metric text, value float8)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET mtrs.fold_in = off
AS $$
DECLARE
	info    jsonb;
	tasks   text[];
	col     text;
	rec     record;
	res     jsonb := '{}';
	n_items integer;
	has_ui  boolean := user_col IS NOT NULL AND item_col IS NOT NULL;
BEGIN
	IF model IS NULL OR holdout IS NULL OR k IS NULL OR store IS NULL THEN
		RAISE EXCEPTION 'model, holdout, k and store must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF k <= 0 THEN
		RAISE EXCEPTION 'k must be greater than zero' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	info := @extschema@.mtrs_model_info(model);
	IF NOT (info->>'active')::boolean THEN
		RAISE EXCEPTION 'mtrs model "%" has no active version', model
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Activate a version with mtrs_activate().';
	END IF;
	tasks := ARRAY(SELECT jsonb_array_elements_text(info->'tasks'));
	n_items := (info->>'n_items')::integer;
	/* utterances in the columns mtrs_train reads by default, for a model with intents */
	IF text_col IS NULL AND label_col IS NULL AND coalesce(jsonb_array_length(info->'intents'), 0) > 0
	   AND @extschema@.mtrs_column_type(holdout, 'text', missing_ok => true) IS NOT NULL
	   AND @extschema@.mtrs_column_type(holdout, 'label', missing_ok => true) IS NOT NULL THEN
		text_col := 'text';
		label_col := 'label';
	END IF;
	FOREACH col IN ARRAY ARRAY[user_col, item_col, event_col, rating_col, text_col, label_col] LOOP
		CONTINUE WHEN col IS NULL;
		IF @extschema@.mtrs_column_type(holdout, col, missing_ok => true) IS NULL THEN
			/* an utterance table needs no user and item columns */
			IF col IN (user_col, item_col) AND text_col IS NOT NULL THEN
				has_ui := false;
				CONTINUE;
			END IF;
			RAISE EXCEPTION 'column "%" does not exist in %', col, holdout
				USING ERRCODE = 'undefined_column';
		END IF;
	END LOOP;

	/* storing is a write: say so before the work, not at its end */
	IF store AND current_setting('transaction_read_only')::boolean THEN
		RAISE EXCEPTION 'mtrs_evaluate cannot store metrics in a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction',
			      HINT = 'Pass store => false to return the metrics without storing them.';
	END IF;

	/* One query over one snapshot of the holdout, without temporary tables: it runs in a
	   read-only transaction and on a hot standby (with store => false).
	   - held_rows: one row per row of the holdout with a user and an item;
	   - ranking: Recall@k, NDCG@k over users with held-out items, coverage of the catalog;
	     joins and aggregates, not a subquery per user: linear in users and k;
	   - events, for the event heads $4: AUC (ties averaged) and log-loss over the held-out
	     (user, item) pairs; rows without an event are no evidence either way (training skips
	     them too);
	   - rating, if $5: RMSE over the held-out rows with a rating. */
	IF cardinality(tasks) > 0 AND has_ui THEN
		EXECUTE format(
			'WITH held_rows AS MATERIALIZED ('
			'       SELECT %1$I::bigint AS u, %2$I::bigint AS i, %3$s AS ev, %4$s AS r '
			'         FROM %5$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL), '
			'     held AS (SELECT DISTINCT e.u, e.i FROM held_rows e), '
			'     per_user AS (SELECT h.u, count(*) AS n FROM held h GROUP BY h.u), '
			'     recs AS MATERIALIZED ('
			'       SELECT r.user_id AS u, r.item_id, r.rank '
			'         FROM %6$s.mtrs_recommend_batch(ARRAY(SELECT g.u FROM per_user g), $1, model => $2) r), '
			'     found AS (SELECT c.u, count(*) AS hits, sum(ln(2::float8) / ln(c.rank + 1::float8)) AS dcg '
			'                 FROM recs c JOIN held h ON h.u = c.u AND h.i = c.item_id GROUP BY c.u), '
			'     ideal AS (SELECT j AS n, sum(ln(2::float8) / ln(j + 1::float8)) OVER (ORDER BY j) AS dcg '
			'                 FROM generate_series(1, least($1, coalesce((SELECT max(g.n) FROM per_user g), 0))) j), '
			'     ranking AS ('
			'       SELECT avg(coalesce(f.hits, 0)::float8 / g.n) AS recall, avg(coalesce(f.dcg, 0) / i.dcg) AS ndcg, '
			'              (SELECT count(DISTINCT c.item_id) FROM recs c)::float8 / greatest($3, 1) AS coverage, '
			'              count(*) AS users '
			'         FROM per_user g LEFT JOIN found f ON f.u = g.u JOIN ideal i ON i.n = least($1, g.n)), '
			'     pairs AS MATERIALIZED ('
			'       SELECT e.u, e.i, array_agg(e.ev) AS evs FROM held_rows e '
			'        WHERE e.ev IS NOT NULL AND cardinality($4) > 0 GROUP BY e.u, e.i), '
			'     scored AS ('
			'       SELECT t.t, t.t = ANY (p.evs) AS y, %6$s.mtrs_predict(p.u, p.i, t.t, $2)::float8 AS s '
			'         FROM unnest($4) t(t), pairs p), '
			'     ranked AS ('
			'       SELECT s.t, s.y, s.s, rank() OVER (PARTITION BY s.t ORDER BY s.s) '
			'              + (count(*) OVER (PARTITION BY s.t, s.s) - 1) / 2.0 AS rk FROM scored s), '
			'     events AS ('
			'       SELECT x.t, count(*) FILTER (WHERE x.y) AS n1, count(*) FILTER (WHERE NOT x.y) AS n0, '
			'              sum(x.rk) FILTER (WHERE x.y) AS rsum, '
			'              -avg(CASE WHEN x.y THEN ln(greatest(x.s, 1e-7)) ELSE ln(greatest(1 - x.s, 1e-7)) END) AS logloss '
			'         FROM ranked x GROUP BY x.t), '
			'     rating AS ('
			'       SELECT sqrt(avg((%6$s.mtrs_predict(e.u, e.i, %16$L, $2) - e.r) ^ 2)) AS rmse, count(*) AS n '
			'         FROM held_rows e WHERE $5 AND e.r IS NOT NULL) '
			'SELECT coalesce((SELECT jsonb_build_object(%7$L, jsonb_build_object('
			'                   format(%8$L, $1), x.recall, format(%9$L, $1), x.ndcg, format(%10$L, $1), x.coverage, '
			'                   %11$L, x.users)) FROM ranking x WHERE x.users > 0), %15$L) '
			'    || coalesce((SELECT jsonb_object_agg(x.t, jsonb_build_object('
			'                   %12$L, (x.rsum - x.n1 * (x.n1 + 1) / 2.0) / (x.n1::float8 * x.n0), '
			'                   %13$L, x.logloss, %14$L, x.n1 + x.n0)) '
			'                   FROM events x WHERE x.n1 > 0 AND x.n0 > 0), %15$L) '
			'    || coalesce((SELECT jsonb_build_object(%16$L, jsonb_build_object(%17$L, x.rmse, %18$L, x.n)) '
			'                   FROM rating x WHERE x.n > 0), %15$L)',
			user_col, item_col,
			CASE WHEN event_col IS NULL THEN 'NULL::text' ELSE format('%I::text', event_col) END,
			CASE WHEN rating_col IS NULL THEN 'NULL::float8' ELSE format('%I::float8', rating_col) END,
			holdout,
			/* @extschema@ is replaced by the schema's name already quoted as an identifier */
			'@extschema@', 'ranking', 'recall@%s', 'ndcg@%s', 'coverage@%s', 'users',
			'auc', 'logloss', 'pairs', '{}', 'rating', 'rmse', 'rows')
			INTO res
			USING k, model, n_items,
			      CASE WHEN event_col IS NULL THEN '{}'::text[]
			           ELSE ARRAY(SELECT x FROM unnest(tasks) x WHERE x NOT IN ('ranking', 'rating')) END,
			      rating_col IS NOT NULL AND 'rating' = ANY (tasks);
	END IF;

	/* intents: exact-match accuracy, macro-F1 over intents, out-of-scope recall */
	IF text_col IS NOT NULL AND label_col IS NOT NULL THEN
		EXECUTE format(
			'WITH q AS MATERIALIZED (SELECT * FROM %s.mtrs_intent_predictions($1, $2, $3, $4)), '
			'     f AS (%s) '
			'SELECT (SELECT avg((q.gold = q.pred)::int) FROM q) AS accuracy, '
			'       (SELECT avg(coalesce(f.f1, 0)) FROM f) AS macro_f1, '
			'       (SELECT avg((cardinality(q.pred) = 0)::int) FROM q WHERE cardinality(q.gold) = 0) AS oos_recall, '
			'       (SELECT count(*) FROM q) AS n',
			/* @extschema@ is replaced by the schema's name already quoted as an identifier */
			'@extschema@', @extschema@.mtrs_intent_f1_sql('q'))
			INTO rec
			USING model, holdout, text_col, label_col;
		IF rec.n > 0 THEN
			res := res || jsonb_build_object('intent', jsonb_strip_nulls(jsonb_build_object(
				'accuracy', rec.accuracy, 'macro_f1', rec.macro_f1, 'oos_recall', rec.oos_recall,
				'utterances', rec.n)));
		END IF;
	END IF;

	IF res = '{}' THEN
		RAISE EXCEPTION 'nothing to evaluate in %', holdout
			USING ERRCODE = 'data_exception',
			      DETAIL = 'No held-out interaction of a user and an item, and no labelled utterance, could be scored.',
			      HINT = 'Interactions need user_col and item_col (and event_col, rating_col for those heads); utterances need text_col and label_col.';
	END IF;
	IF store THEN
		UPDATE @extschema@.mtrs_model m
		   SET metrics = jsonb_build_object('holdout', holdout::text, 'k', k, 'evaluated_at', now()) || res
		                 || jsonb_strip_nulls(jsonb_build_object('last_retrain', m.metrics->'last_retrain'))
		 WHERE m.name = mtrs_evaluate.model AND m.active;
	END IF;
	RETURN QUERY
	SELECT e.key, m.key, (m.value #>> '{}')::float8
	  FROM jsonb_each(res) e, jsonb_each(e.value) m
	 ORDER BY e.key = 'ranking' DESC, e.key, m.key;
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_evaluate(text, regclass, integer, text, text, text, text, text, text, boolean) IS
	'evaluate the active version of a model on held-out rows: Recall/NDCG/coverage@k (ranking), AUC and log-loss (events), RMSE (rating), accuracy, macro-F1 and out-of-scope recall (intents); stores them in metrics';

/* ---------------------------------------------------------------- lifecycle */

CREATE VIEW @extschema@.mtrs_models AS
SELECT m.name, m.version, m.active, m.created_at, pg_size_pretty(m.size_bytes) AS size,
       m.tasks, m.intents, m.n_users, m.n_items,
       (SELECT string_agg(format('%s %s %s', t.key, p.metric, round((t.value->>p.metric)::numeric, 4)),
                          ', ' ORDER BY t.key = 'ranking' DESC, t.key)
          FROM jsonb_each(m.metrics) t,
               LATERAL (SELECT CASE
                   WHEN t.key = 'ranking' THEN (SELECT min(x) FROM jsonb_object_keys(t.value) x WHERE x LIKE 'ndcg@%')
                   WHEN t.key = 'rating' THEN 'rmse'
                   WHEN t.key = 'intent' THEN 'accuracy'
                   ELSE 'auc' END AS metric) p
         WHERE jsonb_typeof(t.value) = 'object' AND jsonb_typeof(t.value -> p.metric) = 'number') AS headline_metrics,
       m.metrics->>'holdout' AS evaluated_on
  FROM @extschema@.mtrs_model m;
COMMENT ON VIEW @extschema@.mtrs_models IS
	'one row per model version for humans: name, version, active, created_at, size, tasks, intents, users, items, the holdout it was evaluated on and its headline metrics';

CREATE FUNCTION @extschema@.mtrs_train_like(name text, source jsonb, interactions regclass, options jsonb)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.mtrs_train(name, interactions, source->>'user_col', source->>'item_col',
		source->>'event_col', source->>'time_col', source->>'rating_col', options, true,
		to_regclass(source->'intents'->>'table'), coalesce(source->'intents'->>'text_col', 'text'),
		coalesce(source->'intents'->>'label_col', 'label'),
		to_regclass(source->'items'->>'table'), coalesce(source->'items'->>'item_id_col', 'item_id'),
		coalesce(ARRAY(SELECT jsonb_array_elements_text(source->'items'->'item_text_cols')), ARRAY['title']),
		to_regclass(source->'intents'->>'validation_table'))
$$;
COMMENT ON FUNCTION @extschema@.mtrs_train_like(text, jsonb, regclass, jsonb) IS
	'train and activate a model named name the way a recorded source (mtrs_model.source) describes, on the given interactions, with options; used by mtrs_retrain';

CREATE FUNCTION @extschema@.mtrs_retrain_score(name text, source jsonb, k integer)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF to_regclass('pg_temp.mtrs_retrain_holdout') IS NULL THEN
		RAISE EXCEPTION 'mtrs_retrain_score can only be called by mtrs_retrain'
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'It scores the rows mtrs_retrain holds out, in pg_temp.mtrs_retrain_holdout.';
	END IF;
	PERFORM @extschema@.mtrs_evaluate(name, 'pg_temp.mtrs_retrain_holdout', k, source->>'user_col',
		source->>'item_col', source->>'event_col', source->>'rating_col');
	RETURN (SELECT m.metrics || jsonb_build_object('intent_validation', m.source->'intents'->'validation_accuracy')
	          FROM @extschema@.mtrs_model m WHERE m.name = mtrs_retrain_score.name AND m.active);
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_retrain_score(text, jsonb, integer) IS
	'evaluate a model on the rows mtrs_retrain held out (pg_temp.mtrs_retrain_holdout) and return its metrics with its held-out intent accuracy; used by mtrs_retrain';

CREATE PROCEDURE @extschema@.mtrs_retrain(
	name text,
	options jsonb DEFAULT NULL,
	holdout_fraction real DEFAULT 0.2,
	tolerance real DEFAULT 0.02,
	task_tolerance jsonb DEFAULT '{}',
	k integer DEFAULT 20,
	keep_versions integer DEFAULT 5)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur     record;
	src     jsonb;
	tbl     regclass;
	opts    jsonb;
	cutoff  timestamptz;
	cut_iso text;
	rule    text;
	n_held  bigint;
	/* the scratch models' names: "name~candidate" and "name~incumbent", with a long name
	   cut (to whole characters of at most 44 bytes) and told apart by its hash so that
	   they are valid names too */
	stem    text := CASE WHEN octet_length(mtrs_retrain.name) <= 53 THEN mtrs_retrain.name
	                     ELSE (SELECT left(mtrs_retrain.name, max(n)) FROM generate_series(0, 44) n
	                            WHERE octet_length(left(mtrs_retrain.name, n)) <= 44)
	                          || '~' || left(md5(mtrs_retrain.name), 8) END;
	cand    text := stem || '~candidate';
	inc     text := stem || '~incumbent';
	taken   text;
	cand_m  jsonb;
	inc_m   jsonb;
	t       text;
	metric  text;
	cv      float8;
	iv      float8;
	tol     float8;
	worse   text[] := '{}';
	report  jsonb := '{}';
	new_id  bigint;
	dropped integer;
	unknown text;
	same    boolean;
	cand_row @extschema@.mtrs_model;
BEGIN
	IF mtrs_retrain.name IS NULL OR holdout_fraction IS NULL OR tolerance IS NULL OR k IS NULL
	   OR keep_versions IS NULL THEN
		RAISE EXCEPTION 'name, holdout_fraction, tolerance, k and keep_versions must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	/* (NaN sorts above every number in PostgreSQL: tolerance >= 0 holds for it) */
	IF NOT (holdout_fraction > 0 AND holdout_fraction < 1) OR tolerance < 0 OR tolerance IN ('NaN', 'Infinity')
	   OR k < 1 OR keep_versions < 1 THEN
		RAISE EXCEPTION 'holdout_fraction must be in (0, 1), tolerance >= 0, k >= 1 and keep_versions >= 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	/* on a hot standby, or in a transaction declared read-only */
	IF current_setting('transaction_read_only')::boolean THEN
		RAISE EXCEPTION 'mtrs_retrain cannot register a model in a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction',
			      HINT = 'Retrain on the primary.';
	END IF;
	IF NOT pg_try_advisory_xact_lock(hashtext('mtrs_retrain'), hashtext(mtrs_retrain.name)) THEN
		RAISE EXCEPTION 'another mtrs_retrain of model "%" is running', mtrs_retrain.name
			USING ERRCODE = 'lock_not_available',
			      HINT = 'Wait for it to finish; the active version is unchanged.';
	END IF;
	SELECT m.* INTO cur FROM @extschema@.mtrs_model m WHERE m.name = mtrs_retrain.name AND m.active;
	IF NOT FOUND THEN
		PERFORM @extschema@.mtrs_model_info(mtrs_retrain.name);	/* unknown name: its error */
		RAISE EXCEPTION 'mtrs model "%" has no active version', mtrs_retrain.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Activate a version with mtrs_activate().';
	END IF;
	/* the scratch models are dropped at the end, so no other model may have their names:
	   one that mtrs_retrain of 0.1.0 left behind (trained on its temporary view) is
	   dropped now, any other is an error */
	FOR taken IN SELECT DISTINCT m.name FROM @extschema@.mtrs_model m WHERE m.name IN (cand, inc)
	              AND NOT EXISTS (SELECT 1 FROM @extschema@.mtrs_model o WHERE o.name = m.name
	                              AND coalesce(o.source->>'table', '') !~ '(^|\.)mtrs_retrain_train$') LOOP
		PERFORM @extschema@.mtrs_drop_model(taken);
	END LOOP;
	SELECT m.name INTO taken FROM @extschema@.mtrs_model m WHERE m.name IN (cand, inc) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'mtrs model "%" already exists', taken
			USING ERRCODE = 'duplicate_object',
			      DETAIL = format('mtrs_retrain of "%s" trains scratch models named "%s" and "%s" and drops them afterwards.',
			                      mtrs_retrain.name, cand, inc),
			      HINT = 'Rename that model, or drop it with mtrs_drop_model().';
	END IF;
	IF jsonb_typeof(coalesce(task_tolerance, '{}')) <> 'object' THEN
		RAISE EXCEPTION 'task_tolerance must be a jsonb object of task names and tolerances'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT string_agg(e.key, ', ') INTO unknown
	  FROM jsonb_each(coalesce(task_tolerance, '{}')) e
	 WHERE jsonb_typeof(e.value) <> 'number' OR (e.value)::text::float8 < 0;
	IF unknown IS NOT NULL THEN
		RAISE EXCEPTION 'task_tolerance must give each task a number >= 0, not so for: %', unknown
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT string_agg(key, ', ') INTO unknown
	  FROM jsonb_object_keys(coalesce(task_tolerance, '{}')) key
	 WHERE key <> ALL (cur.tasks || '{intent_validation}'::text[]);
	IF unknown IS NOT NULL THEN
		RAISE EXCEPTION 'task_tolerance names tasks mtrs model "%" does not have: %', mtrs_retrain.name, unknown
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = format('Its tasks are: %s (and intent_validation for a model with intents).',
			                    array_to_string(cur.tasks, ', '));
	END IF;
	src := cur.source;
	IF src->>'table' IS NULL AND src->'intents' IS NULL AND src->'items' IS NULL THEN
		RAISE EXCEPTION 'mtrs model "%" has no recorded source', mtrs_retrain.name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Train it with mtrs_train() once; mtrs_retrain repeats that.';
	END IF;
	/* a run without one of its tables would lose that table's task without a word */
	FOR t IN SELECT x FROM unnest(ARRAY[src->>'table', src->'intents'->>'table',
	                                    src->'intents'->>'validation_table', src->'items'->>'table']) x
	          WHERE x IS NOT NULL LOOP
		IF to_regclass(t) IS NULL THEN
			RAISE EXCEPTION 'the source table % of mtrs model "%" no longer exists', t, mtrs_retrain.name
				USING ERRCODE = 'undefined_table';
		END IF;
		/* the tables are whatever a writer of mtrs_model recorded: one whose reading runs
		   code as the caller (a view's functions, row-level security policies, a foreign
		   table's wrapper) is read only if its owner has the caller's privileges */
		IF EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = to_regclass(t)
		             AND NOT (c.relkind IN ('r', 'p') AND NOT c.relrowsecurity)
		             AND NOT pg_has_role(c.relowner, current_user, 'USAGE')) THEN
			RAISE EXCEPTION 'mtrs_retrain does not read % as role "%"', t, current_user
				USING ERRCODE = 'insufficient_privilege',
				      DETAIL = 'It is a view, a table with row-level security or a foreign table, and its owner does not have the privileges of that role: code its owner wrote would run with them.',
				      HINT = 'Run the retrain as a role whose privileges the owner has, such as the owner itself (SET ROLE).';
		END IF;
	END LOOP;
	tbl := to_regclass(src->>'table');	/* NULL: a model of texts alone */
	/* the given options change the active version's recipe key by key; null: the default */
	opts := jsonb_strip_nulls(coalesce(cur.options, '{}') || coalesce(mtrs_retrain.options, '{}'))
	        || '{"progress": false}';
	/* an invalid option, or a warm start the final run could not take, fails now, not
	   after the guard's runs */
	same := @extschema@.mtrs_options(opts - 'warm_start')
	        = @extschema@.mtrs_options(coalesce(cur.options, '{}') - 'warm_start');
	PERFORM @extschema@.mtrs_check_warm_start(mtrs_retrain.name, opts);

	IF tbl IS NULL THEN
		/* texts alone: both recipes train on every utterance, and the guard compares the
		   accuracy each reached on the held-out utterances its decision rule was tuned on */
		rule := 'none: the held-out utterances of training (intent_validation)';
		n_held := 0;
		PERFORM @extschema@.mtrs_train_like(cand, src, NULL, opts - 'warm_start');
		SELECT m.* INTO cand_row FROM @extschema@.mtrs_model m WHERE m.name = cand AND m.active;
		cand_m := jsonb_strip_nulls(jsonb_build_object('intent_validation',
		                                               cand_row.source->'intents'->'validation_accuracy'));
		IF same THEN
			inc_m := cand_m;
		ELSE
			PERFORM @extschema@.mtrs_train_like(inc, src, NULL, cur.options || '{"progress": false}');
			inc_m := jsonb_strip_nulls(jsonb_build_object('intent_validation',
				(SELECT m.source->'intents'->'validation_accuracy'
				   FROM @extschema@.mtrs_model m WHERE m.name = inc AND m.active)));
		END IF;
	ELSE
		/* the most recent rows (by time) are held out from both recipes; without a time
		   column, a holdout_fraction of the (user, item) pairs, chosen by a hash */
		IF src->>'time_col' IS NOT NULL THEN
			EXECUTE format('SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY %I::timestamptz) FROM %s',
			               1 - holdout_fraction, src->>'time_col', tbl)
				INTO cutoff;
			/* the cut-off as ISO 8601 in UTC: read back the same under any DateStyle and
			   TimeZone (a zone abbreviation such as IST is ambiguous) */
			cut_iso := to_char(cutoff AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
			EXECUTE format('CREATE TEMP VIEW mtrs_retrain_train AS SELECT * FROM %s WHERE %I::timestamptz < %L::timestamptz',
			               tbl, src->>'time_col', cut_iso);
			EXECUTE format('CREATE TEMP VIEW mtrs_retrain_holdout AS SELECT * FROM %s WHERE %I::timestamptz >= %L::timestamptz',
			               tbl, src->>'time_col', cut_iso);
			rule := 'the newest rows';
		ELSE
			rule := 'the (user, item) pairs whose hash falls in the holdout_fraction';
			EXECUTE format('CREATE TEMP VIEW mtrs_retrain_train AS SELECT * FROM %s '
			               'WHERE (hashtext(%I::text || ''/'' || %I::text) & 1023) >= %s',
			               tbl, src->>'user_col', src->>'item_col', round(holdout_fraction * 1024));
			EXECUTE format('CREATE TEMP VIEW mtrs_retrain_holdout AS SELECT * FROM %s '
			               'WHERE (hashtext(%I::text || ''/'' || %I::text) & 1023) < %s',
			               tbl, src->>'user_col', src->>'item_col', round(holdout_fraction * 1024));
		END IF;
		SELECT count(*) INTO n_held FROM pg_temp.mtrs_retrain_holdout;
		IF n_held = 0 THEN
			RAISE EXCEPTION 'mtrs_retrain holds out no rows of % with holdout_fraction %', tbl, holdout_fraction
				USING ERRCODE = 'data_exception',
				      DETAIL = 'Without a time column it holds out the (user, item) pairs whose hash falls in the holdout_fraction, in steps of 1/1024.',
				      HINT = 'Give a larger holdout_fraction.';
		END IF;
		/* ties at the cut-off (every row at one time, or one row) can leave no rows to train on */
		IF NOT EXISTS (SELECT 1 FROM pg_temp.mtrs_retrain_train) THEN
			RAISE EXCEPTION 'mtrs_retrain cannot hold out % of the rows of % and train on the rest',
				holdout_fraction, tbl
				USING ERRCODE = 'data_exception',
				      DETAIL = CASE WHEN src->>'time_col' IS NOT NULL
				                    THEN format('Every row is at or after the cut-off time %s (it holds out %s rows).', cutoff, n_held)
				                    ELSE format('Every (user, item) pair falls in the holdout (%s rows).', n_held) END,
				      HINT = 'Retrain on a table with rows at more than one time, or train it with mtrs_train().';
		END IF;

		/* the candidate recipe and the incumbent's recipe, trained on the same rows, from
		   scratch: the active model, a warm start's usual source, has seen the held-out rows */
		PERFORM @extschema@.mtrs_train_like(cand, src, 'pg_temp.mtrs_retrain_train', opts - 'warm_start');
		cand_m := @extschema@.mtrs_retrain_score(cand, src, k);
		IF same THEN
			inc_m := cand_m;		/* the same recipe on the same rows: the same model */
		ELSE
			PERFORM @extschema@.mtrs_train_like(inc, src, 'pg_temp.mtrs_retrain_train',
				cur.options - 'warm_start' || '{"progress": false}');
			inc_m := @extschema@.mtrs_retrain_score(inc, src, k);
		END IF;
		DROP VIEW pg_temp.mtrs_retrain_train, pg_temp.mtrs_retrain_holdout;
	END IF;

	/* guard rails: each task's primary metric may not be worse by more than its tolerance */
	FOR t IN SELECT jsonb_object_keys(cand_m) UNION SELECT jsonb_object_keys(inc_m) LOOP
		CONTINUE WHEN coalesce(jsonb_typeof(cand_m->t), jsonb_typeof(inc_m->t)) NOT IN ('object', 'number');
		metric := CASE WHEN t = 'ranking' THEN format('ndcg@%s', k) WHEN t = 'rating' THEN 'rmse'
		               WHEN t = 'intent_validation' THEN 'accuracy' ELSE 'auc' END;
		IF t = 'intent_validation' THEN
			cv := (cand_m->>t)::float8;
			iv := (inc_m->>t)::float8;
		ELSE
			cv := (cand_m->t->>metric)::float8;
			iv := (inc_m->t->>metric)::float8;
		END IF;
		CONTINUE WHEN iv IS NULL;		/* nothing to hold the candidate to */
		IF cv IS NULL THEN
			worse := worse || format('%s %s: the candidate has none (the incumbent %s)', t, metric, round(iv::numeric, 4));
			CONTINUE;
		END IF;
		tol := coalesce((task_tolerance->>t)::float8, tolerance::numeric::float8);
		report := report || jsonb_build_object(t, jsonb_build_object(
			'metric', metric, 'candidate', cv, 'incumbent', iv, 'tolerance', tol));
		IF (metric = 'rmse' AND cv > iv * (1 + tol)) OR (metric <> 'rmse' AND cv < iv * (1 - tol)) THEN
			worse := worse || format('%s %s %s %s %s', t, metric, round(cv::numeric, 4),
			                         CASE WHEN metric = 'rmse' THEN '>' ELSE '<' END, round(iv::numeric, 4));
		END IF;
	END LOOP;
	PERFORM @extschema@.mtrs_drop_model(cand);
	IF NOT same THEN
		PERFORM @extschema@.mtrs_drop_model(inc);
	END IF;

	IF cardinality(worse) > 0 THEN
		UPDATE @extschema@.mtrs_model m
		   SET metrics = m.metrics || jsonb_build_object('last_retrain', jsonb_build_object(
		           'at', now(), 'decision', 'kept', 'reason', array_to_string(worse, '; '),
		           'options', opts, 'holdout', rule, 'holdout_rows', n_held, 'holdout_from', cutoff,
		           'guard', report))
		 WHERE m.id = cur.id;
		RAISE NOTICE 'mtrs_retrain kept version % of "%": the candidate is worse (%)', cur.version,
			mtrs_retrain.name, array_to_string(worse, '; ');
		RETURN;
	END IF;

	/* an mtrs_activate (a rollback) committed while this ran wins: activations of this
	   model wait from here until the final run commits */
	PERFORM pg_advisory_xact_lock(hashtext('mtrs_model'), hashtext(mtrs_retrain.name));
	SELECT m.version INTO taken FROM @extschema@.mtrs_model m WHERE m.name = mtrs_retrain.name AND m.active;
	IF taken IS DISTINCT FROM cur.version::text THEN
		UPDATE @extschema@.mtrs_model m
		   SET metrics = m.metrics || jsonb_build_object('last_retrain', jsonb_build_object(
		           'at', now(), 'decision', 'kept',
		           'reason', format('the active version changed from %s to %s while it ran', cur.version, taken),
		           'options', opts, 'holdout', rule, 'holdout_rows', n_held, 'holdout_from', cutoff,
		           'guard', report))
		 WHERE m.name = mtrs_retrain.name AND m.active;
		RAISE NOTICE 'mtrs_retrain did not activate a new version of "%": the active version changed from % to % while it ran',
			mtrs_retrain.name, cur.version, coalesce(taken, 'none');
		RETURN;
	END IF;

	/* the candidate recipe passed: train it on every row and activate it (texts alone:
	   the candidate is that run already) */
	IF tbl IS NULL THEN
		new_id := @extschema@.mtrs_register(mtrs_retrain.name, cand_row.weights, true,
			options => cand_row.options, source => cand_row.source, training_log => cand_row.training_log);
	ELSE
		new_id := @extschema@.mtrs_train_like(mtrs_retrain.name, src, tbl, opts);
	END IF;
	UPDATE @extschema@.mtrs_model m
	   SET metrics = CASE WHEN tbl IS NULL
	                      THEN jsonb_strip_nulls(jsonb_build_object('intent', jsonb_build_object(
	                               'accuracy', cand_m->'intent_validation')))
	                      ELSE cand_m - 'intent_validation' END
	                 || jsonb_build_object('holdout', CASE WHEN tbl IS NULL
	                                                       THEN 'the utterances training held out (mtrs_retrain)'
	                                                       ELSE format('%s, %s (mtrs_retrain)', tbl, rule) END)
	                 || jsonb_build_object('last_retrain', jsonb_build_object(
	           'at', now(), 'decision', 'activated', 'replaced_version', cur.version, 'options', opts,
	           'holdout', rule, 'holdout_rows', n_held, 'holdout_from', cutoff, 'guard', report,
	           'note', CASE WHEN tbl IS NOT NULL
	                        THEN 'metrics are those of the same recipe trained without the held-out rows' END))
	 WHERE m.id = new_id;
	DELETE FROM @extschema@.mtrs_model m
	 WHERE m.name = mtrs_retrain.name AND NOT m.active
	   AND m.version NOT IN (SELECT o.version FROM @extschema@.mtrs_model o WHERE o.name = mtrs_retrain.name
	                          ORDER BY o.version DESC LIMIT keep_versions);
	GET DIAGNOSTICS dropped = ROW_COUNT;
	RAISE NOTICE 'mtrs_retrain activated version % of "%" (was %); % old version(s) pruned',
		(SELECT m.version FROM @extschema@.mtrs_model m WHERE m.id = new_id), mtrs_retrain.name,
		cur.version, dropped;
END
$$;
COMMENT ON PROCEDURE @extschema@.mtrs_retrain(text, jsonb, real, real, jsonb, integer, integer) IS
	'retrain a model from its recorded source with the active version''s options changed by options (key by key; null: the default); activate the new version only if no task''s primary metric on the most recent rows is worse than the current recipe''s beyond its tolerance; prune old versions';

CREATE FUNCTION @extschema@.mtrs_report(name text, versions integer DEFAULT 2)
RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	palette  text[] := ARRAY['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
	pw       constant integer := 360;	/* panel width and height */
	ph       constant integer := 220;
	ml       constant integer := 58;	/* plot margins inside a panel */
	mr       constant integer := 14;
	mt       constant integer := 30;
	mb       constant integer := 38;
	cols     constant integer := 3;
	vers     integer[];
	pts      jsonb;
	tasks    text[];
	n_panels integer;
	top      integer;
	height   integer;
	width    integer;
	svg      text;
	p        integer := 0;
	t        text;
	x0       integer;
	y0       integer;
	x_max     float8;
	y_min     float8;
	y_max     float8;
	v        integer;
	path     text;
	r        record;
	line_y   integer;
BEGIN
	IF mtrs_report.name IS NULL OR versions IS NULL THEN
		RAISE EXCEPTION 'name and versions must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF versions < 1 THEN
		RAISE EXCEPTION 'versions must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT array_agg(m.version ORDER BY m.version) INTO vers
	  FROM (SELECT o.version FROM @extschema@.mtrs_model o WHERE o.name = mtrs_report.name
	         ORDER BY o.version DESC LIMIT versions) m;
	IF vers IS NULL THEN
		PERFORM @extschema@.mtrs_model_info(mtrs_report.name);	/* its error */
	END IF;

	/* one point per (version, task, step): interaction iterations, then text epochs; kept in
	   a variable, not a temporary table, so that the report runs in a read-only transaction */
	SELECT coalesce(jsonb_agg(jsonb_build_object(
	           'version', m.version, 'task', l.key, 'step', coalesce(e->>'iteration', e->>'text_epoch')::float8,
	           'loss', l.value::text::float8, 'weight', (e->'weight'->>l.key)::float8)), '[]')
	  INTO pts
	  FROM @extschema@.mtrs_model m, jsonb_array_elements(m.training_log) e, jsonb_each(e->'loss') l
	 WHERE m.name = mtrs_report.name AND m.version = ANY (vers) AND jsonb_typeof(l.value) = 'number';
	SELECT array_agg(x.task ORDER BY x.first, x.task) INTO tasks
	  FROM (SELECT pt.task, min(pt.step + CASE WHEN pt.task = 'ranking' THEN -1e9 ELSE 0 END) AS first
	          FROM jsonb_to_recordset(pts)
	               AS pt(version integer, task text, step float8, loss float8, weight float8) GROUP BY pt.task) x;
	n_panels := coalesce(cardinality(tasks), 0);
	top := 70 + 22 * cardinality(vers);
	width := cols * pw + 20;
	height := top + greatest(1, (n_panels + cols - 1) / cols) * (ph + 16) + 10;

	svg := format('<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" '
	              'font-family="Helvetica, Arial, sans-serif" font-size="12">', width, height, width, height)
	    || '<rect width="100%" height="100%" fill="white"/>'
	    || format('<text x="10" y="24" font-size="18" font-weight="bold">mtrs model %s: training curves</text>',
	              replace(replace(replace(regexp_replace(mtrs_report.name, '[\x01-\x08\x0b\x0c\x0e-\x1f]', '', 'g'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'))
	    || '<text x="10" y="44" fill="#555">loss per iteration (text tasks: per epoch), one line per version; '
	    || 'task weight of the last iteration in the panel title</text>';
	/* legend: one line per version with its headline metrics */
	line_y := 66;
	FOR r IN SELECT mm.version, mm.active, mm.created_at, mm.size, mm.headline_metrics
	           FROM @extschema@.mtrs_models mm WHERE mm.name = mtrs_report.name AND mm.version = ANY (vers)
	          ORDER BY mm.version LOOP
		v := array_position(vers, r.version);
		svg := svg || format('<rect x="10" y="%s" width="14" height="4" fill="%s"/>', line_y - 6,
		                     palette[1 + (v - 1) % cardinality(palette)])
		    || format('<text x="30" y="%s">version %s%s, %s, %s%s</text>', line_y, r.version,
		              CASE WHEN r.active THEN ' (active)' ELSE '' END,
		              to_char(r.created_at, 'YYYY-MM-DD HH24:MI'), r.size,
		              coalesce(': ' || replace(replace(replace(regexp_replace(r.headline_metrics, '[\x01-\x08\x0b\x0c\x0e-\x1f]', '', 'g'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), ''));
		line_y := line_y + 22;
	END LOOP;

	FOREACH t IN ARRAY coalesce(tasks, '{}') LOOP
		x0 := 10 + (p % cols) * pw;
		y0 := top + (p / cols) * (ph + 16);
		SELECT max(pt.step), min(pt.loss), max(pt.loss) INTO x_max, y_min, y_max
		  FROM jsonb_to_recordset(pts)
		       AS pt(version integer, task text, step float8, loss float8, weight float8) WHERE pt.task = t;
		IF y_max - y_min < 1e-12 THEN
			y_min := y_min - 0.5 * greatest(abs(y_min), 1e-6);
			y_max := y_max + 0.5 * greatest(abs(y_max), 1e-6);
		END IF;
		x_max := greatest(x_max, 2);
		svg := svg || format('<g transform="translate(%s,%s)">', x0, y0)
		    || format('<rect x="0" y="0" width="%s" height="%s" fill="#fafafa" stroke="#ddd"/>', pw - 10, ph)
		    || format('<text x="%s" y="18" font-weight="bold">%s</text>', ml,
		              replace(replace(replace(regexp_replace(t, '[\x01-\x08\x0b\x0c\x0e-\x1f]', '', 'g'), '&', '&amp;'), '<', '&lt;'), '>', '&gt;') ||
		              coalesce((SELECT format(' (weight %s)', round(pt.weight::numeric, 4))
		                          FROM jsonb_to_recordset(pts)
		                               AS pt(version integer, task text, step float8, loss float8, weight float8)
		                         WHERE pt.task = t AND pt.weight IS NOT NULL
		                         ORDER BY pt.version DESC, pt.step DESC LIMIT 1), ''))
		    /* axes with end labels */
		    || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>', ml, ph - mb, pw - 10 - mr, ph - mb)
		    || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>', ml, mt, ml, ph - mb)
		    || format('<text x="%s" y="%s" text-anchor="end">%s</text>', ml - 4, mt + 4, round(y_max::numeric, 4))
		    || format('<text x="%s" y="%s" text-anchor="end">%s</text>', ml - 4, ph - mb + 4, round(y_min::numeric, 4))
		    || format('<text x="%s" y="%s" text-anchor="middle">1</text>', ml, ph - mb + 16)
		    || format('<text x="%s" y="%s" text-anchor="middle">%s</text>', pw - 10 - mr, ph - mb + 16, x_max)
		    || format('<text x="%s" y="%s" text-anchor="middle" fill="#555">%s</text>', (ml + pw - 10 - mr) / 2,
		              ph - 6, CASE WHEN t IN ('intent', 'item_text') THEN 'epoch' ELSE 'iteration' END)
		    || format('<text x="12" y="%s" fill="#555" transform="rotate(-90 12 %s)" text-anchor="middle">loss</text>',
		              (mt + ph - mb) / 2, (mt + ph - mb) / 2);
		FOREACH v IN ARRAY vers LOOP
			SELECT 'M' || substr(string_agg(format('L%s %s',
			                         round((ml + (pt.step - 1) / (x_max - 1) * (pw - 10 - mr - ml))::numeric, 1),
			                         round((ph - mb - (pt.loss - y_min) / (y_max - y_min) * (ph - mb - mt))::numeric, 1)),
			                  ' ' ORDER BY pt.step), 2)
			  INTO path
			  FROM jsonb_to_recordset(pts)
			       AS pt(version integer, task text, step float8, loss float8, weight float8) WHERE pt.task = t AND pt.version = v;
			IF path IS NOT NULL THEN
				svg := svg || format('<path d="%s" fill="none" stroke="%s" stroke-width="2"/>', path,
				                     palette[1 + (array_position(vers, v) - 1) % cardinality(palette)]);
			END IF;
		END LOOP;
		svg := svg || '</g>';
		p := p + 1;
	END LOOP;
	IF n_panels = 0 THEN
		svg := svg || format('<text x="10" y="%s">no training log recorded (models registered with mtrs_register have none)</text>', top + 20);
	END IF;
	RETURN svg || '</svg>';
END
$$;
COMMENT ON FUNCTION @extschema@.mtrs_report(text, integer) IS
	'an SVG page with one panel per task: training loss per iteration of the newest versions side by side, with their headline metrics';
