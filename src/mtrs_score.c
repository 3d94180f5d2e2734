/*-------------------------------------------------------------------------
 *
 * mtrs_score.c
 *	  Score items for a user with one task head of a decoded model.
 *
 * A head t scores user u and item i as
 *	  logit = <p_u * w_t, q_i> + b_t[i] + b_t[u] + c_t
 * (p, q the shared user and item embeddings, * elementwise).  The ranking
 * head returns the logit; event heads return sigmoid(logit), a
 * probability; the rating head returns the logit clamped to the range of
 * the training ratings.
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

/*
 * Build the query side of head t for user index u (-1: a user the model has
 * not seen): vec = p_u * w_t [dim], and the returned user-side bias.
 */
float
MtrsUserQuery(const MtrsModel *m, int task, int u, float *vec)
{
	const MtrsHeader *h = m->v.hdr;
	const float *w = m->v.t.task_w + (int64) task * h->dim;
	float		bias = m->v.t.task_b[task];

	if (u < 0)
	{
		memset(vec, 0, sizeof(float) * h->dim);
		return bias;
	}
	for (int j = 0; j < h->dim; j++)
		vec[j] = m->v.t.user_emb[(int64) u * h->dim + j] * w[j];
	return bias + m->v.t.user_bias[(int64) task * h->n_users + u];
}

/* Return the logit of head t for item index i */
float
MtrsScoreItem(const MtrsModel *m, int task, const float *vec, float ubias, int i)
{
	const MtrsHeader *h = m->v.hdr;

	return NnDot(vec, m->v.t.item_emb + (int64) i * h->dim, h->dim) +
		m->v.t.item_bias[(int64) task * h->n_items + i] + ubias;
}

/* Write the logits of head t for every item into scores [n_items] */
void
MtrsScoreAll(const MtrsModel *m, int task, const float *vec, float ubias, float *scores)
{
	const MtrsHeader *h = m->v.hdr;
	const float *ib = m->v.t.item_bias + (int64) task * h->n_items;

	NnScores(scores, m->v.t.item_emb, vec, h->n_items, h->dim);
	for (int i = 0; i < h->n_items; i++)
		scores[i] += ib[i] + ubias;
}

/* Turn a logit of head t into the head's output */
float
MtrsTaskOutput(const MtrsModel *m, int task, float logit)
{
	switch (MtrsTaskKindOf(m, task))
	{
		case MTRS_TASK_KIND_RANKING:
			return logit;
		case MTRS_TASK_KIND_EVENT:
			return NnSigmoid(logit);
		case MTRS_TASK_KIND_RATING:
			return Min(Max(logit, m->v.t.settings[MTRS_SET_RATING_MIN]),
					   m->v.t.settings[MTRS_SET_RATING_MAX]);
	}
	return logit;
}
