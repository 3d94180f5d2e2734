/*-------------------------------------------------------------------------
 *
 * mtrs_train.h
 *	  Training data collected from interaction rows, training options, and
 *	  the training driver.
 *
 * IDENTIFICATION
 *	  include/mtrs_train.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_TRAIN_H
#define MTRS_TRAIN_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "mtrs.h"

/* Task names that are not event names */
#define MTRS_TASK_RANKING	"ranking"
#define MTRS_TASK_RATING	"rating"

/* Distinct event names one model can hold (the other two tasks are ranking and rating) */
#define MTRS_MAX_EVENTS		(MTRS_MAX_TASKS - 2)

/* One interaction row */
typedef struct MtrsFitRow
{
	int64		user;
	int64		item;
	double		ts;				/* days since 2000-01-01 */
	float		rating;			/* NaN when the row has none */
	int16		event;			/* index into MtrsFitData.event_names */
	int16		pad;
} MtrsFitRow;

/* "iterations": "auto" from scratch, and starting from a trained model (option warm_start) */
#define MTRS_ITERATIONS			25
#define MTRS_WARM_ITERATIONS	5

/* Rows collected for training (the state of the mtrs_fit aggregate) */
typedef struct MtrsFitData
{
	int64		n;
	int64		cap;
	MtrsFitRow *rows;
	int			n_events;
	char		event_names[MTRS_MAX_EVENTS][NAMEDATALEN];
	char	   *options;		/* jsonb text given to the aggregate, or NULL */
	MemoryContext context;		/* where rows live */
} MtrsFitData;

/* How task weights are chosen */
typedef enum MtrsWeighting
{
	MTRS_WEIGHTING_UNCERTAINTY,	/* 1 / noise variance of each task, relative to ranking */
	MTRS_WEIGHTING_BALANCED,	/* equal total loss per task */
	MTRS_WEIGHTING_FIXED		/* only task_weights (default 1) */
} MtrsWeighting;

/* How heads share the user and item representations */
typedef enum MtrsSharing
{
	MTRS_SHARING_HARD,			/* heads scale the shared embeddings (head_dim 0) */
	MTRS_SHARING_SOFT			/* plus private factors, head_dim = dim by default */
} MtrsSharing;

/* Resolved training options */
/* How items known only by their text are embedded */
typedef enum MtrsColdItems
{
	MTRS_COLD_CENTROID,			/* mean of their text features' item centroids */
	MTRS_COLD_ENCODER			/* their text's encoding */
} MtrsColdItems;

/* Loss of the intent head */
typedef enum MtrsIntentLoss
{
	MTRS_INTENT_LOSS_AUTO,		/* softmax if every utterance has exactly one intent, else ova */
	MTRS_INTENT_LOSS_OVA,		/* one sigmoid per intent: several intents or none */
	MTRS_INTENT_LOSS_SOFTMAX	/* one softmax over the intents: exactly one */
} MtrsIntentLoss;

typedef struct MtrsFitOptions
{
	int			dim;
	bool		iterations_auto;	/* MTRS_ITERATIONS, or MTRS_WARM_ITERATIONS with a warm start */
	int			iterations;
	bool		reg_auto;		/* reg chosen from the data when training starts */
	double		reg;			/* L2 of the shared embeddings (the value used, once trained) */
	double		interaction_norm;	/* with reg_auto: largest singular value of the
									 * confidences, as far as it was needed */
	double		alpha;
	double		half_life_days;
	double		bias_reg;
	double		head_reg;
	int			head_dim;		/* width of each head's private factors */
	double		head_factor_reg;
	MtrsSharing sharing;
	/* text encoder and intent head */
	bool		text_epochs_auto;	/* epochs chosen from the number of texts */
	int			text_epochs;
	double		text_lr;
	int			buckets;
	int			word_ngrams;
	int			char_min;
	int			char_max;
	int			punctuation;
	int			text_marks;		/* word runs include the start and end of the text */
	int			ngrams_by_script;	/* no character n-grams in texts mostly without spaces */
	int			max_pool;
	MtrsIntentLoss intent_loss;
	MtrsColdItems cold_items;
	int			per_intent_thresholds;	/* tune per-intent offsets on multi-intent data */
	double		balance;
	double		validation_fraction;
	int64		seed;
	MtrsWeighting weighting;
	int			n_weights;		/* user-set task weights */
	char		weight_task[MTRS_MAX_TASKS][NAMEDATALEN];
	double		weight_value[MTRS_MAX_TASKS];
	bool		progress;		/* per-iteration NOTICE instead of DEBUG1 */
	char		warm_start[NAMEDATALEN];	/* model whose active version starts the run, or "" */
} MtrsFitOptions;

/* What a warm start found in common with the model it started from */
typedef struct MtrsWarmStart
{
	int			users;
	int			items;
	int			tasks;
} MtrsWarmStart;

/* mtrs_fitdata.c, mtrs_train.c */
extern MtrsFitData *MtrsFitDataCreate(MemoryContext context);
extern void MtrsFitDataAdd(MtrsFitData *d, int64 user, int64 item, const char *event,
						   double ts, float rating);
extern void MtrsFitDataMerge(MtrsFitData *into, const MtrsFitData *from);
extern void MtrsFitDataSetOptions(MtrsFitData *d, const char *options);
extern Size MtrsFitDataFlatSize(const MtrsFitData *d);
extern void MtrsFitDataFlatten(const MtrsFitData *d, bytea *out, Size size);
extern void MtrsFitDataAppendFlat(MtrsFitData *into, const char *p, Size len);
extern void MtrsFitOptionsParse(MtrsFitOptions *o, const char *json);
extern char *MtrsFitOptionsToJson(const MtrsFitOptions *o);
extern bytea *MtrsTrain(MtrsFitData *d, MtrsFitOptions *o, const MtrsModel *init,
					   StringInfo log, double *memory, MtrsWarmStart *warm);
extern void MtrsCheckTrainingMemory(double bytes, const char *what, bool known,
									const char *fewer);
extern void MtrsShowActivity(const char *activity);
extern void MtrsRestoreActivity(void);

#endif							/* MTRS_TRAIN_H */
