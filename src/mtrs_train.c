/*-------------------------------------------------------------------------
 *
 * mtrs_train.c
 *	  Train a multi-task model from collected interaction rows.
 *
 * Steps: sort the rows (so the result does not depend on scan order or
 * parallel workers), map ids to dense indices, fold rows into (user, item)
 * pairs, learn the shared user and item embeddings by weighted alternating
 * least squares on all interactions (the ranking task, with recency-weighted
 * confidence), then fit the task heads on top, and write the model bytes.
 *
 * IDENTIFICATION
 *	  src/mtrs_train.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "mtrs_nn.h"
#include "mtrs_train.h"

#define GATHER_CHUNK	1024	/* rows gathered per ssyrk call */
#define EVENT_PRIOR		10.0	/* pseudo-count for event rates */
#define RATING_SWEEPS	10

/* Interactions folded into (user, item) pairs, in CSR form both ways */
typedef struct Pairs
{
	int			n_users;
	int			n_items;
	int64		n;
	int64	   *user_ids;		/* [n_users] sorted */
	int64	   *item_ids;		/* [n_items] sorted */
	int64	   *uptr;			/* [n_users + 1] pairs of user u: uptr[u] .. uptr[u+1] */
	int32	   *pi;				/* [n] item of each pair (pairs sorted by user, item) */
	int32	   *pu;				/* [n] user of each pair */
	float	   *conf;			/* [n] confidence */
	float	   *rating;			/* [n] latest rating, NaN if none */
	uint64	   *events;			/* [n] bit e set if event e occurred */
	double	   *ts;				/* [n] latest time */
	int64	   *iptr;			/* [n_items + 1] CSR by item */
	int32	   *inbr;			/* [n] user of each entry in item order */
	float	   *iconf;			/* [n] confidence of each entry in item order */
	double		last_ts;
} Pairs;

/* Order rows by user, item, time, event, rating */
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
	if (x->rating != y->rating)
		return x->rating < y->rating ? -1 : 1;
	return 0;
}

/* Order int64 values ascending */
static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return (x > y) - (x < y);
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
	int64	   *ids = palloc_extended(sizeof(int64) * d->n, MCXT_ALLOC_HUGE);
	int64		n = 0;

	for (int64 i = 0; i < d->n; i++)
		ids[i] = d->rows[i].item;
	qsort(ids, d->n, sizeof(int64), cmp_int64);
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

/* Allocate a zeroed array that may exceed 1 GB */
static void *
alloc_array(int64 n, Size elem)
{
	return palloc_extended(mul_size((Size) Max(n, 1), elem), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Fold sorted rows into pairs and build both CSR indexes */
static void
build_pairs(const MtrsFitData *d, const MtrsFitOptions *o, Pairs *p)
{
	int64		n_users = 0;
	double	   *user_last;
	int64	   *fill;

	p->item_ids = distinct_items(d, &p->n_items);
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
		p->ts[p->n - 1] = row->ts;	/* rows are in time order */
		if (!isnan(row->rating))
			p->rating[p->n - 1] = row->rating;
	}
	if (n_users > MTRS_MAX_USERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct users: " INT64_FORMAT, n_users),
				 errdetail("A model can hold at most %d users.", MTRS_MAX_USERS)));
	p->n_users = (int) n_users;

	/* CSR by user, each user's newest time, and confidences */
	p->uptr = alloc_array(p->n_users + 1, sizeof(int64));
	user_last = alloc_array(p->n_users, sizeof(double));
	p->last_ts = -INFINITY;
	for (int64 k = 0; k < p->n; k++)
	{
		p->uptr[p->pu[k] + 1]++;
		user_last[p->pu[k]] = (p->uptr[p->pu[k] + 1] == 1) ? p->ts[k] : Max(user_last[p->pu[k]], p->ts[k]);
		p->last_ts = Max(p->last_ts, p->ts[k]);
	}
	for (int u = 0; u < p->n_users; u++)
		p->uptr[u + 1] += p->uptr[u];
	p->conf = alloc_array(p->n, sizeof(float));
	for (int64 k = 0; k < p->n; k++)
	{
		double		w = 1.0;

		if (o->half_life_days > 0)
			w = exp2(-(user_last[p->pu[k]] - p->ts[k]) / o->half_life_days);
		p->conf[k] = (float) (1.0 + o->alpha * w);
	}

	/* CSR by item (counting sort keeps users ascending within an item) */
	p->iptr = alloc_array(p->n_items + 1, sizeof(int64));
	p->inbr = alloc_array(p->n, sizeof(int32));
	p->iconf = alloc_array(p->n, sizeof(float));
	fill = alloc_array(p->n_items, sizeof(int64));
	for (int64 k = 0; k < p->n; k++)
		p->iptr[p->pi[k] + 1]++;
	for (int i = 0; i < p->n_items; i++)
		p->iptr[i + 1] += p->iptr[i];
	for (int64 k = 0; k < p->n; k++)
	{
		int64		at = p->iptr[p->pi[k]] + fill[p->pi[k]]++;

		p->inbr[at] = p->pu[k];
		p->iconf[at] = p->conf[k];
	}
	pfree(fill);
	pfree(user_last);
}

