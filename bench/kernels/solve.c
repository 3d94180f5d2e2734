/*
 * bench/kernels/solve.c -- time the least-squares kernels training runs once per user and item
 * (NnCholeskySolve, 64 x 64) and once per pair and head (NnDot3, 64 wide), against the
 * plain forms they replaced (test/unit/reference_kernels.h).  Built and run by
 * bench/kernels/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "mtrs_nn.h"
#include "reference_kernels.h"

#define D		64
#define SOLVES	20000
#define DOTS	1000000

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Nanoseconds per three-way dot product */
static double
time_dots(float (*dot) (const float *, const float *, const float *, int), float *check);

static float x[300 * D];
static float rows[20000 * D];

/*
 * The matrices are allocated apart (as the trainer pallocs them): two static
 * arrays 32 kB apart made the copy and the solve trip over each other
 * (4 kB aliasing) and timed the solve 30 % slower
 */
static double *a0,
		   *a,
		   *b;

/* Microseconds per solve with the given solver */
static double
time_solves(int (*solve) (double *, double *, int), double *check)
{
	double		t = now();

	*check = 0.0;
	for (int r = 0; r < SOLVES; r++)
	{
		memcpy(a, a0, sizeof(double) * D * D);
		for (int i = 0; i < D; i++)
			b[i] = i;
		solve(a, b, D);
		*check += b[r % D];
	}
	return (now() - t) / SOLVES * 1e6;
}

int
main(void)
{
	float		gram[D * D] = {0};
	uint64_t	rng = 1;
	double		c1,
				c2;
	float		s;

	a0 = aligned_alloc(64, sizeof(double) * D * D);
	a = aligned_alloc(64, sizeof(double) * D * D + 4096);
	b = aligned_alloc(64, sizeof(double) * D);
	for (int i = 0; i < 300 * D; i++)
		x[i] = NnRandUniform(&rng) - 0.5f;
	for (int i = 0; i < 20000 * D; i++)
		rows[i] = NnRandUniform(&rng) - 0.5f;
	NnGramAccumulate(gram, x, 300, D, 1.0f);
	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			a0[i * D + j] = gram[(i < j ? i : j) * D + (i < j ? j : i)] + (i == j ? 20.0 : 0.0);

	printf("textbook_solve_us %.2f\n", time_solves(reference_cholesky_solve, &c1));
	printf("NnCholeskySolve_us %.2f\n", time_solves(NnCholeskySolve, &c2));
	printf("same_solution %s\n", c1 == c2 ? "yes" : "no");
	printf("sequential_dot3_ns %.1f\n", time_dots(reference_dot3, &s));
	printf("NnDot3_ns %.1f\n", time_dots(NnDot3, &s));
	return 0;
}

static double
time_dots(float (*dot) (const float *, const float *, const float *, int), float *check)
{
	double		t = now();

	*check = 0.0f;
	for (int r = 0; r < DOTS; r++)
		*check += dot(rows + (int64_t) (r % 20000) * D, x, rows + (int64_t) ((r * 7) % 20000) * D, D);
	return (now() - t) / DOTS * 1e9;
}
