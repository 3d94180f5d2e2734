/*-------------------------------------------------------------------------
 *
 * mtrs_vectors.c
 *	  SQL-callable export of a model as vectors: mtrs_item_vectors,
 *	  mtrs_user_vectors and mtrs_query_vector.
 *
 * For the ranking head or the rating head, the inner product of a user's
 * vector and an item's vector is the head's logit (MtrsUserVector,
 * MtrsItemVector), so ordering items by it gives mtrs_recommend's order
 * (seen items included) and a vector index that ranks by inner product
 * (pgvector's vector_ip_ops) can serve the model.  Event heads rank by a
 * product of several heads' outputs, which no single inner product gives.
 *
 * IDENTIFICATION
 *	  src/mtrs_vectors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "mtrs.h"
#include "mtrs_score.h"

PG_FUNCTION_INFO_V1(mtrs_item_vectors);
PG_FUNCTION_INFO_V1(mtrs_user_vectors);
PG_FUNCTION_INFO_V1(mtrs_query_vector);

/* Resolve the task argument arg to a head whose output follows one logit */
static int
vector_task(FunctionCallInfo fcinfo, MtrsModel *m, int arg)
{
	int			task = MtrsModelTaskArg(m, MtrsOptTextArg(fcinfo, arg));

	if (MtrsTaskKindOf(m, task) == MTRS_TASK_KIND_EVENT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task \"%s\" of mtrs model \"%s\" has no vectors",
						MtrsModelString(&m->v, task), m->name),
				 errdetail("An event head ranks by its probability times the ranking head's score, which is not one inner product."),
				 errhint("Use the ranking head (task => NULL) or the rating head.")));
	return task;
}

/* Return vec[0..n) as a real[], using elems [n] */
static ArrayType *
vector_array(const float *vec, int n, Datum *elems)
{
	for (int j = 0; j < n; j++)
		elems[j] = Float4GetDatum(vec[j]);
	return construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
}

/* Add the row (id, vec[0..n) as real[]) to the function's result */
static void
emit_vector(FunctionCallInfo fcinfo, int64 id, const float *vec, int n, Datum *elems)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	ArrayType  *arr = vector_array(vec, n, elems);

	values[0] = Int64GetDatum(id);
	values[1] = PointerGetDatum(arr);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	pfree(arr);
}

/*
 * mtrs_item_vectors(item_ids bigint[], model text, task text)
 *	 -> TABLE(item_id bigint, vector real[])
 * Each item's vector for a head (default: ranking), in the order of item_ids
 * (NULL: every item of the model; NULL elements and unknown items are
 * skipped).  Its first dim components are the item's shared embedding, which
 * mtrs_similar_items compares by cosine.
 */
Datum
mtrs_item_vectors(PG_FUNCTION_ARGS)
{
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 1));
	int			task = vector_task(fcinfo, m, 2);
	int			len = MtrsVectorLength(m);
	float	   *vec = palloc(sizeof(float) * len);
	Datum	   *elems = palloc(sizeof(Datum) * len);
	int64	   *ids;
	int			n;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ids = MtrsIdsArg(fcinfo, "item_ids", m->v.item_ids, m->v.hdr->n_items, &n);
	for (int j = 0; j < n; j++)
	{
		int			i = MtrsModelFindItem(m, ids[j]);

		if ((j & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (i < 0)
			continue;
		MtrsItemVector(m, task, i, vec);
		emit_vector(fcinfo, ids[j], vec, len, elems);
	}
	PG_RETURN_NULL();
}

/*
 * mtrs_user_vectors(user_ids bigint[], model text, task text)
 *	 -> TABLE(user_id bigint, vector real[])
 * Each user's vector for a head (default: ranking), in the order of
 * user_ids (NULL: every user the model was trained on; NULL elements are
 * skipped), as mtrs_recommend serves the user: rows added to the model's
 * source table since training are folded in.  A user the model cannot
 * place (unseen, no rows) has no row: mtrs_recommend serves them the most
 * popular items.
 */
Datum
mtrs_user_vectors(PG_FUNCTION_ARGS)
{
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 1));
	int			task = vector_task(fcinfo, m, 2);
	int			len = MtrsVectorLength(m);
	float	   *vec = palloc(sizeof(float) * len);
	Datum	   *elems = palloc(sizeof(Datum) * len);
	MemoryContext per_user = AllocSetContextCreate(CurrentMemoryContext, "mtrs user vector",
												   ALLOCSET_SMALL_SIZES);
	int64	   *ids;
	int64	   *fresh = NULL;
	int			n,
				n_fresh = 0;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ids = MtrsIdsArg(fcinfo, "user_ids", m->v.user_ids, m->v.hdr->n_users, &n);
	MtrsSourceFreshUsers(m, ids, n, &fresh, &n_fresh);
	for (int j = 0; j < n; j++)
	{
		MemoryContext old = MemoryContextSwitchTo(per_user);
		MtrsUser	user;
		int		   *seen;
		int			n_seen;

		if ((j & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		MtrsUserTrained(m, MtrsModelFindUser(m, ids[j]), &user);
		if (MtrsSourceIsFresh(fresh, n_fresh, ids[j]))
			MtrsSourceFoldIn(m, ids[j], &user, &seen, &n_seen);
		MemoryContextSwitchTo(old);
		if (user.emb != NULL)
		{
			MtrsUserVector(m, task, &user, vec);
			emit_vector(fcinfo, ids[j], vec, len, elems);
		}
		MemoryContextReset(per_user);
	}
	MemoryContextDelete(per_user);
	PG_RETURN_NULL();
}

/*
 * mtrs_query_vector(query text, model text, task text) -> real[]
 * The vector of a visitor who has only typed query: the user vector of
 * mtrs_recommend_for('{}', k, query => query), so its inner product with the
 * items' vectors ranks the catalog as that call does.  NULL for a NULL query
 * or one with no word that counts (that call then serves the most popular
 * items).
 */
Datum
mtrs_query_vector(PG_FUNCTION_ARGS)
{
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 1));
	int			task = vector_task(fcinfo, m, 2);
	int			len = MtrsVectorLength(m);
	MtrsUser	visitor = {-1, NULL};
	float	   *q;
	float	   *vec;
	double		norm = 0.0;

	MtrsCheckTextEncoder(m);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	q = palloc(sizeof(float) * 2 * m->v.hdr->dim);	/* the widest text encoding */
	if (!MtrsEncodeText(m, PG_GETARG_TEXT_PP(0), true, q))
		PG_RETURN_NULL();
	for (int j = 0; j < m->v.hdr->dim; j++)
		norm += (double) q[j] * q[j];
	if (norm <= 0.0)
		PG_RETURN_NULL();
	visitor.emb = q;
	vec = palloc(sizeof(float) * len);
	MtrsUserVector(m, task, &visitor, vec);
	PG_RETURN_ARRAYTYPE_P(vector_array(vec, len, palloc(sizeof(Datum) * len)));
}
