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
 * means the row has none.
 *
 * The state type is bytea, not internal, so that Citus can split the
 * aggregate into per-shard partial states and a combine (it ships every
 * row to the coordinator for an internal state).  Within one process the
 * state is an expanded object (utils/expandeddatum.h) that the executor
 * adopts without copying, so collecting a row is an append; it becomes a
 * flat bytea (MtrsFitDataFlatten) only to travel between processes, and a
 * flat state is checked when it is read back.  Combining is an append, so
 * parallel plans train exactly the model a serial plan trains.
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
#include "utils/expandeddatum.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "mtrs.h"
#include "mtrs_parallel.h"
#include "mtrs_train.h"

PG_FUNCTION_INFO_V1(mtrs_fit_transfn);
PG_FUNCTION_INFO_V1(mtrs_fit_combine);
PG_FUNCTION_INFO_V1(mtrs_fit_finalfn);
PG_FUNCTION_INFO_V1(mtrs_last_fit);

/* What the last mtrs_fit in this backend resolved and logged (jsonb text) */
static char *last_fit = NULL;

/* Return the aggregate memory context, or fail outside an aggregate */
static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *function)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s can only be called by an aggregate", function),
				 errhint("Train with the mtrs_fit aggregate or with mtrs_train.")));
	return ctx;
}

/* The aggregate's state: the collected rows as an expanded bytea */
typedef struct FitState
{
	ExpandedObjectHeader hdr;
	MtrsFitData *d;				/* lives in hdr.eoh_context */
	struct varlena *options;	/* the options jsonb rows gave, as given, or NULL */
} FitState;

static Size
fit_state_flat_size(ExpandedObjectHeader *eohptr)
{
	return MtrsFitDataFlatSize(((FitState *) eohptr)->d);
}

static void
fit_state_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	MtrsFitDataFlatten(((FitState *) eohptr)->d, (bytea *) result, allocated_size);
}

static const ExpandedObjectMethods fit_state_methods = {
	fit_state_flat_size,
	fit_state_flatten_into
};

/* The state behind datum if it is one of ours (read-only or read-write), else NULL */
static FitState *
our_state(Datum datum)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(datum);

		if (eoh->eoh_methods == &fit_state_methods)
			return (FitState *) eoh;
	}
	return NULL;
}

/* A new empty state in its own memory context under aggctx */
static FitState *
new_state(MemoryContext aggctx)
{
	MemoryContext ctx = AllocSetContextCreate(aggctx, "mtrs_fit state", ALLOCSET_DEFAULT_SIZES);
	FitState   *s = MemoryContextAlloc(ctx, sizeof(FitState));

	EOH_init_header(&s->hdr, &fit_state_methods, ctx);
	s->d = MtrsFitDataCreate(ctx);
	s->options = NULL;
	return s;
}

/* Append the rows of the state in datum (ours, or a flat bytea) to s */
static void
append_state(FitState *s, Datum datum)
{
	FitState   *other = our_state(datum);
	bytea	   *flat;

	if (other != NULL)
	{
		MtrsFitDataMerge(s->d, other->d);
		return;
	}
	flat = DatumGetByteaPP(datum);
	MtrsFitDataAppendFlat(s->d, VARDATA_ANY(flat), VARSIZE_ANY_EXHDR(flat));
}

/*
 * The state in argument 0, to add rows to: itself if this aggregate owns
 * it (a read-write pointer to our state in aggctx), else a new state with
 * its rows (the executor then frees the old value)
 */
static FitState *
writable_state(FunctionCallInfo fcinfo, MemoryContext aggctx)
{
	FitState   *s;

	if (PG_ARGISNULL(0))
		return new_state(aggctx);
	s = our_state(PG_GETARG_DATUM(0));
	if (s != NULL && VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))) &&
		MemoryContextGetParent(s->hdr.eoh_context) == aggctx)
		return s;
	s = new_state(aggctx);
	append_state(s, PG_GETARG_DATUM(0));
	return s;
}

/*
 * Read the optional rating and options arguments (positions 5 and 6).  Every
 * row that gives options must give the same (a row without them follows
 * the others): the bytes are compared with the last ones seen, and options
 * in other bytes are compared as text.
 */
static void
optional_args(FunctionCallInfo fcinfo, FitState *s, float *rating)
{
	MtrsFitData *d = s->d;

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
		else if (type == JSONBOID)
		{
			Jsonb	   *jb = PG_GETARG_JSONB_P(i);
			char	   *text;

			if (s->options != NULL && VARSIZE(s->options) == VARSIZE(jb) &&
				memcmp(s->options, jb, VARSIZE(jb)) == 0)
				continue;
			text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
			if (d->options == NULL)
			{
				MtrsFitOptions o;

				MtrsFitOptionsParse(&o, text);	/* fail on the first row, not after the scan */
			}
			MtrsFitDataSetOptions(d, text);
			if (s->options != NULL)
				pfree(s->options);
			s->options = MemoryContextAlloc(d->context, VARSIZE(jb));
			memcpy(s->options, jb, VARSIZE(jb));
			pfree(text);
		}
	}
}

