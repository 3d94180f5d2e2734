/*-------------------------------------------------------------------------
 *
 * mtrs_serve.c
 *	  SQL-callable serving functions: mtrs_recommend, mtrs_recommend_for,
 *	  mtrs_recommend_batch, mtrs_predict, mtrs_similar_items and
 *	  mtrs_similar_items_batch.
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
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_score.h"

PG_FUNCTION_INFO_V1(mtrs_recommend);
PG_FUNCTION_INFO_V1(mtrs_recommend_for);
PG_FUNCTION_INFO_V1(mtrs_recommend_batch);
PG_FUNCTION_INFO_V1(mtrs_predict);
PG_FUNCTION_INFO_V1(mtrs_similar_items);
PG_FUNCTION_INFO_V1(mtrs_similar_items_batch);

/* Return a text argument as a C string, or NULL */
char *
MtrsOptTextArg(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

/* Check and return the k argument */
int
MtrsKArg(FunctionCallInfo fcinfo, int i)
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

/*
 * Emit the kept entries of a top-k heap as (item_id, score, rank) rows, or
 * as (key, item_id, score, rank) rows if key (a user or item id) is given
 */
static void
emit_topk(FunctionCallInfo fcinfo, const MtrsModel *m, NnTopK *topk, const int64 *key)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n = NnTopKSort(topk);
	int			c = key != NULL ? 1 : 0;

	for (int r = 0; r < n; r++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (key != NULL)
			values[0] = Int64GetDatum(*key);
		values[c] = Int64GetDatum(m->v.item_ids[topk->heap[r].index]);
		values[c + 1] = Float4GetDatum(topk->heap[r].score);
		values[c + 2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Items to leave out of a user's recommendations */
typedef struct Excluded
{
	int			u;				/* training history of this user index, -1 = none */
	int		   *items;			/* more item indices, sorted */
	int			n;
} Excluded;

/* Compare ints, for qsort and bsearch */
static int
cmp_int(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	return x < y ? -1 : x > y;
}

/* Return whether item index i is in the user's training history */
static bool
seen_in_training(const MtrsModel *m, int u, int i)
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

/* Return whether item index i is excluded */
static bool
is_excluded(const MtrsModel *m, const Excluded *ex, int i)
{
	return seen_in_training(m, ex->u, i) ||
		(ex->n > 0 && bsearch(&i, ex->items, ex->n, sizeof(int), cmp_int) != NULL);
}

/* Set the score of every excluded item to NaN (never kept by the top-k heap) */
static void
mask_excluded(const MtrsModel *m, const Excluded *ex, float *scores)
{
	if (ex->u >= 0)
		for (int64 k = m->v.hist_ptr[ex->u]; k < m->v.hist_ptr[ex->u + 1]; k++)
			scores[m->v.hist_items[k]] = NAN;
	for (int k = 0; k < ex->n; k++)
		scores[ex->items[k]] = NAN;
}

/* Return whether a user is served the most popular items: no embedding, ranking head */
static inline bool
serves_popular(const MtrsUser *user, int task)
{
	return user->emb == NULL && task == 0;
}

/* Push every item with its score in scores [n_items], the excluded ones (if ex) masked */
static void
push_catalog(NnTopK *topk, const MtrsModel *m, const Excluded *ex, float *scores)
{
	if (ex != NULL)
		mask_excluded(m, ex, scores);
	for (int i = 0; i < m->v.hdr->n_items; i++)
		NnTopKPush(topk, i, scores[i]);
}

/*
 * Describe user_id as served: the trained user, re-solved from the rows
 * added to the model's source table since training if fold_in (see
 * MtrsSourceFoldIn); ex gets the items to leave out (training history and
 * those rows)
 */
static void
serving_user(MtrsModel *m, int64 user_id, bool fold_in, MtrsUser *user, Excluded *ex)
{
	MtrsUserTrained(m, MtrsModelFindUser(m, user_id), user);
	ex->u = user->u;
	ex->items = NULL;
	ex->n = 0;
	if (fold_in && MtrsSourceFoldIn(m, user_id, user, &ex->items, &ex->n))
		qsort(ex->items, ex->n, sizeof(int), cmp_int);
}

/*
 * Emit the k best items for a user by one task head (MtrsRankScore: event
 * heads rank by expected events): over the candidate ids if given, else over
 * the catalog.  A user with no embedding gets the most popular items from
 * the ranking head.
 */
static void
recommend(FunctionCallInfo fcinfo, MtrsModel *m, int task, int k, const MtrsUser *user,
		  const Excluded *ex, ArrayType *cands)
{
	int			n_items = m->v.hdr->n_items;
	bool		popular = serves_popular(user, task);
	NnScored   *storage = palloc(sizeof(NnScored) * Min(k, Max(n_items, 1)));
	NnTopK		topk;

	NnTopKInit(&topk, storage, Min(k, n_items));
	if (cands != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int		   *items;
		int			n,
					n_ranked = 0;

		if (ARR_NDIM(cands) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("candidates must be a one-dimensional array")));
		deconstruct_array(cands, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
		items = palloc(sizeof(int) * Max(n, 1));
		for (int j = 0; j < n; j++)
		{
			int			i;

			if ((j & 0xFFFF) == 0xFFFF)
				CHECK_FOR_INTERRUPTS();	/* a list of millions of candidates */
			if (nulls[j] || (i = MtrsModelFindItem(m, DatumGetInt64(elems[j]))) < 0)
				continue;		/* unknown candidates are skipped */
			if (ex != NULL && is_excluded(m, ex, i))
				continue;
			items[n_ranked++] = i;
		}
		/* an id given twice is still one item: ranked once */
		qsort(items, n_ranked, sizeof(int), cmp_int);
		for (int j = 0; j < n_ranked; j++)
		{
			if ((j & 0xFFFF) == 0xFFFF)
				CHECK_FOR_INTERRUPTS();
			if (j == 0 || items[j] != items[j - 1])
				NnTopKPush(&topk, items[j],
						   popular ? m->popularity[items[j]] : MtrsRankScore(m, task, user, items[j]));
		}
	}
	else
	{
		if (popular)
			memcpy(m->scores, m->popularity, sizeof(float) * n_items);
		else
			MtrsRankScoreAll(m, task, user, 1, m->scores, m->scratch);
		push_catalog(&topk, m, ex, m->scores);
	}
	emit_topk(fcinfo, m, &topk, NULL);
}

/*
 * Blend what the user typed into their embedding: the encoding in the item
 * space of the query and the earlier turns of the conversation (see
 * MtrsEncodeTurns), scaled to the user's norm, weighted by query_weight
 * against the user's taste (a user with no embedding gets the text alone).
 * Arguments i (query), i + 1 (query_weight), i + 2 (context) and i + 3
 * (context_decay).
 */
static void
blend_query(FunctionCallInfo fcinfo, int i, MtrsModel *m, MtrsUser *user)
{
	int			d = m->v.hdr->dim;
	float		w = PG_ARGISNULL(i + 1) ? 0.5f : PG_GETARG_FLOAT4(i + 1);
	ArrayType  *context = MtrsContextArg(fcinfo, i + 2);
	float		decay = MtrsContextDecayArg(fcinfo, i + 3);
	float	   *q,
			   *out;
	double		nq = 0.0,
				nu = 0.0;

	if (PG_ARGISNULL(i) && context == NULL)
		return;
	if (!(w >= 0.0f && w <= 1.0f))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query_weight must be between 0 and 1")));
	MtrsCheckTextEncoder(m);
	if (w == 0.0f)
		return;					/* the user's taste alone: none for a user without a vector */
	q = palloc(sizeof(float) * 2 * d);	/* the widest text encoding */
	if (!MtrsEncodeTurns(m, true, !PG_ARGISNULL(i),
						 !PG_ARGISNULL(i) && MtrsEncodeText(m, PG_GETARG_TEXT_PP(i), true, q) ? q : NULL,
						 context, decay, q))
		return;					/* no words: the text changes nothing */
	out = palloc(sizeof(float) * d);
	for (int j = 0; j < d; j++)
	{
		nq += (double) q[j] * q[j];
		if (user->emb != NULL)
			nu += (double) user->emb[j] * user->emb[j];
	}
	if (nq <= 0.0)
		return;
	for (int j = 0; j < d; j++)
	{
		if (user->emb == NULL || nu <= 0.0)
			out[j] = q[j];
		else
			out[j] = (1.0f - w) * user->emb[j] + w * (float) (sqrt(nu / nq)) * q[j];
	}
	user->emb = out;
}

/* Return the candidates argument, or NULL */
static ArrayType *
candidates_arg(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? NULL : PG_GETARG_ARRAYTYPE_P(i);
}

/*
 * The arguments mtrs_recommend and mtrs_recommend_for share after their
 * first: k (1), model (2), task (3), exclude_seen (4), candidates (5),
 * query (6), query_weight (7), context (8) and context_decay (9).
 */
typedef struct RecArgs
{
	int			k;
	MtrsModel  *m;
	int			task;
	bool		exclude_seen;
} RecArgs;

/* Check and resolve k, model, task and exclude_seen */
static void
rec_args(FunctionCallInfo fcinfo, RecArgs *a)
{
	a->k = MtrsKArg(fcinfo, 1);
	a->m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 2));
	a->task = MtrsModelTaskArg(a->m, MtrsOptTextArg(fcinfo, 3));
	a->exclude_seen = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
}

/* Blend in the query, then emit the recommendations (see recommend) */
static void
recommend_rows(FunctionCallInfo fcinfo, const RecArgs *a, MtrsUser *user, const Excluded *ex)
{
	blend_query(fcinfo, 6, a->m, user);
	recommend(fcinfo, a->m, a->task, a->k, user, a->exclude_seen ? ex : NULL,
			  candidates_arg(fcinfo, 5));
}

/*
 * mtrs_recommend(user_id bigint, k int, model text, task text,
 *				  exclude_seen bool, candidates bigint[], query text, query_weight real,
 *				  context text[], context_decay real)
 *	 -> TABLE(item_id bigint, score real, rank int)
 * The k best items for a user by one task head.  Interactions the user
 * added to the model's source table after training are folded in first
 * (mtrs_source.c); a user with none and unseen in training gets the most
 * popular items (ranking) or the head's item biases.
 */
Datum
mtrs_recommend(PG_FUNCTION_ARGS)
{
	RecArgs		a;
	MtrsUser	user;
	Excluded	ex;

	rec_args(fcinfo, &a);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	serving_user(a.m, PG_GETARG_INT64(0), true, &user, &ex);
	recommend_rows(fcinfo, &a, &user, &ex);
	PG_RETURN_NULL();
}

#define BATCH_ROWS		256		/* users or items scored by one matrix product */
#define BATCH_CELLS		(4 * 1024 * 1024)	/* at most this many scores per product */

/*
 * Return the ids of a batch function: those of its array argument 0 (named
 * arg in errors; NULL elements skipped), or all ids[0..n_all) if the
 * argument is NULL
 */
int64 *
MtrsIdsArg(FunctionCallInfo fcinfo, const char *arg, int64 *all, int n_all, int *n)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int64	   *ids;

	if (PG_ARGISNULL(0))
	{
		*n = n_all;
		return all;
	}
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", arg)));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &count);
	ids = palloc(sizeof(int64) * Max(count, 1));
	*n = 0;
	for (int j = 0; j < count; j++)
		if (!nulls[j])
			ids[(*n)++] = DatumGetInt64(elems[j]);
	return ids;
}

