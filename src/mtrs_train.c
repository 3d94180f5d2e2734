/*-------------------------------------------------------------------------
 *
 * mtrs_train.c
 *	  Train one multi-task model from collected interaction rows.
 *
 * The model shares user and item embeddings P and Q between all tasks and
 * gives every task a head (see mtrs_heads.c).  The joint objective is
 *
 *	  L = L_ranking + sum_t lambda_t L_t + reg (|P|^2 + |Q|^2)
 *
 * where L_ranking is the confidence-weighted implicit loss over all
 * (user, item) cells (1 for an interaction, 0 elsewhere; confidence
 * 1 + alpha * recency) and L_t the loss of head t.  Training alternates
 * exact least-squares solves: each user's p_u given Q (ranking terms plus
 * every head's linearized terms), each item's q_i given P, then the heads'
 * own parameters.  The task weights lambda_t adapt after every iteration
 * (uncertainty weighting: the inverse of each task's mean loss, relative
 * to ranking's) unless the caller fixes them.
 *
 * IDENTIFICATION
 *	  src/mtrs_train.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "portability/instr_time.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "mtrs_heads.h"
#include "mtrs_nn.h"
#include "mtrs_pairs.h"
#include "mtrs_parallel.h"
#include "mtrs_train.h"

#define GATHER_CHUNK	1024	/* rows gathered per ssyrk call */
#define TASK_FLOPS		(16 * 64 * 64 * 64)	/* about what a half-step task solves: 16 rows at dim 64 */
#define PREFETCH_PAIR	32		/* item half: pairs ahead whose per-pair values are prefetched */
#define PREFETCH_ROW	8		/* item half: pairs ahead whose user rows are prefetched */
#define REG_AUTO_MAX	20.0	/* "reg": "auto" on data large enough for it */
#define REG_AUTO_SCALE	0.15	/* ... else this share of the interactions' scale */
#define MIN_WEIGHT		1e-4
#define MAX_WEIGHT		1e4

/* One thread's scratch for least-squares solves */
typedef struct Scratch
{
	float	   *a;				/* [d][d] */
	double	   *ad;				/* [d][d] */
	double	   *b;				/* [d] */
	float	   *rows;			/* [GATHER_CHUNK][d] */
	int			m;				/* rows gathered */
} Scratch;

/* Everything a training run works on */
typedef struct Trainer
{
	const MtrsFitOptions *o;
	MtrsPairs	p;
	MtrsModelView v;
	MtrsHead	heads[MTRS_MAX_TASKS];
	int			n_heads;
	float	   *gram;			/* [d][d] Y^T Y + reg I of the current half-step */
	int			n_threads;		/* mtrs.training_threads when the run started */
	Scratch    *s;				/* [n_threads] */
	int			dim;
} Trainer;

/* One half-step, shared by the tasks that solve its rows */
typedef struct HalfStep
{
	Trainer    *tr;
	bool		by_user;
	float	   *x;				/* the rows solved */
	const float *y;				/* the other side */
	const int64 *ptr;			/* x's pairs: ptr[r] .. ptr[r + 1] */
	int			n_rows;
	int			rows_per_task;	/* fewer for larger dim: interrupts are seen between tasks */
	bool		singular;		/* a system was not positive definite (atomic) */
} HalfStep;

/*
 * Add one gathered row x * sqrt(weight) to the system, flushing when full.
 * The loops here and in add_rhs write through local restrict pointers:
 * PostgreSQL builds with -fno-strict-aliasing, so a store through s->rows
 * or s->b could otherwise change s itself, and the loops would not vectorize.
 */
static inline void
gather_row(Scratch *s, const float *restrict x, const float *restrict scale, float weight, int dim)
{
	float	   *restrict row = s->rows + (int64) s->m * dim;
	float		rw = sqrtf(weight);

	if (scale != NULL)
		for (int j = 0; j < dim; j++)
			row[j] = rw * scale[j] * x[j];
	else
		for (int j = 0; j < dim; j++)
			row[j] = rw * x[j];
	if (++s->m == GATHER_CHUNK)
	{
		NnGramAccumulate(s->a, s->rows, s->m, dim, 1.0f);
		s->m = 0;
	}
}

