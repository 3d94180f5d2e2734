/*-------------------------------------------------------------------------
 *
 * mtrs_heads.c
 *	  Plan, initialize, linearize and fit the task heads.
 *
 * Event heads model p(event | the user interacted with the item); an
 * event that nearly always follows another one (a purchase follows a
 * cart) is conditioned on it, ESMM-style, so that serving multiplies the
 * chain: p(purchase) = p(cart) p(purchase | cart) <= p(cart).  The rating
 * head regresses the latest rating of a pair.
 *
 * Each head is fit by iteratively reweighted least squares: linearize the
 * loss around the current logits (MtrsHeadLinearize), then solve the head's
 * own parameters in closed form (MtrsHeadFit).  The same linearization lets
 * the trainer fold the heads into the least-squares steps of the shared
 * embeddings.
 *
 * IDENTIFICATION
 *	  src/mtrs_heads.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "mtrs_heads.h"
#include "mtrs_nn.h"
#include "mtrs_parallel.h"

#define CHAIN_OVERLAP	0.9		/* share of an event's pairs that must show the parent */
#define MIN_NEWTON_W	0.01f	/* floor of p (1 - p) in the Newton weights */
#define MAX_LOGIT		8.0
#define BIAS_SWEEPS		2
#define FIT_CHUNK		1024
#define SCALING_BLOCK_BYTES	(16 * 1024 * 1024)	/* the scaling fit's per-block Gram matrices */
#define ROWS_PER_TASK	64		/* users or items one training thread claims at a time */
#define PRIVATE_TASK_FLOPS	(16 * 64 * 64 * 64)	/* at most this much solving per private task */
#define PRIVATE_INIT_STD 0.1f

/* Return whether pair k belongs to the head's training set */
static inline bool
is_member(const MtrsHead *h, const MtrsPairs *p, int64 k)
{
	if (h->is_rating)
		return !isnan(p->rating[k]);
	if (h->parent < 0)
		return true;
	return ((p->events[k] >> h->parent) & 1) || ((p->events[k] >> h->event) & 1);
}

/* Return the head's label for member pair k */
static inline float
label_of(const MtrsHead *h, const MtrsPairs *p, int64 k)
{
	return h->is_rating ? p->rating[k] : (float) ((p->events[k] >> h->event) & 1);
}

/*
 * Choose each event's parent: among the events seen on more pairs, the
 * least frequent one that occurs on at least CHAIN_OVERLAP of this event's
 * pairs.  Counts only the set bits of each pair, so the cost is
 * proportional to pairs times events per pair squared.
 */
static void
plan_chain(const MtrsPairs *p, int n_events, int *parent)
{
	int64	   *cnt = palloc0(sizeof(int64) * n_events);
	int64	   *both = palloc0(sizeof(int64) * n_events * n_events);

	for (int64 k = 0; k < p->n; k++)
	{
		uint64		ev = p->events[k];

		for (int e = 0; e < n_events; e++)
		{
			if (!((ev >> e) & 1))
				continue;
			cnt[e]++;
			for (int f = 0; f < n_events; f++)
				if ((ev >> f) & 1)
					both[e * n_events + f]++;
		}
	}
	for (int e = 0; e < n_events; e++)
	{
		parent[e] = -1;
		for (int f = 0; f < n_events; f++)
		{
			if (f == e || cnt[f] <= cnt[e] || both[e * n_events + f] < CHAIN_OVERLAP * cnt[e])
				continue;
			if (parent[e] < 0 || cnt[f] < cnt[parent[e]])
				parent[e] = f;
		}
	}
	pfree(cnt);
	pfree(both);
}

/*
 * Plan the heads of a model: one per event (task 1 + event index) and the
 * rating head last.  Returns their number; heads must have room for
 * MTRS_MAX_TASKS entries.
 */