/* Return how many users or items one matrix product of a batch function scores */
static int
batch_block(int n_items)
{
	return (int) Max(1, Min(BATCH_ROWS, BATCH_CELLS / Max(n_items, 1)));
}

/*
 * mtrs_recommend_batch(user_ids bigint[], k int, model text, task text, exclude_seen bool)
 *	 -> TABLE(user_id bigint, item_id bigint, score real, rank int)
 * For each user id in turn (NULL array: every user the model was trained
 * on; NULL elements are skipped), the rows mtrs_recommend(user_id, k,
 * model, task, exclude_seen) gives, fold-in included (one query finds the
 * users with fresh rows).  Users are scored in blocks with one matrix
 * product per head, which reads the item table once per block instead of
 * once per user.
 */
Datum
mtrs_recommend_batch(PG_FUNCTION_ARGS)
{
	int			k = MtrsKArg(fcinfo, 1);
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 2));
	int			task = MtrsModelTaskArg(m, MtrsOptTextArg(fcinfo, 3));
	bool		exclude_seen = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
	int			ni = m->v.hdr->n_items;
	int			block = batch_block(ni);
	MemoryContext per_block = AllocSetContextCreate(CurrentMemoryContext, "mtrs batch",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	int64	   *ids;
	int			n;
	int64	   *fresh = NULL;
	int			n_fresh = 0;
	MtrsUser   *users = palloc(sizeof(MtrsUser) * block);
	Excluded   *ex = palloc(sizeof(Excluded) * block);
	float	   *out = palloc_extended(sizeof(float) * block * Max(ni, 1), MCXT_ALLOC_HUGE);
	float	   *scratch = palloc_extended(sizeof(float) * block * Max(ni, 1), MCXT_ALLOC_HUGE);
	NnScored   *storage = palloc(sizeof(NnScored) * Min(k, Max(ni, 1)));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ids = MtrsIdsArg(fcinfo, "user_ids", m->v.user_ids, m->v.hdr->n_users, &n);
	MtrsSourceFreshUsers(m, ids, n, &fresh, &n_fresh);
	for (int start = 0; start < n; start += block)
	{
		int			nb = Min(block, n - start);

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_block);
		for (int b = 0; b < nb; b++)
			serving_user(m, ids[start + b], MtrsSourceIsFresh(fresh, n_fresh, ids[start + b]),
						 &users[b], &ex[b]);
		MtrsRankScoreAll(m, task, users, nb, out, scratch);
		for (int b = 0; b < nb; b++)
		{
			float	   *row = out + (int64) b * ni;
			NnTopK		topk;

			if (serves_popular(&users[b], task))
				memcpy(row, m->popularity, sizeof(float) * ni);
			NnTopKInit(&topk, storage, Min(k, ni));
			push_catalog(&topk, m, exclude_seen ? &ex[b] : NULL, row);
			emit_topk(fcinfo, m, &topk, &ids[start + b]);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_block);
	}
	MemoryContextDelete(per_block);
	PG_RETURN_NULL();
}

