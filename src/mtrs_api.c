/*-------------------------------------------------------------------------
 *
 * mtrs_api.c
 *	  SQL-callable functions about model bytes, training options and the
 *	  model cache.
 *
 * IDENTIFICATION
 *	  src/mtrs_api.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "mtrs.h"
#include "mtrs_text.h"
#include "mtrs_train.h"

PG_FUNCTION_INFO_V1(mtrs_model_describe);
PG_FUNCTION_INFO_V1(mtrs_cache_stats);
PG_FUNCTION_INFO_V1(mtrs_options);

/* Append a JSON array of model strings [from, from + n) */
static void
append_names(StringInfo buf, const MtrsModelView *v, int from, int n)
{
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, MtrsModelString(v, from + i));
	}
	appendStringInfoChar(buf, ']');
}

/*
 * mtrs_model_describe(weights bytea) -> jsonb
 * Validate model bytes and describe their header, tasks and intents.
 */
Datum
mtrs_model_describe(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	MtrsModel  *m = MtrsModelDecode(raw, CurrentMemoryContext);
	const MtrsHeader *h = m->v.hdr;
	StringInfoData buf;
	Datum		result;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format_version\": %u, \"kind\": [", (unsigned) h->version);
	appendStringInfoString(&buf, (h->kind & MTRS_KIND_INTERACTIONS) ? "\"interactions\"" : "");
	appendStringInfoString(&buf, (h->kind & MTRS_KIND_TEXT) ?
						   ((h->kind & MTRS_KIND_INTERACTIONS) ? ", \"text\"" : "\"text\"") : "");
	appendStringInfoString(&buf, (h->kind & MTRS_KIND_INTENT) ? ", \"intent\"" : "");
	appendStringInfo(&buf, "], \"dim\": %d, \"text_width\": %d, \"head_dim\": %d, \"n_users\": %d, \"n_items\": %d, "
					 "\"n_buckets\": %d, \"n_vocab\": " INT64_FORMAT ", \"item_space_weights\": %s, "
					 "\"n_params\": " INT64_FORMAT ", \"size_bytes\": %zu, \"tasks\": ",
					 h->dim, h->text_width, h->head_dim, h->n_users, h->n_items, h->n_buckets,
					 (int64) MtrsWordRows(h), (h->flags & MTRS_FLAG_ITEM_WEIGHTS) ? "true" : "false",
					 (int64) h->n_params, m->size);
	append_names(&buf, &m->v, 0, h->n_tasks);
	appendStringInfoString(&buf, ", \"intents\": ");
	append_names(&buf, &m->v, h->n_tasks, h->n_labels);
	if (h->kind & MTRS_KIND_TEXT)
	{
		MtrsTokenizer t = MtrsModelTokenizer(m);

		appendStringInfo(&buf, ", \"tokenizer\": {\"word_ngrams\": %d, \"char_min\": %d, \"char_max\": %d, "
						 "\"punctuation\": %d, \"text_marks\": %d, \"ngrams_by_script\": %d, "
						 "\"case_folding\": %d}", t.word_ngrams, t.char_min, t.char_max, t.punctuation,
						 t.text_marks, t.ngrams_by_script, t.case_folding);
	}
	appendStringInfoChar(&buf, '}');
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
	MemoryContextDelete(m->context);
	PG_RETURN_DATUM(result);
}

/*
 * mtrs_cache_stats() -> (loads, hits, entries, shared_loads, shared_bytes,
 *                        private_bytes)
 * Report this backend's model cache counters.
 */
Datum
mtrs_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	int64		loads,
				hits,
				entries,
				shared_loads,
				shared_bytes,
				private_bytes;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	MtrsCacheStats(&loads, &hits, &entries, &shared_loads, &shared_bytes, &private_bytes);
	values[0] = Int64GetDatum(loads);
	values[1] = Int64GetDatum(hits);
	values[2] = Int64GetDatum(entries);
	values[3] = Int64GetDatum(shared_loads);
	values[4] = Int64GetDatum(shared_bytes);
	values[5] = Int64GetDatum(private_bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * mtrs_options(options jsonb DEFAULT NULL) -> jsonb: the options a training
 * run given these would use, each resolved to its value (or "auto"); an
 * invalid option gives the error the run would give, before any row is read
 */
Datum
mtrs_options(PG_FUNCTION_ARGS)
{
	MtrsFitOptions o;

	MtrsFitOptionsParse(&o, PG_ARGISNULL(0) ? NULL :
						JsonbToCString(NULL, &PG_GETARG_JSONB_P(0)->root, 0));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(MtrsFitOptionsToJson(&o))));
}
