/*-------------------------------------------------------------------------
 *
 * mtrs_model.c
 *	  Decode untrusted model bytes into an MtrsModel, and look up ids and
 *	  task names in a decoded model.
 *
 * Validation is done by MtrsFormatCheck (mtrs_format.c); this file turns
 * each of its findings into an error with an SQLSTATE.
 *
 * IDENTIFICATION
 *	  src/mtrs_model.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include <math.h>

#include "mtrs.h"
#include "mtrs_text.h"
#include "mtrs_nn.h"

/* Raise the error that matches a format status */
static void
report_format_error(MtrsFormatStatus status, const char *detail)
{
	switch (status)
	{
		case MTRS_FMT_OK:
			return;
		case MTRS_FMT_TOO_SHORT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("value is too short to be an mtrs model"),
					 errdetail_internal("%s", detail)));
			break;
		case MTRS_FMT_BAD_MAGIC:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("value is not an mtrs model"),
					 errdetail_internal("%s", detail),
					 errhint("Model bytes come from the mtrs_fit aggregate or the weights column of mtrs_model.")));
			break;
		case MTRS_FMT_BYTE_ORDER:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("mtrs model was written on a machine with a different byte order")));
			break;
		case MTRS_FMT_NEWER_VERSION:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("mtrs model format is newer than this version of mtrs"),
					 errdetail_internal("%s", detail),
					 errhint("Update the mtrs extension to read this model.")));
			break;
		case MTRS_FMT_BAD_HEADER:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("mtrs model header is invalid"),
					 errdetail_internal("%s", detail)));
			break;
		case MTRS_FMT_TRUNCATED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("mtrs model is truncated"),
					 errdetail_internal("%s", detail)));
			break;
		case MTRS_FMT_TRAILING:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("mtrs model has trailing bytes"),
					 errdetail_internal("%s", detail)));
			break;
		case MTRS_FMT_CHECKSUM:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("mtrs model checksum does not match its content"),
					 errdetail("The model bytes were changed after they were written.")));
			break;
		case MTRS_FMT_BAD_CONTENT:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("mtrs model content is invalid"),
					 errdetail_internal("%s", detail)));
			break;
	}
	elog(ERROR, "unrecognized model format status: %d", (int) status);
}

/* Compute what serving needs besides the stored tensors */
static void
derive_serving_data(MtrsModel *m)
{
	const MtrsHeader *h = m->v.hdr;
	int			n = Max(h->n_items, 1);

	m->item_norm = MemoryContextAllocZero(m->context, sizeof(float) * n);
	m->popularity = MemoryContextAllocZero(m->context, sizeof(float) * n);
	m->scores = MemoryContextAllocZero(m->context, sizeof(float) * n);
	m->scratch = MemoryContextAllocZero(m->context, sizeof(float) * n);
	for (int i = 0; i < h->n_items; i++)
		m->item_norm[i] = sqrtf(NnDot(m->v.t.item_emb + (int64) i * h->dim,
									  m->v.t.item_emb + (int64) i * h->dim, h->dim));
	{
		/* counted exactly, then as float: a float sum stops growing at 2^24 users */
		int64	   *count = palloc0(sizeof(int64) * n);

		for (int64 k = 0; k < h->n_history; k++)
			count[m->v.hist_items[k]]++;
		for (int i = 0; i < h->n_items; i++)
		{
			m->popularity[i] = (float) count[i];
			m->popularity_max = Max(m->popularity_max, m->popularity[i]);
		}
		pfree(count);
	}
	if (h->kind & MTRS_KIND_TEXT)
	{
		MtrsTokenizer tok = MtrsModelTokenizer(m);

		m->char_rows_from = MtrsCharRowsFrom(&tok, m->v.vocab, h->n_vocab);
	}
	if (m->v.vocab != NULL)
	{
		m->vocab_cap = MtrsVocabTableSize(h->n_vocab);
		m->vocab_table = MemoryContextAllocExtended(m->context, sizeof(uint64) * m->vocab_cap,
													MCXT_ALLOC_HUGE);
		MtrsVocabTableBuild(m->v.vocab, h->n_vocab, m->vocab_table, m->vocab_cap);
	}
}

/*
 * Validate raw model bytes and decode them into a new memory context under
 * parent.  Raises an error (and leaves nothing behind) if they are invalid.
 */
MtrsModel *
MtrsModelDecode(const bytea *raw, MemoryContext parent)
{
	Size		len = VARSIZE_ANY_EXHDR(raw);
	MtrsModel  *m = MtrsModelNew(parent, len);

	memcpy(m->bytes, VARDATA_ANY(raw), len);
	MtrsModelFinish(m);
	return m;
}

