/*-------------------------------------------------------------------------
 *
 * test_kernels.c
 *	  Plain-C unit tests of the kernel layer (no server): gradient checks by
 *	  central finite differences, top-k against a full sort, hash values,
 *	  and the model format (round trip plus every kind of damaged input).
 *
 * Build and run: make unitcheck (also runs under valgrind).  Prints one
 * "ok"/"not ok" line per check and ends with "N passed, N failed".
 *
 * IDENTIFICATION
 *	  test/unit/test_kernels.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrs_format.h"
#include "mtrs_nn.h"
#include "mtrs_text.h"
#include "mtrs_intentrule.h"
#include "mtrs_textmodel.h"
#include "reference_kernels.h"

static int	n_passed;
static int	n_failed;

/* Record one check */
static void
check(int ok, const char *name)
{
	if (ok)
		n_passed++;
	else
		n_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", n_passed + n_failed, name);
}

/* Fill with uniform values in [-1, 1) */
static void
fill_uniform(float *x, int n, uint64_t *rng)
{
	for (int i = 0; i < n; i++)
		x[i] = 2.0f * NnRandUniform(rng) - 1.0f;
}

/* ----------------------------------------------------- gradient checks */

/*
 * The scalar objective for gradient checks: L = sum_i r[i] out[i] for a
 * fixed random r, so dL/dout = r.  Each check perturbs one input x[i] by
 * +-eps, recomputes L with the forward kernel and compares the central
 * difference with the analytic gradient; returns the worst relative error.
 */
typedef double (*ObjectiveFn) (void *ctx);

static double
worst_gradient_error(ObjectiveFn f, void *ctx, float *x, const float *grad, int n)
{
	const float eps = 1e-2f;
	double		worst = 0.0;

	for (int i = 0; i < n; i++)
	{
		float		saved = x[i];
		double		lp,
					lm,
					num,
					err;

		x[i] = saved + eps;
		lp = f(ctx);
		x[i] = saved - eps;
		lm = f(ctx);
		x[i] = saved;
		num = (lp - lm) / (2.0 * eps);
		err = fabs(num - grad[i]) / fmax(1.0, fabs(num) + fabs(grad[i]));
		if (err > worst)
			worst = err;
	}
	return worst;
}

enum
{
	B = 3, IN = 5, OUT = 4, ROWS = 6, DIM = 4
};

typedef struct LinearCtx
{
	float		in[B * IN],
				w[OUT * IN],
				b[OUT],
				r[B * OUT],
				out[B * OUT];
	int			relu;
} LinearCtx;

/* Objective of a dense layer, optionally followed by ReLU */
static double
linear_objective(void *p)
{
	LinearCtx  *c = p;
	double		l = 0.0;

	NnLinearForward(c->out, c->in, c->w, c->b, B, IN, OUT);
	if (c->relu)
		NnReluForward(c->out, c->out, B * OUT);
	for (int i = 0; i < B * OUT; i++)
		l += (double) c->r[i] * c->out[i];
	return l;
}

/* Check NnLinearBackward (and NnReluBackward) against finite differences */
static void
test_linear_gradients(int relu)
{
	LinearCtx	c;
	uint64_t	rng = 42 + relu;
	float		din[B * IN] = {0},
				dw[OUT * IN] = {0},
				db[OUT] = {0},
				dout[B * OUT] = {0};
	char		name[128];

	fill_uniform(c.in, B * IN, &rng);
	fill_uniform(c.w, OUT * IN, &rng);
	fill_uniform(c.b, OUT, &rng);
	fill_uniform(c.r, B * OUT, &rng);
	c.relu = relu;
	linear_objective(&c);
	if (relu)
		NnReluBackward(dout, c.r, c.out, B * OUT);
	else
		memcpy(dout, c.r, sizeof(dout));
	NnLinearBackward(din, dw, db, dout, c.in, c.w, B, IN, OUT);

	snprintf(name, sizeof(name), "linear%s backward: d input matches finite differences",
			 relu ? "+relu" : "");
	check(worst_gradient_error(linear_objective, &c, c.in, din, B * IN) < 1e-3, name);
	snprintf(name, sizeof(name), "linear%s backward: d weight matches finite differences",
			 relu ? "+relu" : "");
	check(worst_gradient_error(linear_objective, &c, c.w, dw, OUT * IN) < 1e-3, name);
	snprintf(name, sizeof(name), "linear%s backward: d bias matches finite differences",
			 relu ? "+relu" : "");
	check(worst_gradient_error(linear_objective, &c, c.b, db, OUT) < 1e-3, name);
}

typedef struct BagCtx
{
	float		table[ROWS * DIM],
				weight[7],
				r[B * DIM],
				out[B * DIM];
	int32_t		idx[7],
				offsets[B + 1];
} BagCtx;

/* Objective of an embedding bag */
static double
bag_objective(void *p)
{
	BagCtx	   *c = p;
	double		l = 0.0;

	NnEmbeddingBagForward(c->out, c->table, c->idx, c->weight, c->offsets, B, DIM);
	for (int i = 0; i < B * DIM; i++)
		l += (double) c->r[i] * c->out[i];
	return l;
}

/* Check NnEmbeddingBagBackward, with a repeated row and an empty bag */
static void
test_bag_gradients(void)
{
	BagCtx		c = {.idx = {0, 2, 2, 5, 1, 3, 5}, .offsets = {0, 4, 4, 7}};
	uint64_t	rng = 7;
	float		dtable[ROWS * DIM] = {0};

	fill_uniform(c.table, ROWS * DIM, &rng);
	fill_uniform(c.weight, 7, &rng);
	fill_uniform(c.r, B * DIM, &rng);
	NnEmbeddingBagBackward(dtable, c.r, c.idx, c.weight, c.offsets, B, DIM);
	check(worst_gradient_error(bag_objective, &c, c.table, dtable, ROWS * DIM) < 1e-3,
		  "embedding bag backward matches finite differences");
	bag_objective(&c);
	check(c.out[DIM] == 0.0f && c.out[DIM + 3] == 0.0f, "embedding bag: an empty bag pools to zero");
}

typedef struct LossCtx
{
	float		x[5],
				y[5],
				d[5];
	int			bce;
} LossCtx;

/* Objective of a loss kernel (its own return value) */
static double
loss_objective(void *p)
{
	LossCtx    *c = p;
	float		scratch[5];

	return c->bce ? NnSigmoidBce(scratch, c->x, c->y, 5) : NnSquaredError(scratch, c->x, c->y, 5);
}

/* Check both loss kernels' gradients, and BCE at extreme logits */
static void
test_loss_gradients(void)
{
	LossCtx		c = {.x = {-3.0f, -0.5f, 0.0f, 0.7f, 4.0f}, .y = {0, 1, 1, 0, 1}};
	float		big[2] = {-200.0f, 200.0f},
				lab[2] = {1.0f, 0.0f},
				dbig[2];
	double		l;

	c.bce = 1;
	NnSigmoidBce(c.d, c.x, c.y, 5);
	check(worst_gradient_error(loss_objective, &c, c.x, c.d, 5) < 1e-3,
		  "sigmoid cross-entropy gradient matches finite differences");
	c.bce = 0;
	NnSquaredError(c.d, c.x, c.y, 5);
	check(worst_gradient_error(loss_objective, &c, c.x, c.d, 5) < 1e-3,
		  "squared error gradient matches finite differences");
	l = NnSigmoidBce(dbig, big, lab, 2);
	check(isfinite(l) && fabs(l - 200.0) < 1e-3 && isfinite(dbig[0]) && isfinite(dbig[1]),
		  "sigmoid cross-entropy is finite at logits of +-200");
	check(NnSigmoid(-1000.0f) == 0.0f && NnSigmoid(1000.0f) == 1.0f && NnSigmoid(0.0f) == 0.5f,
		  "sigmoid saturates without NaN");
}

/* Check the optimizers on a quadratic: both must move toward the minimum */
static void
test_optimizers(void)
{
	float		p[3] = {1.0f, -2.0f, 3.0f},
				m[3] = {0},
				v[3] = {0},
				acc[3] = {0},
				row[3] = {1.0f, -2.0f, 3.0f},
				g[3];

	for (int step = 1; step <= 200; step++)
	{
		for (int i = 0; i < 3; i++)
			g[i] = p[i];		/* gradient of 0.5 |p|^2 */
		NnAdamStep(p, m, v, g, 3, 0.05f, 0.9f, 0.999f, 1e-8f, step);
		for (int i = 0; i < 3; i++)
			g[i] = row[i];
		NnAdagradRow(row, acc, g, 0.5f, 3);
	}
	check(fabsf(p[0]) < 0.05f && fabsf(p[1]) < 0.05f && fabsf(p[2]) < 0.05f,
		  "adam minimizes a quadratic");
	check(fabsf(row[0]) < 0.05f && fabsf(row[1]) < 0.05f && fabsf(row[2]) < 0.05f,
		  "adagrad minimizes a quadratic");
}

/* ---------------------------------------------------------- least squares */

