/*-------------------------------------------------------------------------
 *
 * mtrs_source.c
 *	  Real-time fold-in: a user's interactions inserted into the model's
 *	  source table after training change their recommendations at once.
 *
 * mtrs_train records where a model's rows came from (table and columns)
 * in mtrs_model.source.  When a user has rows in that table newer than the
 * model's newest training interaction, serving reads all of the user's rows
 * and solves the user's vector against the trained item embeddings (the
 * same least-squares step training ends with, same confidence and recency
 * weights), so new and unseen users are served from what they just did.
 *
 * A source without a time column (trained with time_col => NULL) cannot
 * tell new rows from old ones: there only users the model has not seen are
 * folded in, from all their rows.
 *
 * Reads run with the caller's privileges and row-level security policies;
 * a caller who cannot read the source table is served the trained model as
 * it is, and so is one for whom reading it would run another role's code
 * (runs_no_code_of_others).  Each lookup is one indexed query on the user column (see docs:
 * CREATE INDEX ON t (user_col, time_col) makes the newer-than-training check
 * index-only).  mtrs_explain reads a user's rows the same way.
 *
 * IDENTIFICATION
 *	  src/mtrs_source.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_pairs.h"
#include "mtrs_score.h"

/* Return the string value of key in a jsonb object, copied into cxt, or NULL */
static char *
json_string(Jsonb *jb, const char *key, MemoryContext cxt)
{
	JsonbValue	v;

	if (!JB_ROOT_IS_OBJECT(jb) ||
		getKeyJsonValueFromContainer(&jb->root, key, strlen(key), &v) == NULL ||
		v.type != jbvString)
		return NULL;
	{
		char	   *out = MemoryContextAlloc(cxt, v.val.string.len + 1);

		memcpy(out, v.val.string.val, v.val.string.len);
		out[v.val.string.len] = '\0';
		return out;
	}
}

/*
 * Parse a source's table name ("t" or "schema.t", quoted as SQL quotes
 * identifiers) into a name list in cxt, or return NIL: a name that does
 * not parse, or names another database, is no source (a model registered
 * with such a source is served as trained, never fails to load)
 */
static List *
source_names(const char *table, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	char	   *raw = pstrdup(table);
	List	   *parts;
	List	   *names = NIL;
	ListCell   *lc;

	if (SplitIdentifierString(raw, '.', &parts) && parts != NIL && list_length(parts) <= 2)
		foreach(lc, parts)
			names = lappend(names, makeString(pstrdup((char *) lfirst(lc))));
	list_free(parts);
	pfree(raw);
	MemoryContextSwitchTo(old);
	return names;
}

/*
 * Record the source described by a registry row's source jsonb (a model
 * registered without mtrs_train has none and is served as trained).
 */
void
MtrsSourceSet(MtrsModel *m, Datum source_jsonb)
{
	Jsonb	   *jb = DatumGetJsonbP(source_jsonb);

	m->src_table = json_string(jb, "table", m->context);
	m->src_user_col = json_string(jb, "user_col", m->context);
	m->src_item_col = json_string(jb, "item_col", m->context);
	m->src_time_col = json_string(jb, "time_col", m->context);
	if (m->src_user_col == NULL || m->src_item_col == NULL)
		m->src_table = NULL;
	if (m->src_table != NULL)
		m->src_names = source_names(m->src_table, m->context);
}

/* Free the prepared plans of a model that is leaving the cache */
void
MtrsSourceRelease(MtrsModel *m)
{
	if (m->src_recent_plan != NULL)
		SPI_freeplan((SPIPlanPtr) m->src_recent_plan);
	if (m->src_all_plan != NULL)
		SPI_freeplan((SPIPlanPtr) m->src_all_plan);
	m->src_recent_plan = m->src_all_plan = NULL;
}

/*
 * Whether relid has column col of a type mtrs_train reads (or a domain over
 * one): an integer id, or with is_time a time
 */
