/*-------------------------------------------------------------------------
 *
 * mtrs_score.c
 *	  Turn a decoded model into task outputs for users and items.
 *
 * Head t's logit for user u and item i is
 *	  z_t = <p_u * w_t, q_i> + <a_tu, c_ti> + b_t[i] + b_t[u] + c_t
 * (p, q the shared user and item embeddings, * elementwise; a, c the head's
 * private factors).  Outputs:
 *	  ranking	z (a score);
 *	  rating	z clamped to the range of the training ratings;
 *	  events	the probability of the event given an interaction, which for
 *				an event conditioned on a parent (a purchase on a cart) is the
 *				product along the chain: sigmoid(z_purchase) * sigmoid(z_cart) ...
 * A user the model has not seen has no user bias and a_tu = 0, and p_u = 0
 * unless it was folded in from fresh interactions (mtrs_source.c); an item
 * the model has not seen (i = -1) has q_i = c_ti = 0 and no item bias.
 *
 * IDENTIFICATION
 *	  src/mtrs_score.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_score.h"

/* Return what kind of output a task head produces */
MtrsTaskKind
MtrsTaskKindOf(const MtrsModel *m, int task)
{
	if (task == 0)
		return MTRS_TASK_KIND_RANKING;
	if (strcmp(MtrsModelString(&m->v, task), "rating") == 0)
		return MTRS_TASK_KIND_RATING;
	return MTRS_TASK_KIND_EVENT;
}

/* Return the task a head is conditioned on, or -1 */
static int
parent_of(const MtrsModel *m, int task)
{
	return (int) m->v.t.task_parent[task];
}

/* Describe the user with training index u (-1 = none) as the model learned it */
void
MtrsUserTrained(const MtrsModel *m, int u, MtrsUser *user)
{
	user->u = u;
	user->emb = u >= 0 ? m->v.t.user_emb + (int64) u * m->v.hdr->dim : NULL;
}

/* Build head t's query for a user: vec = p_u * w_t [dim]; returns the user-side bias */
static float
user_query(const MtrsModel *m, int task, const MtrsUser *user, float *vec)
{
	const MtrsHeader *h = m->v.hdr;
	const float *w = m->v.t.task_w + (int64) task * h->dim;

	if (user->emb == NULL)
		memset(vec, 0, sizeof(float) * h->dim);
	else
		for (int j = 0; j < h->dim; j++)
			vec[j] = user->emb[j] * w[j];
	if (user->u < 0)
		return m->v.t.task_b[task];
	return m->v.t.task_b[task] + m->v.t.user_bias[(int64) task * h->n_users + user->u];
}

/* Return head t's private item factors (n_items rows of head_dim) */
static const float *
private_items(const MtrsModel *m, int task)
{
	return m->v.t.head_item + (int64) task * m->v.hdr->n_items * m->v.hdr->head_dim;
}

/* Return head t's private factors of user u, or NULL when there are none */
static const float *
private_user(const MtrsModel *m, int task, int u)
{
	const MtrsHeader *h = m->v.hdr;

	if (u < 0 || h->head_dim == 0)
		return NULL;
	return m->v.t.head_user + ((int64) task * h->n_users + u) * h->head_dim;
}

/* Return head t's logit for a user and item i (-1 = unseen: the user part only) */
static float
logit(const MtrsModel *m, int task, const MtrsUser *user, int i)
{
	const MtrsHeader *h = m->v.hdr;
	float		vec[MTRS_MAX_DIM];
	float		ub = user_query(m, task, user, vec);
	const float *a = private_user(m, task, user->u);
	float		z;

	if (i < 0)
		return ub;
	z = NnDot(vec, m->v.t.item_emb + (int64) i * h->dim, h->dim) +
		m->v.t.item_bias[(int64) task * h->n_items + i] + ub;
	if (a != NULL)
		z += NnDot(a, private_items(m, task) + (int64) i * h->head_dim, h->head_dim);
	return z;
}

/*
 * Split head t's logit for a user and item i (not -1) into <p_u, query>,
 * writing query = w_t * q_i [dim], and the rest (biases, private factors),
 * which is returned
 */