/* Add target * weight * (scale * x) to the right-hand side */
static inline void
add_rhs(Scratch *s, const float *restrict x, const float *restrict scale, double wt, int dim)
{
	double	   *restrict b = s->b;

	if (scale != NULL)
		for (int j = 0; j < dim; j++)
			b[j] += wt * scale[j] * x[j];
	else
		for (int j = 0; j < dim; j++)
			b[j] += wt * x[j];
}

/*
 * The item half visits pairs in item order, so the per-pair arrays (stored
 * in user order) and the user rows are read at random.  Ask for what pair
 * j + PREFETCH_PAIR reads and for the user row and the heads' user biases
 * of pair j + PREFETCH_ROW (whose user was asked for earlier), so the
 * misses overlap instead of stalling one at a time (1M pairs: the two
 * loads that missed most took half of this function's time).
 */
static inline void
prefetch_ahead(const Trainer *tr, const float *y, int64 j)
{
	const MtrsPairs *p = &tr->p;

	if (j + PREFETCH_PAIR < p->n)
	{
		int64		k = p->iorder[j + PREFETCH_PAIR];

		__builtin_prefetch(&p->pu[k]);
		__builtin_prefetch(&p->pi[k]);
		__builtin_prefetch(&p->conf[k]);
		for (int h = 0; h < tr->n_heads; h++)
		{
			__builtin_prefetch(&tr->heads[h].s[k]);
			__builtin_prefetch(&tr->heads[h].zt[k]);
		}
	}
	if (j + PREFETCH_ROW < p->n)
	{
		int			u = p->pu[p->iorder[j + PREFETCH_ROW]];

		NnPrefetchRow(y + (int64) u * tr->dim, tr->dim);
		/* the heads' offsets read the user's bias in each head's task */
		for (int h = 0; h < tr->n_heads; h++)
			__builtin_prefetch(&tr->v.t.user_bias[(int64) tr->heads[h].task * p->n_users + u]);
	}
}

/*
 * Solve row r of x given the other side y: ranking terms (the Gram trick
 * covers all unobserved cells) plus the linearized terms of every head with
 * a positive weight.  Runs on a training thread (mtrs_parallel.h).
 */
static void
solve_row(HalfStep *hs, Scratch *s, int r)
{
	Trainer    *tr = hs->tr;
	MtrsPairs  *p = &tr->p;
	MtrsModelView *v = &tr->v;
	int			d = tr->dim;
	bool		by_user = hs->by_user;
	const float *y = hs->y;

	for (int i = 0; i < d; i++)	/* the upper triangle is all ssyrk and the solve use */
		memcpy(s->a + (int64) i * d + i, tr->gram + (int64) i * d + i, sizeof(float) * (d - i));
	memset(s->b, 0, sizeof(double) * d);
	s->m = 0;
	for (int64 j = hs->ptr[r]; j < hs->ptr[r + 1]; j++)
	{
		int64		k = by_user ? j : p->iorder[j];
		int			u,
					i;
		const float *yo;

		if (!by_user)
			prefetch_ahead(tr, y, j);
		u = p->pu[k];
		i = p->pi[k];
		yo = y + (int64) (by_user ? i : u) * d;

		gather_row(s, yo, NULL, p->conf[k] - 1.0f, d);
		add_rhs(s, yo, NULL, p->conf[k], d);
		for (int h = 0; h < tr->n_heads; h++)
		{
			MtrsHead   *hd = &tr->heads[h];
			const float *w = v->t.task_w + (int64) hd->task * d;
			float		ws;

			if (hd->weight <= 0.0 || hd->constant || hd->s[k] <= 0.0f)
				continue;
			ws = (float) hd->weight * hd->s[k];
			gather_row(s, yo, w, ws, d);
			add_rhs(s, yo, w, (double) ws * (hd->zt[k] - MtrsHeadOffset(hd, v, u, i)), d);
		}
	}
	if (s->m > 0)
		NnGramAccumulate(s->a, s->rows, s->m, d, 1.0f);
	NnWidenUpper(s->ad, s->a, d);
	if (NnCholeskySolve(s->ad, s->b, d) != 0)
	{
		__atomic_store_n(&hs->singular, true, __ATOMIC_RELAXED);
		return;
	}
	for (int t = 0; t < d; t++)
		hs->x[(int64) r * d + t] = (float) s->b[t];
}

