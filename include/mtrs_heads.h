/*-------------------------------------------------------------------------
 *
 * mtrs_heads.h
 *	  Task heads on top of the shared embeddings: one per event type and
 *	  one for ratings, fit by iteratively reweighted least squares.
 *
 * IDENTIFICATION
 *	  include/mtrs_heads.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_HEADS_H
#define MTRS_HEADS_H

#include "mtrs_pairs.h"

/*
 * One head.  Its logit for a member pair k = (u, i) is
 *	  z = <p_u * w, q_i> + <a_u, c_i> + item_bias[i] + user_bias[u] + c
 * with p, q the shared embeddings and a, c the head's private factors
 * (head_dim wide, none when head_dim is 0).
 * Linearizing the head's loss around the current z gives, per member, a
 * weight s[k] > 0 and a working response zt[k]: the head then contributes
 * s (zt - z)^2 to a least-squares problem (exact for ratings; a Newton step
 * for events).  s[k] == 0 marks pairs that are not members.
 */
typedef struct MtrsHead
{
	char		name[NAMEDATALEN];
	int			task;			/* index of the head's task in the model */
	bool		is_rating;		/* rating regression, else event probability */
	int			event;			/* the event bit (event heads) */
	int			parent;			/* event bit this head is conditioned on, -1 = none */
	bool		constant;		/* every member has the same label: only c is fit */
	double		weight;			/* influence on the shared embeddings (ranking = 1) */
	int64		n_members;
	double		loss;			/* mean loss over members at the last linearization */
	float	   *s;				/* [n_pairs] */
	float	   *zt;				/* [n_pairs] */
} MtrsHead;

/* mtrs_heads.c */
extern int	MtrsHeadsPlan(MtrsHead *heads, const MtrsPairs *p, const MtrsFitData *d,
						  bool rating);
extern void MtrsHeadInit(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v, uint64 *rng);
extern void MtrsHeadLinearize(MtrsHead *h, const MtrsPairs *p, const MtrsModelView *v,
							  bool with_loss, int n_threads);
extern void MtrsHeadFit(MtrsHead *h, const MtrsPairs *p, MtrsModelView *v,
						const MtrsFitOptions *o, int n_threads);
extern float MtrsHeadOffset(const MtrsHead *h, const MtrsModelView *v, int u, int i);

#endif							/* MTRS_HEADS_H */
