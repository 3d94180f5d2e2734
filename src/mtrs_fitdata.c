/*-------------------------------------------------------------------------
 *
 * mtrs_fitdata.c
 *	  Collect interaction rows for training (append, merge, the flat form
 *	  that travels between processes and its checks), hold a run to
 *	  mtrs.max_training_memory, and parse training options.
 *
 * The rows are raw (ids stay bigints, events are indices into a small
 * name table), so merging the states of parallel workers or Citus shards
 * is an append, and the flat form that travels between them is a copy
 * (checked when read back: it may come from anywhere).  The trainer sorts
 * the rows first, so the model does not depend on scan order or on the
 * number of workers.
 *
 * IDENTIFICATION
 *	  src/mtrs_fitdata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "mtrs.h"
#include "mtrs_pairs.h"
#include "mtrs_text.h"
#include "mtrs_train.h"

#define FITDATA_MAGIC	0x5449464Du	/* "MFIT" */
#define FITDATA_VERSION 1

/*
 * Header of the flat form of MtrsFitData, followed by n_events names of
 * NAMEDATALEN bytes, options_len bytes of options (no terminator) and n
 * rows (unaligned)
 */
typedef struct FitDataHeader
{
	uint32		magic;
	int32		n_events;
	int64		n;
	int32		options_len;	/* -1 = no options */
	int32		version;
} FitDataHeader;

/* Create empty training data whose rows live in context */
MtrsFitData *
MtrsFitDataCreate(MemoryContext context)
{
	MtrsFitData *d = MemoryContextAllocZero(context, sizeof(MtrsFitData));

	d->context = context;
	d->cap = 1024;
	d->rows = MemoryContextAllocHuge(context, sizeof(MtrsFitRow) * d->cap);
	return d;
}

/* Format bytes for a message or a setting, rounded up: "850MB", "3.2GB" (GB: one decimal) */
static char *
pretty_bytes(double bytes, bool setting)
{
	const char *sep = setting ? "" : " ";

	if (bytes >= 1024.0 * 1024 * 1024)
		return psprintf("%.1f%sGB", ceil(bytes * 10 / (1024.0 * 1024 * 1024)) / 10, sep);
	return psprintf("%.0f%sMB", ceil(bytes / (1024.0 * 1024)), sep);
}

/*
 * Fail if a training run would allocate more than mtrs.max_training_memory:
 * bytes is what the run needs (what: for what), in all if known (the hint
 * then suggests a limit), else so far; the hint suggests training on fewer
 * of what fewer names.  Called before the memory is allocated.
 */
void
MtrsCheckTrainingMemory(double bytes, const char *what, bool known, const char *fewer)
{
	double		limit = (double) mtrs_max_training_memory * 1024.0;

	if (bytes <= limit)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("training needs more memory than \"mtrs.max_training_memory\" allows"),
			 errdetail("%s need at least %s; the limit is %s.", what, pretty_bytes(bytes, false),
					   pretty_bytes(limit, false)),
			 known ?
			 errhint("Raise the limit for this session (SET mtrs.max_training_memory = '%s') "
					 "if the server has the memory, or train on fewer %s.",
					 pretty_bytes(bytes * 1.25, true), fewer) :
			 errhint("Raise the limit for this session if the server has the memory "
					 "(SET mtrs.max_training_memory = ...), or train on fewer %s.", fewer)));
}

/*
 * Make room for at least extra more rows, within the training memory
 * limit: the rows themselves plus what building pairs from them will take
 */
static void
reserve_rows(MtrsFitData *d, int64 extra)
{
	int64		need = d->n + extra;
	int64		cap = d->cap;

	if (need <= d->cap)
		return;
	if (need > (int64) (MaxAllocHugeSize / sizeof(MtrsFitRow)) / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many interactions for one model"),
				 errdetail("At most " INT64_FORMAT " rows can be collected.",
						   (int64) (MaxAllocHugeSize / sizeof(MtrsFitRow)) / 2)));
	while (cap < need)
		cap *= 2;
	MtrsCheckTrainingMemory((double) cap * sizeof(MtrsFitRow) +
							(double) need * MTRS_PAIR_BYTES_PER_ROW,
							psprintf("The " INT64_FORMAT " interactions collected so far", need), false,
							"interactions");
	d->cap = cap;
	d->rows = repalloc_huge(d->rows, sizeof(MtrsFitRow) * d->cap);
}

