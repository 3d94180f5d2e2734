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

/* Resolved training options */
typedef struct MtrsFitOptions
{
	int			dim;
	int			iterations;
	double		reg;
	double		alpha;
	double		half_life_days;
	double		rating_reg;
	int64		seed;
	bool		verbose;		/* per-iteration NOTICE instead of DEBUG1 */
} MtrsFitOptions;

/* mtrs_train.c */
extern MtrsFitData *MtrsFitDataCreate(MemoryContext context);
extern void MtrsFitDataAdd(MtrsFitData *d, int64 user, int64 item, const char *event,
						   double ts, float rating);
extern void MtrsFitDataMerge(MtrsFitData *into, const MtrsFitData *from);
extern bytea *MtrsFitDataSerialize(const MtrsFitData *d);
extern MtrsFitData *MtrsFitDataDeserialize(const bytea *raw, MemoryContext context);
extern void MtrsFitOptionsParse(MtrsFitOptions *o, const char *json);
extern char *MtrsFitOptionsToJson(const MtrsFitOptions *o);
extern bytea *MtrsTrain(MtrsFitData *d, const MtrsFitOptions *o, StringInfo log);

#endif							/* MTRS_TRAIN_H */
