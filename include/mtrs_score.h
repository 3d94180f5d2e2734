/*-------------------------------------------------------------------------
 *
 * mtrs_score.h
 *	  Scoring items with a task head of a decoded model.
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

/* mtrs_score.c */
extern MtrsTaskKind MtrsTaskKindOf(const MtrsModel *m, int task);
extern float MtrsUserQuery(const MtrsModel *m, int task, int u, float *vec);
extern float MtrsScoreItem(const MtrsModel *m, int task, const float *vec, float ubias, int i);
extern void MtrsScoreAll(const MtrsModel *m, int task, const float *vec, float ubias, float *scores);
extern float MtrsTaskOutput(const MtrsModel *m, int task, float logit);

#endif							/* MTRS_SCORE_H */