/* Keys of mtrs_model.metrics besides the tasks' (mtrs_evaluate, mtrs_retrain) */
static const char *const reserved_keys[] = {
	"intent", "intent_validation", "holdout", "k", "evaluated_at", "last_retrain"
};

/* Return the index of an event name, adding it if new */
static int
event_index(MtrsFitData *d, const char *event)
{
	size_t		len = strlen(event);

	for (int e = 0; e < d->n_events; e++)
		if (strcmp(d->event_names[e], event) == 0)
			return e;
	if (len == 0 || len > MTRS_MAX_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid event name \"%s\"", event),
				 errdetail("An event name has 1 to %d bytes.", MTRS_MAX_NAME_LEN)));
	if (strcmp(event, MTRS_TASK_RANKING) == 0 || strcmp(event, MTRS_TASK_RATING) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event name \"%s\" is reserved", event),
				 errdetail("The task names \"%s\" and \"%s\" cannot be event names.",
						   MTRS_TASK_RANKING, MTRS_TASK_RATING)));
	for (int r = 0; r < (int) lengthof(reserved_keys); r++)
		if (strcmp(event, reserved_keys[r]) == 0)
		{
			StringInfoData keys;

			initStringInfo(&keys);
			for (int j = 0; j < (int) lengthof(reserved_keys); j++)
				appendStringInfo(&keys, "%s%s", j > 0 ? ", " : "", reserved_keys[j]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event name \"%s\" is reserved", event),
					 errdetail("A model's metrics use it as a key of their own (with %s).", keys.data)));
		}
	if (d->n_events >= MTRS_MAX_EVENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct event names"),
				 errdetail("A model can learn at most %d event types.", MTRS_MAX_EVENTS)));
	strlcpy(d->event_names[d->n_events], event, NAMEDATALEN);
	return d->n_events++;
}

/* Append one interaction: ts in days (mtrs_fit_transfn refuses infinite times), rating NaN when the row has none */
void
MtrsFitDataAdd(MtrsFitData *d, int64 user, int64 item, const char *event,
			   double ts, float rating)
{
	MtrsFitRow *r;

	if (isinf(rating))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("rating must be a finite number"),
				 errdetail("User " INT64_FORMAT ", item " INT64_FORMAT " has rating %g.",
						   user, item, rating)));
	reserve_rows(d, 1);
	r = &d->rows[d->n++];
	r->user = user;
	r->item = item;
	r->ts = ts;
	/* -0 and 0 are one rating: rows must sort the same whichever comes first */
	r->rating = rating == 0.0f ? 0.0f : rating;
	r->event = (int16) event_index(d, event);
	r->pad = 0;
}

/* Append every row of from to into, remapping event indices */
void
MtrsFitDataMerge(MtrsFitData *into, const MtrsFitData *from)
{
	int16		map[MTRS_MAX_EVENTS];

	for (int e = 0; e < from->n_events; e++)
		map[e] = (int16) event_index(into, from->event_names[e]);
	reserve_rows(into, from->n);
	for (int64 i = 0; i < from->n; i++)
	{
		MtrsFitRow *r = &into->rows[into->n++];

		*r = from->rows[i];
		r->event = map[r->event];
	}
	if (from->options != NULL)
		MtrsFitDataSetOptions(into, from->options);
}

/*
 * Record the options (jsonb text) the rows of d were given; options other
 * than those already recorded are an error, so that the model cannot depend
 * on which row or partial state came first
 */
