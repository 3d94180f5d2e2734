/*-------------------------------------------------------------------------
 *
 * mtrs_plan.c
 *	  Planner support for the set-returning functions: row estimates.
 *
 * A fixed ROWS clause cannot know that mtrs_recommend(u, 50) returns 50
 * rows, or that mtrs_recommend_batch(ARRAY[1, 2, 3], 20) returns 60, and a
 * report that joins the lists with a catalog table is planned from that
 * estimate.  mtrs_rows_support answers the planner's SupportRequestRows
 * from the constant arguments of the call: k (plus one for the explain
 * functions' row of biases), times the length of a constant array of ids
 * for the batch functions, and at most the length of a constant candidate
 * list.  Arguments that are not constants (a column of a lateral join, a
 * parameter of a generic plan) leave the function's ROWS estimate.
 *
 * When the model is known at plan time (a constant name, or the default
 * model), the registry's user and item counts of its active version bound
 * the estimate too: a list has at most as many rows as the model has items
 * (mtrs_recommend(u, 2147483647) is "every item", which estimated at 2^31
 * rows made PostgreSQL compile the query with JIT, 69 ms for a 0.1 ms call),
 * and a batch over every user or item (ids NULL) has one group per user or
 * item.  The counts are read only for a k above SIZED_K or ids NULL, and
 * reading them never fails: without them the estimate is as above.
 *
 * IDENTIFICATION
 *	  src/mtrs_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "nodes/supportnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "mtrs.h"

PG_FUNCTION_INFO_V1(mtrs_rows_support);

#define DEFAULT_K	10			/* k's default, for a k that is not a constant */
#define SIZED_K		1000		/* a larger k is worth a look at the model's item count */

/*
 * How a function's row count follows from its arguments (-1: no such
 * argument).  rows = (k + extra) x length(ids), at most length(cap); with
 * the model's counts, k at most its items (a rule with both k and model),
 * and ids NULL meaning one group per user ('u') or item ('i') of the model
 * (all_ids); at most max_rows per group if that is not 0 (the features of
 * one utterance: a thousand is a long text).
 */
typedef struct RowsRule
{
	const char *name;
	int			k;				/* the integer argument k */
	int			extra;			/* rows besides the k best */
	int			ids;			/* an array with one group of rows per element */
	int			cap;			/* an array the rows are drawn from */
	int			model;			/* the model's name */
	char		all_ids;		/* what ids NULL stands for: 'u', 'i' or 0 */
	int			max_rows;		/* an estimate's bound per group, or 0 */
} RowsRule;

static const RowsRule rows_rules[] = {
	{"mtrs_recommend", 1, 0, -1, 5, 2, 0},
	{"mtrs_recommend_for", 1, 0, -1, 5, 2, 0},
	{"mtrs_recommend_batch", 1, 0, 0, -1, 2, 'u'},
	{"mtrs_explain", 2, 1, -1, -1, 3, 0},
	{"mtrs_explain_for", 2, 1, -1, -1, 3, 0},
	{"mtrs_similar_items", 1, 0, -1, -1, 2, 0},
	{"mtrs_similar_items_batch", 1, 0, 0, -1, 2, 'i'},
	{"mtrs_item_vectors", -1, 0, 0, -1, 1, 'i'},
	{"mtrs_user_vectors", -1, 0, 0, -1, 1, 'u'},
	{"mtrs_intent_explain", 2, 1, -1, -1, -1, 0, SIZED_K},
};

/* The argument n of a call if it is a constant that is not NULL */
static Const *
const_arg(List *args, int n)
{
	Node	   *arg;

	if (n < 0 || n >= list_length(args))
		return NULL;
	arg = (Node *) list_nth(args, n);
	if (!IsA(arg, Const) || ((Const *) arg)->constisnull)
		return NULL;
	return (Const *) arg;
}

/* Whether the argument n of a call is a NULL constant */
static bool
null_arg(List *args, int n)
{
	Node	   *arg;

	if (n < 0 || n >= list_length(args))
		return false;
	arg = (Node *) list_nth(args, n);
	return IsA(arg, Const) && ((Const *) arg)->constisnull;
}