/* Check the Gram accumulation against loops and the Cholesky solve against A x */
static void
test_least_squares(void)
{
	enum
	{
		R = 9, D = 5
	};
	float		x[R * D],
				gram[D * D] = {0};
	double		a[D * D],
				b[D],
				xs[D];
	uint64_t	rng = 11;
	double		worst = 0.0;
	double		bad[4] = {1, 2, 2, 1},
				rhs[2] = {1, 1};

	fill_uniform(x, R * D, &rng);
	NnGramAccumulate(gram, x, R, D, 2.0f);
	for (int i = 0; i < D; i++)
		for (int j = i; j < D; j++)
		{
			double		s = 0.0;

			for (int r = 0; r < R; r++)
				s += 2.0 * x[r * D + i] * x[r * D + j];
			worst = fmax(worst, fabs(s - gram[i * D + j]));
		}
	check(worst < 1e-4, "gram accumulation equals 2 x^T x (upper triangle)");

	for (int i = 0; i < D; i++)
		for (int j = 0; j < D; j++)
			a[i * D + j] = (j >= i ? gram[i * D + j] : gram[j * D + i]) + (i == j ? 0.5 : 0.0);
	for (int i = 0; i < D; i++)
		b[i] = xs[i] = i - 2.0;
	{
		double		a2[D * D];

		memcpy(a2, a, sizeof(a));
		check(NnCholeskySolve(a2, xs, D) == 0, "cholesky factors a positive definite matrix");
	}
	worst = 0.0;
	for (int i = 0; i < D; i++)
	{
		double		s = 0.0;

		for (int j = 0; j < D; j++)
			s += a[i * D + j] * xs[j];
		worst = fmax(worst, fabs(s - b[i]));
	}
	check(worst < 1e-9, "cholesky solution satisfies A x = b");
	check(NnCholeskySolve(bad, rhs, 2) == -1, "cholesky refuses an indefinite matrix");
}

/*
 * At the size training uses (64, and an odd 67), the vectorized solve
 * gives exactly the textbook form's result; NnDot3 matches a double sum
 */
static void
test_solve_and_dot_sizes(void)
{
	enum
	{
		R = 200, DMAX = 67
	};
	static float x[R * DMAX];
	static double a[DMAX * DMAX],
				a2[DMAX * DMAX],
				b[DMAX],
				b2[DMAX];
	uint64_t	rng = 5;
	int			sizes[2] = {64, 67};
	int			same = 1;
	double		worst = 0.0;

	for (int z = 0; z < 2; z++)
	{
		int			d = sizes[z];
		float		gram[DMAX * DMAX] = {0};

		fill_uniform(x, R * d, &rng);
		NnGramAccumulate(gram, x, R, d, 1.0f);
		for (int i = 0; i < d; i++)
			for (int j = 0; j < d; j++)
				a[i * d + j] = a2[i * d + j] = gram[(i < j ? i : j) * d + (i < j ? j : i)] + (i == j ? 3.0 : 0.0);
		for (int i = 0; i < d; i++)
			b[i] = b2[i] = NnRandUniform(&rng) - 0.5;
		same &= NnCholeskySolve(a, b, d) == 0 && reference_cholesky_solve(a2, b2, d) == 0 &&
			memcmp(b, b2, sizeof(double) * d) == 0;
	}
	check(same, "cholesky solve at 64 and 67 equals the textbook form bit for bit");

	for (int n = 0; n <= DMAX; n += (n < 9 ? 1 : 29))
	{
		double		ref = 0.0;

		fill_uniform(x, 3 * DMAX, &rng);
		for (int i = 0; i < n; i++)
			ref += (double) x[i] * x[DMAX + i] * x[2 * DMAX + i];
		worst = fmax(worst, fabs(ref - NnDot3(x, x + DMAX, x + 2 * DMAX, n)));
	}
	check(worst < 1e-5, "three-way dot product equals a double sum (n = 0..9, 38, 67)");
}

/* ----------------------------------------------------------------- top-k */

/* Order for qsort: score descending, then index ascending */
static int
cmp_scored(const void *a, const void *b)
{
	const NnScored *x = a,
			   *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Fold-in solves the weighted implicit least squares over every row of the
 * table.  Its explanation splits a score into one term per interaction,
 * summing to the score; an item's own interaction raises its score; with one
 * interaction its term is the whole score.
 */
static void
test_fold_in(void)
{
	enum
	{
		R = 20, D = 4
	};
	float		table[R * D],
				gram[D * D] = {0},
				x[D],
				contrib[3],
				one;
	int			rows[3] = {1, 5, 7};
	float		conf[3] = {2.0f, 3.0f, 1.5f};
	double		work[D * (D + 1)],
				grad[D] = {0},
				worst = 0.0;
	uint64_t	rng = 5;

	fill_uniform(table, R * D, &rng);
	NnGramAccumulate(gram, table, R, D, 1.0f);
	check(NnFoldIn(gram, table, D, rows, conf, 3, 0.5, x, work) == 0, "fold-in solves");
	/* gradient of sum_r c_r (y_r - x.t_r)^2 + 0.5 |x|^2, computed row by row */
	for (int r = 0; r < R; r++)
	{
		double		c = 1.0,
					y = 0.0,
					e = 0.0;

		for (int k = 0; k < 3; k++)
			if (rows[k] == r)
				c = conf[k], y = 1.0;
		for (int j = 0; j < D; j++)
			e += (double) x[j] * table[r * D + j];
		for (int j = 0; j < D; j++)
			grad[j] += -2.0 * c * (y - e) * table[r * D + j];
	}
	for (int j = 0; j < D; j++)
		worst = fmax(worst, fabs(grad[j] + 2.0 * 0.5 * x[j]));
	check(worst < 1e-4, "fold-in result has zero gradient of the implicit loss");

	worst = 0.0;
	for (int r = 0; r < R; r++)
	{
		const float *q = table + r * D;
		double		sum = 0.0;

		check(NnFoldInExplain(gram, table, D, rows, conf, 3, 0.5, q, contrib, work) == 0,
			  "fold-in explanation solves");
		for (int k = 0; k < 3; k++)
			sum += contrib[k];
		worst = fmax(worst, fabs(sum - NnDot(q, x, D)));
		for (int k = 0; k < 3; k++)
			if (rows[k] == r)
				check(contrib[k] > 0.0f, "an item's own interaction raises its score");
	}
	check(worst < 1e-5, "fold-in explanation terms sum to the score");
	NnFoldIn(gram, table, D, rows + 1, conf + 1, 1, 0.5, x, work);
	NnFoldInExplain(gram, table, D, rows + 1, conf + 1, 1, 0.5, table, &one, work);
	check(fabs(one - NnDot(table, x, D)) < 1e-6, "one interaction explains the whole score");
}

/* Check top-k against a full sort, with ties, NaN and k > n */
static void
test_topk(void)
{
	enum
	{
		N = 1000
	};
	NnScored	all[N],
				store[N + 5];
	NnTopK		topk;
	uint64_t	rng = 3;
	int			same = 1,
				n;
	int			ks[] = {1, 10, 37, N};

	for (int i = 0; i < N; i++)
	{
		all[i].index = i;
		all[i].score = (float) (NnRandNext(&rng) % 200);	/* many ties */
	}
	qsort(all, N, sizeof(NnScored), cmp_scored);
	for (int t = 0; t < 4; t++)
	{
		rng = 3;
		NnTopKInit(&topk, store, ks[t]);
		for (int i = 0; i < N; i++)
			NnTopKPush(&topk, i, (float) (NnRandNext(&rng) % 200));
		n = NnTopKSort(&topk);
		same &= (n == ks[t]);
		for (int i = 0; i < n; i++)
			same &= (store[i].index == all[i].index && store[i].score == all[i].score);
	}
	check(same, "top-k equals a full sort for k = 1, 10, 37, n (ties by index)");

	NnTopKInit(&topk, store, 5);
	NnTopKPush(&topk, 0, NAN);
	NnTopKPush(&topk, 1, 2.0f);
	NnTopKPush(&topk, 2, -INFINITY);
	n = NnTopKSort(&topk);
	check(n == 2 && store[0].index == 1 && store[1].index == 2,
		  "top-k skips NaN and returns fewer than k when fewer exist");
}

/*
 * NnSpectralNorm: exact on matrices whose largest singular value is known
 * (all-ones blocks: sqrt(rows * cols) times the value; a rank-one a b^T:
 * |a| |b|), duplicates add up, an early stop gives a lower bound above
 * stop_above, and an empty matrix gives 0
 */
static int	n_between;

static void
count_between(void)
{
	n_between++;
}

static void
test_spectral_norm(void)
{
	enum
	{
		MAXN = 64
	};
	int32_t		row[MAXN],
				col[MAXN];
	float		val[MAXN];
	double		work[64];
	int			n = 0;
	double		est,
				na = 0.0,
				nb = 0.0;
	float		a[5],
				b[7];
	uint64_t	rng = 11;

	/* a 3 x 4 block of ones (sigma 3.46) and a 2 x 2 block of twos (sigma 4) */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++, n++)
		{
			row[n] = i;
			col[n] = j;
			val[n] = 1.0f;
		}
	for (int i = 3; i < 5; i++)
		for (int j = 4; j < 6; j++, n++)
		{
			row[n] = i;
			col[n] = j;
			val[n] = 2.0f;
		}
	est = NnSpectralNorm(row, col, val, n, 5, 6, 200, 1e-12, INFINITY, NULL, work);
	check(fabs(est - 4.0) < 1e-6, "spectral norm of two blocks is the larger block's (4)");
	est = NnSpectralNorm(row, col, val, 12, 3, 4, 200, 1e-12, INFINITY, NULL, work);
	check(fabs(est - sqrt(12.0)) < 1e-9, "spectral norm of a 3 x 4 block of ones is sqrt(12)");
	/* the twos given as ones twice */
	for (int k = 12; k < 16; k++)
	{
		val[k] = 1.0f;
		row[k + 4] = row[k];
		col[k + 4] = col[k];
		val[k + 4] = 1.0f;
	}
	est = NnSpectralNorm(row, col, val, 20, 5, 6, 200, 1e-12, INFINITY, NULL, work);
	check(fabs(est - 4.0) < 1e-6, "spectral norm adds duplicate entries");
	est = NnSpectralNorm(row, col, val, 20, 5, 6, 200, 1e-12, 3.0, count_between, work);
	check(est >= 3.0 && est <= 4.0 + 1e-9 && n_between == 1,
		  "spectral norm stops early with a lower bound above stop_above");
	n_between = 0;
	(void) NnSpectralNorm(row, col, val, 20, 5, 6, 7, 0.0, INFINITY, count_between, work);
	check(n_between == 7, "spectral norm calls between before each of max_iter steps");

	n = 0;
	fill_uniform(a, 5, &rng);
	fill_uniform(b, 7, &rng);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 7; j++, n++)
		{
			row[n] = i;
			col[n] = j;
			val[n] = a[i] * b[j];
		}
	for (int i = 0; i < 5; i++)
		na += (double) a[i] * a[i];
	for (int j = 0; j < 7; j++)
		nb += (double) b[j] * b[j];
	est = NnSpectralNorm(row, col, val, n, 5, 7, 200, 1e-12, INFINITY, NULL, work);
	check(fabs(est - sqrt(na * nb)) < 1e-5 * sqrt(na * nb), "spectral norm of a b^T is |a| |b|");
	check(NnSpectralNorm(row, col, val, 0, 5, 7, 200, 1e-12, INFINITY, NULL, work) == 0.0 &&
		  NnSpectralNorm(row, col, val, 0, 0, 0, 200, 1e-12, INFINITY, NULL, work) == 0.0,
		  "spectral norm of an empty matrix is 0");
}

