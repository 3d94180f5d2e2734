/*-------------------------------------------------------------------------
 *
 * mtrs_pairs.c
 *	  Fold collected interaction rows into (user, item) pairs.
 *
 * The rows are sorted first (so nothing depends on scan order or on
 * parallel workers), ids are mapped to dense indices in id order, and each
 * (user, item) pair keeps the set of its events, its latest time and its
 * latest rating.  Pairs are indexed by user (CSR) and by item.
 *
 * IDENTIFICATION
 *	  src/mtrs_pairs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/memutils.h"

#include "mtrs_nn.h"
#include "mtrs_pairs.h"

/* Order rows by user, item, time, event, rating (none first) */
static int
cmp_rows(const void *a, const void *b)
{
	const MtrsFitRow *x = a,
			   *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	/* no rating (NaN) first: NaN compares unequal to itself and unordered to the rest */
	if (isnan(x->rating) || isnan(y->rating))
		return (int) !isnan(x->rating) - (int) !isnan(y->rating);
	if (x->rating != y->rating)
		return x->rating < y->rating ? -1 : 1;
	return 0;
}

/* Order event names (strings of NAMEDATALEN) ascending */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp((const char *) a, (const char *) b);
}

/* Return the position of id in sorted ids (which must contain it) */
static int32
dense_index(const int64 *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Allocate a zeroed array that may exceed 1 GB */
static void *
alloc_array(int64 n, Size elem)
{
	return palloc_extended(mul_size((Size) Max(n, 1), elem), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/*
 * Sort event names so that task order does not depend on which process saw
 * which event first, and renumber the rows accordingly.
 */
static void
sort_events(MtrsFitData *d)
{
	char		old[MTRS_MAX_EVENTS][NAMEDATALEN];
	int16		map[MTRS_MAX_EVENTS];

	memcpy(old, d->event_names, sizeof(old));
	qsort(d->event_names, d->n_events, NAMEDATALEN, cmp_names);
	for (int e = 0; e < d->n_events; e++)
		for (int f = 0; f < d->n_events; f++)
			if (strcmp(old[e], d->event_names[f]) == 0)
				map[e] = (int16) f;
	for (int64 i = 0; i < d->n; i++)
		d->rows[i].event = map[d->rows[i].event];
}

/* Collect the distinct item ids of the rows */
static int64 *
distinct_items(const MtrsFitData *d, int *n_items)
{
	int64	   *ids = alloc_array(d->n, sizeof(int64));
	int64		n = 0;

	for (int64 i = 0; i < d->n; i++)
		ids[i] = d->rows[i].item;
	qsort(ids, d->n, sizeof(int64), NnCmpInt64);
	for (int64 i = 0; i < d->n; i++)
		if (n == 0 || ids[n - 1] != ids[i])
			ids[n++] = ids[i];
	if (n > MTRS_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct items: " INT64_FORMAT, n),
				 errdetail("A model can hold at most %d items.", MTRS_MAX_ITEMS)));
	*n_items = (int) n;
	return ids;
}

/* Return the recency weight of an interaction age_days older than the user's newest */
double
MtrsRecencyWeight(double age_days, double half_life_days)
{
	if (half_life_days <= 0 || age_days <= 0)
		return 1.0;
	return exp2(-age_days / half_life_days);
}

/* Fold the sorted rows into pairs */
static void
fold_rows(const MtrsFitData *d, MtrsPairs *p)
{
	int64		n_users = 0;

	p->user_ids = alloc_array(d->n, sizeof(int64));
	p->pi = alloc_array(d->n, sizeof(int32));
	p->pu = alloc_array(d->n, sizeof(int32));
	p->rating = alloc_array(d->n, sizeof(float));
	p->events = alloc_array(d->n, sizeof(uint64));
	p->ts = alloc_array(d->n, sizeof(double));
	p->n = 0;
	for (int64 r = 0; r < d->n; r++)
	{
		const MtrsFitRow *row = &d->rows[r];
		bool		new_user = (r == 0 || row->user != d->rows[r - 1].user);

		if (new_user)
			p->user_ids[n_users++] = row->user;
		if (new_user || row->item != d->rows[r - 1].item)
		{
			p->pu[p->n] = (int32) (n_users - 1);
			p->pi[p->n] = dense_index(p->item_ids, p->n_items, row->item);
			p->rating[p->n] = NAN;
			p->n++;
		}
		p->events[p->n - 1] |= UINT64CONST(1) << row->event;
		p->ts[p->n - 1] = row->ts;	/* rows are in time order within a pair */
		if (!isnan(row->rating))
			p->rating[p->n - 1] = row->rating;
	}
	if (n_users > MTRS_MAX_USERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct users: " INT64_FORMAT, n_users),
				 errdetail("A model can hold at most %d users.", MTRS_MAX_USERS)));
	p->n_users = (int) n_users;
}

/* Index pairs by user and compute recency-weighted confidences */
static void
index_by_user(const MtrsFitOptions *o, MtrsPairs *p)
{
	double	   *user_last = alloc_array(p->n_users, sizeof(double));

	p->uptr = alloc_array(p->n_users + 1, sizeof(int64));
	p->last_ts = -INFINITY;
	for (int u = 0; u < p->n_users; u++)
		user_last[u] = -INFINITY;
	for (int64 k = 0; k < p->n; k++)
	{
		p->uptr[p->pu[k] + 1]++;
		user_last[p->pu[k]] = Max(user_last[p->pu[k]], p->ts[k]);
		p->last_ts = Max(p->last_ts, p->ts[k]);
	}
	for (int u = 0; u < p->n_users; u++)
		p->uptr[u + 1] += p->uptr[u];
	p->conf = alloc_array(p->n, sizeof(float));
	for (int64 k = 0; k < p->n; k++)
		p->conf[k] = (float) (1.0 + o->alpha *
							  MtrsRecencyWeight(user_last[p->pu[k]] - p->ts[k], o->half_life_days));
	pfree(user_last);
}

/* Index pairs by item (a counting sort keeps users ascending within an item) */
static void
index_by_item(MtrsPairs *p)
{
	int64	   *fill = alloc_array(p->n_items, sizeof(int64));

	p->iptr = alloc_array(p->n_items + 1, sizeof(int64));
	p->iorder = alloc_array(p->n, sizeof(int64));
	for (int64 k = 0; k < p->n; k++)
		p->iptr[p->pi[k] + 1]++;
	for (int i = 0; i < p->n_items; i++)
		p->iptr[i + 1] += p->iptr[i];
	for (int64 k = 0; k < p->n; k++)
		p->iorder[p->iptr[p->pi[k]] + fill[p->pi[k]]++] = k;
	pfree(fill);
}

/* Sort the rows and fold them into indexed pairs */
void
MtrsPairsBuild(MtrsFitData *d, const MtrsFitOptions *o, MtrsPairs *p)
{
	sort_events(d);
	qsort(d->rows, d->n, sizeof(MtrsFitRow), cmp_rows);
	p->item_ids = distinct_items(d, &p->n_items);
	fold_rows(d, p);
	index_by_user(o, p);
	index_by_item(p);
}