int
MtrsHeadsPlan(MtrsHead *heads, const MtrsPairs *p, const MtrsFitData *d, bool rating)
{
	int			parent[MTRS_MAX_EVENTS];
	int			n = 0;

	plan_chain(p, d->n_events, parent);
	for (int e = 0; e <= d->n_events; e++)
	{
		MtrsHead   *h = &heads[n];

		if (e == d->n_events && !rating)
			break;
		memset(h, 0, sizeof(MtrsHead));
		h->task = 1 + e;
		h->is_rating = (e == d->n_events);
		h->event = h->is_rating ? -1 : e;
		h->parent = h->is_rating ? -1 : parent[e];
		h->weight = 0.0;
		strlcpy(h->name, h->is_rating ? MTRS_TASK_RATING : d->event_names[e], NAMEDATALEN);
		h->s = palloc_extended(sizeof(float) * Max(p->n, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		h->zt = palloc_extended(sizeof(float) * Max(p->n, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		n++;
	}
	return n;
}

/* Return the head's private factors of user u and of item i */
static inline float *
private_user(const MtrsHead *h, const MtrsModelView *v, int u)
{
	return v->t.head_user + ((int64) h->task * v->hdr->n_users + u) * v->hdr->head_dim;
}

static inline float *
private_item(const MtrsHead *h, const MtrsModelView *v, int i)
{
	return v->t.head_item + ((int64) h->task * v->hdr->n_items + i) * v->hdr->head_dim;
}

/* Return the private term <a_u, c_i> of the head's logit */
static inline float
private_term(const MtrsHead *h, const MtrsModelView *v, int u, int i)
{
	int			dh = v->hdr->head_dim;

	return dh > 0 ? NnDot(private_user(h, v, u), private_item(h, v, i), dh) : 0.0f;
}

/*
 * Return the part of the head's logit for user u and item i that does not
 * involve the shared embeddings: biases, constant and private factors.
 */
float
MtrsHeadOffset(const MtrsHead *h, const MtrsModelView *v, int u, int i)
{
	return v->t.item_bias[(int64) h->task * v->hdr->n_items + i] +
		v->t.user_bias[(int64) h->task * v->hdr->n_users + u] + v->t.task_b[h->task] +
		private_term(h, v, u, i);
}

/*
 * Set the head's constant to the mean label (rating) or its log-odds
 * (event), and draw its private item factors.
 */
void
MtrsHeadInit(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v, uint64 *rng)
{
	double		sum = 0.0;
	int64		n = 0;
	double		c;

	for (int64 k = 0; k < p->n; k++)
		if (is_member(h, p, k))
		{
			sum += label_of(h, p, k);
			n++;
		}
	h->n_members = n;
	if (h->is_rating)
		c = n > 0 ? sum / n : 0.0;
	else
	{
		double		rate = n > 0 ? sum / n : 0.5;

		h->constant = (sum == 0 || sum == n);
		rate = Min(Max(rate, 1e-4), 1.0 - 1e-4);
		c = log(rate / (1.0 - rate));
	}
	v->t.task_b[h->task] = (float) c;
	if (!h->constant && v->hdr->head_dim > 0)
		NnRandNormalFill(private_item(h, v, 0), (int64) p->n_items * v->hdr->head_dim,
						 PRIVATE_INIT_STD, rng);
}

#define ROW_PREFETCH	8		/* pairs ahead whose item row is prefetched */

/*
 * Pairs come in user order, so a pass over them reads item rows at random
 * (50,000 items of 64 floats are 12.8 MB): ask for the row of pair k +
 * ROW_PREFETCH while pair k is computed
 */
static inline void
prefetch_item_row(const MtrsPairs *p, const MtrsModelView *v, int64 k, int dim)
{
	if (k + ROW_PREFETCH < p->n)
		NnPrefetchRow(v->t.item_emb + (int64) p->pi[k + ROW_PREFETCH] * dim, dim);
}

/* Return the embedding term <p_u * w, q_i> of a head */
static inline float
embedding_term(const float *w, const float *pu, const float *qi, int dim)
{
	return NnDot3(pu, w, qi, dim);
}

/* One head's linearization, shared by its blocks */
typedef struct Linearize
{
	MtrsHead   *h;
	const MtrsPairs *p;
	const MtrsModelView *v;
	bool		with_loss;
	double		loss[MTRS_REDUCE_BLOCKS];
} Linearize;

/* Task: linearize the pairs of block b (mtrs_parallel.h) */
static void
linearize_block(void *arg, int64 b, int thread)
{
	Linearize  *l = arg;
	MtrsHead   *h = l->h;
	const MtrsPairs *p = l->p;
	const MtrsModelView *v = l->v;
	int			dim = v->hdr->dim;
	const float *w = v->t.task_w + (int64) h->task * dim;
	double		loss = 0.0;
	int64		end = MtrsBlockStart(p->n, b + 1, MTRS_REDUCE_BLOCKS);

	for (int64 k = MtrsBlockStart(p->n, b, MTRS_REDUCE_BLOCKS); k < end; k++)
	{
		float		z,
					y;

		if (!h->constant)
			prefetch_item_row(p, v, k, dim);
		if (!is_member(h, p, k))
		{
			h->s[k] = 0.0f;
			continue;
		}
		z = MtrsHeadOffset(h, v, p->pu[k], p->pi[k]);
		if (!h->constant)
			z = embedding_term(w, v->t.user_emb + (int64) p->pu[k] * dim,
							   v->t.item_emb + (int64) p->pi[k] * dim, dim) + z;
		y = label_of(h, p, k);
		if (h->is_rating)
		{
			h->s[k] = 1.0f;
			h->zt[k] = y;
			if (l->with_loss)
				loss += (double) (y - z) * (y - z);
		}
		else
		{
			float		pr = NnSigmoid(z);
			float		s = Max(pr * (1.0f - pr), MIN_NEWTON_W);

			h->s[k] = s;
			h->zt[k] = z + (y - pr) / s;
			if (l->with_loss)
				loss += log1p(exp(-fabs((double) z))) + Max(z, 0.0f) - (double) z * y;
		}
	}
	l->loss[b] = loss;
}

/*
 * Linearize the head's loss around its current logits: fill s and zt for
 * every member pair, and, if with_loss, record the mean loss.  A constant
 * head's logit is its offset alone (it has no embedding term).
 */
void
MtrsHeadLinearize(MtrsHead *h, const MtrsPairs *p, const MtrsModelView *v, bool with_loss,
				  int n_threads)
{
	Linearize	l = {h, p, v, with_loss};
	double		loss = 0.0;

	MtrsParallelTasks(n_threads, MTRS_REDUCE_BLOCKS, linearize_block, &l);
	if (!with_loss)
		return;
	for (int b = 0; b < MTRS_REDUCE_BLOCKS; b++)
		loss += l.loss[b];
	h->loss = h->n_members > 0 ? loss / h->n_members : 0.0;
}

/* The sums of one head's scaling fit, per block */
typedef struct Scaling
{
	MtrsHead   *h;
	const MtrsPairs *p;
	const MtrsModelView *v;
	int			n_blocks;
	float	   *gram;			/* [n_blocks][dim][dim] upper triangles */
	double	   *b;				/* [n_blocks][dim] */
	float	   *rows;			/* [n_threads][FIT_CHUNK][dim] */
} Scaling;

/* Task: add the member pairs of block blk to its gram and b */
static void
scaling_block(void *arg, int64 blk, int thread)
{
	Scaling    *sc = arg;
	MtrsHead   *h = sc->h;
	const MtrsPairs *p = sc->p;
	const MtrsModelView *v = sc->v;
	int			dim = v->hdr->dim;
	float	   *gram = sc->gram + blk * dim * dim;
	double	   *b = sc->b + blk * dim;
	float	   *rows = sc->rows + (int64) thread * FIT_CHUNK * dim;
	int64		end = MtrsBlockStart(p->n, blk + 1, sc->n_blocks);
	int			m = 0;

	for (int64 k = MtrsBlockStart(p->n, blk, sc->n_blocks); k < end; k++)
	{
		const float *pu,
				   *qi;
		float		rs;
		double		t;

		prefetch_item_row(p, v, k, dim);
		if (h->s[k] <= 0.0f)
			continue;
		pu = v->t.user_emb + (int64) p->pu[k] * dim;
		qi = v->t.item_emb + (int64) p->pi[k] * dim;
		rs = sqrtf(h->s[k]);
		t = (double) h->s[k] * (h->zt[k] - MtrsHeadOffset(h, v, p->pu[k], p->pi[k]));
		for (int j = 0; j < dim; j++)
		{
			rows[(int64) m * dim + j] = rs * pu[j] * qi[j];
			b[j] += t * pu[j] * qi[j];
		}
		if (++m == FIT_CHUNK)
		{
			NnGramAccumulate(gram, rows, m, dim, 1.0f);
			m = 0;
		}
	}
	if (m > 0)
		NnGramAccumulate(gram, rows, m, dim, 1.0f);
}

/*
 * Solve the head's scaling w by ridge regression on the features p_u * q_i
 * of its members: (sum s f f^T + head_reg I) w = sum s f (zt - offset).
 * The sums are taken per block of pairs (fewer blocks when dim is large, so
 * that their Gram matrices stay within SCALING_BLOCK_BYTES).
 */
static void
fit_scaling(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v, double head_reg, int n_threads)
{
	int			dim = v->hdr->dim;
	double	   *a = palloc0(sizeof(double) * dim * dim);
	double	   *b = palloc0(sizeof(double) * dim);
	Scaling		sc;

	sc.h = h;
	sc.p = p;
	sc.v = v;
	sc.n_blocks = (int) Max(1, Min(MTRS_REDUCE_BLOCKS,
								   SCALING_BLOCK_BYTES / ((int64) sizeof(float) * dim * dim)));
	sc.gram = palloc0(sizeof(float) * sc.n_blocks * dim * dim);
	sc.b = palloc0(sizeof(double) * sc.n_blocks * dim);
	sc.rows = palloc(sizeof(float) * n_threads * FIT_CHUNK * dim);
	MtrsParallelTasks(n_threads, sc.n_blocks, scaling_block, &sc);
	for (int blk = 0; blk < sc.n_blocks; blk++)
	{
		for (int i = 0; i < dim; i++)
			for (int j = i; j < dim; j++)
				a[i * dim + j] += sc.gram[((int64) blk * dim + i) * dim + j];
		for (int j = 0; j < dim; j++)
			b[j] += sc.b[(int64) blk * dim + j];
	}
	for (int j = 0; j < dim; j++)
		a[j * dim + j] += head_reg;
	if (NnCholeskySolve(a, b, dim) == 0)
		for (int j = 0; j < dim; j++)
			v->t.task_w[(int64) h->task * dim + j] = (float) b[j];
	pfree(sc.gram);
	pfree(sc.b);
	pfree(sc.rows);
	pfree(a);
	pfree(b);
}

/* One head's bias or private-factor fit, shared by its tasks */
typedef struct HeadStep
{
	MtrsHead   *h;
	const MtrsPairs *p;
	MtrsModelView *v;
	float	   *r;				/* [n_pairs] what the fitted terms must explain */
	double		reg;
	bool		by_user;		/* solve users' rows, else items' */
	int			rows_per_task;
	double	   *scratch;		/* [n_threads][dh * dh + dh] (private factors) */
} HeadStep;

/* Task: r = zt - embedding and private terms, block b of the pairs */
static void
bias_residual_block(void *arg, int64 b, int thread)
{
	HeadStep   *hs = arg;
	MtrsHead   *h = hs->h;
	const MtrsPairs *p = hs->p;
	const MtrsModelView *v = hs->v;
	int			dim = v->hdr->dim;
	const float *w = v->t.task_w + (int64) h->task * dim;
	int64		end = MtrsBlockStart(p->n, b + 1, MTRS_REDUCE_BLOCKS);

	for (int64 k = MtrsBlockStart(p->n, b, MTRS_REDUCE_BLOCKS); k < end; k++)
	{
		if (!h->constant)
			prefetch_item_row(p, v, k, dim);
		if (h->s[k] > 0.0f)
			hs->r[k] = h->zt[k] - (h->constant ? 0.0f :
								   embedding_term(w, v->t.user_emb + (int64) p->pu[k] * dim,
												  v->t.item_emb + (int64) p->pi[k] * dim, dim) +
								   private_term(h, v, p->pu[k], p->pi[k]));
	}
}

/* Task: the biases of rows task * rows_per_task .. (users if by_user, else items) */
static void
bias_rows(void *arg, int64 task, int thread)
{
	HeadStep   *hs = arg;
	MtrsHead   *h = hs->h;
	const MtrsPairs *p = hs->p;
	MtrsModelView *v = hs->v;
	float	   *ib = v->t.item_bias + (int64) h->task * p->n_items;
	float	   *ub = v->t.user_bias + (int64) h->task * p->n_users;
	float		c = v->t.task_b[h->task];
	int			n_rows = hs->by_user ? p->n_users : p->n_items;
	int			end = (int) Min((task + 1) * hs->rows_per_task, n_rows);

	for (int row = (int) task * hs->rows_per_task; row < end; row++)
	{
		double		num = 0.0,
					den = 0.0;

		if (hs->by_user)
		{
			for (int64 k = p->uptr[row]; k < p->uptr[row + 1]; k++)
				if (h->s[k] > 0.0f)
				{
					num += h->s[k] * (hs->r[k] - ib[p->pi[k]] - c);
					den += h->s[k];
				}
			/* a row without members of this head (possible with bias_reg 0) keeps 0 */
			ub[row] = den + hs->reg > 0.0 ? (float) (num / (den + hs->reg)) : 0.0f;
		}
		else
		{
			for (int64 j = p->iptr[row]; j < p->iptr[row + 1]; j++)
			{
				int64		k = p->iorder[j];

				if (h->s[k] > 0.0f)
				{
					num += h->s[k] * (hs->r[k] - ub[p->pu[k]] - c);
					den += h->s[k];
				}
			}
			ib[row] = den + hs->reg > 0.0 ? (float) (num / (den + hs->reg)) : 0.0f;
		}
	}
}

/* Return the number of tasks over n rows */
static int64
row_tasks(const HeadStep *hs, int64 n)
{
	return (n + hs->rows_per_task - 1) / hs->rows_per_task;
}

/*
 * Update the head's constant, item biases and user biases by exact
 * minimization of the linearized loss, one block at a time.
 */
static void
fit_biases(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v, double bias_reg, int n_threads)
{
	const float *ib = v->t.item_bias + (int64) h->task * p->n_items;
	const float *ub = v->t.user_bias + (int64) h->task * p->n_users;
	float	   *c = &v->t.task_b[h->task];
	HeadStep	hs = {h, p, v};

	hs.r = palloc_extended(sizeof(float) * Max(p->n, 1), MCXT_ALLOC_HUGE);
	hs.reg = h->is_rating ? bias_reg : 0.25 * bias_reg;
	hs.rows_per_task = ROWS_PER_TASK;
	MtrsParallelTasks(n_threads, MTRS_REDUCE_BLOCKS, bias_residual_block, &hs);
	for (int sweep = 0; sweep < BIAS_SWEEPS; sweep++)
	{
		double		num = 0.0,
					den = 0.0;

		for (int64 k = 0; k < p->n; k++)
			if (h->s[k] > 0.0f)
			{
				num += h->s[k] * (hs.r[k] - ib[p->pi[k]] - ub[p->pu[k]]);
				den += h->s[k];
			}
		*c = (float) (num / Max(den, 1e-12));
		if (!h->is_rating)
			*c = Min(Max(*c, -MAX_LOGIT), MAX_LOGIT);
		if (h->constant)
			break;
		hs.by_user = false;
		MtrsParallelTasks(n_threads, row_tasks(&hs, p->n_items), bias_rows, &hs);
		hs.by_user = true;
		MtrsParallelTasks(n_threads, row_tasks(&hs, p->n_users), bias_rows, &hs);
	}
	pfree(hs.r);
}

/*
 * Task: one least-squares step over the head's private factors for rows
 * task * rows_per_task ..: solve each user's a_u given the item factors
 * (by_user), or each item's c_i given the user factors, against r = zt -
 * everything else in the logit.
 */
static void
private_rows(void *arg, int64 task, int thread)
{
	HeadStep   *hs = arg;
	MtrsHead   *h = hs->h;
	const MtrsPairs *p = hs->p;
	MtrsModelView *v = hs->v;
	bool		by_user = hs->by_user;
	int			dh = v->hdr->head_dim;
	int			n_rows = by_user ? p->n_users : p->n_items;
	const int64 *ptr = by_user ? p->uptr : p->iptr;
	double	   *a = hs->scratch + (int64) thread * (dh * dh + dh);
	double	   *b = a + dh * dh;
	int			end = (int) Min((task + 1) * hs->rows_per_task, n_rows);

	for (int row = (int) task * hs->rows_per_task; row < end; row++)
	{
		float	   *x = by_user ? private_user(h, v, row) : private_item(h, v, row);

		memset(a, 0, sizeof(double) * dh * dh);
		memset(b, 0, sizeof(double) * dh);
		for (int j = 0; j < dh; j++)
			a[j * dh + j] = hs->reg;
		for (int64 j = ptr[row]; j < ptr[row + 1]; j++)
		{
			int64		k = by_user ? j : p->iorder[j];
			const float *y;
			double		s = h->s[k];

			if (s <= 0.0)
				continue;
			y = by_user ? private_item(h, v, p->pi[k]) : private_user(h, v, p->pu[k]);
			for (int c = 0; c < dh; c++)
			{
				b[c] += s * hs->r[k] * y[c];
				for (int e = 0; e <= c; e++)
					a[c * dh + e] += s * y[c] * y[e];
			}
		}
		for (int c = 0; c < dh; c++)
			for (int e = 0; e < c; e++)
				a[e * dh + c] = a[c * dh + e];
		if (NnCholeskySolve(a, b, dh) == 0)
			for (int c = 0; c < dh; c++)
				x[c] = (float) b[c];
	}
}

/* Task: r = zt - everything but the private term, block b of the pairs */
static void
private_residual_block(void *arg, int64 b, int thread)
{
	HeadStep   *hs = arg;
	MtrsHead   *h = hs->h;
	const MtrsPairs *p = hs->p;
	const MtrsModelView *v = hs->v;
	int			dim = v->hdr->dim;
	const float *w = v->t.task_w + (int64) h->task * dim;
	int64		end = MtrsBlockStart(p->n, b + 1, MTRS_REDUCE_BLOCKS);

	for (int64 k = MtrsBlockStart(p->n, b, MTRS_REDUCE_BLOCKS); k < end; k++)
		if (h->s[k] > 0.0f)
			hs->r[k] = h->zt[k] - v->t.task_b[h->task] -
				v->t.item_bias[(int64) h->task * p->n_items + p->pi[k]] -
				v->t.user_bias[(int64) h->task * p->n_users + p->pu[k]] -
				embedding_term(w, v->t.user_emb + (int64) p->pu[k] * dim,
							   v->t.item_emb + (int64) p->pi[k] * dim, dim);
}

/*
 * Fit the head's private factors: one alternating pass (users, then items)
 * against the residual of the rest of the logit, ridge penalty reg (the
 * same for event heads, whose Newton weights are at most 1/4: measured on
 * MovieLens, smaller penalties overfit the event heads).
 */
static void
fit_private(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v, double reg, int n_threads)
{
	int			dh = v->hdr->head_dim;
	HeadStep	hs = {h, p, v};

	hs.r = palloc_extended(sizeof(float) * Max(p->n, 1), MCXT_ALLOC_HUGE);
	hs.reg = reg;
	hs.rows_per_task = (int) Max(1, Min(ROWS_PER_TASK, PRIVATE_TASK_FLOPS / ((int64) dh * dh * dh)));
	hs.scratch = palloc(sizeof(double) * n_threads * (dh * dh + dh));
	MtrsParallelTasks(n_threads, MTRS_REDUCE_BLOCKS, private_residual_block, &hs);
	hs.by_user = true;
	MtrsParallelTasks(n_threads, row_tasks(&hs, p->n_users), private_rows, &hs);
	hs.by_user = false;
	MtrsParallelTasks(n_threads, row_tasks(&hs, p->n_items), private_rows, &hs);
	pfree(hs.r);
	pfree(hs.scratch);
}

/* Fit the head's own parameters on its current linearization */
void
MtrsHeadFit(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v, const MtrsFitOptions *o,
			int n_threads)
{
	if (h->n_members == 0)
		return;
	CHECK_FOR_INTERRUPTS();
	if (!h->constant)
		fit_scaling(h, p, v, o->head_reg, n_threads);
	if (!h->constant && v->hdr->head_dim > 0)
		fit_private(h, p, v, o->head_factor_reg, n_threads);
	fit_biases(h, p, v, o->bias_reg, n_threads);
}