/*
 * NnScoresMany: n queries at once (a matrix product) give each query's
 * NnScores (a matrix-vector product) to float rounding, and n = 1 is exactly
 * NnScores
 */
static void
test_scores_many(void)
{
	enum
	{
		ROWS = 301, DIM = 24, N = 7
	};
	float	   *table = malloc(sizeof(float) * ROWS * DIM);
	float	   *q = malloc(sizeof(float) * N * DIM);
	float	   *many = malloc(sizeof(float) * N * ROWS);
	float		one[ROWS];
	uint64_t	rng = 11;
	double		worst = 0.0;
	int			exact = 1;

	fill_uniform(table, ROWS * DIM, &rng);
	fill_uniform(q, N * DIM, &rng);
	NnScoresMany(many, table, q, ROWS, DIM, N);
	for (int b = 0; b < N; b++)
	{
		NnScores(one, table, q + b * DIM, ROWS, DIM);
		for (int i = 0; i < ROWS; i++)
			worst = fmax(worst, fabs(many[b * ROWS + i] - one[i]) / fmax(fabs(one[i]), 1.0));
	}
	check(worst < 1e-5, "NnScoresMany of 7 queries equals NnScores of each to 1e-5");
	NnScoresMany(many, table, q + 3 * DIM, ROWS, DIM, 1);
	NnScores(one, table, q + 3 * DIM, ROWS, DIM);
	for (int i = 0; i < ROWS; i++)
		exact &= (many[i] == one[i]);
	check(exact, "NnScoresMany of one query is NnScores, bit for bit");
	free(table);
	free(q);
	free(many);
}

/* ----------------------------------------------------------------- hashes */

/* Tokenize a C string into buckets */
static int
tokens(const MtrsTokenizer *t, const char *text, uint32_t *out, int max_out)
{
	return MtrsTokenize(t, text, strlen(text), out, max_out);
}

/* Return whether two bucket lists are equal */
static int
same_tokens(const uint32_t *a, int na, const uint32_t *b, int nb)
{
	return na == nb && memcmp(a, b, sizeof(uint32_t) * na) == 0;
}

