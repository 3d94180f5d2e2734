/*-------------------------------------------------------------------------
 *
 * mtrs_format.h
 *	  The binary model format of mtrs: one self-describing blob that holds
 *	  a model's shapes, its id maps, its names and its parameters.
 *
 * This header and mtrs_format.c use only the C library: no PostgreSQL
 * headers, so the format can be unit-tested (and fuzzed) without a server.
 * Readers treat every byte as untrusted and report problems as a status
 * code plus a detail sentence; the SQL layer turns those into errors.
 *
 * Layout (all integers and floats in host byte order, little-endian on the
 * platforms we build for; every section starts on an 8-byte boundary):
 *
 *	MtrsHeader        128 bytes: magic, format version, kind, all shapes
 *	int64 user_ids[n_users]      sorted ascending, no duplicates
 *	int64 item_ids[n_items]      sorted ascending, no duplicates
 *	int64 hist_ptr[n_users + 1]  items of user u: hist_items[hist_ptr[u] ..
 *	                             hist_ptr[u + 1]) (only with INTERACTIONS)
 *	int32 hist_items[n_history]  item indices, ascending within each user
 *	int32 str_off[n_strings]     offsets into str_data, n_strings =
 *	                             n_tasks + n_labels (task names, then labels)
 *	char  str_data[strings_len]  NUL-terminated, non-empty UTF-8 names
 *	(padding to 8)
 *	uint32 vocab[n_vocab]        with MTRS_FLAG_VOCAB: the text buckets that
 *	                             have an embedding row (row r is bucket
 *	                             vocab[r]), strictly ascending, < n_buckets
 *	(padding to 8)
 *	float params[n_params]       tensors in MTRS_TENSORS order
 *	(padding to 8)
 *	uint64 checksum              MtrsChecksum() of every byte before it
 *
 * MtrsFormatSize() is the one function that computes the exact size; the
 * writer and the reader both use it.  Append new tensors at the end of
 * MTRS_TENSORS and bump MTRS_FORMAT_VERSION whenever the layout changes;
 * begin_model() in mtrs_textfit.c copies (and remaps item-indexed) tensors
 * one by one and must learn every new one.
 *
 * IDENTIFICATION
 *	  include/mtrs_format.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_FORMAT_H
#define MTRS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define MTRS_MAGIC			0x5352544Du	/* "MTRS" as little-endian bytes */
#define MTRS_MAGIC_SWAPPED	0x4D545253u	/* the same, written on the other byte order */
#define MTRS_FORMAT_VERSION	3	/* 3: MTRS_FLAG_ITEM_WEIGHTS; 2: MTRS_FLAG_VOCAB; 1, 2 read too */

/* Bits of MtrsHeader.flags */
#define MTRS_FLAG_VOCAB		0x0001	/* word_emb holds only the rows of vocab[] (version >= 2) */
#define MTRS_FLAG_ITEM_WEIGHTS 0x0002	/* word_item_w weighs each vocabulary row in the item
										 * space (version >= 3, needs MTRS_FLAG_VOCAB) */
#define MTRS_FLAGS_ALL		0x0003

/* Components a model carries (bits of MtrsHeader.kind) */
#define MTRS_KIND_INTERACTIONS	0x0001	/* users, items, ranking and event heads */
#define MTRS_KIND_TEXT			0x0002	/* hashed token embeddings */
#define MTRS_KIND_INTENT		0x0004	/* intent labels (needs TEXT) */
#define MTRS_KIND_ALL			0x0007

/* Limits checked by the reader and the writer */
#define MTRS_MAX_DIM		1024
#define MTRS_MAX_USERS		(1 << 27)
#define MTRS_MAX_ITEMS		(1 << 25)
#define MTRS_MAX_TASKS		64
#define MTRS_MAX_LABELS		4096
#define MTRS_MAX_BUCKETS	(1 << 24)
#define MTRS_MAX_STRINGS_LEN (1 << 20)
#define MTRS_MAX_HISTORY	((int64_t) 1 << 28)
#define MTRS_MAX_NAME_LEN	63
#define MTRS_MAX_ALPHA		1e6f	/* settings: confidence weight */
#define MTRS_MAX_REG		1e6f	/* regularization of fold-in */
#define MTRS_MAX_HALF_LIFE	1e6f	/* recency half-life, days */
#define MTRS_MAX_DAYS		1e8		/* newest training time, days from 2000-01-01 either way
									 * (as microseconds it fits an int64) */