void
MtrsFitDataSetOptions(MtrsFitData *d, const char *options)
{
	if (d->options == NULL)
		d->options = MemoryContextStrdup(d->context, options);
	else if (strcmp(d->options, options) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mtrs_fit was given different options in different rows"),
				 errdetail("Some rows give %s, others %s.", d->options, options),
				 errhint("Give every row the same options, e.g. a constant or a query parameter.")));
}

/*
 * Bytes of the flat form of d, varlena header included: the state that
 * travels between processes (parallel workers, Citus shards).  Fails
 * when it would not fit in one bytea.
 */
Size
MtrsFitDataFlatSize(const MtrsFitData *d)
{
	Size		size;

	size = add_size(add_size(VARHDRSZ + sizeof(FitDataHeader), (Size) d->n_events * NAMEDATALEN),
					add_size(d->options != NULL ? strlen(d->options) : 0,
							 mul_size(sizeof(MtrsFitRow), d->n)));
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("partial training state of %zu bytes is too large to pass between processes", size),
				 errdetail("A partial state of the mtrs_fit aggregate holds at most %zu interactions.",
						   (MaxAllocSize - VARHDRSZ - sizeof(FitDataHeader)) / sizeof(MtrsFitRow)),
				 errhint("Disable parallel query for this statement (SET max_parallel_workers_per_gather = 0), "
						 "or split the table into more partitions or shards.")));
	return size;
}

/* Write the flat form of d into out, which has MtrsFitDataFlatSize(d) bytes */
void
MtrsFitDataFlatten(const MtrsFitData *d, bytea *out, Size size)
{
	FitDataHeader h = {FITDATA_MAGIC, d->n_events, d->n, -1, FITDATA_VERSION};
	char	   *p = VARDATA(out);

	Assert(size == MtrsFitDataFlatSize(d));
	if (d->options != NULL)
		h.options_len = (int32) strlen(d->options);
	SET_VARSIZE(out, size);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, d->event_names, (Size) d->n_events * NAMEDATALEN);
	p += (Size) d->n_events * NAMEDATALEN;
	if (h.options_len > 0)
		memcpy(p, d->options, h.options_len);
	p += Max(h.options_len, 0);
	memcpy(p, d->rows, sizeof(MtrsFitRow) * d->n);
}

/* Reject a flat state; detail says what is wrong with it */
static void
invalid_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("value is not a valid mtrs_fit state"),
			 errdetail_internal("%s", detail),
			 errhint("States of the mtrs_fit aggregate come from mtrs_fit itself, "
					 "from the same version of mtrs.")));
}

/*
 * Append the rows of a flat state (len bytes at p, from MtrsFitDataFlatten
 * or from anywhere: they are checked) to into.  Checked: magic, version,
 * counts against the exact size, event names, each row's event index,
 * time and rating.
 */