static void
test_tokenizer(void)
{
	MtrsTokenizer words = {1u << 20, 1, 0, 0, 0, 0, 0, 0};
	MtrsTokenizer pairs = {1u << 20, 2, 0, 0, 0, 0, 0, 0};
	MtrsTokenizer full = {1u << 20, 2, 3, 5, 0, 0, 0, 0};
	MtrsTokenizer marks = {1u << 20, 1, 0, 0, 1, 0, 0, 0};
	MtrsTokenizer triples = {1u << 20, 3, 0, 0, 0, 0, 0, 0};
	MtrsTokenizer hostile = {1u << 20, 1000, 1, 1 << 30, 0, 0, 0, 0};
	MtrsTokenizer ends = {1u << 20, 2, 0, 0, 0, 1, 0, 0};
	MtrsTokenizer ends3 = {1u << 20, 3, 0, 0, 0, 1, 0, 0};
	MtrsTokenizer ends1 = {1u << 20, 1, 0, 0, 0, 1, 0, 0};
	MtrsTokenizer folded = {1u << 20, 1, 0, 0, 0, 0, 0, MTRS_CASE_FOLDING};
	uint32_t	a[4096],
				b[4096];
	int			na,
				nb;
	char	   *big;

	na = tokens(&words, "Hello, World!", a, 64);
	nb = tokens(&words, "hello world", b, 64);
	check(na == 2 && same_tokens(a, na, b, nb), "English: case and punctuation do not matter");
	na = tokens(&words, "ÉCOLE Москва ΑΘΗΝΑ", a, 64);
	nb = tokens(&words, "école москва αθηνα", b, 64);
	check(na == 3 && same_tokens(a, na, b, nb), "Latin-1, Cyrillic and Greek fold case");
	na = tokens(&words, "ЁЖИК ԲԱՐԵՎ ＡＢＣ ŁÓDŹ", a, 64);
	nb = tokens(&words, "ёжик բարեվ ａｂｃ łódŹ", b, 64);
	check(na == 4 && same_tokens(a, na, b, nb), "Cyrillic with marks, Armenian, full-width Latin, Latin Extended-A fold case");
	check(tokens(&words, "ź", a, 64) == 1 && tokens(&words, "Ż", b, 64) == 1 && a[0] == b[0],
		  "case folding rules 0 stay as they were (ź folds to Ż), so older models keep their features");
	na = tokens(&folded, "ŹRÓDŁO ŻÓŁW ŽENA ŸES TIẾNG VIỆT ƠN ƯỚC ȘTIINȚĂ ƏRZAQ ǍǓ İSTANBUL STRAẞE", a, 64);
	nb = tokens(&folded, "źródło żółw žena ÿes tiếng việt ơn ước știință ərzaq ǎǔ istanbul straße", b, 64);
	check(na == 13 && same_tokens(a, na, b, nb),
		  "rules 1: Polish, Czech, Ÿ, Vietnamese, Romanian, Azerbaijani, Pinyin, Turkish İ, ẞ fold case");
	na = tokens(&folded, "ΆΝΟΙΞΗ ΈΡΩΣ ΌΡΟΣ ΎΠΝΟΣ ΏΡΑ ҐАНОК ҚАЗАҚ ӘЖЕ ӀӀ", a, 64);
	nb = tokens(&folded, "άνοιξη έρως όρος ύπνος ώρα ґанок қазақ әже ӏӏ", b, 64);
	check(na == 9 && same_tokens(a, na, b, nb),
		  "rules 1: Greek with tonos and final sigma, Ukrainian, Kazakh fold case");
	check(tokens(&folded, "ź", a, 64) == 1 && tokens(&folded, "ż", b, 64) == 1 && a[0] != b[0] &&
		  tokens(&folded, "Ż", b, 64) == 1 && a[0] != b[0] && tokens(&folded, "Ź", b, 64) == 1 && a[0] == b[0],
		  "rules 1: ź and Ź are one letter, ż and Ż another");
	na = tokens(&pairs, "pizza 🍕", a, 64);
	nb = tokens(&pairs, "pizza 🍔", b, 64);
	check(na == 3 && nb == 3 && a[0] == b[0] && a[1] != b[1] && a[2] != b[2],
		  "four-byte UTF-8: an emoji is a word of its own");
	check(tokens(&pairs, "𠀀𠀁", a, 64) == 3 && tokens(&pairs, "𠀀", b, 64) == 1 && a[0] == b[0],
		  "four-byte UTF-8: Han extension B characters are words, their runs pairs");
	na = tokens(&pairs, "play music", a, 64);
	check(na == 3, "two words give two words and one pair");
	na = tokens(&pairs, "我想买电脑", a, 64);
	check(na == 9, "Chinese: five characters are words, four bigrams");
	nb = tokens(&pairs, "我想 买电脑。", b, 64);
	check(na == 9 && nb == 9 && a[0] == b[0] && a[8] == b[8],
		  "Chinese: spaces and full-width punctuation only separate");
	na = tokens(&words, "play周杰伦的歌 now", a, 64);
	check(na == 7, "mixed scripts: a Latin word ends at a Han character");
	na = tokens(&triples, "play some music", a, 64);
	nb = tokens(&pairs, "play some music", b, 64);
	check(na == 3 + 2 + 1 && nb == 5 && memcmp(a, b, 4 * sizeof(uint32_t)) == 0,
		  "word_ngrams 3: three words, two pairs (as with word_ngrams 2) and one triple");
	check(tokens(&triples, "music some play", b, 64) == 6 && b[5] != a[5],
		  "a word triple depends on the order of its words");
	check(tokens(&hostile, "ab cd", a, 4096) > 0 && tokens(&hostile, "ab cd", a, 4096) < 4096,
		  "out-of-range n-gram settings are clamped, not trusted");
	na = tokens(&full, "ab", a, 64);
	check(na == 1 + 2, "a word and its character 3-grams <ab, ab> (the whole <ab> is the word)");
	check(a[0] < MtrsCharBucketsFrom(&full) && a[1] >= MtrsCharBucketsFrom(&full) &&
		  a[2] >= MtrsCharBucketsFrom(&full) && MtrsCharBucketsFrom(&pairs) == (1u << 20),
		  "character n-grams hash into the upper half of the buckets, words into the lower");
	check(tokens(&full, "", a, 64) == 0 && tokens(&full, " \t,.!? 。", a, 64) == 0,
		  "empty and punctuation-only text give no tokens");
	check(MtrsTokenize(&full, "\xff\xfe\xc3", 3, a, 64) == 0 &&
		  MtrsTokenize(&full, "ab\xe4\xb8", 4, a, 64) == tokens(&full, "ab", b, 64),
		  "invalid and truncated UTF-8 is skipped");
	na = MtrsTokenize(&full, "ab\xc3(cd", 7, a, 64);
	nb = tokens(&full, "ab(cd", b, 64);
	check(na > 2 && same_tokens(a, na, b, nb), "a lead byte without its continuation is skipped");
	na = MtrsTokenize(&full, "ab \xed\xa0\x80 \xf4\x90\x80\x80 \xf8\x88\x80\x80\x80", 17, a, 64);
	nb = tokens(&full, "ab", b, 64);
	check(na == 3 && same_tokens(a, na, b, nb),
		  "surrogates, code points past U+10FFFF and 5-byte forms are skipped");
	big = malloc(1 << 20);
	for (int i = 0; i < (1 << 20) - 1; i++)
		big[i] = (i % 7 == 6) ? ' ' : 'a' + i % 26;
	big[(1 << 20) - 1] = '\0';
	na = MtrsTokenize(&full, big, strlen(big), a, 4096);
	check(na == 4096, "very long text fills at most max_out buckets");
	memset(big, 'x', (1 << 20) - 1);
	na = MtrsTokenize(&full, big, strlen(big), a, 4096);
	nb = MtrsTokenize(&full, big, MTRS_MAX_TOKEN_CHARS, b, 4096);
	check(na == nb && same_tokens(a, na, b, nb), "a word longer than the limit is cut at the limit");
	free(big);
	na = tokens(&marks, "play it, then stop!", a, 64);
	nb = tokens(&marks, "play it , then stop !", b, 64);
	check(na == 6 && same_tokens(a, na, b, nb), "kept punctuation marks are words of their own");
	check(tokens(&marks, "我想买，好吗？", a, 64) == 7, "full-width punctuation is kept too");
	check(tokens(&marks, " ?! 。", a, 64) == 0, "punctuation alone is no text");
	na = tokens(&words, "a b c d e f", a, 64);
	check(na == 6 && a[0] < (1u << 20), "buckets are below n_buckets");
	na = tokens(&ends, "play music", a, 64);
	nb = tokens(&pairs, "play music", b, 64);
	check(na == 5 && a[0] == b[0] && a[2] == b[1] && a[3] == b[2],
		  "text_marks: the words and pairs of the text, plus <start> play and music <end>");
	check(a[1] != a[0] && a[1] != a[3] && a[4] != a[1] && a[4] != a[3],
		  "text_marks: the start and end runs are features of their own");
	nb = tokens(&ends, "music play", b, 64);
	check(nb == 5 && b[1] != a[1] && b[4] != a[4] && b[0] == a[2] && b[2] == a[0],
		  "text_marks: which word opens and which closes the text matters");
	na = tokens(&ends, "play", a, 64);
	check(na == 3 && a[1] != a[2], "text_marks: one word opens and closes the text, differently");
	check(tokens(&ends3, "a b", a, 64) == 1 + 1 + 3 + 2,
		  "text_marks with word_ngrams 3: a, <s> a, b, a b, <s> a b, b <e>, a b <e>");
	na = tokens(&ends1, "play some music", a, 64);
	nb = tokens(&words, "play some music", b, 64);
	check(same_tokens(a, na, b, nb), "text_marks without word runs (word_ngrams 1) changes nothing");
	check(tokens(&ends, "", a, 64) == 0 && tokens(&ends, " , ", a, 64) == 0,
		  "text_marks: empty text still gives no tokens");

	/* ngrams_by_script: a text mostly without spaces has no character n-grams */
	{
		MtrsTokenizer any = {1u << 20, 1, 3, 5, 0, 0, 0, 0};
		MtrsTokenizer script = {1u << 20, 1, 3, 5, 0, 0, 1, 0};
		int			below = 1;

		na = tokens(&script, "我要听tfboys唱的歌", a, 64);
		for (int j = 0; j < na; j++)
			below &= (a[j] < MtrsCharBucketsFrom(&script));
		check(na == 7 && below && tokens(&any, "我要听tfboys唱的歌", b, 64) == 7 + 6 + 5 + 4,
			  "ngrams_by_script: 6 Han characters and one Latin word give 7 words and no n-grams "
			  "(without it: also the 15 3- to 5-grams of <tfboys>)");
		na = tokens(&script, "play tfboys now", a, 64);
		nb = tokens(&any, "play tfboys now", b, 64);
		check(na > 3 && same_tokens(a, na, b, nb), "ngrams_by_script: English text keeps its n-grams");
		na = tokens(&script, "hi 我", a, 64);
		nb = tokens(&any, "hi 我", b, 64);
		check(na == 2 + 2 && same_tokens(a, na, b, nb),
			  "ngrams_by_script: as many spaced words as other characters keeps the n-grams (<hi, hi>)");
	}

	/* fewer than 2 buckets leave none for character n-grams: every token is in range (a
	 * model trained or crafted with "buckets": 1 wrote and read far past its tables) */
	{
		MtrsTokenizer one = {1, 2, 3, 5, 1, 1, 0, 0};
		int			in_range = 1;

		na = tokens(&one, "hello wonderful world, 你好", a, 64);
		for (int j = 0; j < na; j++)
			in_range &= (a[j] < 1);
		check(na > 0 && in_range && MtrsCharBucketsFrom(&one) == 1,
			  "one bucket: words and runs in bucket 0, no character n-grams");
	}
}

/* Return whether span j is bytes [start, end) of kind with marks */
static int
span_is(const MtrsFeatureSpan *sp, int j, int start, int end, int kind, int marks)
{
	return sp[j].start == start && sp[j].end == end && sp[j].kind == kind && sp[j].marks == marks;
}

/* Where each feature comes from: the same buckets as MtrsTokenize, and their bytes */
static void
test_tokenizer_spans(void)
{
	MtrsTokenizer t = {1u << 20, 2, 3, 3, 1, 1, 1, 0};
	MtrsFeatureSpan sp[64];
	uint32_t	a[64],
				b[64];
	int			na,
				nb,
				ok;
	const char *zh = "我想买";
	char	   *big;

	na = MtrsTokenizeSpans(&t, "Ab cd", 5, a, sp, 64);
	nb = MtrsTokenize(&t, "Ab cd", 5, b, 64);
	check(na == 9 && same_tokens(a, na, b, nb), "spans: the same buckets as without them");
	check(span_is(sp, 0, 0, 2, MTRS_FEATURE_WORD, 0) &&
		  span_is(sp, 1, 0, 2, MTRS_FEATURE_RUN, MTRS_SPAN_BEGIN) &&
		  span_is(sp, 2, 0, 2, MTRS_FEATURE_CHARS, MTRS_SPAN_BEGIN) &&
		  span_is(sp, 3, 0, 2, MTRS_FEATURE_CHARS, MTRS_SPAN_END),
		  "spans: \"Ab\", ^ Ab, <ab, ab> (original bytes, marks apart)");
	check(span_is(sp, 4, 3, 5, MTRS_FEATURE_WORD, 0) &&
		  span_is(sp, 5, 0, 5, MTRS_FEATURE_RUN, 0) &&
		  span_is(sp, 6, 3, 5, MTRS_FEATURE_CHARS, MTRS_SPAN_BEGIN) &&
		  span_is(sp, 7, 3, 5, MTRS_FEATURE_CHARS, MTRS_SPAN_END) &&
		  span_is(sp, 8, 3, 5, MTRS_FEATURE_RUN, MTRS_SPAN_END),
		  "spans: cd, the run \"Ab cd\" over both words, <cd, cd>, cd $");
	na = MtrsTokenizeSpans(&t, zh, strlen(zh), a, sp, 64);
	check(na == 3 + 1 + 2 + 1 && span_is(sp, 0, 0, 3, MTRS_FEATURE_WORD, 0) &&
		  span_is(sp, 1, 0, 3, MTRS_FEATURE_RUN, MTRS_SPAN_BEGIN) &&
		  span_is(sp, 3, 0, 6, MTRS_FEATURE_RUN, 0) && span_is(sp, 5, 3, 9, MTRS_FEATURE_RUN, 0) &&
		  span_is(sp, 6, 6, 9, MTRS_FEATURE_RUN, MTRS_SPAN_END),
		  "spans: Chinese characters are three bytes each, runs cover two");
	t.char_max = 4;
	na = MtrsTokenizeSpans(&t, "abc!", 4, a, sp, 64);
	ok = na > 0;
	for (int j = 0; j < na; j++)
		ok &= sp[j].start >= 0 && sp[j].start <= sp[j].end && sp[j].end <= 4;
	check(ok && na == 10 && span_is(sp, 2, 0, 2, MTRS_FEATURE_CHARS, MTRS_SPAN_BEGIN) &&
		  span_is(sp, 6, 0, 3, MTRS_FEATURE_CHARS, MTRS_SPAN_END) &&
		  span_is(sp, 7, 3, 4, MTRS_FEATURE_WORD, 0) && span_is(sp, 8, 0, 4, MTRS_FEATURE_RUN, 0) &&
		  span_is(sp, 9, 3, 4, MTRS_FEATURE_RUN, MTRS_SPAN_END),
		  "spans: within the text; <ab, abc>, a kept mark as a word, the run \"abc !\" and ! $");
	big = malloc(200);
	memset(big, 'x', 199);
	big[199] = '\0';
	na = MtrsTokenizeSpans(&t, big, 199, a, sp, 64);
	check(na > 0 && span_is(sp, 0, 0, MTRS_MAX_TOKEN_CHARS, MTRS_FEATURE_WORD, 0),
		  "spans: a word cut at the limit covers its first characters");
	free(big);
}

