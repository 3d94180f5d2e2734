/*-------------------------------------------------------------------------
 *
 * mtrs.h
 *	  Shared declarations of the mtrs extension's PostgreSQL layers: GUCs,
 *	  the decoded model, the model cache and the registry.
 *
 * Layers (calls go only downward):
 *	  mtrs_api.c, mtrs_agg.c, mtrs_serve.c, mtrs_explain.c, mtrs_intent.c,
 *	  mtrs_vectors.c			SQL-callable functions (fmgr glue)
 *	  mtrs_cache.c, mtrs_train.c	registry lookups and cache; training driver
 *	  mtrs_parallel.c			training threads
 *	  mtrs_model.c				decoding untrusted bytes into an MtrsModel
 *	  mtrs_nn.c, mtrs_text.c, mtrs_format.c	kernels, no PostgreSQL headers
 *
 * IDENTIFICATION
 *	  include/mtrs.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_H
#define MTRS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/palloc.h"

#include "mtrs_format.h"

#define MTRS_REGISTRY_TABLE "mtrs_model"

/*
 * A decoded model: one aligned copy of the validated bytes, with a view
 * over it.  Lives in its own memory context (the cache owns it).
 */
typedef struct MtrsModel
{
	MemoryContext context;		/* holds this struct and the bytes */
	MtrsModelView v;			/* points into bytes */
	char	   *bytes;			/* MAXALIGNed copy of the model, or its shared file mapped */
	Size		size;
	bool		shared;			/* bytes map a shared model file (mtrs_modelfile.c) */
	int64		registry_id;	/* mtrs_model.id, or 0 if not from the registry */
	int32		version;		/* mtrs_model.version, or 0 */
	char		name[NAMEDATALEN];
	/* derived at load time, for serving */
	float	   *item_norm;		/* [n_items] L2 norms of item embeddings */
	float	   *popularity;		/* [n_items] training pairs per item */
	float		popularity_max;	/* the largest of them */
	float	   *scores;			/* [n_items] scratch for one request */
	float	   *scratch;		/* [n_items] more scratch */
	uint64	   *vocab_table;	/* [vocab_cap] bucket -> row (MtrsVocabTableBuild), or NULL */
	int64		vocab_cap;
	uint32		char_rows_from;	/* first token row of a character n-gram (MtrsCharRowsFrom) */
	/* fold-in of fresh interactions from the model's source table (mtrs_source.c) */
	char	   *src_table;		/* qualified name recorded by mtrs_train, or NULL */
	struct List *src_names;		/* src_table parsed once */
	char	   *src_user_col;
	char	   *src_item_col;
	char	   *src_time_col;
	void	   *src_recent_plan;	/* SPIPlanPtr, prepared on first use */
	void	   *src_all_plan;
	float	   *gram;			/* [dim][dim] Q^T Q (upper), computed on first use */
	float	   *intent_proj;	/* [word rows][stride] token rows projected on the intents
								 * (MtrsTextProject), computed on first use, or NULL */
	int			intent_proj_stride;	/* its row stride; -1: not worth it for this model */
} MtrsModel;

/* mtrs.c */
extern int	mtrs_blas_threads;
extern char *mtrs_default_model;
extern bool mtrs_fold_in;
extern int	mtrs_max_training_memory;
extern int	mtrs_model_files_size;

/* mtrs_model.c */
extern MtrsModel *MtrsModelDecode(const bytea *raw, MemoryContext parent);
extern MtrsModel *MtrsModelNew(MemoryContext parent, Size len);
extern void MtrsModelFinish(MtrsModel *m);
extern bool MtrsModelFinishQuietly(MtrsModel *m);
extern int	MtrsModelFindItem(const MtrsModel *m, int64 item_id);
extern int	MtrsModelFindUser(const MtrsModel *m, int64 user_id);
extern int	MtrsModelFindTask(const MtrsModel *m, const char *task);
extern int	MtrsModelTaskArg(const MtrsModel *m, const char *task);