static bool
column_is(Oid relid, const char *col, bool is_time)
{
	AttrNumber	att = get_attnum(relid, col);
	Oid			type;

	if (att == InvalidAttrNumber)
		return false;
	type = getBaseType(get_atttype(relid, att));
	if (is_time)
		return type == TIMESTAMPTZOID || type == TIMESTAMPOID || type == DATEOID;
	return type == INT8OID || type == INT4OID || type == INT2OID;
}

/*
 * Whether reading relid runs no code that another role could have written
 * to run with the caller's privileges.  The source is whatever a writer of
 * mtrs_model recorded, and a view's functions, row-level security policies
 * and a foreign table's wrapper run as the caller: such a relation is read
 * only if its owner has the caller's privileges (is the caller, a member of
 * the caller's role, or a superuser).  A plain or partitioned table without
 * row-level security runs no such code.
 */
static bool
runs_no_code_of_others(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class rel;
	bool		ok;

	if (!HeapTupleIsValid(tuple))
		return false;
	rel = (Form_pg_class) GETSTRUCT(tuple);
	ok = ((rel->relkind == RELKIND_RELATION || rel->relkind == RELKIND_PARTITIONED_TABLE) &&
		  !rel->relrowsecurity) ||
		has_privs_of_role(rel->relowner, GetUserId());
	ReleaseSysCache(tuple);
	return ok;
}

/*
 * Return the source table's oid if it exists, still has the recorded
 * columns with types mtrs_train reads and the current user may read it,
 * else InvalidOid (the model is then served as trained).
 */
static Oid
readable_source(const MtrsModel *m)
{
	Oid			relid;

	if (m->src_names == NIL)
		return InvalidOid;
	if (list_length(m->src_names) == 2)
	{
		/* no error for a schema the caller may not use (RangeVarGetRelid raises one) */
		Oid			nsp = get_namespace_oid(strVal(linitial(m->src_names)), true);

		if (!OidIsValid(nsp) || pg_namespace_aclcheck(nsp, GetUserId(), ACL_USAGE) != ACLCHECK_OK)
			return InvalidOid;
		relid = get_relname_relid(strVal(lsecond(m->src_names)), nsp);
	}
	else
		relid = RelnameGetRelid(strVal(linitial(m->src_names)));
	if (!OidIsValid(relid) || !runs_no_code_of_others(relid) ||
		!column_is(relid, m->src_user_col, false) || !column_is(relid, m->src_item_col, false) ||
		(m->src_time_col != NULL && !column_is(relid, m->src_time_col, true)) ||
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return InvalidOid;
	return relid;
}

/* Prepare a query (in the SPI connection's memory until SPI_keepplan) */
static SPIPlanPtr
prepared_plan(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "could not prepare the fold-in query: %s", SPI_result_code_string(SPI_result));
	return plan;
}

/* Return the source table's schema-qualified, quoted name */
static char *
source_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Return the time of the model's newest training interaction */
static TimestampTz
trained_until(const MtrsModel *m)
{
	double		last = (double) m->v.t.settings[MTRS_SET_LAST_TS] +
		(double) m->v.t.settings[MTRS_SET_LAST_TS_LO];

	return (TimestampTz) llround(last * USECS_PER_DAY);
}