/* Each token's term of a logit: they add up to it, with mean and with max pooling */
static void
test_text_contributions(void)
{
	enum
	{
		D = 5, L = 3, B = 8
	};
	float		emb[B * D],
				lw[L * 2 * D],
				lb[L],
				z[L],
				h[2 * D],
				c[6];
	int			argmax[D];
	uint32_t	tok[6] = {1, 6, 3, 1, 7, 2};
	uint64_t	rng = 11;

	fill_uniform(emb, B * D, &rng);
	fill_uniform(lw, L * 2 * D, &rng);
	fill_uniform(lb, L, &rng);
	for (int max_pool = 0; max_pool <= 1; max_pool++)
	{
		MtrsTextParams p = {D, L, max_pool, emb, lw, lb, NULL, 6, 0};
		double		worst = 0.0;

		MtrsTextEncode(&p, tok, 6, h, NULL);
		MtrsTextScores(&p, h, z);
		for (int l = 0; l < L; l++)
		{
			double		sum = lb[l];

			MtrsTextContributions(&p, tok, 6, l, c, argmax, h);
			for (int j = 0; j < 6; j++)
				sum += c[j];
			worst = fmax(worst, fabs(sum - z[l]));
		}
		check(worst < 1e-5, max_pool ? "contributions add up to the logit (mean and max pooling)" :
			  "contributions add up to the logit (word and n-gram means)");
	}
	{
		MtrsTextParams p = {D, L, 0, emb, lw, lb, NULL, 6, 0};

		MtrsTextContributions(&p, tok, 6, 0, c, argmax, h);
		check(c[0] == c[3] && fabs(c[0] - NnDot(lw, emb + 1 * D, D) / 4.0) < 1e-6 &&
			  fabs(c[1] - NnDot(lw, emb + 6 * D, D) / 2.0) < 1e-6,
			  "a word's term is its share of the word mean (1/4), an n-gram's of the n-gram mean (1/2)");
	}
}

/*
 * Scores from token rows projected on the intents equal the scores of the
 * encoding, for word and n-gram means and widths that need one or two
 * groups of 16 floats per row; no token gives the biases exactly.
 */
static void
test_text_projected(void)
{
	enum
	{
		D = 24, B = 9, N = 7, LMAX = 11
	};
	float		emb[B * D],
				lw[LMAX * D],
				lb[LMAX],
				z[LMAX],
				zp[LMAX],
				h[D];
	float	   *proj = malloc(sizeof(float) * B * 16);
	uint32_t	tok[N] = {1, 8, 3, 1, 7, 2, 8};
	uint64_t	rng = 5;
	double		worst = 0.0;
	int			exact = 1;

	fill_uniform(emb, B * D, &rng);
	fill_uniform(lw, LMAX * D, &rng);
	fill_uniform(lb, LMAX, &rng);
	for (int labels = 3; labels <= LMAX; labels += LMAX - 3)
		for (uint32_t char_from = 0; char_from <= 6; char_from += 6)
		{
			MtrsTextParams p = {D, labels, 0, emb, lw, lb, NULL, char_from, 0};
			int			stride = MtrsTextProjectedStride(labels);

			MtrsTextProject(&p, B, stride, proj);
			MtrsTextEncode(&p, tok, N, h, NULL);
			MtrsTextScores(&p, h, z);
			MtrsTextScoresProjected(&p, proj, stride, tok, N, zp);
			for (int l = 0; l < labels; l++)
				worst = fmax(worst, fabs(z[l] - zp[l]));
			MtrsTextScoresProjected(&p, proj, stride, tok, 0, zp);
			exact &= memcmp(zp, lb, sizeof(float) * labels) == 0;
		}
	check(worst < 1e-5, "projected token rows give the encoding's logits (3 and 11 intents, with and without n-grams)");
	check(exact, "projected scores of no token are the intents' biases");
	check(MtrsTextProjectedStride(1) == 8 && MtrsTextProjectedStride(8) == 8 &&
		  MtrsTextProjectedStride(9) == 16 && MtrsTextProjectedStride(16) == 16 &&
		  MtrsTextProjectedStride(17) == 32, "projected rows: 8 or 16 floats, then multiples of 16");
	free(proj);
}

/* The intent head's SGD step moves every parameter by -lr times its finite-difference gradient */
static void
test_text_gradients(int max_pool, uint32_t char_from, int softmax)
{
	enum
	{
		D = 4, L = 3, B = 10, W = 2 * D, NP = B * D + L * W + L
	};
	float		params[NP],
				before[NP],
				scratch[2 * D + 3 * L];
	uint32_t	tok[3] = {2, 5, 2};
	int32_t		tok_off[2] = {0, 3};
	int32_t		lab[2] = {0, 2};
	int32_t		lab_off[2] = {0, 2};
	MtrsTextSet set = {1, tok_off, tok, lab_off, lab};
	float		pos_weight[L] = {2.0f, 1.0f, 0.5f};
	MtrsTextParams p = {D, L, max_pool, params, params + B * D, params + B * D + L * W, pos_weight,
	char_from, softmax};
	uint64_t	rng = 3;
	const float lr = 1e-3f;
	double		worst = 0.0,
				loss0;
	int			probe[] = {2 * D, 2 * D + 3, 5 * D + 1, 5 * D + 2, B * D, B * D + L * D - 1,
	NP - 1, NP - 3};

	fill_uniform(params, NP, &rng);
	memcpy(before, params, sizeof(params));
	loss0 = MtrsTextStep(&p, &set, 0, lr, scratch);
	for (int k = 0; k < (int) (sizeof(probe) / sizeof(probe[0])); k++)
	{
		int			j = probe[k];
		double		step_grad = (before[j] - params[j]) / lr;
		float		saved[NP];
		double		lp,
					lm,
					eps = 1e-3;

		memcpy(saved, params, sizeof(params));
		memcpy(params, before, sizeof(params));
		params[j] += eps;
		lp = MtrsTextLoss(&p, &set, 0, scratch);
		params[j] -= 2 * eps;
		lm = MtrsTextLoss(&p, &set, 0, scratch);
		memcpy(params, saved, sizeof(params));
		worst = fmax(worst, fabs((lp - lm) / (2 * eps) - step_grad));
	}
	memcpy(params, before, sizeof(params));
	check(fabs(MtrsTextLoss(&p, &set, 0, scratch) - loss0) < 1e-9, "the step returns the loss before it");
	check(worst < 2e-3, softmax ? "intent head, softmax over intents (two weighted targets): SGD step equals the finite-difference gradient"
		  : max_pool ? "intent head, mean and max pooling: SGD step equals the finite-difference gradient"
		  : char_from > 0 ? "intent head, word and character n-gram means: SGD step equals the finite-difference gradient"
		  : "intent head, mean pooling: SGD step equals the finite-difference gradient (repeated tokens)");
	params[0] = 5.0f;			/* bucket 0 is not among the tokens */
	check(fabs(MtrsTextLoss(&p, &set, 0, scratch) - loss0) < 1e-9, "unused buckets do not change the loss");
}

/*
 * Per-intent offsets: intent 1 is under-scored by 1.5 in logits (as an
 * intent that usually comes second), so at tau 0.5 it is missed; its
 * offset fixes that, and intent 0 (already right) keeps offset 0.
 */