/*
 * The users and items of the model a call names (a constant, or NULL for
 * the default model), as the registry records them; false if not known
 */
static bool
model_sizes(const RowsRule *rule, List *args, Oid funcid, double *n_users, double *n_items)
{
	Const	   *c;

	if (rule->model < 0)
		return false;
	c = const_arg(args, rule->model);
	if (c == NULL && !null_arg(args, rule->model))
		return false;			/* a name known only at run time */
	if (c != NULL && c->consttype != TEXTOID)
		return false;
	return MtrsRegistrySizes(get_func_namespace(funcid), c != NULL ? TextDatumGetCString(c->constvalue) : NULL,
							 n_users, n_items);
}

/* The number of elements of a constant one-dimensional array, or -1 */
static double
const_array_length(List *args, int n)
{
	Const	   *c = const_arg(args, n);
	ArrayType  *a;

	if (c == NULL || !type_is_array(c->consttype))
		return -1;
	a = DatumGetArrayTypeP(c->constvalue);
	if (ARR_NDIM(a) == 0)
		return 0;
	if (ARR_NDIM(a) != 1)
		return -1;				/* an error at run time */
	return ARR_DIMS(a)[0];
}

/*
 * mtrs_rows_support(internal) -> internal: the planner support function of
 * the set-returning functions listed in rows_rules
 */
Datum
mtrs_rows_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *req;
	const RowsRule *rule = NULL;
	char	   *name;
	List	   *args;
	double		rows;
	bool		known = false;
	bool		sized;
	double		n_users = 0,
				n_items = 0;
	bool		k_items;

	if (!IsA(rawreq, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestRows *) rawreq;
	if (req->node == NULL || !IsA(req->node, FuncExpr))
		PG_RETURN_POINTER(NULL);
	args = ((FuncExpr *) req->node)->args;

	name = get_func_name(req->funcid);
	for (int i = 0; name != NULL && i < (int) lengthof(rows_rules); i++)
		if (strcmp(rows_rules[i].name, name) == 0)
			rule = &rows_rules[i];
	if (rule == NULL)
		PG_RETURN_POINTER(NULL);
	k_items = rule->k >= 0 && rule->model >= 0;	/* a list from the model's items */

	/* rows per group: k (+ extra) when k is a constant */
	if (rule->k >= 0)
	{
		Const	   *k = const_arg(args, rule->k);

		if (k != NULL && k->consttype == INT4OID)
		{
			rows = (double) Max(DatumGetInt32(k->constvalue), 0) + rule->extra;
			known = true;
		}
		else
			rows = DEFAULT_K + rule->extra;
		if (rule->max_rows > 0 && rows > rule->max_rows)
			rows = rule->max_rows;
	}
	else
		rows = 1;

	/*
	 * The model's counts, read from the registry (an index probe, about 2 us
	 * a plan) only where they can matter: a k beyond SIZED_K, or every id
	 */
	sized = ((k_items && rows > SIZED_K) ||
			 (rule->all_ids != 0 && null_arg(args, rule->ids))) &&
		model_sizes(rule, args, req->funcid, &n_users, &n_items);
	if (sized && k_items && rows > n_items)
	{
		rows = n_items;
		known = true;
	}
	/* one group per id of a constant array (NULL: every user or item of the model) */
	if (rule->ids >= 0)
	{
		double		n = const_array_length(args, rule->ids);

		if (n < 0 && sized && rule->all_ids != 0 && null_arg(args, rule->ids))
			n = rule->all_ids == 'u' ? n_users : n_items;
		if (n < 0)
			PG_RETURN_POINTER(NULL);
		rows *= n;
		known = true;
	}
	if (rule->cap >= 0)
	{
		double		n = const_array_length(args, rule->cap);

		if (n >= 0 && n < rows)
		{
			rows = n;
			known = true;
		}
	}
	if (!known)
		PG_RETURN_POINTER(NULL);

	req->rows = Max(rows, 1);
	PG_RETURN_POINTER(req);
}