/* Task: solve rows task * rows_per_task .. of a half-step */
static void
solve_rows(void *arg, int64 task, int thread)
{
	HalfStep   *hs = arg;
	int			end = (int) Min((task + 1) * hs->rows_per_task, hs->n_rows);

	for (int r = (int) task * hs->rows_per_task; r < end; r++)
		solve_row(hs, &hs->tr->s[thread], r);
}

/* Solve every row of x (users if by_user, else items) given the other side */
static void
half_step(Trainer *tr, bool by_user)
{
	MtrsPairs  *p = &tr->p;
	int			d = tr->dim;
	HalfStep	hs;

	hs.tr = tr;
	hs.by_user = by_user;
	hs.x = by_user ? tr->v.t.user_emb : tr->v.t.item_emb;
	hs.y = by_user ? tr->v.t.item_emb : tr->v.t.user_emb;
	hs.ptr = by_user ? p->uptr : p->iptr;
	hs.n_rows = by_user ? p->n_users : p->n_items;
	hs.rows_per_task = (int) Max(1, TASK_FLOPS / ((int64) d * d * d));
	hs.singular = false;

	memset(tr->gram, 0, sizeof(float) * d * d);
	NnGramAccumulate(tr->gram, hs.y, by_user ? p->n_items : p->n_users, d, 1.0f);
	for (int j = 0; j < d; j++)
		tr->gram[j * d + j] += (float) tr->o->reg;

	MtrsParallelTasks(tr->n_threads, (hs.n_rows + hs.rows_per_task - 1) / hs.rows_per_task,
					  solve_rows, &hs);
	if (hs.singular)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("training failed: a least-squares system is not positive definite"),
				 errhint("Increase the \"reg\" option.")));
}

/* The ranking loss, summed per block (mtrs_parallel.h) */
typedef struct RankingLoss
{
	Trainer    *tr;
	double		part[2 * MTRS_REDUCE_BLOCKS];
} RankingLoss;

/*
 * Task: block task < MTRS_REDUCE_BLOCKS of the users' quadratic forms
 * p_u^T (Q^T Q) p_u (the loss if every cell were 0), or block
 * task - MTRS_REDUCE_BLOCKS of the pairs' corrections
 */
static void
ranking_loss_block(void *arg, int64 task, int thread)
{
	RankingLoss *rl = arg;
	Trainer    *tr = rl->tr;
	MtrsPairs  *p = &tr->p;
	const float *P = tr->v.t.user_emb;
	const float *Q = tr->v.t.item_emb;
	const float *g = tr->gram;
	int			d = tr->dim;
	double		loss = 0.0;
	int64		b = task % MTRS_REDUCE_BLOCKS;

	if (task < MTRS_REDUCE_BLOCKS)
	{
		int64		end = MtrsBlockStart(p->n_users, b + 1, MTRS_REDUCE_BLOCKS);

		for (int64 u = MtrsBlockStart(p->n_users, b, MTRS_REDUCE_BLOCKS); u < end; u++)
		{
			const float *pu = P + u * d;

			for (int i = 0; i < d; i++)
			{
				loss += (double) g[i * d + i] * pu[i] * pu[i];
				for (int j = i + 1; j < d; j++)
					loss += 2.0 * g[i * d + j] * pu[i] * pu[j];
			}
		}
	}
	else
	{
		int64		end = MtrsBlockStart(p->n, b + 1, MTRS_REDUCE_BLOCKS);

		for (int64 k = MtrsBlockStart(p->n, b, MTRS_REDUCE_BLOCKS); k < end; k++)
		{
			double		xh = NnDot(P + (int64) p->pu[k] * d, Q + (int64) p->pi[k] * d, d);

			loss += p->conf[k] * (1.0 - xh) * (1.0 - xh) - xh * xh;
		}
	}
	rl->part[task] = loss;
}

/*
 * Return the ranking data loss summed over all (user, item) cells:
 * sum c (y - p_u.q_i)^2 with c = 1, y = 0 off the observed pairs.
 */