/* mtrs_source.c */
struct MtrsUser;
extern void MtrsSourceSet(MtrsModel *m, Datum source_jsonb);
extern void MtrsSourceRelease(MtrsModel *m);
extern bool MtrsSourceFoldIn(MtrsModel *m, int64 user_id, struct MtrsUser *user,
							 int **seen, int *n_seen);
extern bool MtrsSourceFreshUsers(MtrsModel *m, const int64 *ids, int n, int64 **fresh,
								 int *n_fresh);
extern bool MtrsSourceIsFresh(const int64 *fresh, int n_fresh, int64 user_id);
extern void MtrsFoldInItems(MtrsModel *m, const int *items, const double *ts, int n,
							float *out);
extern int	MtrsFoldInExplain(MtrsModel *m, const int *items, const double *ts, int n,
							  const float *query, int **rows, float **contrib);
extern bool MtrsSourceUserRows(MtrsModel *m, int64 user_id, int **items, double **ts, int *n);

/* mtrs_serve.c */
extern char *MtrsOptTextArg(FunctionCallInfo fcinfo, int i);
extern int	MtrsKArg(FunctionCallInfo fcinfo, int i);
extern int64 *MtrsIdsArg(FunctionCallInfo fcinfo, const char *arg, int64 *all, int n_all,
						 int *n);
extern int	MtrsHistoryArg(FunctionCallInfo fcinfo, int arg, const MtrsModel *m, int **items,
						   double **ts);

/* mtrs_textfit.c */
extern char *mtrs_last_text_fit;

/* mtrs_intent.c */
#define MTRS_MAX_TEXT_TOKENS 4096	/* features kept per text */
struct MtrsTokenizer;
struct MtrsTextParams;
extern struct MtrsTokenizer MtrsTokenizerMake(uint32 n_buckets, int word_ngrams, int char_min,
											  int char_max, int punctuation, int text_marks,
											  int ngrams_by_script, int case_folding);
extern struct MtrsTokenizer MtrsModelTokenizer(const MtrsModel *m);
extern int	MtrsTokenizeText(const struct MtrsTokenizer *t, text *txt, uint32 *out);
extern struct MtrsTextParams MtrsModelTextParams(const MtrsModel *m);
extern int	MtrsModelTextRows(const MtrsModel *m, text *txt, uint32 *out, int *n_features);
extern void MtrsCheckIntentHead(const MtrsModel *m);
extern void MtrsCheckTextEncoder(const MtrsModel *m);
extern ArrayType *MtrsContextArg(FunctionCallInfo fcinfo, int i);
extern float MtrsContextDecayArg(FunctionCallInfo fcinfo, int i);
extern bool MtrsEncodeText(const MtrsModel *m, text *txt, bool item_space, float *out);
extern bool MtrsEncodeTurns(const MtrsModel *m, bool item_space, bool has_latest,
							const float *latest, ArrayType *context, float decay, float *out);

/* mtrs_modelfile.c */
extern MtrsModel *MtrsModelFileOpen(MemoryContext parent, int64 id, uint64 checksum, Size len);
extern void MtrsModelFileWrite(const MtrsModel *m, int64 id);

/* mtrs_cache.c */
extern MtrsModel *MtrsCacheGetModel(FunctionCallInfo fcinfo, const char *name);
extern MtrsModel *MtrsCacheFindModel(FunctionCallInfo fcinfo, const char *name);
extern bool MtrsRegistrySizes(Oid schema, const char *name, double *n_users, double *n_items);
extern void MtrsCacheUserSqlBegin(void);
extern void MtrsCacheUserSqlEnd(void);
extern Oid	MtrsExtensionSchema(FunctionCallInfo fcinfo);
extern void MtrsCacheStats(int64 *loads, int64 *hits, int64 *entries, int64 *shared_loads,
						   int64 *shared_bytes, int64 *private_bytes);

#endif							/* MTRS_H */
