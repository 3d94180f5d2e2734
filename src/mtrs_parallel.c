/*-------------------------------------------------------------------------
 *
 * mtrs_parallel.c
 *	  Run the independent tasks of a training step on several threads of
 *	  the backend (mtrs.training_threads, default 1).
 *
 * The backend's own thread takes part and is the only one that deals with
 * PostgreSQL: helper threads start with every signal blocked (so signal
 * handlers keep running in the backend's thread), never touch memory
 * contexts or error handling, and are joined before MtrsParallelTasks
 * returns or raises anything.  Tasks are claimed one at a time from a
 * shared counter.  Every thread stops claiming once an interrupt is
 * pending (and could be processed: not while interrupts are held off);
 * after the join the backend processes it (a cancel raises its error with
 * no thread left running) and, if that returns, the remaining tasks are
 * run.  If a thread cannot be started the others do its share.
 *
 * IDENTIFICATION
 *	  src/mtrs_parallel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>

#include "access/parallel.h"
#include "miscadmin.h"

#include "mtrs_parallel.h"

int			mtrs_training_threads = 1;

/* What the threads of one MtrsParallelTasks call share */
typedef struct Team
{
	MtrsTaskFn	fn;
	void	   *arg;
	int64		n_tasks;
	int64		next;			/* next task to claim (atomic) */
	bool		stop;			/* an interrupt is pending (atomic) */
	bool		interruptible;	/* ProcessInterrupts would clear it */
} Team;

typedef struct Member
{
	Team	   *team;
	int			thread;
} Member;

/* Return the number of threads training may use in this process */
int
MtrsTrainingThreads(void)
{
	return IsParallelWorker() ? 1 : mtrs_training_threads;
}

/* Claim and run tasks until none is left or an interrupt is pending */
static void
run_tasks(Team *t, int thread)
{
	for (;;)
	{
		int64		task;

		if (__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
			return;
		if (t->interruptible && InterruptPending)
		{
			__atomic_store_n(&t->stop, true, __ATOMIC_RELAXED);
			return;
		}
		task = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
		if (task >= t->n_tasks)
			return;
		t->fn(t->arg, task, thread);
	}
}

static void *
member_main(void *arg)
{
	Member	   *m = arg;

	run_tasks(m->team, m->thread);
	return NULL;
}

/*
 * Run fn(arg, task, thread) for every task in 0 .. n_tasks - 1, on up to
 * n_threads threads (thread < n_threads).  Responds to interrupts between
 * tasks.
 */
void
MtrsParallelTasks(int n_threads, int64 n_tasks, MtrsTaskFn fn, void *arg)
{
	Team		team = {fn, arg, n_tasks, 0, false, INTERRUPTS_CAN_BE_PROCESSED()};
	pthread_t	threads[MTRS_MAX_THREADS];
	Member		members[MTRS_MAX_THREADS];

	n_threads = (int) Min(Min(n_threads, MTRS_MAX_THREADS), Max(n_tasks, 1));
	if (n_threads <= 1)
	{
		for (int64 task = 0; task < n_tasks; task++)
		{
			CHECK_FOR_INTERRUPTS();
			fn(arg, task, 0);
		}
		return;
	}
	while (team.next < n_tasks)
	{
		sigset_t	all,
					old;
		int			started = 0;

		team.stop = false;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		for (int i = 1; i < n_threads; i++)
		{
			members[started].team = &team;
			members[started].thread = i;
			if (pthread_create(&threads[started], NULL, member_main, &members[started]) != 0)
				break;
			started++;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		run_tasks(&team, 0);
		for (int i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
		/* every claimed task is done; overshooting claims did nothing */
		team.next = Min(team.next, n_tasks);
		CHECK_FOR_INTERRUPTS();
	}
}
