/*
 * test/unit/reference_kernels.h -- the plain forms of two training kernels,
 * kept as references: the unit tests check that the fast kernels in
 * src/mtrs_nn.c compute what these compute, and bench/kernels/solve.c times
 * both.  Header-only (static functions), no PostgreSQL headers.
 */
#ifndef MTRS_REFERENCE_KERNELS_H
#define MTRS_REFERENCE_KERNELS_H

#include <math.h>

/*
 * Solve a x = b by the textbook (dot-product, up-looking) Cholesky, whose
 * inner loops run down columns; same contract as NnCholeskySolve
 */
static inline int
reference_cholesky_solve(double *a, double *b, int dim)
{
	for (int j = 0; j < dim; j++)
	{
		double		s = a[j * dim + j];

		for (int k = 0; k < j; k++)
			s -= a[k * dim + j] * a[k * dim + j];
		if (!(s > 0.0))
			return -1;
		a[j * dim + j] = sqrt(s);
		for (int i = j + 1; i < dim; i++)
		{
			double		t = a[j * dim + i];

			for (int k = 0; k < j; k++)
				t -= a[k * dim + j] * a[k * dim + i];
			a[j * dim + i] = t / a[j * dim + j];
		}
	}
	for (int i = 0; i < dim; i++)
	{
		double		t = b[i];

		for (int k = 0; k < i; k++)
			t -= a[k * dim + i] * b[k];
		b[i] = t / a[i * dim + i];
	}
	for (int i = dim - 1; i >= 0; i--)
	{
		double		t = b[i];

		for (int k = i + 1; k < dim; k++)
			t -= a[i * dim + k] * b[k];
		b[i] = t / a[i * dim + i];
	}
	return 0;
}

/* Return sum p[i] q[i] r[i] over [n] in one chain of additions */
static inline float
reference_dot3(const float *p, const float *q, const float *r, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += p[i] * q[i] * r[i];
	return s;
}

#endif							/* MTRS_REFERENCE_KERNELS_H */