#define MTRS_MAX_MODEL_SIZE	((size_t) 0x3FFFFFFF - 64)	/* fits a bytea */

/* The fixed header.  Reserved fields are zero. */
typedef struct MtrsHeader
{
	uint32_t	magic;			/* MTRS_MAGIC */
	uint16_t	version;		/* MTRS_FORMAT_VERSION: older accepted, newer refused */
	uint16_t	kind;			/* MTRS_KIND_* bits */
	uint32_t	flags;			/* MTRS_FLAG_* bits; zero in version 1 */
	int32_t		dim;			/* embedding width shared by every component */
	int32_t		text_width;		/* width of the utterance encoding: dim or 2 dim; 0 = no text */
	int32_t		n_users;
	int32_t		n_items;
	int32_t		n_tasks;		/* task heads over interactions */
	int32_t		n_labels;		/* intent labels */
	int32_t		n_buckets;		/* hashed text buckets (the hash space) */
	int32_t		strings_len;	/* bytes of str_data */
	int32_t		head_dim;		/* width of each head's private factors, 0 = none */
	int64_t		n_params;		/* floats in the parameter block */
	int64_t		n_history;		/* (user, item) pairs seen in training */
	int64_t		n_vocab;		/* rows of word_emb with MTRS_FLAG_VOCAB, else 0 */
	int64_t		reserved[7];
} MtrsHeader;

/* Scalars a model keeps for serving (indices into the settings tensor) */
#define MTRS_SET_ALPHA			0	/* confidence weight of an interaction */
#define MTRS_SET_REG			1	/* L2 regularization of user vectors */
#define MTRS_SET_HALF_LIFE		2	/* recency half-life in days, 0 = off */
#define MTRS_SET_RATING_MIN		3
#define MTRS_SET_RATING_MAX		4
#define MTRS_SET_LAST_TS		5	/* newest training interaction, days since 2000-01-01 */
#define MTRS_SET_LAST_TS_LO		6	/* what float rounding left out of LAST_TS */
#define MTRS_SET_INTENT_THRESHOLD 7	/* default probability cut of mtrs_intent */
#define MTRS_SET_WORD_NGRAMS	8	/* tokenizer: 1 words, 2 also word pairs */
#define MTRS_SET_CHAR_MIN		9	/* tokenizer: character n-gram range, 0 = none */
#define MTRS_SET_CHAR_MAX		10
#define MTRS_SET_INTENT_TOP1	11	/* 1: an utterance always gets its best intent */
#define MTRS_SET_PUNCTUATION	12	/* tokenizer: 1 = punctuation marks are words */
#define MTRS_SET_INTENT_SOFTMAX	13	/* 1: one softmax over the intents, 0: one-vs-all */
#define MTRS_SET_INTENT_ONE		14	/* 1: the default rule gives at most one intent */
#define MTRS_SET_TEXT_MARKS		15	/* tokenizer: 1 = word runs include text start and end */
#define MTRS_SET_NGRAMS_BY_SCRIPT 16	/* tokenizer: 1 = no character n-grams in a text written
										 * mostly without spaces (format 3 on) */
#define MTRS_SET_CASE_FOLDING	17	/* tokenizer: case folding rules, 0 = mtrs 0.1.0's, 1 = since 0.2.0 */
#define MTRS_N_SETTINGS			32	/* format 3 on (room to grow); formats 1 and 2 have 16 */
#define MTRS_N_SETTINGS_V2		16

/*
 * The parameter tensors, in storage order: X(name, rows, cols).
 * Shapes are [rows][cols], row-major.  Append only.
 */