/*
 * Read the history argument arg (the item ids an anonymous session
 * interacted with; not NULL): sets *items to the indices of the ids the
 * model knows (NULL elements and unknown ids are skipped) and *ts to as many
 * unknown times (NaN: counted as recent), and returns how many.
 */
int
MtrsHistoryArg(FunctionCallInfo fcinfo, int arg, const MtrsModel *m, int **items, double **ts)
{
	ArrayType  *hist;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				u = 0;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("history must not be null"),
				 errhint("Pass an empty array for a session with no interactions.")));
	hist = PG_GETARG_ARRAYTYPE_P(arg);
	if (ARR_NDIM(hist) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("history must be a one-dimensional array")));
	deconstruct_array(hist, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	*items = palloc(sizeof(int) * Max(n, 1));
	*ts = palloc(sizeof(double) * Max(n, 1));
	for (int j = 0; j < n; j++)
	{
		if ((j & 0xFFFF) == 0xFFFF)
			CHECK_FOR_INTERRUPTS();
		if (nulls[j] || ((*items)[u] = MtrsModelFindItem(m, DatumGetInt64(elems[j]))) < 0)
			continue;
		(*ts)[u++] = NAN;
	}
	return u;
}

/*
 * mtrs_recommend_for(history bigint[], k int, model text, task text,
 *					  exclude_seen bool, candidates bigint[], query text, query_weight real,
 *					  context text[], context_decay real)
 *	 -> TABLE(item_id bigint, score real, rank int)
 * The k best items for an anonymous session that interacted with the
 * history items (ids the model does not know are ignored; none: popular).
 */
