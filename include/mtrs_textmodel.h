/*-------------------------------------------------------------------------
 *
 * mtrs_textmodel.h
 *	  The text encoder and the multi-label intent head: an utterance is
 *	  encoded as the mean of its hashed word-feature embeddings plus the
 *	  mean of its character n-gram embeddings (when the tokenizer makes
 *	  n-grams: rows from char_from on), optionally
 *	  followed by their per-dimension maximum (which keeps the evidence of
 *	  each clause of a long, multi-intent utterance); intent l scores
 *	  z_l = <label_w[l], h> + label_b[l] with one sigmoid per intent
 *	  (one-vs-all, so an utterance can carry several intents or none), or
 *	  with one softmax over the intents (softmax: exactly one intent per
 *	  utterance, the usual multinomial loss for single-label data).
 *	  Scratch for the loss and step: 2 dim + 3 n_labels floats.
 *
 * Plain C: no PostgreSQL headers, so gradients are unit-tested.
 *
 * IDENTIFICATION
 *	  include/mtrs_textmodel.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_TEXTMODEL_H
#define MTRS_TEXTMODEL_H

#include <stdint.h>

/* Tokenized, labelled utterances in compressed rows */
typedef struct MtrsTextSet
{
	int			n;				/* utterances */
	const int32_t *tok_off;		/* [n + 1] into tok */
	const uint32_t *tok;		/* token buckets */
	const int32_t *lab_off;		/* [n + 1] into lab */
	const int32_t *lab;			/* label indices (ascending per utterance) */
} MtrsTextSet;

/* Parameters of the text model, laid over the model's tensors */
typedef struct MtrsTextParams
{
	int			dim;
	int			n_labels;
	int			max_pool;		/* 1: the encoding is the mean, then the max */
	float	   *emb;			/* [rows][dim]: one per vocabulary bucket */
	float	   *label_w;		/* [n_labels][dim] */
	float	   *label_b;		/* [n_labels] */
	const float *pos_weight;	/* [n_labels] weight of positive examples, NULL = 1 */
	uint32_t	char_from;		/* rows from here on are character n-grams; 0 = none */
	int			softmax;		/* 1: one softmax over the intents instead of one-vs-all */
} MtrsTextParams;

/* mtrs_textmodel.c */
extern int	MtrsTextWidth(const MtrsTextParams *p);
extern int	MtrsTextEncode(const MtrsTextParams *p, const uint32_t *tok, int n, float *h,
						   int *argmax);
extern int	MtrsTextEncodeWeighted(const MtrsTextParams *p, const uint32_t *tok, int n,
								   const float *row_weight, float *h);
extern void MtrsTextScores(const MtrsTextParams *p, const float *h, float *z);
extern int	MtrsTextProjectedStride(int n_labels);
extern void MtrsTextProject(const MtrsTextParams *p, int rows, int stride, float *proj);
extern void MtrsTextScoresProjected(const MtrsTextParams *p, const float *proj, int stride,
									const uint32_t *tok, int n, float *z);
extern void MtrsTextContributions(const MtrsTextParams *p, const uint32_t *tok, int n, int label,
								  float *contrib, int *argmax, float *h);
extern void MtrsTextProbs(const MtrsTextParams *p, const float *z, float *prob);
extern double MtrsTextLoss(const MtrsTextParams *p, const MtrsTextSet *s, int i, float *scratch);
extern double MtrsTextStep(const MtrsTextParams *p, const MtrsTextSet *s, int i, float lr,
						   float *scratch);
extern double MtrsTextRegressLoss(const MtrsTextParams *p, const uint32_t *tok, int n,
								  const float *target, float *scratch);
extern double MtrsTextRegressStep(const MtrsTextParams *p, const uint32_t *tok, int n,
								  const float *target, float lr, float *scratch);

#endif							/* MTRS_TEXTMODEL_H */