/* Prepare (once per cached model) the two lookups; call inside SPI */
static void
prepare_plans(MtrsModel *m, Oid relid)
{
	char	   *rel = source_name(relid);
	const char *u = quote_identifier(m->src_user_col);
	const char *i = quote_identifier(m->src_item_col);
	const char *t = m->src_time_col != NULL ? quote_identifier(m->src_time_col) : NULL;
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};

	SPIPlanPtr	recent,
				all;

	if (m->src_recent_plan != NULL)
		return;
	/*
	 * Both or neither: a failure keeps none.  The operators are named in
	 * pg_catalog: with a domain column, = and > found through the caller's
	 * search_path could be another role's (the built-in ones keep the
	 * column's index usable).
	 */
	if (t != NULL)
		recent = prepared_plan(psprintf("SELECT 1 FROM %s WHERE %s OPERATOR(pg_catalog.=) $1 "
										"AND %s OPERATOR(pg_catalog.>) $2 LIMIT 1",
										rel, u, t), 2, types);
	else
		recent = prepared_plan(psprintf("SELECT 1 FROM %s WHERE %s OPERATOR(pg_catalog.=) $1 LIMIT 1",
										rel, u),
							   1, types);
	all = prepared_plan(psprintf("SELECT %s::pg_catalog.int8, %s::pg_catalog.timestamptz FROM %s "
								 "WHERE %s OPERATOR(pg_catalog.=) $1 AND %s IS NOT NULL",
								 i, t != NULL ? t : "NULL", rel, u, i),
						1, types);
	SPI_keepplan(recent);
	SPI_keepplan(all);
	m->src_recent_plan = recent;
	m->src_all_plan = all;
}

/* Compare item indices, for sorting (item, ts) pairs */
typedef struct ItemTs
{
	int			item;
	double		ts;
} ItemTs;

static int
cmp_item_ts(const void *a, const void *b)
{
	const ItemTs *x = a;
	const ItemTs *y = b;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/*
 * The weighted interactions a user is folded in from: interactions with
 * item indices items[0..n) at times ts (days; NaN = unknown, counted as
 * recent), with the model's confidence and recency weights.  Duplicate items
 * count once, at their latest time.  Writes the distinct items to rows and
 * their confidences to conf (n entries each at most) and returns how many.
 */
static int
foldin_weights(const MtrsModel *m, const int *items, const double *ts, int n, int *rows,
			   float *conf)
{
	/* (a history array of 2^27 ids is legal: 2 GB here) */
	ItemTs	   *it = palloc_extended(sizeof(ItemTs) * Max(n, 1), MCXT_ALLOC_HUGE);
	double		last = -INFINITY;
	int			u = 0;

	for (int k = 0; k < n; k++)
	{
		it[k].item = items[k];
		it[k].ts = isnan(ts[k]) ? INFINITY : ts[k];
	}
	qsort(it, n, sizeof(ItemTs), cmp_item_ts);
	for (int k = 0; k < n; k++)
	{
		if (k + 1 < n && it[k + 1].item == it[k].item)
			continue;			/* keep the latest time of each item */
		it[u++] = it[k];
		if (isfinite(it[k].ts))
			last = Max(last, it[k].ts);
	}
	for (int k = 0; k < u; k++)
	{
		double		age = isfinite(it[k].ts) ? last - it[k].ts : 0.0;

		rows[k] = it[k].item;
		conf[k] = (float) (1.0 + m->v.t.settings[MTRS_SET_ALPHA] *
						   MtrsRecencyWeight(age, m->v.t.settings[MTRS_SET_HALF_LIFE]));
	}
	pfree(it);
	return u;
}

/* Return the upper triangle of the item embeddings' Gram matrix (computed once per model) */
static const float *
item_gram(MtrsModel *m)
{
	int			d = m->v.hdr->dim;

	if (m->gram == NULL)
	{
		m->gram = MemoryContextAllocZero(m->context, sizeof(float) * d * d);
		NnGramAccumulate(m->gram, m->v.t.item_emb, m->v.hdr->n_items, d, 1.0f);
	}
	return m->gram;
}

/* Return the regularization of fold-in solves */
static double
foldin_reg(const MtrsModel *m)
{
	return Max(m->v.t.settings[MTRS_SET_REG], 1e-6);
}

/*
 * Solve a user's shared embedding from interactions with item indices
 * items[0..n) at times ts (see foldin_weights).  Writes dim floats to out
 * (zeros when n is 0).
 */
void
MtrsFoldInItems(MtrsModel *m, const int *items, const double *ts, int n, float *out)
{
	int			d = m->v.hdr->dim;
	int		   *rows = palloc(sizeof(int) * Max(n, 1));
	float	   *conf = palloc(sizeof(float) * Max(n, 1));
	double	   *work = palloc(sizeof(double) * d * (d + 1));
	int			u = foldin_weights(m, items, ts, n, rows, conf);

	memset(out, 0, sizeof(float) * d);
	if (u > 0 &&
		NnFoldIn(item_gram(m), m->v.t.item_emb, d, rows, conf, u, foldin_reg(m), out, work) != 0)
		memset(out, 0, sizeof(float) * d);
	pfree(rows);
	pfree(conf);
	pfree(work);
}

/*
 * Split <query, x>, x the embedding MtrsFoldInItems solves from the same
 * interactions, into one term per distinct item: sets *rows and *contrib to
 * palloc'd arrays of the items and their terms and returns how many (0 when
 * there is nothing to explain: no interactions, or a singular system).
 */
int
MtrsFoldInExplain(MtrsModel *m, const int *items, const double *ts, int n, const float *query,
				  int **rows, float **contrib)
{
	int			d = m->v.hdr->dim;
	float	   *conf = palloc(sizeof(float) * Max(n, 1));
	double	   *work = palloc(sizeof(double) * d * (d + 1));
	int			u;

	*rows = palloc(sizeof(int) * Max(n, 1));
	*contrib = palloc(sizeof(float) * Max(n, 1));
	u = foldin_weights(m, items, ts, n, *rows, conf);
	if (u > 0 && NnFoldInExplain(item_gram(m), m->v.t.item_emb, d, *rows, conf, u,
								 foldin_reg(m), query, *contrib, work) != 0)
		u = 0;
	pfree(conf);
	pfree(work);
	return u;
}

/*
 * Read all of a user's rows of the source table with the prepared plan
 * (inside SPI): sets *items and *ts (allocated in cxt) to the item indices
 * the model knows and their times (days; NaN when NULL) and returns how many.
 */
static int
user_rows(MtrsModel *m, Datum *args, MemoryContext cxt, int **items, double **ts)
{
	int			n = 0;

	if (SPI_execute_plan((SPIPlanPtr) m->src_all_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "fold-in query failed");
	*items = MemoryContextAllocHuge(cxt, sizeof(int) * Max(SPI_processed, 1));
	*ts = MemoryContextAllocHuge(cxt, sizeof(double) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		null_item,
					null_ts;
		Datum		di = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &null_item);
		Datum		dt = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &null_ts);
		int			i = null_item ? -1 : MtrsModelFindItem(m, DatumGetInt64(di));

		if (i < 0)
			continue;			/* items the model has not seen cannot be folded in */
		(*items)[n] = i;
		(*ts)[n++] = null_ts ? NAN : (double) DatumGetTimestampTz(dt) / (double) USECS_PER_DAY;
	}
	return n;
}

