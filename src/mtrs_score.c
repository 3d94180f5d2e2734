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
 * unless it was folded in from fresh interactions (mtrs_foldin.c); an item
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

/* Write head t's logits for a user and every item into out [n_items] */
static void
logits_all(const MtrsModel *m, int task, const MtrsUser *user, float *out)
{
	const MtrsHeader *h = m->v.hdr;
	const float *ib = m->v.t.item_bias + (int64) task * h->n_items;
	float		vec[MTRS_MAX_DIM];
	float		ub = user_query(m, task, user, vec);
	const float *a = private_user(m, task, user->u);

	NnScores(out, m->v.t.item_emb, vec, h->n_items, h->dim);
	for (int i = 0; i < h->n_items; i++)
		out[i] += ib[i] + ub;
	if (a != NULL)
	{
		float	   *priv = palloc(sizeof(float) * h->n_items);

		NnScores(priv, private_items(m, task), a, h->n_items, h->head_dim);
		for (int i = 0; i < h->n_items; i++)
			out[i] += priv[i];
		pfree(priv);
	}
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
 * Write task t's outputs for a user and every item into out [n_items];
 * scratch [n_items] is used for conditioned event chains.
 */
void
MtrsPredictAll(const MtrsModel *m, int task, const MtrsUser *user, float *out, float *scratch)
{
	int			n = m->v.hdr->n_items;

	switch (MtrsTaskKindOf(m, task))
	{
		case MTRS_TASK_KIND_RANKING:
			logits_all(m, task, user, out);
			break;
		case MTRS_TASK_KIND_RATING:
			logits_all(m, task, user, out);
			for (int i = 0; i < n; i++)
				out[i] = clamp_rating(m, out[i]);
			break;
		case MTRS_TASK_KIND_EVENT:
			logits_all(m, task, user, out);
			for (int i = 0; i < n; i++)
				out[i] = NnSigmoid(out[i]);
			for (int t = parent_of(m, task); t >= 0; t = parent_of(m, t))
			{
				logits_all(m, t, user, scratch);
				for (int i = 0; i < n; i++)
					out[i] *= NnSigmoid(scratch[i]);
			}
			break;
	}
}

/* Return a ranking score as an interaction propensity in [0, 1] */
static inline float
propensity(float score)
{
	return Min(Max(score, 0.0f), 1.0f);
}

/*
 * Return what recommending by task t ranks on: for an event head the
 * expected event, propensity to interact (the ranking score, which
 * estimates the implicit 0/1 target, clamped to [0, 1]) times the
 * probability of the event given an interaction; otherwise the head's output.
 */
float
MtrsRankScore(const MtrsModel *m, int task, const MtrsUser *user, int i)
{
	float		out = MtrsPredict(m, task, user, i);

	if (MtrsTaskKindOf(m, task) == MTRS_TASK_KIND_EVENT)
		out *= propensity(logit(m, 0, user, i));
	return out;
}

/* MtrsRankScore for every item into out [n_items]; scratch [n_items] */
void
MtrsRankScoreAll(const MtrsModel *m, int task, const MtrsUser *user, float *out, float *scratch)
{
	MtrsPredictAll(m, task, user, out, scratch);
	if (MtrsTaskKindOf(m, task) == MTRS_TASK_KIND_EVENT)
	{
		logits_all(m, 0, user, scratch);
		for (int i = 0; i < m->v.hdr->n_items; i++)
			out[i] *= propensity(scratch[i]);
	}
}
