/*-------------------------------------------------------------------------
 *
 * mtrs_explain.c
 *	  SQL-callable explanations: which of a user's interactions make an item
 *	  score high (mtrs_explain, mtrs_explain_for).
 *
 * A user folded in from interactions has the embedding
 *	  p = A^-1 sum_k c_k q_k,	A = Q^T Q + sum_k (c_k - 1) q_k q_k^T + reg I
 * (mtrs_source.c), so head t's logit for item i is
 *	  z = sum_k c_k <q_k, A^-1 (w_t * q_i)> + rest
 * with one term per interacted item k and rest the biases and private
 * factors (MtrsLogitSplit).  The explanation re-solves the user from their
 * interactions: for a user served by fold-in (new rows, or an anonymous
 * history) the terms add up to the served logit; for a user served as
 * trained they explain the re-solved embedding, close to the trained one.
 *
 * IDENTIFICATION
 *	  src/mtrs_explain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_score.h"

PG_FUNCTION_INFO_V1(mtrs_explain);
PG_FUNCTION_INFO_V1(mtrs_explain_for);

/*
 * Emit the explanation of head task's logit for user (u and its training
 * index; emb unused) and item i given the user's interactions items[0..n)
 * at times ts: the k items with the largest terms as (item_id,
 * contribution, rank), then (NULL, rest, NULL).
 */
static void
explain_rows(FunctionCallInfo fcinfo, MtrsModel *m, int task, int k, const MtrsUser *user,
			 int i, const int *items, const double *ts, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	float	   *query = palloc(sizeof(float) * m->v.hdr->dim);
	float		rest = MtrsLogitSplit(m, task, user, i, query);
	int		   *rows;
	float	   *contrib;
	int			u = MtrsFoldInExplain(m, items, ts, n, query, &rows, &contrib);
	NnScored   *storage = palloc(sizeof(NnScored) * Max(Min(k, u), 1));
	NnTopK		topk;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int			kept;

	NnTopKInit(&topk, storage, Min(k, u));
	for (int r = 0; r < u; r++)
		NnTopKPush(&topk, r, contrib[r]);
	kept = NnTopKSort(&topk);
	for (int r = 0; r < kept; r++)
	{
		values[0] = Int64GetDatum(m->v.item_ids[rows[topk.heap[r].index]]);
		values[1] = Float4GetDatum(topk.heap[r].score);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	values[1] = Float4GetDatum(rest);
	nulls[0] = nulls[2] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Resolve the arguments after the first two: k (2), model (3), task (4) */
static MtrsModel *
explain_args(FunctionCallInfo fcinfo, int *k, int *task)
{
	MtrsModel  *m;

	*k = MtrsKArg(fcinfo, 2);
	m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 3));
	*task = MtrsModelTaskArg(m, MtrsOptTextArg(fcinfo, 4));
	return m;
}

/*
 * mtrs_explain(user_id bigint, item_id bigint, k int, model text, task text)
 *	 -> TABLE(item_id bigint, contribution real, rank int)
 * The user's interactions that raise head task's logit for the item most.
 * The interactions are the user's rows in the model's source table (as
 * fold-in reads them: all of them, with their times) when fold-in is on and
 * the table is readable and has some, else the user's training history
 * (every item weighted as recent).  No rows for a NULL or unknown item.
 */
Datum
mtrs_explain(PG_FUNCTION_ARGS)
{
	int			k,
				task,
				i,
				n = 0;
	MtrsModel  *m = explain_args(fcinfo, &k, &task);
	int64		user_id;
	MtrsUser	user;
	int		   *items = NULL;
	double	   *ts = NULL;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) ||
		(i = MtrsModelFindItem(m, PG_GETARG_INT64(1))) < 0)
		PG_RETURN_NULL();
	user_id = PG_GETARG_INT64(0);
	MtrsUserTrained(m, MtrsModelFindUser(m, user_id), &user);
	if ((!MtrsSourceUserRows(m, user_id, &items, &ts, &n) || n == 0) && user.u >= 0)
	{
		int64		from = m->v.hist_ptr[user.u];

		n = (int) (m->v.hist_ptr[user.u + 1] - from);
		items = palloc(sizeof(int) * Max(n, 1));
		ts = palloc(sizeof(double) * Max(n, 1));
		for (int j = 0; j < n; j++)
		{
			items[j] = m->v.hist_items[from + j];
			ts[j] = NAN;
		}
	}
	explain_rows(fcinfo, m, task, k, &user, i, items, ts, n);
	PG_RETURN_NULL();
}

/*
 * mtrs_explain_for(history bigint[], item_id bigint, k int, model text, task text)
 *	 -> TABLE(item_id bigint, contribution real, rank int)
 * The same for an anonymous session that interacted with the history items
 * (as mtrs_recommend_for serves it: ids the model does not know are ignored).
 */
Datum
mtrs_explain_for(PG_FUNCTION_ARGS)
{
	int			k,
				task,
				i,
				n;
	MtrsModel  *m = explain_args(fcinfo, &k, &task);
	MtrsUser	user = {-1, NULL};
	int		   *items;
	double	   *ts;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	n = MtrsHistoryArg(fcinfo, 0, m, &items, &ts);
	if (PG_ARGISNULL(1) || (i = MtrsModelFindItem(m, PG_GETARG_INT64(1))) < 0)
		PG_RETURN_NULL();
	explain_rows(fcinfo, m, task, k, &user, i, items, ts, n);
	PG_RETURN_NULL();
}