void
MtrsFitDataAppendFlat(MtrsFitData *into, const char *p, Size len)
{
	FitDataHeader h;
	int16		map[MTRS_MAX_EVENTS];
	const char *rows;

	if (len < sizeof(h))
		invalid_state("It is shorter than the header.");
	memcpy(&h, p, sizeof(h));
	if (h.magic != FITDATA_MAGIC)
		invalid_state("It does not start with the mtrs_fit state's magic number.");
	if (h.version != FITDATA_VERSION)
		invalid_state(psprintf("It has version %d; this version of mtrs reads version %d.",
							   h.version, FITDATA_VERSION));
	if (h.n_events < 0 || h.n_events > MTRS_MAX_EVENTS || h.n < 0 || h.options_len < -1 ||
		(uint64) h.n > (len - sizeof(h)) / sizeof(MtrsFitRow) ||
		len != sizeof(h) + (Size) h.n_events * NAMEDATALEN + Max(h.options_len, 0) +
		sizeof(MtrsFitRow) * (Size) h.n)
		invalid_state("Its counts do not match its size.");
	p += sizeof(h);
	for (int e = 0; e < h.n_events; e++, p += NAMEDATALEN)
	{
		if (memchr(p, '\0', NAMEDATALEN) == NULL)
			invalid_state("An event name is not terminated.");
		if (!pg_verifymbstr(p, strlen(p), true))
			invalid_state("An event name is not valid text in the database's encoding.");
		map[e] = (int16) event_index(into, p);
	}
	if (h.options_len >= 0)
	{
		char	   *options;

		if (memchr(p, '\0', h.options_len) != NULL)
			invalid_state("Its options contain a zero byte.");
		if (!pg_verifymbstr(p, h.options_len, true))
			invalid_state("Its options are not valid text in the database's encoding.");
		options = pnstrdup(p, h.options_len);
		MtrsFitDataSetOptions(into, options);
		pfree(options);
		p += h.options_len;
	}
	rows = p;
	reserve_rows(into, h.n);
	for (int64 i = 0; i < h.n; i++)
	{
		MtrsFitRow *r = &into->rows[into->n];

		memcpy(r, rows + i * sizeof(MtrsFitRow), sizeof(MtrsFitRow));
		if (r->event < 0 || r->event >= h.n_events)
			invalid_state(psprintf("Row " INT64_FORMAT " has event index %d of %d.",
								   i, r->event, h.n_events));
		if (!isfinite(r->ts) || isinf(r->rating))
			invalid_state(psprintf("Row " INT64_FORMAT " has a time or a rating that is not finite.", i));
		if (fabs(r->ts) > MTRS_MAX_DAYS)
			invalid_state(psprintf("Row " INT64_FORMAT " has a time more than %.0f days from 2000-01-01.",
								   i, MTRS_MAX_DAYS));
		if (r->rating == 0.0f)
			r->rating = 0.0f;	/* -0 is 0 (see MtrsFitDataAdd) */
		r->event = map[r->event];
		r->pad = 0;
		into->n++;
	}
}

/* ---------------------------------------------------------------- options */

/* Describe one numeric option: name, range, and where it goes */
typedef struct OptionSpec
{
	const char *name;
	double		min;
	double		max;
	bool		integer;
	size_t		offset;
	char		kind;			/* 'i' int, 'l' int64, 'd' double */
} OptionSpec;

static const OptionSpec option_specs[] = {
	{"dim", 1, MTRS_MAX_DIM, true, offsetof(MtrsFitOptions, dim), 'i'},
	{"iterations", 1, 1000, true, offsetof(MtrsFitOptions, iterations), 'i'},
	{"reg", 1e-6, 1e6, false, offsetof(MtrsFitOptions, reg), 'd'},
	{"alpha", 0, 1e6, false, offsetof(MtrsFitOptions, alpha), 'd'},
	{"half_life_days", 0, 1e6, false, offsetof(MtrsFitOptions, half_life_days), 'd'},
	{"bias_reg", 0, 1e6, false, offsetof(MtrsFitOptions, bias_reg), 'd'},
	{"head_reg", 1e-6, 1e6, false, offsetof(MtrsFitOptions, head_reg), 'd'},
	{"head_dim", 0, MTRS_MAX_DIM, true, offsetof(MtrsFitOptions, head_dim), 'i'},
	{"head_factor_reg", 1e-6, 1e6, false, offsetof(MtrsFitOptions, head_factor_reg), 'd'},
	{"seed", 0, 9007199254740991.0, true, offsetof(MtrsFitOptions, seed), 'l'},
	{"text_epochs", 1, 1000, true, offsetof(MtrsFitOptions, text_epochs), 'i'},
	{"text_lr", 1e-4, 10, false, offsetof(MtrsFitOptions, text_lr), 'd'},
	{"buckets", 1, MTRS_MAX_BUCKETS, true, offsetof(MtrsFitOptions, buckets), 'i'},
	{"word_ngrams", 1, MTRS_MAX_WORD_NGRAMS, true, offsetof(MtrsFitOptions, word_ngrams), 'i'},
	{"char_min", 0, MTRS_MAX_TOKEN_CHARS, true, offsetof(MtrsFitOptions, char_min), 'i'},
	{"char_max", 0, MTRS_MAX_TOKEN_CHARS, true, offsetof(MtrsFitOptions, char_max), 'i'},
	{"validation_fraction", 0, 0.5, false, offsetof(MtrsFitOptions, validation_fraction), 'd'},
	{"punctuation", 0, 1, true, offsetof(MtrsFitOptions, punctuation), 'i'},
	{"text_marks", 0, 1, true, offsetof(MtrsFitOptions, text_marks), 'i'},
	{"ngrams_by_script", 0, 1, true, offsetof(MtrsFitOptions, ngrams_by_script), 'i'},
	{"max_pool", 0, 1, true, offsetof(MtrsFitOptions, max_pool), 'i'},
	{"per_intent_thresholds", 0, 1, true, offsetof(MtrsFitOptions, per_intent_thresholds), 'i'},
	{"balance", 0, 1, false, offsetof(MtrsFitOptions, balance), 'd'},
};