static double
ranking_loss(Trainer *tr)
{
	RankingLoss rl;
	double		loss = 0.0;

	rl.tr = tr;
	memset(tr->gram, 0, sizeof(float) * tr->dim * tr->dim);
	NnGramAccumulate(tr->gram, tr->v.t.item_emb, tr->p.n_items, tr->dim, 1.0f);
	MtrsParallelTasks(tr->n_threads, 2 * MTRS_REDUCE_BLOCKS, ranking_loss_block, &rl);
	for (int b = 0; b < 2 * MTRS_REDUCE_BLOCKS; b++)
		loss += rl.part[b];
	return loss;
}

/* Refuse task_weights that name no task head of these rows (a typo would go unnoticed) */
static void
check_task_weights(const Trainer *tr)
{
	for (int i = 0; i < tr->o->n_weights; i++)
	{
		bool		found = false;
		StringInfoData heads;

		for (int h = 0; h < tr->n_heads && !found; h++)
			found = strcmp(tr->heads[h].name, tr->o->weight_task[i]) == 0;
		if (found)
			continue;
		initStringInfo(&heads);
		for (int h = 0; h < tr->n_heads; h++)
			appendStringInfo(&heads, "%s%s", h > 0 ? ", " : "", tr->heads[h].name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"task_weights\" names task \"%s\", which these rows do not have",
						tr->o->weight_task[i]),
				 tr->n_heads > 0 ?
				 errhint("The tasks with a weight are: %s (ranking's weight is 1).", heads.data) :
				 errhint("These rows have only the ranking task, whose weight is 1.")));
	}
}

/* Return the user-set weight of a task, or -1 */
static double
fixed_weight(const MtrsFitOptions *o, const char *task)
{
	for (int i = 0; i < o->n_weights; i++)
		if (strcmp(o->weight_task[i], task) == 0)
			return o->weight_value[i];
	return o->weighting == MTRS_WEIGHTING_FIXED ? 1.0 : -1.0;
}

/*
 * Set each head's weight for the next iteration.  Uncertainty weighting:
 * lambda_t = sigma_ranking^2 / sigma_t^2, the inverse of the task's mean loss
 * relative to ranking's mean loss per cell.  Balanced: every task's
 * weighted total loss equals ranking's.
 */
static void
update_weights(Trainer *tr, double rank_total)
{
	double		cells = (double) tr->p.n_users * tr->p.n_items;

	for (int h = 0; h < tr->n_heads; h++)
	{
		MtrsHead   *hd = &tr->heads[h];
		double		w = fixed_weight(tr->o, hd->name);

		if (hd->constant)
			w = 0.0;			/* nothing to learn: it cannot shape the embeddings */
		else if (w < 0.0)
		{
			double		loss = Max(hd->loss, 1e-12);

			if (tr->o->weighting == MTRS_WEIGHTING_BALANCED)
				w = rank_total / (loss * Max(hd->n_members, 1));
			else
				w = (rank_total / cells) / loss;
			w = Min(Max(w, MIN_WEIGHT), MAX_WEIGHT);
		}
		hd->weight = w;
	}
}

/* Report one iteration's losses and weights (NOTICE or DEBUG1, and the log) */
static void
report_iteration(Trainer *tr, StringInfo log, int iter, double rank_total, double secs)
{
	StringInfoData line;
	double		rank_mean = rank_total / tr->p.n;

	initStringInfo(&line);
	appendStringInfo(&line, "ranking %.4f", rank_mean);
	for (int h = 0; h < tr->n_heads; h++)
		appendStringInfo(&line, ", %s %.4f (weight %.3g)", tr->heads[h].name,
						 tr->heads[h].loss, tr->heads[h].weight);
	ereport(tr->o->progress ? NOTICE : DEBUG1,
			(errmsg("iteration %d of %d: %s; %.2f s", iter, tr->o->iterations, line.data, secs)));
	/* visible from other sessions in pg_stat_activity.query */
	MtrsShowActivity(psprintf("mtrs training: iteration %d of %d, %.1f s: %s",
							  iter, tr->o->iterations, secs, line.data));
	if (log == NULL)
		return;
	appendStringInfo(log, "%s{\"iteration\": %d, \"seconds\": %.3f, \"loss\": {\"ranking\": %.6g",
					 iter > 1 ? ", " : "", iter, secs, rank_mean);
	/* event names are any text: escaped as JSON strings */
	for (int h = 0; h < tr->n_heads; h++)
	{
		appendStringInfoString(log, ", ");
		escape_json(log, tr->heads[h].name);
		appendStringInfo(log, ": %.6g", tr->heads[h].loss);
	}
	appendStringInfoString(log, "}, \"weight\": {\"ranking\": 1");
	for (int h = 0; h < tr->n_heads; h++)
	{
		appendStringInfoString(log, ", ");
		escape_json(log, tr->heads[h].name);
		appendStringInfo(log, ": %.6g", tr->heads[h].weight);
	}
	appendStringInfoString(log, "}}");
}

