/*-------------------------------------------------------------------------
 *
 * mtrs_text.h
 *	  Hashing for mtrs: FNV-1a for text tokens and n-grams, the tokenizer,
 *	  vocabularies of hashed features, and the checksum of the model format.
 *
 * Plain C: no PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  include/mtrs_text.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_TEXT_H
#define MTRS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Which features MtrsTokenize extracts */
typedef struct MtrsTokenizer
{
	uint32_t	n_buckets;		/* hash buckets (> 0) */
	int			word_ngrams;	/* 1 = words only, n = also runs of up to n adjacent words */
	int			char_min;		/* character n-grams of each word, with boundary marks; */
	int			char_max;		/* 0 = none */
	int			punctuation;	/* 1 = each punctuation mark is a word, 0 = a separator */
	int			text_marks;		/* 1 = word runs include the start and the end of the text */
	int			ngrams_by_script;	/* 1 = a text written mostly without spaces gets no
									 * character n-grams */
	int			case_folding;	/* rules: 0 = mtrs 0.1.0's, 1 = also the rest of Latin,
								 * Greek with tonos and final sigma, more Cyrillic */
} MtrsTokenizer;

#define MTRS_CASE_FOLDING		1	/* the rules new models are trained with */

#define MTRS_MAX_TOKEN_CHARS	64	/* longer words are cut (their n-grams too) */
#define MTRS_MAX_WORD_NGRAMS	4	/* longest run of words hashed as one feature */

/* Where a feature comes from (MtrsTokenizeSpans) */
#define MTRS_FEATURE_WORD		0	/* a word (or a character of a script without spaces) */
#define MTRS_FEATURE_RUN		1	/* a run of adjacent words */
#define MTRS_FEATURE_CHARS		2	/* a character n-gram of a word */
#define MTRS_SPAN_BEGIN			1	/* a run from the start of the text; an n-gram with '<' */
#define MTRS_SPAN_END			2	/* a run to the end of the text; an n-gram with '>' */

typedef struct MtrsFeatureSpan
{
	int32_t		start;			/* bytes [start, end) of the text */
	int32_t		end;
	uint8_t		kind;			/* MTRS_FEATURE_* */
	uint8_t		marks;			/* MTRS_SPAN_* */
} MtrsFeatureSpan;

/* mtrs_text.c */
extern int	MtrsTokenize(const MtrsTokenizer *tok, const char *text, size_t len,
						 uint32_t *out, int max_out);
extern int	MtrsTokenizeSpans(const MtrsTokenizer *tok, const char *text, size_t len,
							  uint32_t *out, MtrsFeatureSpan *spans, int max_out);
extern uint32_t MtrsCharBucketsFrom(const MtrsTokenizer *tok);
extern int64_t MtrsVocabLowerBound(const uint32_t *vocab, int64_t n, uint32_t bucket);
extern uint32_t MtrsCharRowsFrom(const MtrsTokenizer *tok, const uint32_t *vocab, int64_t n_vocab);
extern int64_t MtrsVocabTableSize(int64_t n_vocab);
extern void MtrsVocabTableBuild(const uint32_t *vocab, int64_t n_vocab, uint64_t *table,
								int64_t cap);
extern int	MtrsVocabMap(const uint64_t *table, int64_t cap, uint32_t *tok, int n);
extern uint32_t MtrsHashFnv1a(const void *data, size_t len);
extern uint32_t MtrsHashCombine(uint32_t h, uint32_t next);
extern uint32_t MtrsHashBucket(uint32_t h, uint32_t n_buckets);
extern uint64_t MtrsChecksum(const void *data, size_t len);

#endif							/* MTRS_TEXT_H */