Datum
mtrs_recommend_for(PG_FUNCTION_ARGS)
{
	RecArgs		a;
	MtrsModel  *m;
	MtrsUser	user = {-1, NULL};
	Excluded	ex = {-1, NULL, 0};
	double	   *ts;

	rec_args(fcinfo, &a);
	m = a.m;
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ex.n = MtrsHistoryArg(fcinfo, 0, m, &ex.items, &ts);
	if (ex.n > 0)
	{
		float	   *emb = palloc(sizeof(float) * m->v.hdr->dim);

		MtrsFoldInItems(m, ex.items, ts, ex.n, emb);
		user.emb = emb;
		qsort(ex.items, ex.n, sizeof(int), cmp_int);
	}
	recommend_rows(fcinfo, &a, &user, &ex);
	PG_RETURN_NULL();
}

/*
 * mtrs_predict(user_id bigint, item_id bigint, task text, model text) -> real
 * One head's output for one pair as trained; an unseen user or item
 * contributes nothing but the head's other terms.  NULL for a NULL id.
 */
Datum
mtrs_predict(PG_FUNCTION_ARGS)
{
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 3));
	int			task = MtrsModelTaskArg(m, MtrsOptTextArg(fcinfo, 2));
	MtrsUser	user;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	MtrsUserTrained(m, MtrsModelFindUser(m, PG_GETARG_INT64(0)), &user);
	PG_RETURN_FLOAT4(MtrsPredict(m, task, &user, MtrsModelFindItem(m, PG_GETARG_INT64(1))));
}