/* Check for interrupts (the spectral norm's callback between its iterations) */
static void
check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

/*
 * Resolve "reg": "auto".  Near zero embeddings, a half-step multiplies them
 * by about sigma / reg, sigma the largest singular value of the matrix of
 * the pairs' confidences, so with reg above sigma every embedding shrinks
 * to zero and the model ranks by rounding noise: that is what the fixed
 * default (20) did to small tables.  Auto keeps 20 when sigma is large
 * (it is over 133 on MovieLens-100K) and otherwise takes REG_AUTO_SCALE * sigma.
 */
static void
resolve_reg(MtrsFitOptions *o, const MtrsPairs *p)
{
	double	   *work;

	if (!o->reg_auto)
		return;
	work = palloc_extended(sizeof(double) * ((Size) p->n_users + p->n_items), MCXT_ALLOC_HUGE);
	o->interaction_norm = NnSpectralNorm(p->pu, p->pi, p->conf, p->n, p->n_users, p->n_items,
										 100, 1e-6, REG_AUTO_MAX / REG_AUTO_SCALE, check_interrupts,
										 work);
	pfree(work);
	o->reg = Min(REG_AUTO_MAX, REG_AUTO_SCALE * o->interaction_norm);
	if (o->reg < REG_AUTO_MAX)
		ereport(o->progress ? NOTICE : DEBUG1,
				(errmsg("reg %.4g (auto: %g times %.4g, the scale of the interactions)",
						o->reg, REG_AUTO_SCALE, o->interaction_norm)));
	else
		ereport(o->progress ? NOTICE : DEBUG1,
				(errmsg("reg %g (auto: the scale of the interactions is at least %g)",
						o->reg, REG_AUTO_MAX / REG_AUTO_SCALE)));
}

/* Return the number of tasks of the model: ranking, one per event, rating */
static int
count_tasks(const MtrsFitData *d, bool rating)
{
	return 1 + d->n_events + (rating ? 1 : 0);
}

/* Fill in the model's header (its size: MtrsFormatSize) */
static void
model_header(const Trainer *tr, const MtrsFitData *d, bool rating, MtrsHeader *h)
{
	const MtrsPairs *p = &tr->p;
	int			slen = (int) strlen(MTRS_TASK_RANKING) + 1 + (rating ? (int) strlen(MTRS_TASK_RATING) + 1 : 0);

	for (int e = 0; e < d->n_events; e++)
		slen += (int) strlen(d->event_names[e]) + 1;
	if (MtrsHeaderInit(h, MTRS_KIND_INTERACTIONS, tr->dim, 0, tr->o->head_dim, p->n_users, p->n_items, p->n,
					   count_tasks(d, rating), 0, 0, -1, 0, slen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would exceed the maximum model size of %zu bytes", MTRS_MAX_MODEL_SIZE),
				 errhint("Lower the \"dim\" option or train on fewer users and items.")));
}

/*
 * Return the bytes the whole run needs (the model's header: h), checked
 * against mtrs.max_training_memory before the heads and the model are
 * allocated: the collected rows and the pairs (allocated by now, in ctx),
 * every head's two per-pair arrays, one head fit's residuals, the model
 * twice (its buffer and the returned copy), and the backend's copy of the
 * model a warm start reads (init, unless it maps a shared model file).
 */