static const char *const weighting_names[] = {"uncertainty", "balanced", "fixed"};
static const char *const sharing_names[] = {"hard", "soft"};
static const char *const intent_loss_names[] = {"auto", "ova", "softmax"};
static const char *const cold_items_names[] = {"centroid", "encoder"};


/* Set the defaults of every option */
static void
option_defaults(MtrsFitOptions *o)
{
	memset(o, 0, sizeof(*o));
	o->dim = 64;
	o->iterations_auto = true;
	o->iterations = MTRS_ITERATIONS;
	o->reg_auto = true;
	o->alpha = 1.0;
	o->half_life_days = 7.0;
	o->bias_reg = 3.0;
	o->head_reg = 5.0;
	o->head_dim = -1;			/* resolved from sharing */
	o->head_factor_reg = 10.0;
	o->sharing = MTRS_SHARING_HARD;
	o->text_epochs_auto = true;
	o->text_lr = 0.5;
	o->buckets = MTRS_MAX_BUCKETS;
	o->word_ngrams = 3;
	o->char_min = 3;
	o->char_max = 5;
	o->validation_fraction = 0.1;
	o->balance = 0.25;
	o->intent_loss = MTRS_INTENT_LOSS_OVA;
	o->per_intent_thresholds = 1;
	o->cold_items = MTRS_COLD_CENTROID;
	o->punctuation = 1;
	o->text_marks = 1;
	o->ngrams_by_script = 1;
	o->seed = 42;
	o->weighting = MTRS_WEIGHTING_UNCERTAINTY;
}

/* Fill in options whose defaults depend on others */
static void
resolve_options(MtrsFitOptions *o)
{
	if (o->head_dim < 0)
		o->head_dim = o->sharing == MTRS_SHARING_SOFT ? o->dim : 0;
	if (o->char_max > 0 && o->char_min > o->char_max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"char_min\" must not exceed \"char_max\"")));
	if (o->char_max > 0 && o->char_min == 0)
		o->char_min = 1;
}

/* List the known option names, for hints */
static char *
option_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < lengthof(option_specs); i++)
		appendStringInfo(&buf, "%s, ", option_specs[i].name);
	appendStringInfoString(&buf, "sharing, intent_loss, cold_items, task_weighting, task_weights, progress, warm_start");
	return buf.data;
}

/*
 * Set option "warm_start": a model name, or null or false for none.  true
 * (the model being trained) is resolved by mtrs_train, which knows the name.
 */
static void
set_warm_start(MtrsFitOptions *o, JsonbValue *v)
{
	if (v->type == jbvNull || (v->type == jbvBool && !v->val.boolean))
	{
		o->warm_start[0] = '\0';
		return;
	}
	if (v->type == jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"warm_start\" must name a model here"),
				 errhint("true means the model being trained, which only mtrs_train knows.")));
	if (v->type != jbvString || v->val.string.len == 0 || v->val.string.len >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"warm_start\" must be a model name, true or false")));
	memcpy(o->warm_start, v->val.string.val, v->val.string.len);
	o->warm_start[v->val.string.len] = '\0';
}

