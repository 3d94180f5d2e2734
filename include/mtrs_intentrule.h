/*-------------------------------------------------------------------------
 *
 * mtrs_intentrule.h
 *	  Tuning the decision rule of a one-vs-all intent head on held-out
 *	  utterances: per-intent offsets of the logits, so that one stored
 *	  threshold serves intents that need different ones (on multi-intent
 *	  data an intent that often comes second in an utterance needs a lower
 *	  cut than one that is usually alone).
 *
 * An utterance gets intent l when sigmoid(z_l + offset_l) >= tau; with the
 * top-1 rule, an utterance that gets none gets the l with the largest
 * z_l + offset_l.  The offsets are folded into the head's biases, so
 * serving needs nothing new.
 *
 * Plain C: no PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  include/mtrs_intentrule.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_INTENTRULE_H
#define MTRS_INTENTRULE_H

#include <stdint.h>

/* Held-out utterances: logits and gold intents */
typedef struct MtrsRuleSet
{
	int			n;				/* utterances */
	int			n_labels;
	const float *z;				/* [n][n_labels] logits */
	const int32_t *lab_off;		/* [n + 1] into lab */
	const int32_t *lab;			/* gold intents of each utterance, distinct */
} MtrsRuleSet;

#define MTRS_RULE_MIN_POSITIVES 20	/* intents with fewer held-out examples keep offset 0 */
#define MTRS_RULE_MAX_WORK		4e8 /* skip the search beyond this many label checks */

/* mtrs_intentrule.c */
extern int	MtrsRuleHits(const MtrsRuleSet *s, float tau, int top1, const float *offset);
extern int	MtrsTuneOffsets(const MtrsRuleSet *s, float tau, int top1, float *offset);

#endif							/* MTRS_INTENTRULE_H */