static double
check_memory(const Trainer *tr, const MtrsFitData *d, bool rating, const MtrsHeader *h,
			 MemoryContext ctx, const MtrsModel *init)
{
	double		pairs = (double) Max(tr->p.n, 1);
	double		need;

	need = (double) d->cap * sizeof(MtrsFitRow) + (double) MemoryContextMemAllocated(ctx, true) +
		(count_tasks(d, rating) - 1) * 2.0 * sizeof(float) * pairs + sizeof(float) * pairs +
		2.0 * (double) MtrsFormatSize(h) + (init != NULL && !init->shared ? (double) init->size : 0.0);
	MtrsCheckTrainingMemory(need, psprintf("The " INT64_FORMAT " interactions (" INT64_FORMAT
										   " user-item pairs, %d users, %d items)",
										   d->n, tr->p.n, tr->p.n_users, tr->p.n_items), true,
							"interactions");
	return need;
}

/* Lay out the model (header h), its ids, history and names in a new aligned buffer */
static char *
begin_model(Trainer *tr, const MtrsFitData *d, bool rating, const MtrsHeader *h, Size *size)
{
	MtrsPairs  *p = &tr->p;
	MtrsModelView *v = &tr->v;
	int			n_tasks = count_tasks(d, rating);
	int			off = 0;
	char	   *buf;

	*size = MtrsFormatSize(h);
	buf = palloc_extended(*size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	memcpy(buf, h, sizeof(*h));
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
		v->t.task_parent[t] = -1.0f;
	}
	for (int j = 0; j < tr->dim; j++)
		v->t.task_w[j] = 1.0f;	/* the ranking head is the plain dot product */
	return buf;
}

/* Return whether any pair carries a rating */
static bool
has_ratings(const MtrsPairs *p)
{
	for (int64 k = 0; k < p->n; k++)
		if (!isnan(p->rating[k]))
			return true;
	return false;
}

/* Record the serving settings and check that training produced finite numbers */
static void
finish_model(Trainer *tr)
{
	MtrsModelView *v = &tr->v;
	float		rmin = INFINITY,
				rmax = -INFINITY;

	for (int64 k = 0; k < tr->p.n; k++)
		if (!isnan(tr->p.rating[k]))
		{
			rmin = Min(rmin, tr->p.rating[k]);
			rmax = Max(rmax, tr->p.rating[k]);
		}
	v->t.settings[MTRS_SET_ALPHA] = (float) tr->o->alpha;
	v->t.settings[MTRS_SET_REG] = (float) tr->o->reg;
	v->t.settings[MTRS_SET_HALF_LIFE] = (float) tr->o->half_life_days;
	v->t.settings[MTRS_SET_RATING_MIN] = isfinite(rmin) ? rmin : 0.0f;
	v->t.settings[MTRS_SET_RATING_MAX] = isfinite(rmax) ? rmax : 0.0f;
	v->t.settings[MTRS_SET_LAST_TS] = (float) tr->p.last_ts;
	v->t.settings[MTRS_SET_LAST_TS_LO] = (float) (tr->p.last_ts - (double) (float) tr->p.last_ts);
	for (int h = 0; h < tr->n_heads; h++)
		if (tr->heads[h].parent >= 0)
			v->t.task_parent[tr->heads[h].task] = (float) (1 + tr->heads[h].parent);
	for (int64 i = 0; i < v->hdr->n_params; i++)
		if (!isfinite(v->params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("training diverged"),
					 errdetail("Parameter " INT64_FORMAT " became %g.", i, v->params[i]),
					 errhint("Increase the \"reg\" option or lower \"alpha\".")));
	MtrsFormatSeal(v);
}

/*
 * Fail before training if model m cannot start this run: it needs users and
 * items, and embeddings of the run's width.
 */
static void
check_warm_start(const Trainer *tr, const MtrsModel *m)
{
	if (!(m->v.hdr->kind & MTRS_KIND_INTERACTIONS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot warm-start from mtrs model \"%s\": it has no users and items", m->name),
				 errhint("Option \"warm_start\" needs a model trained on interactions.")));
	if (m->v.hdr->dim != tr->dim)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot warm-start from mtrs model \"%s\": its dim is %d, this run's is %d",
						m->name, m->v.hdr->dim, tr->dim),
				 errhint("Train with the same \"dim\", or without \"warm_start\".")));
}

