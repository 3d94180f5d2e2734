/*-------------------------------------------------------------------------
 *
 * mtrs.c
 *	  Module entry point: PG_MODULE_MAGIC, GUCs and the OpenBLAS thread
 *	  policy (training's own threads: mtrs_parallel.c).
 *
 * mtrs never needs shared_preload_libraries.  OpenBLAS runs one thread per
 * backend by default (backends already run in parallel); more threads are
 * opt-in through mtrs.blas_threads, are always 1 inside parallel workers,
 * and are started with every signal blocked so that PostgreSQL's signal
 * handlers keep running in the backend's own thread.
 *
 * IDENTIFICATION
 *	  src/mtrs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>

#include "access/parallel.h"
#include "utils/guc.h"

#include "mtrs.h"
#include "mtrs_parallel.h"

PG_MODULE_MAGIC;

int			mtrs_blas_threads = 1;
char	   *mtrs_default_model = NULL;
bool		mtrs_fold_in = true;
int			mtrs_max_training_memory = 4 * 1024 * 1024;	/* kB */
int			mtrs_model_files_size = 2048;	/* MB */

void		_PG_init(void);

/* Set OpenBLAS's thread count with all signals blocked (new threads inherit the mask) */
static void
set_blas_threads(int n)
{
	sigset_t	all,
				old;

	if (IsParallelWorker())
		n = 1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	openblas_set_num_threads(n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Apply a new value of mtrs.blas_threads */
static void
assign_blas_threads(int newval, void *extra)
{
	set_blas_threads(newval);
}

/* Define the GUCs and apply the thread policy once per backend */
void
_PG_init(void)
{
	DefineCustomIntVariable("mtrs.blas_threads",
							"Sets the number of OpenBLAS threads a backend may use.",
							"Parallel workers always use one thread. More than one thread "
							"pays off only when cores are idle.",
							&mtrs_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, assign_blas_threads, NULL);
	DefineCustomIntVariable("mtrs.training_threads",
							"Sets the number of threads one training run may use.",
							"The least-squares steps and the task heads are split over the "
							"threads; the model is the same for every number of threads.",
							&mtrs_training_threads,
							1, 1, MTRS_MAX_THREADS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("mtrs.default_model",
							   "Sets the model used when a function is called without a model name.",
							   "Empty means: the only model with an active version.",
							   &mtrs_default_model,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("mtrs.fold_in",
							 "Folds interactions added to a model's source table since training into recommendations.",
							 "mtrs_evaluate turns it off so that held-out rows stay unseen.",
							 &mtrs_fold_in,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("mtrs.max_training_memory",
							"Sets the maximum memory one training run may allocate for its data and model.",
							"Training cannot spill to disk: a run that would need more stops with an "
							"error before it allocates the memory.",
							&mtrs_max_training_memory,
							4 * 1024 * 1024, 1024, MAX_KILOBYTES,
							PGC_USERSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("mtrs.model_files_size",
							"Sets the disk space of the model files backends share (pg_mtrs in the data directory).",
							"Backends serving the same model version map one file instead of each "
							"holding a copy; the least recently used files beyond this size are "
							"removed. 0 turns shared model files off.",
							&mtrs_model_files_size,
							2048, 0, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_MB,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("mtrs");
	set_blas_threads(mtrs_blas_threads);
}