#define MTRS_TENSORS(X, h) \
	X(user_emb,  (int64_t) (h)->n_users,   (h)->dim)	/* sparse rows */ \
	X(item_emb,  (int64_t) (h)->n_items,   (h)->dim)	/* sparse rows */ \
	X(item_bias, (int64_t) (h)->n_tasks,   (h)->n_items)	/* per task */ \
	X(user_bias, (int64_t) (h)->n_tasks,   (h)->n_users)	/* per task */ \
	X(task_w,    (int64_t) (h)->n_tasks,   (h)->dim)	/* head scaling */ \
	X(task_b,    (int64_t) 1,              (h)->n_tasks) \
	X(word_emb,  MtrsWordRows(h),          (h)->dim)	/* bucket or vocab rows */ \
	X(label_w,   (int64_t) (h)->n_labels,  (h)->text_width) \
	X(label_b,   (int64_t) 1,              (h)->n_labels) \
	X(settings,  (int64_t) 1,              MtrsSettingsCount(h))	/* MTRS_SET_* */ \
	X(task_parent, (int64_t) 1,            (h)->n_tasks)	/* conditioning task, -1 = none */ \
	X(head_user, (int64_t) (h)->n_tasks * (h)->n_users, (h)->head_dim)	/* private, per task */ \
	X(head_item, (int64_t) (h)->n_tasks * (h)->n_items, (h)->head_dim)	/* private, per task */ \
	X(word_item_w, MtrsItemWeightRows(h), 1)	/* weight of a token row in the item space */

/* Floats of the settings tensor: 16 before format 3 */
static inline int
MtrsSettingsCount(const MtrsHeader *h)
{
	return h->version >= 3 ? MTRS_N_SETTINGS : MTRS_N_SETTINGS_V2;
}

/* Rows of word_item_w: one per vocabulary row with MTRS_FLAG_ITEM_WEIGHTS, else none */
static inline int64_t
MtrsItemWeightRows(const MtrsHeader *h)
{
	return (h->flags & MTRS_FLAG_ITEM_WEIGHTS) ? h->n_vocab : 0;
}

/* Rows of word_emb: one per vocabulary bucket, or (no vocabulary) per bucket */
static inline int64_t
MtrsWordRows(const MtrsHeader *h)
{
	return (h->flags & MTRS_FLAG_VOCAB) ? h->n_vocab : (int64_t) h->n_buckets;
}

/* Pointers to every tensor inside a parameter block */
typedef struct MtrsTensors
{
#define MTRS_TENSOR_FIELD(name, rows, cols) float *name;
	MTRS_TENSORS(MTRS_TENSOR_FIELD, (MtrsHeader *) 0)
#undef MTRS_TENSOR_FIELD
} MtrsTensors;

/*
 * A model laid over one buffer in the format above.  Every pointer points
 * into that buffer; nothing is allocated separately.
 */
typedef struct MtrsModelView
{
	MtrsHeader *hdr;
	int64_t    *user_ids;
	int64_t    *item_ids;
	int64_t    *hist_ptr;
	int32_t    *hist_items;
	int32_t    *str_off;
	char	   *str_data;
	uint32_t   *vocab;			/* [n_vocab], NULL without MTRS_FLAG_VOCAB */
	float	   *params;
	MtrsTensors t;
	uint64_t   *checksum;
} MtrsModelView;

/* What a reader found wrong (MTRS_FMT_OK when nothing) */
typedef enum MtrsFormatStatus
{
	MTRS_FMT_OK = 0,
	MTRS_FMT_TOO_SHORT,			/* shorter than the header */
	MTRS_FMT_BAD_MAGIC,			/* not an mtrs model at all */
	MTRS_FMT_BYTE_ORDER,		/* written on a machine of the other byte order */
	MTRS_FMT_NEWER_VERSION,		/* written by a newer mtrs */
	MTRS_FMT_BAD_HEADER,		/* shapes out of range or inconsistent */
	MTRS_FMT_TRUNCATED,			/* fewer bytes than the header promises */
	MTRS_FMT_TRAILING,			/* more bytes than the header promises */
	MTRS_FMT_CHECKSUM,			/* content changed after writing */
	MTRS_FMT_BAD_CONTENT		/* checksum fine but content invalid */
} MtrsFormatStatus;

/* mtrs_format.c */
extern int	MtrsHeaderInit(MtrsHeader *hdr, int kind, int dim, int text_width, int head_dim,
						   int n_users, int n_items, int64_t n_history, int n_tasks,
						   int n_labels, int n_buckets, int64_t n_vocab, int item_weights,
						   int strings_len);
extern size_t MtrsFormatSize(const MtrsHeader *hdr);
extern void MtrsFormatLayout(MtrsModelView *view, void *buf);
extern void MtrsFormatSeal(MtrsModelView *view);
extern MtrsFormatStatus MtrsFormatCheck(MtrsModelView *view, void *buf, size_t len,
										char *detail, size_t detail_len);
extern const char *MtrsModelString(const MtrsModelView *view, int i);
extern float MtrsSetting(const MtrsModelView *view, int k);

#endif							/* MTRS_FORMAT_H */