/* Scratch for one ALS half-step */
typedef struct AlsScratch
{
	float	   *gram;			/* [d][d] Y^T Y + reg I */
	float	   *a;				/* [d][d] */
	double	   *ad;				/* [d][d] */
	double	   *b;				/* [d] */
	float	   *gather;			/* [GATHER_CHUNK][d] */
} AlsScratch;

/*
 * Solve every row of x given y: x_r = (Y^T Y + reg I + sum (c-1) y y^T)^-1
 * sum c y over the row's entries [ptr[r], ptr[r+1]) with neighbours nbr and
 * confidences conf.  x is [n_rows][d], y is [n_other][d].
 */
static void
als_half_step(float *x, const float *y, int n_rows, int n_other,
			  const int64 *ptr, const int32 *nbr, const float *conf,
			  double reg, int d, AlsScratch *s)
{
	memset(s->gram, 0, sizeof(float) * d * d);
	NnGramAccumulate(s->gram, y, n_other, d, 1.0f);
	for (int j = 0; j < d; j++)
		s->gram[j * d + j] += (float) reg;

	for (int r = 0; r < n_rows; r++)
	{
		if ((r & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		memcpy(s->a, s->gram, sizeof(float) * d * d);
		memset(s->b, 0, sizeof(double) * d);
		for (int64 k0 = ptr[r]; k0 < ptr[r + 1]; k0 += GATHER_CHUNK)
		{
			int			m = (int) Min(GATHER_CHUNK, ptr[r + 1] - k0);

			for (int j = 0; j < m; j++)
			{
				const float *yr = y + (int64) nbr[k0 + j] * d;
				float		c = conf[k0 + j];
				float		sc = sqrtf(c - 1.0f);
				float	   *g = s->gather + (int64) j * d;

				for (int t = 0; t < d; t++)
				{
					g[t] = sc * yr[t];
					s->b[t] += (double) c * yr[t];
				}
			}
			NnGramAccumulate(s->a, s->gather, m, d, 1.0f);
		}
		for (int i = 0; i < d * d; i++)
			s->ad[i] = s->a[i];
		if (NnCholeskySolve(s->ad, s->b, d) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("training failed: a least-squares system is not positive definite"),
					 errhint("Increase the \"reg\" option.")));
		for (int t = 0; t < d; t++)
			x[(int64) r * d + t] = (float) s->b[t];
	}
}

/*
 * Return the weighted implicit loss per pair: sum over all (u, i) of
 * c (p - x)^2 with c = 1, p = 0 off the observed pairs, plus the L2 term.
 */
static double
ranking_loss(const Pairs *p, const float *P, const float *Q, double reg, int d, AlsScratch *s)
{
	double		loss = 0.0;

	memset(s->gram, 0, sizeof(float) * d * d);
	NnGramAccumulate(s->gram, Q, p->n_items, d, 1.0f);
	for (int u = 0; u < p->n_users; u++)
	{
		const float *pu = P + (int64) u * d;

		/* p_u^T (Q^T Q) p_u from the upper triangle */
		for (int i = 0; i < d; i++)
		{
			loss += (double) s->gram[i * d + i] * pu[i] * pu[i];
			for (int j = i + 1; j < d; j++)
				loss += 2.0 * s->gram[i * d + j] * pu[i] * pu[j];
		}
	}
	for (int64 k = 0; k < p->n; k++)
	{
		double		xh = NnDot(P + (int64) p->pu[k] * d, Q + (int64) p->pi[k] * d, d);

		loss += p->conf[k] * (1.0 - xh) * (1.0 - xh) - xh * xh;
	}
	for (int64 i = 0; i < (int64) p->n_users * d; i++)
		loss += reg * P[i] * P[i];
	for (int64 i = 0; i < (int64) p->n_items * d; i++)
		loss += reg * Q[i] * Q[i];
	return loss / (double) p->n;
}

/* Fit one event head: smoothed log-odds of the event per item and per user */
static void
fit_event_head(const Pairs *p, int event, float *item_bias, float *user_bias)
{
	double	   *pos_i = alloc_array(p->n_items, sizeof(double));
	double	   *cnt_i = alloc_array(p->n_items, sizeof(double));
	double		pos = 0.0,
				rate,
				base;

	for (int64 k = 0; k < p->n; k++)
	{
		double		y = (p->events[k] >> event) & 1;

		pos += y;
		pos_i[p->pi[k]] += y;
		cnt_i[p->pi[k]] += 1.0;
	}
	rate = (pos + 0.5) / ((double) p->n + 1.0);
	base = log(rate / (1.0 - rate));
	for (int i = 0; i < p->n_items; i++)
		item_bias[i] = (float) log((pos_i[i] + EVENT_PRIOR * rate) /
								   (cnt_i[i] - pos_i[i] + EVENT_PRIOR * (1.0 - rate)));
	for (int u = 0; u < p->n_users; u++)
	{
		double		pu = 0.0,
					cu = (double) (p->uptr[u + 1] - p->uptr[u]);

		for (int64 k = p->uptr[u]; k < p->uptr[u + 1]; k++)
			pu += (p->events[k] >> event) & 1;
		user_bias[u] = (float) (log((pu + EVENT_PRIOR * rate) /
									(cu - pu + EVENT_PRIOR * (1.0 - rate))) - base);
	}
	pfree(pos_i);
	pfree(cnt_i);
}

/*
 * Fit the rating head: mean plus regularized user and item biases by
 * alternating exact minimization.  Returns the training RMSE.
 */
static double
fit_rating_head(const Pairs *p, double reg, float *item_bias, float *user_bias,
				float *mean, float *rmin, float *rmax)
{
	double	   *num = alloc_array(Max(p->n_users, p->n_items), sizeof(double));
	double	   *cnt = alloc_array(Max(p->n_users, p->n_items), sizeof(double));
	double		sum = 0.0,
				sse = 0.0,
				n = 0.0,
				mu;

	*rmin = INFINITY;
	*rmax = -INFINITY;
	for (int64 k = 0; k < p->n; k++)
		if (!isnan(p->rating[k]))
		{
			sum += p->rating[k];
			n += 1.0;
			*rmin = Min(*rmin, p->rating[k]);
			*rmax = Max(*rmax, p->rating[k]);
		}
	mu = sum / n;
	for (int sweep = 0; sweep < RATING_SWEEPS; sweep++)
	{
		memset(num, 0, sizeof(double) * p->n_items);
		memset(cnt, 0, sizeof(double) * p->n_items);
		for (int64 k = 0; k < p->n; k++)
			if (!isnan(p->rating[k]))
			{
				num[p->pi[k]] += p->rating[k] - mu - user_bias[p->pu[k]];
				cnt[p->pi[k]] += 1.0;
			}
		for (int i = 0; i < p->n_items; i++)
			item_bias[i] = (float) (num[i] / (cnt[i] + reg));
		memset(num, 0, sizeof(double) * p->n_users);
		memset(cnt, 0, sizeof(double) * p->n_users);
		for (int64 k = 0; k < p->n; k++)
			if (!isnan(p->rating[k]))
			{
				num[p->pu[k]] += p->rating[k] - mu - item_bias[p->pi[k]];
				cnt[p->pu[k]] += 1.0;
			}
		for (int u = 0; u < p->n_users; u++)
			user_bias[u] = (float) (num[u] / (cnt[u] + reg));
	}
	for (int64 k = 0; k < p->n; k++)
		if (!isnan(p->rating[k]))
		{
			double		e = p->rating[k] - mu - user_bias[p->pu[k]] - item_bias[p->pi[k]];

			sse += e * e;
		}
	*mean = (float) mu;
	pfree(num);
	pfree(cnt);
	return sqrt(sse / n);
}

/* Return whether any pair carries a rating */
static bool
has_ratings(const Pairs *p)
{
	for (int64 k = 0; k < p->n; k++)
		if (!isnan(p->rating[k]))
			return true;
	return false;
}

/* Report one iteration's progress */
static void
report_iteration(const MtrsFitOptions *o, StringInfo log, int iter, double loss, double secs)
{
	ereport(o->verbose ? NOTICE : DEBUG1,
			(errmsg("iteration %d of %d: ranking loss %.6f (%.2f s)",
					iter, o->iterations, loss, secs)));
	if (log != NULL)
		appendStringInfo(log, "%s{\"iteration\": %d, \"loss\": {\"ranking\": %.6g}, \"seconds\": %.3f}",
						 iter > 1 ? ", " : "", iter, loss, secs);
}

/* Lay out the model's header, ids and names in a new aligned buffer */
static char *
begin_model(const Pairs *p, const MtrsFitData *d, const MtrsFitOptions *o, bool rating,
			MtrsModelView *v, Size *size)
{
	MtrsHeader	h;
	int			n_tasks = 1 + d->n_events + (rating ? 1 : 0);
	int			slen = (int) strlen(MTRS_TASK_RANKING) + 1 + (rating ? (int) strlen(MTRS_TASK_RATING) + 1 : 0);
	int			off = 0;
	char	   *buf;

	for (int e = 0; e < d->n_events; e++)
		slen += (int) strlen(d->event_names[e]) + 1;
	if (MtrsHeaderInit(&h, MTRS_KIND_INTERACTIONS, o->dim, 0, p->n_users, p->n_items, p->n,
					   n_tasks, 0, 0, slen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would exceed the maximum model size of %zu bytes", MTRS_MAX_MODEL_SIZE),
				 errhint("Lower the \"dim\" option or train on fewer users and items.")));
	*size = MtrsFormatSize(&h);
	buf = palloc_extended(*size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	memcpy(buf, &h, sizeof(h));
	MtrsFormatLayout(v, buf);
	memcpy(v->user_ids, p->user_ids, sizeof(int64) * p->n_users);
	memcpy(v->item_ids, p->item_ids, sizeof(int64) * p->n_items);
	memcpy(v->hist_ptr, p->uptr, sizeof(int64) * (p->n_users + 1));
	memcpy(v->hist_items, p->pi, sizeof(int32) * p->n);
	for (int t = 0; t < n_tasks; t++)
	{
		const char *name = t == 0 ? MTRS_TASK_RANKING :
			t <= d->n_events ? d->event_names[t - 1] : MTRS_TASK_RATING;

		v->str_off[t] = off;
		strcpy(v->str_data + off, name);
		off += (int) strlen(name) + 1;
	}
	return buf;
}

/*
 * Train a model on the collected rows (n > 0) and return it as bytea.
 * Appends a JSON array body of per-iteration records to log, if given.
 */
bytea *
MtrsTrain(MtrsFitData *d, const MtrsFitOptions *o, StringInfo log)
{
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "mtrs training",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	Pairs		p = {0};
	MtrsModelView v;
	AlsScratch	s;
	Size		size;
	char	   *buf;
	bytea	   *out;
	uint64		rng = (uint64) o->seed;
	int			dim = o->dim;
	bool		rating;
	instr_time	start,
				now;

	INSTR_TIME_SET_CURRENT(start);
	sort_events(d);
	qsort(d->rows, d->n, sizeof(MtrsFitRow), cmp_rows);
	build_pairs(d, o, &p);
	rating = has_ratings(&p);
	buf = begin_model(&p, d, o, rating, &v, &size);

	/* shared embeddings: weighted ALS on all interactions (the ranking task) */
	s.gram = palloc(sizeof(float) * dim * dim);
	s.a = palloc(sizeof(float) * dim * dim);
	s.ad = palloc(sizeof(double) * dim * dim);
	s.b = palloc(sizeof(double) * dim);
	s.gather = palloc(sizeof(float) * GATHER_CHUNK * dim);
	NnRandNormalFill(v.t.item_emb, (int64) p.n_items * dim, 0.01f, &rng);
	for (int it = 1; it <= o->iterations; it++)
	{
		als_half_step(v.t.user_emb, v.t.item_emb, p.n_users, p.n_items,
					  p.uptr, p.pi, p.conf, o->reg, dim, &s);
		als_half_step(v.t.item_emb, v.t.user_emb, p.n_items, p.n_users,
					  p.iptr, p.inbr, p.iconf, o->reg, dim, &s);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		report_iteration(o, log, it, ranking_loss(&p, v.t.user_emb, v.t.item_emb, o->reg, dim, &s),
						 INSTR_TIME_GET_DOUBLE(now));
	}

	/* heads: ranking uses the plain dot product; events and rating use biases */
	for (int t = 0; t < dim; t++)
		v.t.task_w[t] = 1.0f;
	for (int e = 0; e < d->n_events; e++)
		fit_event_head(&p, e, v.t.item_bias + (int64) (1 + e) * p.n_items,
					   v.t.user_bias + (int64) (1 + e) * p.n_users);
	if (rating)
	{
		int			t = 1 + d->n_events;

		fit_rating_head(&p, o->rating_reg, v.t.item_bias + (int64) t * p.n_items,
						v.t.user_bias + (int64) t * p.n_users, &v.t.task_b[t],
						&v.t.settings[MTRS_SET_RATING_MIN], &v.t.settings[MTRS_SET_RATING_MAX]);
	}
	v.t.settings[MTRS_SET_ALPHA] = (float) o->alpha;
	v.t.settings[MTRS_SET_REG] = (float) o->reg;
	v.t.settings[MTRS_SET_HALF_LIFE] = (float) o->half_life_days;
	v.t.settings[MTRS_SET_LAST_TS] = (float) p.last_ts;
	for (int64 i = 0; i < v.hdr->n_params; i++)
		if (!isfinite(v.params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("training diverged"),
					 errdetail("Parameter " INT64_FORMAT " became %g.", i, v.params[i]),
					 errhint("Increase the \"reg\" option or lower \"alpha\".")));
	MtrsFormatSeal(&v);

	MemoryContextSwitchTo(old);
	out = palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);
	SET_VARSIZE(out, VARHDRSZ + size);
	memcpy(VARDATA(out), buf, size);
	MemoryContextDelete(ctx);
	return out;
}
