/*-------------------------------------------------------------------------
 *
 * mtrs_agg.c
 *	  The mtrs_fit aggregate: collect interaction rows in the transition
 *	  function, train in the final function.
 *
 *	  mtrs_fit(user_id bigint, item_id bigint, event text, ts timestamptz
 *			   [, rating real] [, options jsonb]) -> bytea
 *
 * Rows with a NULL user, item, event or time are skipped; a NULL rating
 * means the row has none.  The state is internal with serialize and
 * deserialize functions, and combining is an append, so parallel plans
 * train exactly the model a serial plan trains.
 *
 * IDENTIFICATION
 *	  src/mtrs_agg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mtrs.h"
#include "mtrs_train.h"

PG_FUNCTION_INFO_V1(mtrs_fit_transfn);
PG_FUNCTION_INFO_V1(mtrs_fit_combine);
PG_FUNCTION_INFO_V1(mtrs_fit_serialize);
PG_FUNCTION_INFO_V1(mtrs_fit_deserialize);
PG_FUNCTION_INFO_V1(mtrs_fit_finalfn);
PG_FUNCTION_INFO_V1(mtrs_last_fit);

/* What the last mtrs_fit in this backend resolved and logged (jsonb text) */
static char *last_fit = NULL;

/* Return the aggregate memory context, or fail outside an aggregate */
static MemoryContext
agg_context(FunctionCallInfo fcinfo)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "aggregate function called in non-aggregate context");
	return ctx;
}

/* Read the optional rating and options arguments (positions 5 and 6) */
static void
optional_args(FunctionCallInfo fcinfo, MtrsFitData *d, float *rating)
{
	*rating = NAN;
	for (int i = 5; i < PG_NARGS(); i++)
	{
		Oid			type = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (PG_ARGISNULL(i))
			continue;
		if (type == FLOAT4OID)
		{
			*rating = PG_GETARG_FLOAT4(i);
			if (isnan(*rating))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("rating must be a finite number"),
						 errdetail("A rating is NaN; use NULL for a row without a rating.")));
		}
		else if (type == JSONBOID && d->options == NULL)
		{
			Jsonb	   *jb = PG_GETARG_JSONB_P(i);
			MtrsFitOptions o;
			char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

			MtrsFitOptionsParse(&o, text);	/* fail on the first row, not after the scan */
			d->options = MemoryContextStrdup(d->context, text);
		}
	}
}

/* Add one interaction row to the state */
Datum
mtrs_fit_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	MtrsFitData *d = PG_ARGISNULL(0) ? NULL : (MtrsFitData *) PG_GETARG_POINTER(0);
	float		rating;

	if (d == NULL)
		d = MtrsFitDataCreate(ctx);
	optional_args(fcinfo, d, &rating);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_POINTER(d);
	if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(4)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interaction time must be finite"),
				 errdetail("User " INT64_FORMAT ", item " INT64_FORMAT " has an infinite time.",
						   PG_GETARG_INT64(1), PG_GETARG_INT64(2))));
	MtrsFitDataAdd(d, PG_GETARG_INT64(1), PG_GETARG_INT64(2),
				   text_to_cstring(PG_GETARG_TEXT_PP(3)),
				   (double) PG_GETARG_TIMESTAMPTZ(4) / (double) USECS_PER_DAY, rating);
	PG_RETURN_POINTER(d);
}

/* Merge two partial states (an append) */
Datum
mtrs_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);
	MtrsFitData *a = PG_ARGISNULL(0) ? NULL : (MtrsFitData *) PG_GETARG_POINTER(0);
	MtrsFitData *b = PG_ARGISNULL(1) ? NULL : (MtrsFitData *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = MtrsFitDataCreate(ctx);
	MtrsFitDataMerge(a, b);
	PG_RETURN_POINTER(a);
}

/* Serialize a partial state for a parallel worker's output */
Datum
mtrs_fit_serialize(PG_FUNCTION_ARGS)
{
	agg_context(fcinfo);
	PG_RETURN_BYTEA_P(MtrsFitDataSerialize((MtrsFitData *) PG_GETARG_POINTER(0)));
}

/* Rebuild a partial state from its serialized form */
Datum
mtrs_fit_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo);

	PG_RETURN_POINTER(MtrsFitDataDeserialize(PG_GETARG_BYTEA_PP(0), ctx));
}

/* Train on the collected rows; NULL when there were none */
Datum
mtrs_fit_finalfn(PG_FUNCTION_ARGS)
{
	MtrsFitData *d = PG_ARGISNULL(0) ? NULL : (MtrsFitData *) PG_GETARG_POINTER(0);
	MtrsFitOptions o;
	StringInfoData log;
	bytea	   *model;
	double		memory;

	agg_context(fcinfo);
	if (d == NULL || d->n == 0)
		PG_RETURN_NULL();
	MtrsFitOptionsParse(&o, d->options);
	initStringInfo(&log);
	model = MtrsTrain(d, &o, &log, &memory);
	if (last_fit != NULL)
		pfree(last_fit);
	last_fit = MemoryContextStrdup(TopMemoryContext,
								   psprintf("{\"options\": %s, \"rows\": " INT64_FORMAT
											", \"memory_bytes\": %.0f, \"training_log\": [%s]}",
											MtrsFitOptionsToJson(&o), d->n, memory, log.data));
	PG_RETURN_BYTEA_P(model);
}

/*
 * mtrs_last_fit() -> jsonb
 * The resolved options, row count and per-iteration log of the last
 * mtrs_fit that finished in this backend, and under "text" what the last
 * mtrs_fit_text recorded (NULL if neither ran); mtrs_train stores them
 * in the registry.
 */
Datum
mtrs_last_fit(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	if (last_fit == NULL && mtrs_last_text_fit == NULL)
		PG_RETURN_NULL();
	initStringInfo(&buf);
	if (last_fit != NULL)
		appendBinaryStringInfo(&buf, last_fit, strlen(last_fit) - 1);	/* without '}' */
	else
		appendStringInfoChar(&buf, '{');
	if (mtrs_last_text_fit != NULL)
		appendStringInfo(&buf, "%s\"text\": %s", last_fit != NULL ? ", " : "", mtrs_last_text_fit);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
