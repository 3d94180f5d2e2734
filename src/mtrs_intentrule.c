/*-------------------------------------------------------------------------
 *
 * mtrs_intentrule.c
 *	  Per-intent offsets of a one-vs-all intent head, tuned for exact-match
 *	  accuracy on held-out utterances (see mtrs_intentrule.h).
 *
 * Coordinate ascent: two rounds over the intents; each tries every offset
 * of a grid in logit units and keeps the best, ties going to the smaller
 * offset, so offsets move only when the held-out utterances gain.
 *
 * Plain C: no PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  src/mtrs_intentrule.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "mtrs_intentrule.h"

#define GRID_STEPS	12			/* offsets -3 .. 3 in steps of 0.25 */
#define GRID_STEP	0.25f
#define ROUNDS		2

/* Return whether utterance i is decided exactly right under the offsets */
static int
exact(const MtrsRuleSet *s, int i, float cut, int top1, const float *offset)
{
	const float *z = s->z + (int64_t) i * s->n_labels;
	const int32_t *gold = s->lab + s->lab_off[i];
	int			n_gold = s->lab_off[i + 1] - s->lab_off[i];
	int			any = 0,
				ok = 1,
				arg = 0;

	for (int l = 0; l < s->n_labels; l++)
	{
		float		x = z[l] + offset[l];
		int			is_gold = 0;
		int			on = (x >= cut);

		for (int k = 0; k < n_gold; k++)
			is_gold |= (gold[k] == l);
		any |= on;
		ok &= (on == is_gold);
		if (x > z[arg] + offset[arg])
			arg = l;
	}
	if (any || !top1)
		return ok;
	/* nothing reaches the cut: the answer is {arg} */
	return n_gold == 1 && gold[0] == arg;
}

/* Return how many utterances the rule (tau, top1, offsets) decides exactly right */
int
MtrsRuleHits(const MtrsRuleSet *s, float tau, int top1, const float *offset)
{
	float		cut = logf(tau / (1.0f - tau));
	int			hits = 0;

	for (int i = 0; i < s->n; i++)
		hits += exact(s, i, cut, top1, offset);
	return hits;
}

/*
 * Choose offset [n_labels] (written; zeros where nothing is gained, for
 * intents with fewer than MTRS_RULE_MIN_POSITIVES held-out examples, and
 * everywhere if the search would exceed MTRS_RULE_MAX_WORK).  0 < tau < 1.
 * Returns the hits under the chosen offsets.
 */
int
MtrsTuneOffsets(const MtrsRuleSet *s, float tau, int top1, float *offset)
{
	double		work = (double) ROUNDS * s->n_labels * (2 * GRID_STEPS + 1) *
		(double) s->n * s->n_labels;
	int			best;

	memset(offset, 0, sizeof(float) * s->n_labels);
	best = MtrsRuleHits(s, tau, top1, offset);
	if (work > MTRS_RULE_MAX_WORK)
		return best;
	for (int round = 0; round < ROUNDS; round++)
		for (int l = 0; l < s->n_labels; l++)
		{
			float		keep = offset[l];
			int			positives = 0;

			for (int32_t k = 0; k < s->lab_off[s->n]; k++)
				positives += (s->lab[k] == l);
			if (positives < MTRS_RULE_MIN_POSITIVES)
				continue;
			for (int g = -GRID_STEPS; g <= GRID_STEPS; g++)
			{
				int			hits;

				offset[l] = g * GRID_STEP;
				hits = MtrsRuleHits(s, tau, top1, offset);
				if (hits > best || (hits == best && fabsf(offset[l]) < fabsf(keep)))
				{
					best = hits;
					keep = offset[l];
				}
			}
			offset[l] = keep;
		}
	return best;
}
