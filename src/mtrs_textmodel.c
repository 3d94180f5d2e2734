/*-------------------------------------------------------------------------
 *
 * mtrs_textmodel.c
 *	  Forward pass, loss and one stochastic gradient step of the text
 *	  encoder and the one-vs-all intent head (see mtrs_textmodel.h).
 *
 * Loss of utterance i: sum over intents l of the binary cross-entropy of
 * sigmoid(z_l) against [l is a label of i].  Scratch space for every call:
 * dim + 2 * n_labels floats.
 *
 * Plain C: no PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  src/mtrs_textmodel.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "mtrs_nn.h"
#include "mtrs_textmodel.h"

#define PREFETCH_AHEAD	4		/* token rows requested ahead of their use */
#define PROJ_PREFETCH_AHEAD	8	/* projected rows (one cache line each) requested ahead */

/* Return the width of the encoding: dim (mean) or 2 dim (mean, then max) */
int
MtrsTextWidth(const MtrsTextParams *p)
{
	return p->max_pool ? 2 * p->dim : p->dim;
}

/* Return the part of the encoding token t belongs to: 0 words, 1 character n-grams */
static inline int
token_part(const MtrsTextParams *p, uint32_t t)
{
	return p->char_from > 0 && t >= p->char_from;
}

/*
 * Set scale[0] and scale[1] to the weight of a word token and of a
 * character n-gram token in the pooled encoding of tok[0..n): 1 / the
 * number of tokens of that kind (0 if there is none), so that each kind
 * contributes its own mean.  Without char_from every token is a word.
 */
static void
part_scales(const MtrsTextParams *p, const uint32_t *tok, int n, float *scale)
{
	int			chars = 0;

	if (p->char_from > 0)
		for (int j = 0; j < n; j++)
			chars += token_part(p, tok[j]);
	scale[0] = n > chars ? 1.0f / (float) (n - chars) : 0.0f;
	scale[1] = chars > 0 ? 1.0f / (float) chars : 0.0f;
}

/* Return the weight of token t given the part_scales */
static inline float
token_scale(const MtrsTextParams *p, uint32_t t, const float *scale)
{
	return scale[token_part(p, t)];
}

/*
 * Encode tokens tok[0..n) into h [MtrsTextWidth]: the mean of the
 * embeddings of the words plus the mean of those of the character n-grams
 * (each kind weighs the same however many n-grams a word has), then
 * (max_pool) the per-dimension maximum; zeros when n is 0.  If argmax is
 * given, it receives the token position of each maximum [dim].  Returns n.
 */
int
MtrsTextEncode(const MtrsTextParams *p, const uint32_t *tok, int n, float *h, int *argmax)
{
	int			dim = p->dim;
	float		scale[2];

	memset(h, 0, sizeof(float) * MtrsTextWidth(p));
	part_scales(p, tok, n, scale);
	for (int j = 0; j < n; j++)
	{
		/* the rows are scattered over a large table: ask for a later one early */
		if (j + PREFETCH_AHEAD < n)
			NnPrefetchRow(p->emb + (int64_t) tok[j + PREFETCH_AHEAD] * dim, dim);
		NnAxpy(h, token_scale(p, tok[j], scale), p->emb + (int64_t) tok[j] * dim, dim);
	}
	if (p->max_pool && n > 0)
	{
		float	   *mx = h + dim;

		memcpy(mx, p->emb + (int64_t) tok[0] * dim, sizeof(float) * dim);
		if (argmax != NULL)
			memset(argmax, 0, sizeof(int) * dim);
		for (int j = 1; j < n; j++)
		{
			const float *e = p->emb + (int64_t) tok[j] * dim;

			for (int d = 0; d < dim; d++)
				if (e[d] > mx[d])
				{
					mx[d] = e[d];
					if (argmax != NULL)
						argmax[d] = j;
				}
		}
	}
	return n;
}

