/*-------------------------------------------------------------------------
 *
 * mtrs_pairs.h
 *	  Interaction rows folded into (user, item) pairs with dense indices,
 *	  indexed by user and by item.
 *
 * IDENTIFICATION
 *	  include/mtrs_pairs.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_PAIRS_H
#define MTRS_PAIRS_H

#include "mtrs_train.h"

typedef struct MtrsPairs
{
	int			n_users;
	int			n_items;
	int64		n;				/* pairs, sorted by user then item */
	int64	   *user_ids;		/* [n_users] sorted */
	int64	   *item_ids;		/* [n_items] sorted */
	int64	   *uptr;			/* [n_users + 1] pairs of user u: uptr[u] .. uptr[u+1] */
	int32	   *pu;				/* [n] user index of each pair */
	int32	   *pi;				/* [n] item index of each pair */
	float	   *conf;			/* [n] ranking confidence 1 + alpha * recency */
	float	   *rating;			/* [n] latest rating, NaN if none */
	uint64	   *events;			/* [n] bit e set if event e occurred */
	double	   *ts;				/* [n] latest time, days since 2000-01-01 */
	int64	   *iptr;			/* [n_items + 1] CSR by item */
	int64	   *iorder;			/* [n] pair indices in item order */
	double		last_ts;		/* newest time of all */
} MtrsPairs;

/*
 * Bytes per collected row that MtrsPairsBuild allocates (its arrays are
 * sized by rows: user ids, pair users, items, ratings, events, times,
 * confidences, the item order and the distinct item ids)
 */
#define MTRS_PAIR_BYTES_PER_ROW 56

/* mtrs_pairs.c */
extern void MtrsPairsBuild(MtrsFitData *d, const MtrsFitOptions *o, MtrsPairs *p);
extern double MtrsRecencyWeight(double age_days, double half_life_days);

#endif							/* MTRS_PAIRS_H */