/* Return a jsonb number as a double, or fail naming the option */
static double
number_value(const char *name, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number", name)));
	/* out-of-range values become infinities, which the range checks reject */
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

/* Store one numeric option value after checking its range */
static void
set_option(MtrsFitOptions *o, const OptionSpec *spec, JsonbValue *v)
{
	double		x = number_value(spec->name, v);
	char	   *base = (char *) o;

	if (!(x >= spec->min && x <= spec->max) || (spec->integer && x != floor(x)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be %s between %g and %g", spec->name,
						spec->integer ? "an integer" : "a number", spec->min, spec->max),
				 errdetail("The value given is %g.", x)));
	if (spec->kind == 'i')
		*(int *) (base + spec->offset) = (int) x;
	else if (spec->kind == 'l')
		*(int64 *) (base + spec->offset) = (int64) x;
	else
		*(double *) (base + spec->offset) = x;
}

/*
 * Return the index of the jsonb string v among names[0..n); anything else
 * is an error naming the option and its choices ("a", "b" or "c").
 */
static int
choice(JsonbValue *v, const char *option, const char *const *names, int n)
{
	StringInfoData list;

	if (v->type == jbvString)
		for (int i = 0; i < n; i++)
			if (strlen(names[i]) == v->val.string.len &&
				strncmp(names[i], v->val.string.val, v->val.string.len) == 0)
				return i;
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s\"%s\"", i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be %s", option, list.data)));
	return -1;					/* not reached */
}

/*
 * For the options that take a number or "auto": set *is_auto and return
 * true if v is "auto"; anything but a number is an error
 */
static bool
auto_or_number(const char *key, JsonbValue *v, bool *is_auto)
{
	*is_auto = v->type == jbvString && v->val.string.len == 4 &&
		strncmp(v->val.string.val, "auto", 4) == 0;
	if (!*is_auto && v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number or \"auto\"", key)));
	return *is_auto;
}

/* Parse task_weights: an object of task name -> weight in [0, 1e6] */
static void
set_task_weights(MtrsFitOptions *o, JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	kv;
	JsonbIteratorToken tok;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"task_weights\" must be an object of task names and weights")));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &kv, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			if (o->n_weights >= MTRS_MAX_TASKS)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"task_weights\" names more than %d tasks", MTRS_MAX_TASKS)));
			if (kv.val.string.len == 0 || kv.val.string.len > MTRS_MAX_NAME_LEN)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"task_weights\" has an invalid task name"),
						 errdetail("A task name has 1 to %d bytes.", MTRS_MAX_NAME_LEN)));
			memcpy(o->weight_task[o->n_weights], kv.val.string.val, kv.val.string.len);
			o->weight_task[o->n_weights][kv.val.string.len] = '\0';
		}
		else if (tok == WJB_VALUE)
		{
			double		x = number_value("task_weights", &kv);

			if (!(x >= 0 && x <= 1e6))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("task weight of \"%s\" must be between 0 and 1e6",
								o->weight_task[o->n_weights])));
			o->weight_value[o->n_weights++] = x;
		}
	}
}