/*
 * Encode tokens tok[0..n) into h [dim] as the mean part of MtrsTextEncode,
 * but with token t weighing row_weight[t]: the weighted mean of the word
 * embeddings plus that of the character n-gram embeddings.  With every
 * weight 1 this is MtrsTextEncode's mean.  Returns the number of tokens
 * with a positive weight (h is zeros when there is none).
 */
int
MtrsTextEncodeWeighted(const MtrsTextParams *p, const uint32_t *tok, int n,
					   const float *row_weight, float *h)
{
	int			dim = p->dim;
	double		sum[2] = {0.0, 0.0};
	int			kept = 0;

	memset(h, 0, sizeof(float) * dim);
	for (int j = 0; j < n; j++)
		sum[token_part(p, tok[j])] += row_weight[tok[j]];
	for (int j = 0; j < n; j++)
	{
		float		w = row_weight[tok[j]];

		if (w <= 0.0f)
			continue;
		NnAxpy(h, (float) (w / sum[token_part(p, tok[j])]), p->emb + (int64_t) tok[j] * dim, dim);
		kept++;
	}
	return kept;
}

/* Write every intent's logit for the encoding h into z [n_labels] */
void
MtrsTextScores(const MtrsTextParams *p, const float *h, float *z)
{
	int			width = MtrsTextWidth(p);

	for (int l = 0; l < p->n_labels; l++)
		z[l] = NnDot(p->label_w + (int64_t) l * width, h, width) + p->label_b[l];
}

/*
 * Row stride, in floats, of a table of token rows projected on n_labels
 * intents (MtrsTextProject): 8, 16 or a multiple of 16, so that in a
 * table aligned to 64 bytes a row of up to 16 intents lies in one cache
 * line.
 */
int
MtrsTextProjectedStride(int n_labels)
{
	return n_labels <= 8 ? 8 : (n_labels + 15) / 16 * 16;
}

/*
 * Project the token rows [0, rows) on the intents for the mean encoding
 * (not max_pool): proj[r * stride + l] = <label_w[l], emb[r]> over the
 * first dim floats of label_w[l]; the floats of a row past n_labels are
 * left as they are.  With it, MtrsTextScoresProjected gives the logits
 * without reading the dim floats of every token's row.
 */
void
MtrsTextProject(const MtrsTextParams *p, int rows, int stride, float *proj)
{
	NnProjectRows(proj, stride, p->emb, rows, p->dim, p->label_w, MtrsTextWidth(p),
				  p->n_labels);
}

/*
 * Write every intent's logit for tokens tok[0..n) into z [n_labels], from
 * their projected rows proj [][stride] (MtrsTextProject): label_b[l] plus
 * each token's share of the mean times its projection, which is
 * MtrsTextScores of MtrsTextEncode with the sums taken in another order
 * (token by token, as MtrsTextContributions splits them).  Mean encoding
 * only (not max_pool).
 */
void
MtrsTextScoresProjected(const MtrsTextParams *p, const float *proj, int stride,
						const uint32_t *tok, int n, float *z)
{
	int			n_labels = p->n_labels;
	float		scale[2];

	part_scales(p, tok, n, scale);
	memcpy(z, p->label_b, sizeof(float) * n_labels);
	for (int j = 0; j < n; j++)
	{
		const float *row = proj + (int64_t) tok[j] * stride;
		float		s = token_scale(p, tok[j], scale);

		if (j + PROJ_PREFETCH_AHEAD < n)
			__builtin_prefetch(proj + (int64_t) tok[j + PROJ_PREFETCH_AHEAD] * stride);
		for (int l = 0; l < n_labels; l++)
			z[l] += s * row[l];
	}
}

/*
 * Split intent label's logit for tokens tok[0..n) into one term per token,
 * contrib [n]: the token's share of the mean, <label_w, its scaled row>,
 * and (max_pool) for every dimension whose maximum it gives, label_w
 * times that maximum.  The terms plus label_b[label] add up to the logit
 * (MtrsTextScores), up to rounding.  Scratch: argmax [dim] ints, h
 * [MtrsTextWidth] floats.
 */