static void
test_intent_offsets(void)
{
	enum
	{
		N = 200, L = 2
	};
	float		z[N * L],
				offset[L];
	int32_t		lab_off[N + 1],
				lab[2 * N];
	int			n_lab = 0,
				before,
				after;
	uint64_t	rng = 5;
	MtrsRuleSet set = {N, L, z, lab_off, lab};

	for (int i = 0; i < N; i++)
	{
		int			has1 = (i % 2 == 0);

		lab_off[i] = n_lab;
		lab[n_lab++] = 0;
		if (has1)
			lab[n_lab++] = 1;
		z[i * L] = 2.0f + NnRandUniform(&rng);
		z[i * L + 1] = (has1 ? 1.0f : -1.0f) * (0.5f + NnRandUniform(&rng)) - 1.5f;
	}
	lab_off[N] = n_lab;
	memset(offset, 0, sizeof(offset));
	before = MtrsRuleHits(&set, 0.5f, 1, offset);
	after = MtrsTuneOffsets(&set, 0.5f, 1, offset);
	check(before < N && after == N && offset[0] == 0.0f && offset[1] > 0.9f && offset[1] <= 2.0f,
		  "per-intent offsets recover an under-scored intent and leave a right one alone");
	check(MtrsRuleHits(&set, 0.5f, 1, offset) == after, "the tuned offsets give the hits reported");
}

/* Looks up the rows of buckets in a table built for vocab[0..n) */
static int
map_with_table(const uint32_t *vocab, int64_t n, uint32_t *tok, int n_tok)
{
	int64_t		cap = MtrsVocabTableSize(n);
	uint64_t   *table = malloc(sizeof(uint64_t) * cap);
	int			kept;

	MtrsVocabTableBuild(vocab, n, table, cap);
	kept = MtrsVocabMap(table, cap, tok, n_tok);
	free(table);
	return kept;
}

/* The vocabulary: lower bounds and mapping buckets to rows, unknown ones dropped */
static void
test_vocab(void)
{
	const uint32_t vocab[] = {3, 9, 10, 40};
	uint32_t	tok[] = {10, 4, 3, 40, 41, 9, 10, 0};
	uint32_t	none[] = {5, 6};
	uint32_t   *big = malloc(sizeof(uint32_t) * 5000);
	int64_t		cap = MtrsVocabTableSize(5000);
	uint64_t   *table = malloc(sizeof(uint64_t) * cap);
	uint64_t	rng = 5;
	int			agree = 1;

	check(MtrsVocabLowerBound(vocab, 4, 0) == 0 && MtrsVocabLowerBound(vocab, 4, 9) == 1 &&
		  MtrsVocabLowerBound(vocab, 4, 11) == 3 && MtrsVocabLowerBound(vocab, 4, 41) == 4 &&
		  MtrsVocabLowerBound(vocab, 0, 7) == 0, "lower bounds in a sorted vocabulary");
	check(MtrsVocabTableSize(0) == 16 && MtrsVocabTableSize(8) == 16 && MtrsVocabTableSize(9) == 32,
		  "a lookup table has room for twice the vocabulary");
	check(map_with_table(vocab, 4, tok, 8) == 5 && tok[0] == 2 && tok[1] == 0 && tok[2] == 3 &&
		  tok[3] == 1 && tok[4] == 2, "buckets become rows in order, unknown ones dropped");
	check(map_with_table(vocab, 4, none, 2) == 0, "text with no known bucket keeps nothing");
	check(map_with_table(vocab, 0, tok, 5) == 0, "an empty vocabulary knows nothing");

	/* 5000 buckets of 2^24 (a table with collisions): every lookup agrees with a search */
	big[0] = 0;
	for (int i = 1; i < 5000; i++)
		big[i] = big[i - 1] + 1 + (uint32_t) (NnRandNext(&rng) % 6000);
	MtrsVocabTableBuild(big, 5000, table, cap);
	for (int i = 0; i < 20000 && agree; i++)
	{
		uint32_t	b = i % 2 ? big[NnRandNext(&rng) % 5000] : (uint32_t) (NnRandNext(&rng) % (1u << 24));
		uint32_t	a[1] = {b};
		int64_t		r = MtrsVocabLowerBound(big, 5000, b);
		int			found = r < 5000 && big[r] == b;
		int			na = MtrsVocabMap(table, cap, a, 1);

		agree = na == found && (!found || a[0] == (uint32_t) r);
	}
	check(agree, "the table finds exactly the vocabulary's buckets, at their rows");
	check(MtrsCharRowsFrom(&(MtrsTokenizer) {1u << 24, 2, 3, 5, 1, 1, 0, 0}, big, 5000) ==
		  (uint32_t) MtrsVocabLowerBound(big, 5000, 1u << 23) &&
		  MtrsCharRowsFrom(&(MtrsTokenizer) {1u << 24, 2, 3, 5, 1, 1, 0, 0}, NULL, 0) == 1u << 23 &&
		  MtrsCharRowsFrom(&(MtrsTokenizer) {1u << 24, 2, 0, 0, 1, 1, 0, 0}, big, 5000) == 0,
		  "the first n-gram row: in a vocabulary, without one, and without n-grams");
	free(table);
	free(big);
}

/* The item-text regression step follows the finite-difference gradient */
static void
test_text_regression(void)
{
	enum
	{
		D = 4, B = 8
	};
	float		emb[B * D],
				before[B * D],
				target[D] = {0.5f, -0.25f, 1.0f, 0.0f},
				scratch[2 * D + 8];
	uint32_t	tok[3] = {1, 6, 1};
	MtrsTextParams p = {D, 0, 0, emb, NULL, NULL, NULL, 0, 0};
	uint64_t	rng = 9;
	const float lr = 1e-3f;
	double		worst = 0.0,
				loss0;

	fill_uniform(emb, B * D, &rng);
	memcpy(before, emb, sizeof(emb));
	loss0 = MtrsTextRegressStep(&p, tok, 3, target, lr, scratch);
	for (int j = 0; j < B * D; j++)
	{
		double		step_grad = (before[j] - emb[j]) / lr;
		float		saved[B * D];
		double		lp,
					lm;

		memcpy(saved, emb, sizeof(emb));
		memcpy(emb, before, sizeof(emb));
		emb[j] += 1e-3f;
		lp = MtrsTextRegressLoss(&p, tok, 3, target, scratch);
		emb[j] -= 2e-3f;
		lm = MtrsTextRegressLoss(&p, tok, 3, target, scratch);
		memcpy(emb, saved, sizeof(emb));
		worst = fmax(worst, fabs((lp - lm) / 2e-3 - step_grad));
	}
	check(worst < 1e-3, "item text regression: SGD step equals the finite-difference gradient");
	memcpy(emb, before, sizeof(emb));
	for (int it = 0; it < 2000; it++)
		MtrsTextRegressStep(&p, tok, 3, target, 0.5f, scratch);
	check(MtrsTextRegressLoss(&p, tok, 3, target, scratch) < 1e-6 && loss0 > 1e-3,
		  "item text regression: repeated steps fit the target");
}

/* Return the largest absolute difference of a[0..n) and b[0..n) */
static double
max_abs_diff(const float *a, const float *b, int n)
{
	double		worst = 0.0;

	for (int i = 0; i < n; i++)
		worst = fmax(worst, fabs((double) a[i] - b[i]));
	return worst;
}

/*
 * The item space encoding: with every weight 1 it is the mean part of
 * MtrsTextEncode; a weight 0 drops a token; words and character n-grams
 * keep separate (weighted) means.
 */
static void
test_text_weighted(void)
{
	enum
	{
		D = 3, B = 6
	};
	float		emb[B * D],
				h[2 * D],
				g[2 * D],
				ones[B] = {1, 1, 1, 1, 1, 1},
				w[B] = {1, 0, 0.5f, 1, 0, 1};
	uint32_t	tok[4] = {0, 1, 2, 4},
				kept[2] = {0, 2};
	MtrsTextParams p = {D, 0, 1, emb, NULL, NULL, NULL, 0, 0};
	MtrsTextParams pc = p;
	uint64_t	rng = 5;
	double		worst = 0.0;

	fill_uniform(emb, B * D, &rng);
	MtrsTextEncode(&p, tok, 4, h, NULL);
	check(MtrsTextEncodeWeighted(&p, tok, 4, ones, g) == 4 && max_abs_diff(h, g, D) < 1e-6,
		  "weighted encoding, every weight 1: the mean of MtrsTextEncode");
	check(MtrsTextEncodeWeighted(&p, tok, 4, w, g) == 2, "weights 0 drop tokens 1 and 4");
	for (int d = 0; d < D; d++)
		worst = fmax(worst, fabs(g[d] - (emb[0 * D + d] + 0.5 * emb[2 * D + d]) / 1.5));
	check(worst < 1e-6, "weighted encoding: the weighted mean of the kept rows");
	pc.char_from = 2;			/* rows 2.. are character n-grams */
	MtrsTextEncode(&pc, kept, 2, h, NULL);
	check(MtrsTextEncodeWeighted(&pc, tok, 4, w, g) == 2 && max_abs_diff(h, g, D) < 1e-6,
		  "weighted encoding with n-grams: word and n-gram means kept apart, as MtrsTextEncode does");
	check(MtrsTextEncodeWeighted(&p, tok + 1, 1, w, g) == 0 && g[0] == 0.0f && g[D - 1] == 0.0f,
		  "weighted encoding, only weight-0 tokens: nothing kept, zeros");
}