/*
 * user is user_id as trained (MtrsUserTrained).  If the model has a
 * readable source table and the user has rows in it newer than training
 * (without a time column: the model has not seen the user and the user has
 * rows), fold the user in from all their rows: sets user->emb (a palloc'd
 * vector), and *seen / *n_seen to the item indices of those rows, and
 * returns true.  Otherwise returns false and changes nothing.
 */
bool
MtrsSourceFoldIn(MtrsModel *m, int64 user_id, MtrsUser *user, int **seen, int *n_seen)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			relid = mtrs_fold_in ? readable_source(m) : InvalidOid;
	Datum		args[2];
	double	   *ts = NULL;
	float	   *emb;
	bool		fresh = false;

	if (!OidIsValid(relid) ||
		(m->src_time_col == NULL && user->u >= 0))
		return false;
	args[0] = Int64GetDatum(user_id);
	args[1] = TimestampTzGetDatum(trained_until(m));
	MtrsCacheUserSqlBegin();
	PG_TRY();
	{
		SPI_connect();
		prepare_plans(m, relid);
		if (SPI_execute_plan((SPIPlanPtr) m->src_recent_plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "fold-in query failed");
		fresh = SPI_processed > 0;
		if (fresh)
			*n_seen = user_rows(m, args, caller, seen, &ts);
		SPI_finish();
	}
	PG_FINALLY();
	{
		MtrsCacheUserSqlEnd();
	}
	PG_END_TRY();
	/* rows only on items the model does not know say nothing: served as trained */
	if (!fresh || *n_seen == 0)
		return false;
	emb = palloc(sizeof(float) * m->v.hdr->dim);
	MtrsFoldInItems(m, *seen, ts, *n_seen, emb);
	user->emb = emb;
	return true;
}