void
MtrsTextContributions(const MtrsTextParams *p, const uint32_t *tok, int n, int label,
					  float *contrib, int *argmax, float *h)
{
	int			dim = p->dim;
	const float *w = p->label_w + (int64_t) label * MtrsTextWidth(p);
	float		scale[2];

	part_scales(p, tok, n, scale);
	for (int j = 0; j < n; j++)
		contrib[j] = token_scale(p, tok[j], scale) * NnDot(w, p->emb + (int64_t) tok[j] * dim, dim);
	if (p->max_pool && n > 0)
	{
		MtrsTextEncode(p, tok, n, h, argmax);
		for (int d = 0; d < dim; d++)
			contrib[argmax[d]] += w[dim + d] * h[dim + d];
	}
}

/*
 * Turn the logits z [n_labels] into probabilities prob [n_labels]: one
 * sigmoid each, or (softmax) their softmax.  prob may be z.
 */
void
MtrsTextProbs(const MtrsTextParams *p, const float *z, float *prob)
{
	float		mx = -INFINITY;
	double		sum = 0.0;

	if (!p->softmax)
	{
		for (int l = 0; l < p->n_labels; l++)
			prob[l] = NnSigmoid(z[l]);
		return;
	}
	for (int l = 0; l < p->n_labels; l++)
		mx = z[l] > mx ? z[l] : mx;
	for (int l = 0; l < p->n_labels; l++)
	{
		prob[l] = expf(z[l] - mx);
		sum += prob[l];
	}
	for (int l = 0; l < p->n_labels; l++)
		prob[l] = (float) (prob[l] / sum);
}

/* Fill y [n_labels] with the 0/1 targets of utterance i */
static void
targets(const MtrsTextSet *s, int i, int n_labels, float *y)
{
	memset(y, 0, sizeof(float) * n_labels);
	for (int32_t k = s->lab_off[i]; k < s->lab_off[i + 1]; k++)
		y[s->lab[k]] = 1.0f;
}

/* Return the weight of intent l's loss term: pos_weight[l] for a positive, else 1 */
static inline float
label_weight(const MtrsTextParams *p, int l, float y)
{
	return (p->pos_weight != NULL && y > 0.5f) ? p->pos_weight[l] : 1.0f;
}

/* Return the binary cross-entropy of logit z against target y */
static inline double
bce(float z, float y)
{
	double		zd = z;

	return log1p(exp(-fabs(zd))) + (zd > 0 ? zd : 0.0) - zd * y;
}

/*
 * Write the loss of the logits z against the targets y [n_labels] and its
 * gradient dz [n_labels].  One-vs-all: the sum over intents of the
 * (pos_weight-weighted) binary cross-entropy.  Softmax: the cross-entropy
 * of the softmax against y spread evenly over the utterance's intents,
 * each weighted by its pos_weight; an utterance without intents adds
 * nothing.  Returns the loss.
 */
static double
loss_and_gradient(const MtrsTextParams *p, const float *z, const float *y, float *dz)
{
	double		loss = 0.0;
	double		n_pos = 0.0,
				total = 0.0;

	if (!p->softmax)
	{
		for (int l = 0; l < p->n_labels; l++)
		{
			float		lw = label_weight(p, l, y[l]);

			loss += lw * bce(z[l], y[l]);
			dz[l] = lw * (NnSigmoid(z[l]) - y[l]);
		}
		return loss;
	}
	for (int l = 0; l < p->n_labels; l++)
		n_pos += y[l];
	MtrsTextProbs(p, z, dz);	/* dz holds the softmax until the end */
	for (int l = 0; l < p->n_labels; l++)
		if (y[l] > 0.5f)
		{
			double		q = label_weight(p, l, 1.0f) / n_pos;

			loss -= q * log(fmax(dz[l], 1e-30));
			total += q;
		}
	/* d/dz_k of -sum_l q_l log p_l = total p_k - q_k */
	for (int l = 0; l < p->n_labels; l++)
		dz[l] = (float) (total * dz[l] - (y[l] > 0.5f ? label_weight(p, l, 1.0f) / n_pos : 0.0));
	return loss;
}