/*
 * Start a model of len bytes in its own memory context under parent: the
 * caller fills m->bytes (8-byte aligned, with VARHDRSZ writable bytes in
 * front of it, so a varlena can be assembled in place) and calls
 * MtrsModelFinish.
 */
MtrsModel *
MtrsModelNew(MemoryContext parent, Size len)
{
	MemoryContext ctx = AllocSetContextCreate(parent, "mtrs model", ALLOCSET_DEFAULT_SIZES);
	MtrsModel  *m = MemoryContextAllocZero(ctx, sizeof(MtrsModel));

	m->context = ctx;
	m->size = len;
	m->bytes = (char *) MemoryContextAllocExtended(ctx, len + MAXIMUM_ALIGNOF, MCXT_ALLOC_HUGE) +
		MAXIMUM_ALIGNOF;
	return m;
}

/*
 * Return whether the task and intent names are text of the database's
 * encoding (serving returns them as text); else write a detail sentence
 */
static bool
names_valid(const MtrsModel *m, char *detail, size_t detail_len)
{
	int			n = m->v.hdr->n_tasks + m->v.hdr->n_labels;

	for (int i = 0; i < n; i++)
	{
		const char *s = MtrsModelString(&m->v, i);

		if (!pg_verifymbstr(s, strlen(s), true))
		{
			snprintf(detail, detail_len, "Name %d is not valid text in encoding \"%s\".", i,
					 GetDatabaseEncodingName());
			return false;
		}
	}
	return true;
}

/* Validate the bytes of a model started by MtrsModelNew and derive its serving data */
void
MtrsModelFinish(MtrsModel *m)
{
	MtrsFormatStatus status;
	char		detail[256];

	status = MtrsFormatCheck(&m->v, m->bytes, m->size, detail, sizeof(detail));
	if (status == MTRS_FMT_OK && !names_valid(m, detail, sizeof(detail)))
		status = MTRS_FMT_BAD_CONTENT;
	if (status != MTRS_FMT_OK)
	{
		MemoryContextDelete(m->context);
		report_format_error(status, detail);
	}
	derive_serving_data(m);
}

/*
 * Validate the bytes of a model and derive its serving data; returns false
 * (deriving nothing, leaving m for the caller to delete) if they are
 * invalid.  For bytes that are not the registry's own (a shared model file).
 */
bool
MtrsModelFinishQuietly(MtrsModel *m)
{
	char		detail[256];

	if (MtrsFormatCheck(&m->v, m->bytes, m->size, detail, sizeof(detail)) != MTRS_FMT_OK ||
		!names_valid(m, detail, sizeof(detail)))
		return false;
	derive_serving_data(m);
	return true;
}

/* Return the position of id in a sorted id array, or -1 */
static int
find_id(const int64_t *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Return the dense index of an item id, or -1 if the model has not seen it */
int
MtrsModelFindItem(const MtrsModel *m, int64 item_id)
{
	return find_id(m->v.item_ids, m->v.hdr->n_items, item_id);
}

/* Return the dense index of a user id, or -1 if the model has not seen it */
int
MtrsModelFindUser(const MtrsModel *m, int64 user_id)
{
	return find_id(m->v.user_ids, m->v.hdr->n_users, user_id);
}

/* Return the index of a task head by name, or -1 */
int
MtrsModelFindTask(const MtrsModel *m, const char *task)
{
	for (int t = 0; t < m->v.hdr->n_tasks; t++)
		if (strcmp(MtrsModelString(&m->v, t), task) == 0)
			return t;
	return -1;
}

/*
 * Resolve a task argument: NULL means the ranking head (task 0).  Raises an
 * error naming the model's tasks when the name is not one of them.
 */
int
MtrsModelTaskArg(const MtrsModel *m, const char *task)
{
	StringInfoData names;
	int			t;

	if (m->v.hdr->n_tasks == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mtrs model \"%s\" has no interaction tasks", m->name),
				 errhint("Train it with interactions to recommend and predict.")));
	if (task == NULL)
		return 0;
	t = MtrsModelFindTask(m, task);
	if (t >= 0)
		return t;
	initStringInfo(&names);
	for (int i = 0; i < m->v.hdr->n_tasks; i++)
		appendStringInfo(&names, "%s%s", i ? ", " : "", MtrsModelString(&m->v, i));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("mtrs model \"%s\" has no task \"%s\"", m->name, task),
			 errhint("Its tasks are: %s.", names.data)));
	return -1;					/* keep compiler quiet */
}
