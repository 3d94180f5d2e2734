/*-------------------------------------------------------------------------
 *
 * mtrs_serve.c
 *	  SQL-callable serving functions: mtrs_recommend, mtrs_predict and
 *	  mtrs_similar_items.
 *
 * Each call takes the active version of the model from the per-backend
 * cache (mtrs_cache.c), scores with one task head (mtrs_score.c) and keeps
 * the best k with a bounded heap.
 *
 * IDENTIFICATION
 *	  src/mtrs_serve.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_score.h"

PG_FUNCTION_INFO_V1(mtrs_recommend);
PG_FUNCTION_INFO_V1(mtrs_predict);
PG_FUNCTION_INFO_V1(mtrs_similar_items);

/* Return a text argument as a C string, or NULL */
static char *
opt_text_arg(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

/* Check and return the k argument */
static int
k_arg(FunctionCallInfo fcinfo, int i)
{
	int			k;

	if (PG_ARGISNULL(i))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("k must not be null")));
	k = PG_GETARG_INT32(i);
	if (k <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be greater than zero")));
	return k;
}

/* Emit the kept entries of a top-k heap as (item_id, score, rank) rows */
static void
emit_topk(FunctionCallInfo fcinfo, const MtrsModel *m, NnTopK *topk, int task)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n = NnTopKSort(topk);

	for (int r = 0; r < n; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(m->v.item_ids[topk->heap[r].index]);
		values[1] = Float4GetDatum(task < 0 ? topk->heap[r].score :
								   MtrsTaskOutput(m, task, topk->heap[r].score));
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Mark the items a user interacted with in training by setting their score to NaN */
static void
mask_seen(const MtrsModel *m, int u, float *scores)
{
	if (u < 0)
		return;
	for (int64 k = m->v.hist_ptr[u]; k < m->v.hist_ptr[u + 1]; k++)
		scores[m->v.hist_items[k]] = NAN;
}

/* Return whether item index i is in the user's training history */
static bool
seen_item(const MtrsModel *m, int u, int i)
{
	int64		lo,
				hi;

	if (u < 0)
		return false;
	lo = m->v.hist_ptr[u];
	hi = m->v.hist_ptr[u + 1] - 1;
	while (lo <= hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (m->v.hist_items[mid] == i)
			return true;
		if (m->v.hist_items[mid] < i)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* Score only the given candidate item ids into the heap */
static void
score_candidates(const MtrsModel *m, int task, int u, const float *vec, float ubias,
				 ArrayType *cands, bool exclude_seen, bool popular, NnTopK *topk)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(cands) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("candidates must be a one-dimensional array")));
	deconstruct_array(cands, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	for (int j = 0; j < n; j++)
	{
		int			i;

		if (nulls[j] || (i = MtrsModelFindItem(m, DatumGetInt64(elems[j]))) < 0)
			continue;			/* unknown candidates are skipped */
		if (exclude_seen && seen_item(m, u, i))
			continue;
		NnTopKPush(topk, i, popular ? m->popularity[i] : MtrsScoreItem(m, task, vec, ubias, i));
	}
}

/*
 * mtrs_recommend(user_id bigint, k int, model text, task text,
 *				  exclude_seen bool, candidates bigint[])
 *	 -> TABLE(item_id bigint, score real, rank int)
 * The k best items for a user by one task head.  A user the model has not
 * seen gets the most popular items (ranking) or the head's item biases.
 */
Datum
mtrs_recommend(PG_FUNCTION_ARGS)
{
	int			k = k_arg(fcinfo, 1);
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, opt_text_arg(fcinfo, 2));
	int			task = MtrsModelTaskArg(m, opt_text_arg(fcinfo, 3));
	bool		exclude_seen = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
	int			dim = m->v.hdr->dim;
	int			u = PG_ARGISNULL(0) ? -1 : MtrsModelFindUser(m, PG_GETARG_INT64(0));
	bool		popular = (u < 0 && task == 0);
	float	   *vec = palloc(sizeof(float) * dim);
	float		ubias = MtrsUserQuery(m, task, u, vec);
	NnScored   *storage = palloc(sizeof(NnScored) * Min(k, Max(m->v.hdr->n_items, 1)));
	NnTopK		topk;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	NnTopKInit(&topk, storage, Min(k, m->v.hdr->n_items));
	if (!PG_ARGISNULL(5))
		score_candidates(m, task, u, vec, ubias, PG_GETARG_ARRAYTYPE_P(5), exclude_seen,
						 popular, &topk);
	else
	{
		if (popular)
			memcpy(m->scores, m->popularity, sizeof(float) * m->v.hdr->n_items);
		else
			MtrsScoreAll(m, task, vec, ubias, m->scores);
		if (exclude_seen)
			mask_seen(m, u, m->scores);
		for (int i = 0; i < m->v.hdr->n_items; i++)
			NnTopKPush(&topk, i, m->scores[i]);
	}
	emit_topk(fcinfo, m, &topk, popular ? -1 : task);
	PG_RETURN_NULL();
}

/*
 * mtrs_predict(user_id bigint, item_id bigint, task text, model text) -> real
 * One head's output for one pair; NULL for a NULL id or an item the model
 * has not seen.
 */
Datum
mtrs_predict(PG_FUNCTION_ARGS)
{
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, opt_text_arg(fcinfo, 3));
	int			task = MtrsModelTaskArg(m, opt_text_arg(fcinfo, 2));
	float		vec[MTRS_MAX_DIM];
	float		ubias;
	int			u,
				i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	i = MtrsModelFindItem(m, PG_GETARG_INT64(1));
	if (i < 0)
		PG_RETURN_NULL();
	u = MtrsModelFindUser(m, PG_GETARG_INT64(0));
	ubias = MtrsUserQuery(m, task, u, vec);
	PG_RETURN_FLOAT4(MtrsTaskOutput(m, task, MtrsScoreItem(m, task, vec, ubias, i)));
}

/*
 * mtrs_similar_items(item_id bigint, k int, model text)
 *	 -> TABLE(item_id bigint, score real, rank int)
 * The k items whose embeddings have the highest cosine similarity with the
 * given item's (the item itself excluded); no rows for an unknown item.
 */
Datum
mtrs_similar_items(PG_FUNCTION_ARGS)
{
	int			k = k_arg(fcinfo, 1);
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, opt_text_arg(fcinfo, 2));
	const MtrsHeader *h;
	NnScored   *storage;
	NnTopK		topk;
	int			i;

	MtrsModelTaskArg(m, NULL);	/* needs interaction tasks */
	h = m->v.hdr;
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || (i = MtrsModelFindItem(m, PG_GETARG_INT64(0))) < 0)
		PG_RETURN_NULL();
	storage = palloc(sizeof(NnScored) * Min(k, h->n_items));
	NnTopKInit(&topk, storage, Min(k, h->n_items - 1));
	NnScores(m->scores, m->v.t.item_emb, m->v.t.item_emb + (int64) i * h->dim, h->n_items, h->dim);
	for (int j = 0; j < h->n_items; j++)
		if (j != i)
			NnTopKPush(&topk, j, m->item_norm[i] * m->item_norm[j] > 0 ?
					   m->scores[j] / (m->item_norm[i] * m->item_norm[j]) : 0.0f);
	emit_topk(fcinfo, m, &topk, -1);
	PG_RETURN_NULL();
}