static void
test_hashes(void)
{
	unsigned char buf[1000];
	uint64_t	c1,
				c2;

	check(MtrsHashFnv1a("", 0) == 0x811c9dc5u && MtrsHashFnv1a("a", 1) == 0xe40c292cu &&
		  MtrsHashFnv1a("foobar", 6) == 0xbf9cf968u, "FNV-1a matches published test vectors");
	check(MtrsHashFnv1a("\xe4\xb8\xad", 3) != MtrsHashFnv1a("\xe4\xb8\xae", 3),
		  "FNV-1a separates UTF-8 characters differing in one byte");
	check(MtrsHashBucket(MtrsHashFnv1a("laptop", 6), 1000) < 1000, "bucket is within range");
	for (int i = 0; i < 1000; i++)
		buf[i] = (unsigned char) (i * 7);
	c1 = MtrsChecksum(buf, sizeof(buf));
	buf[517] ^= 0x10;
	c2 = MtrsChecksum(buf, sizeof(buf));
	check(c1 != c2, "checksum changes when one bit flips");
	check(MtrsChecksum(buf, 999) != MtrsChecksum(buf, 1000) && MtrsChecksum(buf, 0) != 0,
		  "checksum depends on the length");
}

/* ----------------------------------------------------------- model format */

/*
 * Build a small valid model with 3 users, 4 items, tasks and labels, and
 * 16 text buckets, as format `version` writes them: 3 a vocabulary of 3 of
 * them with item space weights 1, 0 and 0.5; 2 the vocabulary alone; 1 a
 * row for every bucket.
 */
static void *
build_model_as(size_t *len, MtrsModelView *v, int version)
{
	int			dense = (version == 1);
	const char *names[] = {"ranking", "clicked", "book_flight", "play_music"};
	MtrsHeader	h;
	void	   *buf;
	int			slen = 0,
				off = 0;
	uint64_t	rng = 1;

	for (int i = 0; i < 4; i++)
		slen += (int) strlen(names[i]) + 1;
	if (MtrsHeaderInit(&h, MTRS_KIND_ALL, 8, 16, 2, 3, 4, 5, 2, 2, 16, dense ? -1 : 3, version == 3,
					   slen) != 0)
		return NULL;
	h.version = (uint16_t) version;
	if (version < 3)
		h.n_params -= MTRS_N_SETTINGS - MTRS_N_SETTINGS_V2;	/* 16 settings before format 3 */
	*len = MtrsFormatSize(&h);
	buf = calloc(1, *len);
	memcpy(buf, &h, sizeof(h));
	MtrsFormatLayout(v, buf);
	for (int i = 0; i < 3; i++)
		v->user_ids[i] = -5 + 10 * i;
	for (int i = 0; i < 4; i++)
		v->item_ids[i] = (int64_t) 1 << (40 + i);
	{
		int64_t		ptr[4] = {0, 2, 2, 5};
		int32_t		items[5] = {1, 3, 0, 1, 2};

		memcpy(v->hist_ptr, ptr, sizeof(ptr));
		memcpy(v->hist_items, items, sizeof(items));
	}
	for (int i = 0; i < 4; i++)
	{
		v->str_off[i] = off;
		strcpy(v->str_data + off, names[i]);
		off += (int) strlen(names[i]) + 1;
	}
	if (!dense)
	{
		v->vocab[0] = 1;
		v->vocab[1] = 7;
		v->vocab[2] = 12;
	}
	NnRandNormalFill(v->params, h.n_params, 0.1f, &rng);
	if (version == 3)
	{
		v->t.settings[MTRS_SET_NGRAMS_BY_SCRIPT] = 1.0f;
		v->t.settings[MTRS_SET_CASE_FOLDING] = 1.0f;
		v->t.word_item_w[0] = 1.0f;
		v->t.word_item_w[1] = 0.0f;
		v->t.word_item_w[2] = 0.5f;
	}
	v->t.task_parent[0] = -1.0f;
	v->t.task_parent[1] = 0.0f;
	v->t.settings[MTRS_SET_ALPHA] = 1.0f;
	v->t.settings[MTRS_SET_REG] = 20.0f;
	v->t.settings[MTRS_SET_HALF_LIFE] = 7.0f;
	v->t.settings[MTRS_SET_RATING_MIN] = 1.0f;
	v->t.settings[MTRS_SET_RATING_MAX] = 5.0f;
	v->t.settings[MTRS_SET_LAST_TS] = 9500.0f;
	v->t.settings[MTRS_SET_LAST_TS_LO] = 0.25f;
	v->t.settings[MTRS_SET_INTENT_THRESHOLD] = 0.5f;
	v->t.settings[MTRS_SET_INTENT_TOP1] = 1.0f;
	v->t.settings[MTRS_SET_WORD_NGRAMS] = 2.0f;
	v->t.settings[MTRS_SET_CHAR_MIN] = 3.0f;
	v->t.settings[MTRS_SET_CHAR_MAX] = 5.0f;
	v->t.settings[MTRS_SET_PUNCTUATION] = 1.0f;
	v->t.settings[MTRS_SET_TEXT_MARKS] = 1.0f;
	v->t.settings[MTRS_SET_INTENT_SOFTMAX] = 0.0f;
	v->t.settings[MTRS_SET_INTENT_ONE] = 0.0f;
	MtrsFormatSeal(v);
	return buf;
}

static void *
build_model(size_t *len, MtrsModelView *v)
{
	return build_model_as(len, v, MTRS_FORMAT_VERSION);
}

/* Validate a copy of a model after a change; return the status */
static MtrsFormatStatus
check_copy(const void *model, size_t len, size_t copy_len, void (*damage) (char *), char *detail)
{
	char	   *copy = calloc(1, copy_len + 8);
	MtrsModelView v;
	MtrsFormatStatus st;

	memcpy(copy, model, len < copy_len ? len : copy_len);
	if (damage)
		damage(copy);
	st = MtrsFormatCheck(&v, copy, copy_len, detail, 256);
	free(copy);
	return st;
}

static void
damage_magic(char *b)
{
	memcpy(b, "PK\003\004", 4);
}

static void
damage_swap(char *b)
{
	uint32_t	m = MTRS_MAGIC_SWAPPED;

	memcpy(b, &m, 4);
}

static void
damage_version(char *b)
{
	((MtrsHeader *) b)->version = MTRS_FORMAT_VERSION + 1;
}

static void
damage_dim(char *b)
{
	((MtrsHeader *) b)->dim = 100000;
}

static void
damage_shape(char *b)
{
	((MtrsHeader *) b)->n_items += 1;	/* n_params no longer matches */
}

static void
damage_bitflip(char *b)
{
	b[sizeof(MtrsHeader) + 40] ^= 0x04;
}

/* Re-seal after making the item ids unsorted: only content checks can catch it */
static void
damage_ids(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.item_ids[0] = v.item_ids[3];
	MtrsFormatSeal(&v);
}

static void
damage_history(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.hist_items[1] = 1;		/* user 0's items become 1, 1: not ascending */
	MtrsFormatSeal(&v);
}

static void
damage_cycle(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.t.task_parent[0] = 1.0f;	/* 0 -> 1 -> 0 */
	MtrsFormatSeal(&v);
}

static void
damage_nan(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.params[5] = NAN;
	MtrsFormatSeal(&v);
}

/* Settings serving reads, each set out of range in turn by damage_setting */
static const struct
{
	int			k;
	float		value;
	const char *what;
}			bad_settings[] = {
	{MTRS_SET_ALPHA, -1.0f, "a negative confidence weight"},
	{MTRS_SET_REG, 1e7f, "a regularization of 1e7"},
	{MTRS_SET_HALF_LIFE, -7.0f, "a negative half-life"},
	{MTRS_SET_RATING_MIN, 6.0f, "a rating minimum above the maximum"},
	{MTRS_SET_LAST_TS, 2e8f, "a training time 2e8 days away"},
	{MTRS_SET_INTENT_THRESHOLD, 1.5f, "an intent threshold of 1.5"},
	{MTRS_SET_INTENT_TOP1, 0.5f, "a top-1 rule of 0.5"},
	{MTRS_SET_CASE_FOLDING, 2.0f, "case folding rules that do not exist yet"},
};
static int	bad_setting;

static void
damage_setting(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.t.settings[bad_settings[bad_setting].k] = bad_settings[bad_setting].value;
	MtrsFormatSeal(&v);
}

static void
damage_tokenizer(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.t.settings[MTRS_SET_CHAR_MAX] = 1e9f;	/* would make the tokenizer loop for ages */
	MtrsFormatSeal(&v);
}

static void
damage_names(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	memcpy(v.str_data + 8, "ranking", 7);	/* task 1 renamed like task 0 */
	MtrsFormatSeal(&v);
}

static void
damage_vocab(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.vocab[2] = 7;				/* a bucket twice */
	MtrsFormatSeal(&v);
}

static void
damage_vocab_range(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.vocab[2] = 16;			/* beyond n_buckets */
	MtrsFormatSeal(&v);
}

static void
damage_flags_v1(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.hdr->version = 1;			/* format 1 has no vocabulary */
	MtrsFormatSeal(&v);
}

static void
damage_item_weight(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.t.word_item_w[1] = 1.5f;	/* weights lie in [0, 1] */
	MtrsFormatSeal(&v);
}