/* Add one interaction row to the state */
Datum
mtrs_fit_transfn(PG_FUNCTION_ARGS)
{
	FitState   *s = writable_state(fcinfo, agg_context(fcinfo, "mtrs_fit_transfn"));
	MtrsFitData *d = s->d;
	float		rating;
	double		days;

	optional_args(fcinfo, s, &rating);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_DATUM(EOHPGetRWDatum(&s->hdr));
	if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(4)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interaction time must be finite"),
				 errdetail("User " INT64_FORMAT ", item " INT64_FORMAT " has an infinite time.",
						   PG_GETARG_INT64(1), PG_GETARG_INT64(2))));
	days = (double) PG_GETARG_TIMESTAMPTZ(4) / (double) USECS_PER_DAY;
	/* a model records its newest time, within these bounds (mtrs_format.c) */
	if (fabs(days) > MTRS_MAX_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interaction time is out of range"),
				 errdetail("User " INT64_FORMAT ", item " INT64_FORMAT " has a time more than %.0f days from 2000-01-01.",
						   PG_GETARG_INT64(1), PG_GETARG_INT64(2), MTRS_MAX_DAYS)));
	MtrsFitDataAdd(d, PG_GETARG_INT64(1), PG_GETARG_INT64(2),
				   text_to_cstring(PG_GETARG_TEXT_PP(3)), days, rating);
	PG_RETURN_DATUM(EOHPGetRWDatum(&s->hdr));
}

/* Merge two partial states (an append) */
Datum
mtrs_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo, "mtrs_fit_combine");
	FitState   *s;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	s = writable_state(fcinfo, ctx);
	append_state(s, PG_GETARG_DATUM(1));
	PG_RETURN_DATUM(EOHPGetRWDatum(&s->hdr));
}

/* Train on the collected rows; NULL when there were none */
Datum
mtrs_fit_finalfn(PG_FUNCTION_ARGS)
{
	MemoryContext ctx = agg_context(fcinfo, "mtrs_fit_finalfn");
	FitState   *s;
	MtrsFitData *d;
	MtrsFitOptions o;
	StringInfoData log;
	bytea	   *model;
	double		memory;
	MtrsModel  *init = NULL;
	MtrsWarmStart warm;
	const char *warm_json = "null";

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	/* ours even through a read-only pointer: FINALFUNC_MODIFY = READ_WRITE */
	s = our_state(PG_GETARG_DATUM(0));
	if (s == NULL)
	{
		s = new_state(ctx);
		append_state(s, PG_GETARG_DATUM(0));
	}
	d = s->d;
	if (d->n == 0)
		PG_RETURN_NULL();
	MtrsFitOptionsParse(&o, d->options);
	if (o.warm_start[0] != '\0')
	{
		init = MtrsCacheFindModel(fcinfo, o.warm_start);
		if (init == NULL)
			ereport(NOTICE,
					(errmsg("mtrs model \"%s\" has no active version to warm-start from: training from scratch",
							o.warm_start)));
		else if (o.iterations_auto)
			o.iterations = MTRS_WARM_ITERATIONS;
	}
	initStringInfo(&log);
	model = MtrsTrain(d, &o, init, &log, &memory, &warm);
	if (init != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"model\": ");
		escape_json(&buf, init->name);
		appendStringInfo(&buf, ", \"id\": " INT64_FORMAT ", \"version\": %d, "
						 "\"users\": %d, \"items\": %d, \"tasks\": %d}",
						 init->registry_id, init->version, warm.users, warm.items, warm.tasks);
		warm_json = buf.data;
	}
	if (last_fit != NULL)
		pfree(last_fit);
	last_fit = MemoryContextStrdup(TopMemoryContext,
								   psprintf("{\"options\": %s, \"rows\": " INT64_FORMAT
											", \"memory_bytes\": %.0f, \"threads\": %d, "
											"\"reg\": %g, \"interaction_norm\": %s, "
											"\"iterations\": %d, \"warm_start\": %s, "
											"\"training_log\": [%s]}",
											MtrsFitOptionsToJson(&o), d->n, memory,
											MtrsTrainingThreads(), o.reg,
											o.reg_auto ? psprintf("%.6g", o.interaction_norm) : "null",
											o.iterations, warm_json, log.data));
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