/*
 * If fold-in is on and the model has a readable source table, set *items,
 * *ts and *n to all of the user's rows there (as MtrsSourceFoldIn reads
 * them) and return true; else return false.
 */
bool
MtrsSourceUserRows(MtrsModel *m, int64 user_id, int **items, double **ts, int *n)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			relid = mtrs_fold_in ? readable_source(m) : InvalidOid;
	Datum		args[1];

	if (!OidIsValid(relid))
		return false;
	args[0] = Int64GetDatum(user_id);
	MtrsCacheUserSqlBegin();
	PG_TRY();
	{
		SPI_connect();
		prepare_plans(m, relid);
		*n = user_rows(m, args, caller, items, ts);
		SPI_finish();
	}
	PG_FINALLY();
	{
		MtrsCacheUserSqlEnd();
	}
	PG_END_TRY();
	return true;
}

/*
 * Find which of the users ids[0..n) have rows in the model's source table
 * newer than its training (those MtrsSourceFoldIn would fold in), with one
 * query for all of them (the planner picks index probes or one scan).  Sets
 * *fresh to them, sorted, and *n_fresh, and returns true; returns false if
 * nothing can be folded in (fold-in off, no readable source).
 */
bool
MtrsSourceFreshUsers(MtrsModel *m, const int64 *ids, int n, int64 **fresh, int *n_fresh)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			relid = mtrs_fold_in ? readable_source(m) : InvalidOid;
	Oid			types[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		args[2];
	Datum	   *elems;
	char	   *sql;

	if (!OidIsValid(relid))
		return false;
	elems = palloc(sizeof(Datum) * Max(n, 1));
	for (int j = 0; j < n; j++)
		elems[j] = Int64GetDatum(ids[j]);
	args[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = TimestampTzGetDatum(trained_until(m));
	/* operators named in pg_catalog, as in prepare_plans */
	sql = psprintf("SELECT DISTINCT %s::pg_catalog.int8 FROM %s WHERE %s OPERATOR(pg_catalog.=) ANY ($1)%s%s",
				   quote_identifier(m->src_user_col), source_name(relid),
				   quote_identifier(m->src_user_col), m->src_time_col != NULL ? " AND " : "",
				   m->src_time_col != NULL ?
				   psprintf("%s OPERATOR(pg_catalog.>) $2", quote_identifier(m->src_time_col)) : "");
	MtrsCacheUserSqlBegin();
	PG_TRY();
	{
		SPI_connect();
		if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "fold-in query failed");
		*fresh = MemoryContextAlloc(caller, sizeof(int64) * Max(SPI_processed, 1));
		*n_fresh = 0;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull &&
				(m->src_time_col != NULL || MtrsModelFindUser(m, DatumGetInt64(d)) < 0))
				(*fresh)[(*n_fresh)++] = DatumGetInt64(d);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		MtrsCacheUserSqlEnd();
	}
	PG_END_TRY();
	qsort(*fresh, *n_fresh, sizeof(int64), NnCmpInt64);
	return true;
}

/* Return whether user_id is among the sorted fresh[0..n_fresh) */
bool
MtrsSourceIsFresh(const int64 *fresh, int n_fresh, int64 user_id)
{
	return n_fresh > 0 && bsearch(&user_id, fresh, n_fresh, sizeof(int64), NnCmpInt64) != NULL;
}