/*
 * Copy row from[r] of src to row r of dst (rows of width cols) for every r
 * < n with from[r] >= 0; return how many were copied
 */
static int
copy_shared_rows(float *dst, const float *src, const int *from, int n, int cols)
{
	int			copied = 0;

	for (int r = 0; r < n; r++)
		if (from[r] >= 0)
		{
			memcpy(dst + (int64) r * cols, src + (int64) from[r] * cols, sizeof(float) * cols);
			copied++;
		}
	return copied;
}

/*
 * Start from model m (option warm_start): copy the embeddings and biases of
 * the users and items it shares with this run and the parameters of the
 * tasks of the same name (private factors too when head_dim matches).
 * Everything else keeps its fresh initialization: new items their random
 * embedding, new tasks the rate of their label.
 */
static void
warm_start(Trainer *tr, const MtrsModel *m, MtrsWarmStart *warm)
{
	const MtrsModelView *ov = &m->v;
	MtrsModelView *v = &tr->v;
	const MtrsPairs *p = &tr->p;
	int			d = tr->dim;
	int			nu = p->n_users,
				ni = p->n_items,
				onu = ov->hdr->n_users,
				oni = ov->hdr->n_items;
	int			hd = v->hdr->head_dim == ov->hdr->head_dim ? v->hdr->head_dim : 0;
	int		   *user_from = palloc(sizeof(int) * nu);
	int		   *item_from = palloc(sizeof(int) * ni);

	memset(warm, 0, sizeof(*warm));
	for (int u = 0; u < nu; u++)
		user_from[u] = MtrsModelFindUser(m, p->user_ids[u]);
	for (int i = 0; i < ni; i++)
		item_from[i] = MtrsModelFindItem(m, p->item_ids[i]);
	warm->users = copy_shared_rows(v->t.user_emb, ov->t.user_emb, user_from, nu, d);
	warm->items = copy_shared_rows(v->t.item_emb, ov->t.item_emb, item_from, ni, d);
	for (int t = 0; t < v->hdr->n_tasks; t++)
	{
		int			ot = MtrsModelFindTask(m, MtrsModelString(v, t));

		if (ot < 0)
			continue;
		warm->tasks++;
		memcpy(v->t.task_w + (int64) t * d, ov->t.task_w + (int64) ot * d, sizeof(float) * d);
		v->t.task_b[t] = ov->t.task_b[ot];
		copy_shared_rows(v->t.user_bias + (int64) t * nu, ov->t.user_bias + (int64) ot * onu, user_from, nu, 1);
		copy_shared_rows(v->t.item_bias + (int64) t * ni, ov->t.item_bias + (int64) ot * oni, item_from, ni, 1);
		if (hd > 0)
		{
			copy_shared_rows(v->t.head_user + (int64) t * nu * hd, ov->t.head_user + (int64) ot * onu * hd,
							 user_from, nu, hd);
			copy_shared_rows(v->t.head_item + (int64) t * ni * hd, ov->t.head_item + (int64) ot * oni * hd,
							 item_from, ni, hd);
		}
	}
	pfree(user_from);
	pfree(item_from);
	ereport(tr->o->progress ? NOTICE : DEBUG1,
			(errmsg("warm start from mtrs model \"%s\" version %d: %d of %d users, %d of %d items, %d of %d tasks",
					m->name, m->version, warm->users, nu, warm->items, ni, warm->tasks, v->hdr->n_tasks)));
}

/*
 * Linearize every head around the current parameters, recording their
 * losses if with_loss (only the iteration's last linearization is reported
 * and sets the task weights)
 */
static void
linearize_heads(Trainer *tr, bool with_loss)
{
	for (int h = 0; h < tr->n_heads; h++)
		MtrsHeadLinearize(&tr->heads[h], &tr->p, &tr->v, with_loss, tr->n_threads);
}

/*
 * Show what training does in pg_stat_activity.query, for other sessions.
 * A report of a running activity resets the statement's query_id: keep it.
 */