/*
 * Push every item but i with its cosine similarity to item i, given the dot
 * products of item i with every item (dots [n_items]).  A zero vector (an
 * item known only by a text none of whose features the model knows) has no
 * cosine: it is neither similar nor has similar items.
 */
static void
push_cosines(NnTopK *topk, const MtrsModel *m, const float *dots, int i)
{
	if (!(m->item_norm[i] > 0))
		return;
	for (int j = 0; j < m->v.hdr->n_items; j++)
		if (j != i && m->item_norm[j] > 0)
			NnTopKPush(topk, j, dots[j] / (m->item_norm[i] * m->item_norm[j]));
}

/*
 * mtrs_similar_items(item_id bigint, k int, model text)
 *	 -> TABLE(item_id bigint, score real, rank int)
 * The k items whose embeddings have the highest cosine similarity with the
 * given item's (the item itself excluded); no rows for an unknown item or a
 * zero vector.
 */
Datum
mtrs_similar_items(PG_FUNCTION_ARGS)
{
	int			k = MtrsKArg(fcinfo, 1);
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 2));
	const MtrsHeader *h;
	NnScored   *storage;
	NnTopK		topk;
	int			i;

	MtrsModelTaskArg(m, NULL);	/* needs interaction tasks */
	h = m->v.hdr;
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0) || (i = MtrsModelFindItem(m, PG_GETARG_INT64(0))) < 0)
		PG_RETURN_NULL();
	storage = palloc(sizeof(NnScored) * Min(k, h->n_items));
	NnTopKInit(&topk, storage, Min(k, h->n_items - 1));
	NnScores(m->scores, m->v.t.item_emb, m->v.t.item_emb + (int64) i * h->dim, h->n_items, h->dim);
	push_cosines(&topk, m, m->scores, i);
	emit_topk(fcinfo, m, &topk, NULL);
	PG_RETURN_NULL();
}

/*
 * mtrs_similar_items_batch(item_ids bigint[], k int, model text)
 *	 -> TABLE(item_id bigint, similar_item_id bigint, score real, rank int)
 * For each item id in turn (NULL array: every item of the model; NULL
 * elements and unknown items are skipped), the rows mtrs_similar_items
 * gives, scored in blocks of items with one matrix product.
 */
Datum
mtrs_similar_items_batch(PG_FUNCTION_ARGS)
{
	int			k = MtrsKArg(fcinfo, 1);
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 2));
	int			ni,
				d,
				block,
				n;
	int64	   *ids;
	int		   *rows;
	float	   *q,
			   *out;
	NnScored   *storage;

	MtrsModelTaskArg(m, NULL);	/* needs interaction tasks */
	ni = m->v.hdr->n_items;
	d = m->v.hdr->dim;
	block = batch_block(ni);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ids = MtrsIdsArg(fcinfo, "item_ids", m->v.item_ids, ni, &n);
	rows = palloc(sizeof(int) * block);
	q = palloc(sizeof(float) * block * d);
	out = palloc_extended(sizeof(float) * block * ni, MCXT_ALLOC_HUGE);
	storage = palloc(sizeof(NnScored) * Min(k, ni));
	for (int start = 0; start < n;)
	{
		int			nb = 0;

		CHECK_FOR_INTERRUPTS();
		for (; start < n && nb < block; start++)
		{
			int			i = MtrsModelFindItem(m, ids[start]);

			if (i < 0)
				continue;		/* unknown items have no rows, as in mtrs_similar_items */
			rows[nb] = i;
			memcpy(q + (int64) nb * d, m->v.t.item_emb + (int64) i * d, sizeof(float) * d);
			nb++;
		}
		NnScoresMany(out, m->v.t.item_emb, q, ni, d, nb);
		for (int b = 0; b < nb; b++)
		{
			int			i = rows[b];
			const float *row = out + (int64) b * ni;
			NnTopK		topk;

			NnTopKInit(&topk, storage, Min(k, ni - 1));
			push_cosines(&topk, m, row, i);
			emit_topk(fcinfo, m, &topk, &m->v.item_ids[i]);
		}
	}
	PG_RETURN_NULL();
}