/* Resolve training options from a jsonb object text (NULL = defaults) */
void
MtrsFitOptionsParse(MtrsFitOptions *o, const char *json)
{
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	option_defaults(o);
	if (json == NULL)
	{
		resolve_options(o);
		return;
	}
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("training options must be a jsonb object")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		if (strcmp(key, "task_weighting") == 0)
		{
			o->weighting = (MtrsWeighting) choice(&v, key, weighting_names, lengthof(weighting_names));
			continue;
		}
		if (strcmp(key, "task_weights") == 0)
		{
			set_task_weights(o, &v);
			continue;
		}
		if (strcmp(key, "intent_loss") == 0)
		{
			o->intent_loss = (MtrsIntentLoss) choice(&v, key, intent_loss_names,
													 lengthof(intent_loss_names));
			continue;
		}
		if (strcmp(key, "cold_items") == 0)
		{
			o->cold_items = (MtrsColdItems) choice(&v, key, cold_items_names, lengthof(cold_items_names));
			continue;
		}
		if (strcmp(key, "sharing") == 0)
		{
			o->sharing = (MtrsSharing) choice(&v, key, sharing_names, lengthof(sharing_names));
			continue;
		}
		if (strcmp(key, "reg") == 0 && auto_or_number(key, &v, &o->reg_auto))
			continue;
		if (strcmp(key, "iterations") == 0 && auto_or_number(key, &v, &o->iterations_auto))
		{
			o->iterations = MTRS_ITERATIONS;
			continue;
		}
		if (strcmp(key, "text_epochs") == 0 && auto_or_number(key, &v, &o->text_epochs_auto))
			continue;
		if (strcmp(key, "warm_start") == 0)
		{
			set_warm_start(o, &v);
			continue;
		}
		if (strcmp(key, "progress") == 0)
		{
			if (v.type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"progress\" must be true or false")));
			o->progress = v.val.boolean;
			continue;
		}
		for (i = 0; i < lengthof(option_specs); i++)
			if (strcmp(option_specs[i].name, key) == 0)
				break;
		if (i == lengthof(option_specs))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized training option \"%s\"", key),
					 errhint("Valid options are: %s.", option_names())));
		set_option(o, &option_specs[i], &v);
	}
	resolve_options(o);
}

/* Append the value of an option that takes a number or "auto" */
static void
append_auto_or_number(StringInfo buf, bool is_auto, double x)
{
	if (is_auto)
		appendStringInfoString(buf, "\"auto\"");
	else
		appendStringInfo(buf, "%g", x);
}

/* Render resolved options as a jsonb text */
char *
MtrsFitOptionsToJson(const MtrsFitOptions *o)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"dim\": %d, \"iterations\": ", o->dim);
	append_auto_or_number(&buf, o->iterations_auto, o->iterations);
	appendStringInfoString(&buf, ", \"reg\": ");
	append_auto_or_number(&buf, o->reg_auto, o->reg);
	appendStringInfo(&buf, ", \"alpha\": %g, "
					 "\"half_life_days\": %g, \"bias_reg\": %g, \"head_reg\": %g, "
					 "\"sharing\": \"%s\", \"head_dim\": %d, \"head_factor_reg\": %g, "
					 "\"seed\": " INT64_FORMAT ", \"task_weighting\": \"%s\", \"task_weights\": {",
					 o->alpha, o->half_life_days,
					 o->bias_reg, o->head_reg, sharing_names[o->sharing], o->head_dim,
					 o->head_factor_reg, o->seed, weighting_names[o->weighting]);
	for (int i = 0; i < o->n_weights; i++)
	{
		appendStringInfoString(&buf, i ? ", " : "");
		escape_json(&buf, o->weight_task[i]);
		appendStringInfo(&buf, ": %g", o->weight_value[i]);
	}
	appendStringInfoString(&buf, "}, \"text_epochs\": ");
	append_auto_or_number(&buf, o->text_epochs_auto, o->text_epochs);
	appendStringInfo(&buf, ", \"text_lr\": %g, \"buckets\": %d, "
					 "\"word_ngrams\": %d, \"char_min\": %d, \"char_max\": %d, "
					 "\"punctuation\": %d, \"text_marks\": %d, \"ngrams_by_script\": %d, "
					 "\"max_pool\": %d, \"intent_loss\": \"%s\", "
					 "\"per_intent_thresholds\": %d, \"balance\": %g, \"validation_fraction\": %g, "
					 "\"cold_items\": \"%s\", \"warm_start\": ",
					 o->text_lr, o->buckets, o->word_ngrams, o->char_min,
					 o->char_max, o->punctuation, o->text_marks, o->ngrams_by_script, o->max_pool,
					 intent_loss_names[o->intent_loss],
					 o->per_intent_thresholds, o->balance, o->validation_fraction,
					 cold_items_names[o->cold_items]);
	if (o->warm_start[0] != '\0')
		escape_json(&buf, o->warm_start);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