void
MtrsShowActivity(const char *activity)
{
	uint64		query_id = pgstat_get_my_query_id();

	pgstat_report_activity(STATE_RUNNING, activity);
	pgstat_report_query_id(query_id, true);
}

/* Show the statement again in pg_stat_activity.query (on error too) */
void
MtrsRestoreActivity(void)
{
	if (debug_query_string != NULL)
		MtrsShowActivity(debug_query_string);
}

/* Run the iterations of training, reporting each */
static void
iterate(Trainer *tr, StringInfo log, instr_time start)
{
	instr_time	now;

	for (int it = 1; it <= tr->o->iterations; it++)
	{
		double		rank_total;

		/* later iterations start from the previous one's last linearization */
		if (it == 1)
			linearize_heads(tr, false);
		half_step(tr, true);
		linearize_heads(tr, false);
		half_step(tr, false);
		linearize_heads(tr, false);
		for (int h = 0; h < tr->n_heads; h++)
			MtrsHeadFit(&tr->heads[h], &tr->p, &tr->v, tr->o, tr->n_threads);
		linearize_heads(tr, true);
		rank_total = ranking_loss(tr);
		update_weights(tr, rank_total);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		report_iteration(tr, log, it, rank_total, INSTR_TIME_GET_DOUBLE(now));
	}
}

/*
 * Train a model on the collected rows (n > 0) and return it as bytea,
 * starting from model init if not NULL (what they share: *warm).
 * Appends the body of a JSON array of per-iteration records to log, if given.
 * Resolves o->reg when it is "auto" (setting o->interaction_norm).
 */
bytea *
MtrsTrain(MtrsFitData *d, MtrsFitOptions *o, const MtrsModel *init, StringInfo log,
		  double *memory, MtrsWarmStart *warm)
{
	MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "mtrs training",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(ctx);
	Trainer    *tr = palloc0(sizeof(Trainer));
	uint64		rng = (uint64) o->seed;
	MtrsHeader	header;
	Size		size;
	char	   *buf;
	bytea	   *out;
	bool		rating;
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	tr->o = o;
	tr->dim = o->dim;
	tr->n_threads = MtrsTrainingThreads();
	if (init != NULL)
		check_warm_start(tr, init);
	MtrsPairsBuild(d, o, &tr->p);
	rating = has_ratings(&tr->p);
	model_header(tr, d, rating, &header);
	*memory = check_memory(tr, d, rating, &header, ctx, init);
	resolve_reg(o, &tr->p);
	buf = begin_model(tr, d, rating, &header, &size);
	tr->n_heads = MtrsHeadsPlan(tr->heads, &tr->p, d, rating);
	check_task_weights(tr);
	for (int h = 0; h < tr->n_heads; h++)
		MtrsHeadInit(&tr->heads[h], &tr->p, &tr->v, &rng);
	tr->gram = palloc(sizeof(float) * tr->dim * tr->dim);
	tr->s = palloc(sizeof(Scratch) * tr->n_threads);
	for (int t = 0; t < tr->n_threads; t++)
	{
		tr->s[t].a = palloc(sizeof(float) * tr->dim * tr->dim);
		tr->s[t].ad = palloc(sizeof(double) * tr->dim * tr->dim);
		tr->s[t].b = palloc(sizeof(double) * tr->dim);
		tr->s[t].rows = palloc(sizeof(float) * GATHER_CHUNK * tr->dim);
	}
	NnRandNormalFill(tr->v.t.item_emb, (int64) tr->p.n_items * tr->dim, 0.01f, &rng);
	if (init != NULL)
		warm_start(tr, init, warm);

	PG_TRY();
	{
		iterate(tr, log, start);
	}
	PG_CATCH();
	{
		MtrsRestoreActivity();
		PG_RE_THROW();
	}
	PG_END_TRY();
	MtrsRestoreActivity();
	finish_model(tr);

	MemoryContextSwitchTo(old);
	out = palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);
	SET_VARSIZE(out, VARHDRSZ + size);
	memcpy(VARDATA(out), buf, size);
	MemoryContextDelete(ctx);
	return out;
}
