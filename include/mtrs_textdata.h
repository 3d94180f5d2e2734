/*-------------------------------------------------------------------------
 *
 * mtrs_textdata.h
 *	  Labelled utterances and item texts gathered from SQL arrays and
 *	  tokenized, ready for training the text part of a model.
 *
 * IDENTIFICATION
 *	  include/mtrs_textdata.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_TEXTDATA_H
#define MTRS_TEXTDATA_H

#include "utils/array.h"

#include "mtrs.h"
#include "mtrs_text.h"

/* Labelled utterances, tokenized */
typedef struct Corpus
{
	int			n;
	int32	   *tok_off;		/* [n + 1] */
	uint32	   *tok;
	int32	   *lab_off;		/* [n + 1] */
	int32	   *lab;
	int			n_labels;
	char	  **labels;			/* [n_labels], ascending (strcmp) */
} Corpus;

/* Item texts, tokenized, and the catalog they extend */
typedef struct Items
{
	int			n;				/* items with text */
	int64	   *ids;			/* [n], ascending */
	int32	   *tok_off;		/* [n + 1] */
	uint32	   *tok;
	int			n_all;			/* model items plus items known only by text */
	int64	   *all_ids;		/* [n_all], ascending */
	int32	   *old_to_new;		/* [old n_items]: index in all_ids */
	int32	   *text_item;		/* [n]: index in all_ids */
	bool	   *warm;			/* [n]: the item has a trained embedding */
} Items;

/* mtrs_textdata.c */
extern void MtrsBuildCorpus(ArrayType *texts, ArrayType *labels, const MtrsTokenizer *t,
							const Corpus *known, Corpus *c);
extern void MtrsBuildItems(ArrayType *ids, ArrayType *texts, const MtrsTokenizer *t,
						   const MtrsModel *m, Items *it);
extern bool MtrsCorpusHasOutOfScope(const Corpus *c);
extern bool MtrsCorpusSingleLabel(const Corpus *c);

#endif							/* MTRS_TEXTDATA_H */