static void
damage_flags_v2(char *b)
{
	MtrsModelView v;

	MtrsFormatLayout(&v, b);
	v.hdr->version = 2;			/* format 2 has no item space weights */
	MtrsFormatSeal(&v);
}

/* Check a round trip and each kind of damaged input */
static void
test_format(void)
{
	MtrsModelView v,
				w;
	size_t		len;
	char		detail[256];
	void	   *model = build_model(&len, &v);
	void	   *copy;
	MtrsHeader	h;

	check(model != NULL && len % 8 == 0, "a valid model builds with an 8-byte multiple size");
	if (model == NULL)
		return;
	copy = malloc(len);
	memcpy(copy, model, len);
	check(MtrsFormatCheck(&w, copy, len, detail, sizeof(detail)) == MTRS_FMT_OK &&
		  w.hdr->n_users == 3 && w.item_ids[2] == ((int64_t) 1 << 42) &&
		  strcmp(MtrsModelString(&w, 3), "play_music") == 0 &&
		  memcmp(w.params, v.params, sizeof(float) * v.hdr->n_params) == 0,
		  "round trip keeps shapes, ids, names and parameters");
	free(copy);

	check(check_copy(model, len, 10, NULL, detail) == MTRS_FMT_TOO_SHORT, "10 bytes: too short");
	check(check_copy(model, len, len - 1, NULL, detail) == MTRS_FMT_TRUNCATED &&
		  strstr(detail, "Expected") != NULL, "one byte missing: truncated, with sizes in the detail");
	check(check_copy(model, len, sizeof(MtrsHeader) + 3, NULL, detail) == MTRS_FMT_TRUNCATED,
		  "header only: truncated");
	check(check_copy(model, len, len + 8, NULL, detail) == MTRS_FMT_TRAILING, "extra bytes: trailing");
	check(check_copy(model, len, len, damage_magic, detail) == MTRS_FMT_BAD_MAGIC, "zip bytes: bad magic");
	check(check_copy(model, len, len, damage_swap, detail) == MTRS_FMT_BYTE_ORDER, "swapped magic: byte order");
	check(check_copy(model, len, len, damage_version, detail) == MTRS_FMT_NEWER_VERSION,
		  "format version + 1: newer version");
	check(check_copy(model, len, len, damage_dim, detail) == MTRS_FMT_BAD_HEADER &&
		  strstr(detail, "dim") != NULL, "dim out of range: bad header naming the field");
	check(check_copy(model, len, len, damage_shape, detail) == MTRS_FMT_BAD_HEADER,
		  "shapes inconsistent with n_params: bad header");
	check(check_copy(model, len, len, damage_bitflip, detail) == MTRS_FMT_CHECKSUM,
		  "one flipped bit in the ids: checksum");
	check(check_copy(model, len, len, damage_ids, detail) == MTRS_FMT_BAD_CONTENT,
		  "unsorted item ids: bad content");
	check(check_copy(model, len, len, damage_history, detail) == MTRS_FMT_BAD_CONTENT,
		  "history not ascending: bad content");
	check(check_copy(model, len, len, damage_cycle, detail) == MTRS_FMT_BAD_CONTENT,
		  "cyclic task parents: bad content");
	check(check_copy(model, len, len, damage_nan, detail) == MTRS_FMT_BAD_CONTENT,
		  "NaN parameter: bad content");
	check(check_copy(model, len, len, damage_tokenizer, detail) == MTRS_FMT_BAD_CONTENT,
		  "tokenizer setting out of range: bad content");
	check(check_copy(model, len, len, damage_names, detail) == MTRS_FMT_BAD_CONTENT,
		  "duplicate task name: bad content");
	check(check_copy(model, len, len, damage_vocab, detail) == MTRS_FMT_BAD_CONTENT &&
		  strstr(detail, "vocabulary is invalid at row 2") != NULL,
		  "a vocabulary bucket twice: bad content");
	check(check_copy(model, len, len, damage_vocab_range, detail) == MTRS_FMT_BAD_CONTENT,
		  "a vocabulary bucket beyond n_buckets: bad content");
	check(check_copy(model, len, len, damage_flags_v1, detail) == MTRS_FMT_BAD_HEADER,
		  "a vocabulary in a format 1 model: bad header");
	check(check_copy(model, len, len, damage_item_weight, detail) == MTRS_FMT_BAD_CONTENT &&
		  strstr(detail, "token row 1 is not in [0, 1]") != NULL,
		  "an item space weight of 1.5: bad content naming the row");
	check(check_copy(model, len, len, damage_flags_v2, detail) == MTRS_FMT_BAD_HEADER,
		  "item space weights in a format 2 model: bad header");
	for (bad_setting = 0; bad_setting < (int) (sizeof(bad_settings) / sizeof(bad_settings[0]));
		 bad_setting++)
	{
		char		name[128];

		snprintf(name, sizeof(name), "%s: bad content", bad_settings[bad_setting].what);
		check(check_copy(model, len, len, damage_setting, detail) == MTRS_FMT_BAD_CONTENT &&
			  (strstr(detail, "setting") != NULL || strstr(detail, "threshold") != NULL), name);
	}
	check(v.vocab != NULL && v.hdr->n_vocab == 3 && MtrsWordRows(v.hdr) == 3 &&
		  MtrsItemWeightRows(v.hdr) == 3 && v.t.word_item_w[2] == 0.5f,
		  "a format 3 model has 3 token rows, one per vocabulary bucket, each with an item space weight");
	free(model);
	model = build_model_as(&len, &v, 2);
	check(model != NULL && MtrsFormatCheck(&w, model, len, detail, sizeof(detail)) == MTRS_FMT_OK &&
		  w.vocab != NULL && MtrsItemWeightRows(w.hdr) == 0 && MtrsWordRows(w.hdr) == 3,
		  "a format 2 model (a vocabulary, no item space weights) is still read");
	free(model);
	model = build_model_as(&len, &v, 1);
	check(model != NULL && MtrsFormatCheck(&w, model, len, detail, sizeof(detail)) == MTRS_FMT_OK &&
		  w.vocab == NULL && MtrsWordRows(w.hdr) == 16,
		  "a format 1 model (a row per bucket, no vocabulary) is still read");

	check(MtrsHeaderInit(&h, MTRS_KIND_INTERACTIONS, 1024, 0, 0, MTRS_MAX_USERS, MTRS_MAX_ITEMS,
						 0, 1, 0, 0, -1, 0, 2) == -1, "shapes beyond 1 GB are refused by the writer");
	check(MtrsHeaderInit(&h, MTRS_KIND_INTENT, 8, 8, 0, 0, 0, 0, 0, 1, 0, -1, 0, 2) == -1,
		  "an intent model without text is refused");
	check(MtrsHeaderInit(&h, MTRS_KIND_TEXT, 8, 8, 0, 0, 0, 0, 0, 0, 16, 17, 0, 0) == -1,
		  "a vocabulary larger than the hash space is refused");
	check(MtrsHeaderInit(&h, MTRS_KIND_TEXT, 8, 8, 0, 0, 0, 0, 0, 0, 16, -1, 1, 0) == -1,
		  "item space weights without a vocabulary are refused");
	free(model);
}

/* Flip every bit of a small model once: the reader must reject each and never crash */
static void
test_format_fuzz(void)
{
	MtrsModelView v;
	size_t		len;
	void	   *model = build_model(&len, &v);
	char	   *copy = malloc(len);
	char		detail[256];
	int			accepted = 0;
	uint64_t	rng = 99;

	for (size_t bit = 0; bit < len * 8; bit++)
	{
		memcpy(copy, model, len);
		copy[bit / 8] ^= (char) (1 << (bit % 8));
		if (MtrsFormatCheck(&v, copy, len, detail, sizeof(detail)) == MTRS_FMT_OK)
			accepted++;
	}
	check(accepted == 0, "every single-bit flip is rejected");
	accepted = 0;
	for (int i = 0; i < 2000; i++)
	{
		size_t		cut = NnRandNext(&rng) % len;

		memcpy(copy, model, len);
		for (int j = 0; j < 4; j++)
			copy[NnRandNext(&rng) % len] = (char) NnRandNext(&rng);
		if (MtrsFormatCheck(&v, copy, cut, detail, sizeof(detail)) == MTRS_FMT_OK)
			accepted++;
	}
	check(accepted == 0, "2000 randomly damaged, shortened copies are all rejected");
	free(copy);
	free(model);
}

int
main(void)
{
	test_linear_gradients(0);
	test_linear_gradients(1);
	test_bag_gradients();
	test_loss_gradients();
	test_optimizers();
	test_least_squares();
	test_solve_and_dot_sizes();
	test_fold_in();
	test_topk();
	test_scores_many();
	test_spectral_norm();
	test_hashes();
	test_vocab();
	test_tokenizer();
	test_tokenizer_spans();
	test_text_gradients(0, 0, 0);
	test_text_gradients(0, 4, 0);	/* token 5 is a character n-gram, tokens 2 words */
	test_text_gradients(1, 0, 0);
	test_text_gradients(0, 4, 1);
	test_intent_offsets();
	test_text_regression();
	test_text_weighted();
	test_text_contributions();
	test_text_projected();
	test_format();
	test_format_fuzz();
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