/* Return the loss of utterance i under the current parameters */
double
MtrsTextLoss(const MtrsTextParams *p, const MtrsTextSet *s, int i, float *scratch)
{
	float	   *h = scratch;
	float	   *z = scratch + MtrsTextWidth(p);
	float	   *y = z + p->n_labels;

	MtrsTextEncode(p, s->tok + s->tok_off[i], s->tok_off[i + 1] - s->tok_off[i], h, NULL);
	MtrsTextScores(p, h, z);
	targets(s, i, p->n_labels, y);
	return loss_and_gradient(p, z, y, y + p->n_labels);
}

/*
 * One stochastic gradient step with learning rate lr on utterance i:
 * every parameter moves by -lr times its gradient at the current point
 * (the head's gradient is taken before the head moves; the max takes the
 * subgradient of the winning token).  Returns the loss before the step.
 * An utterance without tokens only moves the biases.
 */
double
MtrsTextStep(const MtrsTextParams *p, const MtrsTextSet *s, int i, float lr, float *scratch)
{
	int			dim = p->dim;
	int			width = MtrsTextWidth(p);
	const uint32_t *tok = s->tok + s->tok_off[i];
	int			n = s->tok_off[i + 1] - s->tok_off[i];
	float	   *h = scratch;
	float	   *z = scratch + width;
	float	   *y = z + p->n_labels;
	float	   *dz = y + p->n_labels;
	float		dh[2 * 1024];	/* width <= 2 MTRS_MAX_DIM */
	int			argmax[1024];
	double		loss;

	MtrsTextEncode(p, tok, n, h, argmax);
	MtrsTextScores(p, h, z);
	targets(s, i, p->n_labels, y);
	loss = loss_and_gradient(p, z, y, dz);
	memset(dh, 0, sizeof(float) * width);
	for (int l = 0; l < p->n_labels; l++)
	{
		float	   *w = p->label_w + (int64_t) l * width;
		float		g = dz[l];

		NnAxpy(dh, g, w, width);
		NnAxpy(w, -lr * g, h, width);
		p->label_b[l] -= lr * g;
	}
	if (n > 0)
	{
		float		scale[2];

		part_scales(p, tok, n, scale);
		for (int j = 0; j < n; j++)
			NnAxpy(p->emb + (int64_t) tok[j] * dim, -lr * token_scale(p, tok[j], scale), dh, dim);
		if (p->max_pool)
			for (int d = 0; d < dim; d++)
				p->emb[(int64_t) tok[argmax[d]] * dim + d] -= lr * dh[dim + d];
	}
	return loss;
}

/*
 * Item text: the loss of encoding tokens tok[0..n) as the vector target
 * [dim] (an item's embedding), 1/2 |encoding - target|^2.  The maximum part of
 * a max-pooling encoder is not used here: item text lives in the item
 * embedding space through the mean.
 */
double
MtrsTextRegressLoss(const MtrsTextParams *p, const uint32_t *tok, int n, const float *target,
					float *scratch)
{
	double		loss = 0.0;

	MtrsTextEncode(p, tok, n, scratch, NULL);
	for (int d = 0; d < p->dim; d++)
		loss += 0.5 * (double) (scratch[d] - target[d]) * (scratch[d] - target[d]);
	return loss;
}

/*
 * One stochastic gradient step on MtrsTextRegressLoss with learning rate
 * lr: the token embeddings move toward making their mean the target.
 * Returns the loss before the step.
 */
double
MtrsTextRegressStep(const MtrsTextParams *p, const uint32_t *tok, int n, const float *target,
					float lr, float *scratch)
{
	double		loss = MtrsTextRegressLoss(p, tok, n, target, scratch);
	float		scale[2];

	if (n == 0)
		return loss;
	for (int d = 0; d < p->dim; d++)
		scratch[d] -= target[d];	/* the gradient of the loss at the encoding */
	part_scales(p, tok, n, scale);
	for (int j = 0; j < n; j++)
		NnAxpy(p->emb + (int64_t) tok[j] * p->dim, -lr * token_scale(p, tok[j], scale), scratch,
			   p->dim);
	return loss;
}
