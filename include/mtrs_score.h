/*-------------------------------------------------------------------------
 *
 * mtrs_score.h
 *	  Task outputs of a decoded model for users and items.
 *
 * IDENTIFICATION
 *	  include/mtrs_score.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_SCORE_H
#define MTRS_SCORE_H

#include "mtrs.h"

typedef enum MtrsTaskKind
{
	MTRS_TASK_KIND_RANKING,		/* raw score */
	MTRS_TASK_KIND_EVENT,		/* probability */
	MTRS_TASK_KIND_RATING		/* rating in the training range */
} MtrsTaskKind;

/*
 * Who is being scored: a user's shared embedding (trained, folded in from
 * fresh interactions, or none) and the user's training index for the
 * per-user head parameters (-1 when the model has not seen the user).
 */
struct MtrsUser
{
	int			u;
	const float *emb;			/* [dim], NULL = zero vector */
};
typedef struct MtrsUser MtrsUser;

/* mtrs_score.c */
extern MtrsTaskKind MtrsTaskKindOf(const MtrsModel *m, int task);
extern void MtrsUserTrained(const MtrsModel *m, int u, MtrsUser *user);
extern float MtrsLogitSplit(const MtrsModel *m, int task, const MtrsUser *user, int i,
							float *query);
extern float MtrsPredict(const MtrsModel *m, int task, const MtrsUser *user, int i);
extern void MtrsPredictAll(const MtrsModel *m, int task, const MtrsUser *users, int n,
						   float *out, float *scratch);
extern int	MtrsVectorLength(const MtrsModel *m);
extern void MtrsUserVector(const MtrsModel *m, int task, const MtrsUser *user, float *out);
extern void MtrsItemVector(const MtrsModel *m, int task, int i, float *out);
extern float MtrsRankScore(const MtrsModel *m, int task, const MtrsUser *user, int i);
extern void MtrsRankScoreAll(const MtrsModel *m, int task, const MtrsUser *users, int n,
							 float *out, float *scratch);

#endif							/* MTRS_SCORE_H */