float
MtrsLogitSplit(const MtrsModel *m, int task, const MtrsUser *user, int i, float *query)
{
	const MtrsHeader *h = m->v.hdr;
	const float *w = m->v.t.task_w + (int64) task * h->dim;
	const float *q = m->v.t.item_emb + (int64) i * h->dim;
	MtrsUser	rest = {user->u, NULL};

	for (int j = 0; j < h->dim; j++)
		query[j] = w[j] * q[j];
	return logit(m, task, &rest, i);
}

/*
 * Write head t's logits for n users and every item into out [n][n_items]
 * (one matrix product over the item table for all of them)
 */
static void
logits_all(const MtrsModel *m, int task, const MtrsUser *users, int n, float *out)
{
	const MtrsHeader *h = m->v.hdr;
	int64		ni = h->n_items;
	const float *ib = m->v.t.item_bias + (int64) task * ni;
	float	   *vec = palloc(sizeof(float) * n * h->dim);
	float	   *ub = palloc(sizeof(float) * n);
	float	   *a = NULL;

	for (int b = 0; b < n; b++)
	{
		const float *pa = private_user(m, task, users[b].u);

		ub[b] = user_query(m, task, &users[b], vec + (int64) b * h->dim);
		if (pa != NULL)
		{
			if (a == NULL)
				a = palloc0(sizeof(float) * n * h->head_dim);
			memcpy(a + (int64) b * h->head_dim, pa, sizeof(float) * h->head_dim);
		}
	}
	NnScoresMany(out, m->v.t.item_emb, vec, h->n_items, h->dim, n);
	for (int b = 0; b < n; b++)
		for (int64 i = 0; i < ni; i++)
			out[b * ni + i] += ib[i] + ub[b];
	if (a != NULL)
	{
		float	   *priv = palloc_extended(sizeof(float) * n * ni, MCXT_ALLOC_HUGE);

		NnScoresMany(priv, private_items(m, task), a, h->n_items, h->head_dim, n);
		for (int b = 0; b < n; b++)
			if (private_user(m, task, users[b].u) != NULL)
				for (int64 i = 0; i < ni; i++)
					out[b * ni + i] += priv[b * ni + i];
		pfree(priv);
		pfree(a);
	}
	pfree(vec);
	pfree(ub);
}

/*
 * Vectors whose inner product is head t's logit: for a user
 *	  [p_u * w_t, a_tu, 1, b_t[u] + c_t]
 * and for item i
 *	  [q_i, c_ti, b_t[i], 1],
 * MtrsVectorLength floats each (a_tu = 0 for a user the model has not seen).
 */
int
MtrsVectorLength(const MtrsModel *m)
{
	return m->v.hdr->dim + m->v.hdr->head_dim + 2;
}

/* Write head t's vector of a user into out [MtrsVectorLength] */
void
MtrsUserVector(const MtrsModel *m, int task, const MtrsUser *user, float *out)
{
	const MtrsHeader *h = m->v.hdr;
	const float *a = private_user(m, task, user->u);
	float		ub = user_query(m, task, user, out);

	if (a != NULL)
		memcpy(out + h->dim, a, sizeof(float) * h->head_dim);
	else
		memset(out + h->dim, 0, sizeof(float) * h->head_dim);
	out[h->dim + h->head_dim] = 1.0f;
	out[h->dim + h->head_dim + 1] = ub;
}

/* Write head t's vector of item index i into out [MtrsVectorLength] */
void
MtrsItemVector(const MtrsModel *m, int task, int i, float *out)
{
	const MtrsHeader *h = m->v.hdr;

	memcpy(out, m->v.t.item_emb + (int64) i * h->dim, sizeof(float) * h->dim);
	if (h->head_dim > 0)
		memcpy(out + h->dim, private_items(m, task) + (int64) i * h->head_dim,
			   sizeof(float) * h->head_dim);
	out[h->dim + h->head_dim] = m->v.t.item_bias[(int64) task * h->n_items + i];
	out[h->dim + h->head_dim + 1] = 1.0f;
}

