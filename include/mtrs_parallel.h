/*-------------------------------------------------------------------------
 *
 * mtrs_parallel.h
 *	  Training threads: run independent tasks of a training step on up to
 *	  mtrs.training_threads threads of the backend.
 *
 * A task function runs outside PostgreSQL's control: it must not palloc,
 * ereport, CHECK_FOR_INTERRUPTS or call anything that might.  It gets the
 * index of the thread running it (0 .. n_threads - 1) to pick scratch
 * memory allocated beforehand.  Results must not depend on which
 * thread ran a task, so a sum over many tasks is done per fixed block
 * (MTRS_REDUCE_BLOCKS of them, or fewer for large per-block sums, but never
 * depending on the number of threads) and the blocks are added in order
 * afterwards: every thread count gives the same bits.
 *
 * IDENTIFICATION
 *	  include/mtrs_parallel.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_PARALLEL_H
#define MTRS_PARALLEL_H

#define MTRS_MAX_THREADS	64
#define MTRS_REDUCE_BLOCKS	32

typedef void (*MtrsTaskFn) (void *arg, int64 task, int thread);

extern int	mtrs_training_threads;

extern int	MtrsTrainingThreads(void);
extern void MtrsParallelTasks(int n_threads, int64 n_tasks, MtrsTaskFn fn, void *arg);

/* The first element of block b when n elements are cut into n_blocks blocks */
static inline int64
MtrsBlockStart(int64 n, int64 b, int n_blocks)
{
	return (int64) ((__int128) n * b / n_blocks);
}

#endif							/* MTRS_PARALLEL_H */