/* Clamp a rating to the range seen in training */
static float
clamp_rating(const MtrsModel *m, float r)
{
	return Min(Max(r, m->v.t.settings[MTRS_SET_RATING_MIN]), m->v.t.settings[MTRS_SET_RATING_MAX]);
}

/* Return task t's output for a user and item index i (-1 = unseen) */
float
MtrsPredict(const MtrsModel *m, int task, const MtrsUser *user, int i)
{
	float		prob = 1.0f;

	switch (MtrsTaskKindOf(m, task))
	{
		case MTRS_TASK_KIND_RANKING:
			return logit(m, task, user, i);
		case MTRS_TASK_KIND_RATING:
			return clamp_rating(m, logit(m, task, user, i));
		case MTRS_TASK_KIND_EVENT:
			for (int t = task; t >= 0; t = parent_of(m, t))
				prob *= NnSigmoid(logit(m, t, user, i));
			break;
	}
	return prob;
}

/*
 * Write task t's outputs for n users and every item into out [n][n_items];
 * scratch [n][n_items] is used for conditioned event chains.
 */
void
MtrsPredictAll(const MtrsModel *m, int task, const MtrsUser *users, int n, float *out,
			   float *scratch)
{
	int64		cells = (int64) n * m->v.hdr->n_items;

	logits_all(m, task, users, n, out);
	switch (MtrsTaskKindOf(m, task))
	{
		case MTRS_TASK_KIND_RANKING:
			break;
		case MTRS_TASK_KIND_RATING:
			for (int64 c = 0; c < cells; c++)
				out[c] = clamp_rating(m, out[c]);
			break;
		case MTRS_TASK_KIND_EVENT:
			for (int64 c = 0; c < cells; c++)
				out[c] = NnSigmoid(out[c]);
			for (int t = parent_of(m, task); t >= 0; t = parent_of(m, t))
			{
				logits_all(m, t, users, n, scratch);
				for (int64 c = 0; c < cells; c++)
					out[c] *= NnSigmoid(scratch[c]);
			}
			break;
	}
}

/*
 * Return how likely a user is to interact with item i, in [0, 1], given the
 * ranking score z: z clamped (it estimates the implicit 0/1 target), or for
 * a user with no embedding (whose z carries no taste) the item's training
 * pairs relative to the most popular item's
 */
static inline float
popular_propensity(const MtrsModel *m, int i)
{
	return m->popularity_max > 0.0f ? m->popularity[i] / m->popularity_max : 0.0f;
}

static inline float
taste_propensity(float z)
{
	return Min(Max(z, 0.0f), 1.0f);
}

static inline float
propensity(const MtrsModel *m, const MtrsUser *user, int i, float z)
{
	return user->emb == NULL ? popular_propensity(m, i) : taste_propensity(z);
}

/*
 * Return what recommending by task t ranks on: for an event head the
 * expected event, the propensity to interact times the probability of the
 * event given an interaction; otherwise the head's output.
 */
float
MtrsRankScore(const MtrsModel *m, int task, const MtrsUser *user, int i)
{
	float		out = MtrsPredict(m, task, user, i);

	if (MtrsTaskKindOf(m, task) == MTRS_TASK_KIND_EVENT)
		out *= propensity(m, user, i, logit(m, 0, user, i));
	return out;
}

/* MtrsRankScore for n users and every item into out [n][n_items]; scratch [n][n_items] */
void
MtrsRankScoreAll(const MtrsModel *m, int task, const MtrsUser *users, int n, float *out,
				 float *scratch)
{
	MtrsPredictAll(m, task, users, n, out, scratch);
	if (MtrsTaskKindOf(m, task) == MTRS_TASK_KIND_EVENT)
	{
		int64		ni = m->v.hdr->n_items;

		logits_all(m, 0, users, n, scratch);
		for (int b = 0; b < n; b++)
		{
			float	   *o = out + b * ni;
			const float *z = scratch + b * ni;

			/* propensity, decided once per user: the inner loops stay branch-free */
			if (users[b].emb == NULL)
				for (int64 i = 0; i < ni; i++)
					o[i] *= popular_propensity(m, (int) i);
			else
				for (int64 i = 0; i < ni; i++)
					o[i] *= taste_propensity(z[i]);
		}
	}
}
