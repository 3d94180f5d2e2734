/*-------------------------------------------------------------------------
 *
 * mtrs_nn.c
 *	  Math kernels: dense and embedding layers, losses, optimizers, top-k.
 *
 * Layer 4 of mtrs: libc, libm and CBLAS only.  Nothing here allocates,
 * raises errors or knows about PostgreSQL; callers check shapes and turn
 * non-finite losses into errors.  Each forward kernel sits next to its
 * backward kernel, and every backward kernel accumulates.
 *
 * IDENTIFICATION
 *	  src/mtrs_nn.c
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "mtrs_nn.h"

/* ---------------------------------------------------------------- dense */

/*
 * Apply a dense layer: out = in W^T + b.
 * in is [batch][in_dim], w is [out_dim][in_dim], b is [out_dim] (or NULL),
 * out is [batch][out_dim].
 */
void
NnLinearForward(float *out, const float *in, const float *w, const float *b,
				int batch, int in_dim, int out_dim)
{
	if (batch <= 0 || in_dim <= 0 || out_dim <= 0)
		return;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out_dim, in_dim,
				1.0f, in, in_dim, w, in_dim, 0.0f, out, out_dim);
	if (b == NULL)
		return;
	for (int r = 0; r < batch; r++)
	{
		float	   *o = out + (int64_t) r * out_dim;

		for (int j = 0; j < out_dim; j++)
			o[j] += b[j];
	}
}

/*
 * Backpropagate through a dense layer, accumulating:
 * din += dout W (if din), dw += dout^T in, db += column sums of dout (if db).
 * dout is [batch][out_dim]; shapes as in NnLinearForward.
 */
void
NnLinearBackward(float *din, float *dw, float *db, const float *dout,
				 const float *in, const float *w,
				 int batch, int in_dim, int out_dim)
{
	if (batch <= 0 || in_dim <= 0 || out_dim <= 0)
		return;
	if (din != NULL)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in_dim, out_dim,
					1.0f, dout, out_dim, w, in_dim, 1.0f, din, in_dim);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_dim, in_dim, batch,
				1.0f, dout, out_dim, in, in_dim, 1.0f, dw, in_dim);
	if (db == NULL)
		return;
	for (int r = 0; r < batch; r++)
	{
		const float *g = dout + (int64_t) r * out_dim;

		for (int j = 0; j < out_dim; j++)
			db[j] += g[j];
	}
}

/* Apply ReLU elementwise: out[i] = max(in[i], 0); in and out are [n] */
void
NnReluForward(float *out, const float *in, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

/* Backpropagate ReLU given its output: din[i] += out[i] > 0 ? dout[i] : 0 */
void
NnReluBackward(float *din, const float *dout, const float *out, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		din[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ------------------------------------------------------------ embedding */

/*
 * Pool table rows into one vector per bag: out[b] = sum_j weight[j] table[idx[j]]
 * over j in [offsets[b], offsets[b+1]).  table is [rows][dim], out is
 * [batch][dim], idx and weight (NULL = all ones) are [offsets[batch]].
 */
void
NnEmbeddingBagForward(float *out, const float *table, const int32_t *idx,
					  const float *weight, const int32_t *offsets,
					  int batch, int dim)
{
	memset(out, 0, sizeof(float) * (size_t) batch * dim);
	for (int b = 0; b < batch; b++)
	{
		float	   *o = out + (int64_t) b * dim;

		for (int32_t j = offsets[b]; j < offsets[b + 1]; j++)
			NnAxpy(o, weight ? weight[j] : 1.0f, table + (int64_t) idx[j] * dim, dim);
	}
}

/*
 * Backpropagate an embedding bag: dtable[idx[j]] += weight[j] dout[b].
 * dtable has the table's shape; shapes as in NnEmbeddingBagForward.
 */
void
NnEmbeddingBagBackward(float *dtable, const float *dout, const int32_t *idx,
					   const float *weight, const int32_t *offsets,
					   int batch, int dim)
{
	for (int b = 0; b < batch; b++)
	{
		const float *g = dout + (int64_t) b * dim;

		for (int32_t j = offsets[b]; j < offsets[b + 1]; j++)
			NnAxpy(dtable + (int64_t) idx[j] * dim, weight ? weight[j] : 1.0f, g, dim);
	}
}

/* --------------------------------------------------------------- losses */

/* Return the logistic function of x without overflow */
float
NnSigmoid(float x)
{
	if (x >= 0.0f)
		return 1.0f / (1.0f + expf(-x));
	else
	{
		float		e = expf(x);

		return e / (1.0f + e);
	}
}

/*
 * Mean binary cross-entropy of sigmoid(logit) against label in [0,1].
 * Writes dlogit[i] = (sigmoid(logit[i]) - label[i]) / n; arrays are [n].
 */
double
NnSigmoidBce(float *dlogit, const float *logit, const float *label, int n)
{
	double		loss = 0.0;

	for (int i = 0; i < n; i++)
	{
		float		x = logit[i];

		/* log(1 + e^-|x|) + max(x, 0) - x y, stable for any x */
		loss += log1p(exp(-fabs((double) x))) + (x > 0.0f ? x : 0.0f) - (double) x * label[i];
		dlogit[i] = (NnSigmoid(x) - label[i]) / n;
	}
	return n > 0 ? loss / n : 0.0;
}

/*
 * Mean of 0.5 (pred - target)^2.  Writes dpred[i] = (pred[i] - target[i]) / n.
 */
double
NnSquaredError(float *dpred, const float *pred, const float *target, int n)
{
	double		loss = 0.0;

	for (int i = 0; i < n; i++)
	{
		float		d = pred[i] - target[i];

		loss += 0.5 * (double) d * d;
		dpred[i] = d / n;
	}
	return n > 0 ? loss / n : 0.0;
}

/* --------------------------------------------------------------- vectors */

/* Return the dot product of a and b, both [n] */
float
NnDot(const float *a, const float *b, int n)
{
	float		s = 0.0f;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/*
 * Return sum a[i] b[i] c[i] over [n], in eight interleaved partial sums:
 * independent chains the vectorizer can run side by side (one chain waits
 * for each add in turn; the training heads call this once per pair and
 * head).  The order of the additions differs from NnDot's.
 */
__attribute__((target_clones("avx2", "default")))
float
NnDot3(const float *a, const float *b, const float *c, int n)
{
	float		acc[8] = {0};
	float		s = 0.0f;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += a[i + l] * b[i + l] * c[i + l];
	for (; i < n; i++)
		s += a[i] * b[i] * c[i];
	return s + (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])));
}

/* Add alpha x to y, both [n] */
void
NnAxpy(float *y, float alpha, const float *x, int n)
{
	for (int i = 0; i < n; i++)
		y[i] += alpha * x[i];
}

/* Score every row of a table against q: scores = table q; table is [rows][dim] */
void
NnScores(float *scores, const float *table, const float *q, int rows, int dim)
{
	if (rows <= 0 || dim <= 0)
		return;
	cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, dim, 1.0f, table, dim, q, 1,
				0.0f, scores, 1);
}

/*
 * Score n queries q [n][dim] against every row of table [rows][dim]:
 * scores [n][rows].  One query is a matrix-vector product (NnScores); more
 * are one matrix product, which reads the table once for all of them.
 */
void
NnScoresMany(float *scores, const float *table, const float *q, int rows, int dim, int n)
{
	if (n == 1)
		NnScores(scores, table, q, rows, dim);
	else if (rows > 0 && dim > 0 && n > 1)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, rows, dim, 1.0f, q, dim,
					table, dim, 0.0f, scores, rows);
}

/*
 * Project every row of table [rows][dim] on n vectors w (row l at w + l *
 * ldw, its first dim floats): out[r * ldo + l] = <table[r], w[l]> for l < n
 * (ldo >= n; the other floats of a row are left as they are).  One matrix
 * product.
 */
void
NnProjectRows(float *out, int ldo, const float *table, int rows, int dim, const float *w,
			  int ldw, int n)
{
	if (rows > 0 && dim > 0 && n > 0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, dim, 1.0f, table, dim,
					w, ldw, 0.0f, out, ldo);
}

/* ----------------------------------------------------------- optimizers */

/* Update one embedding row with Adagrad; row, accum and grad are [dim] */
void
NnAdagradRow(float *row, float *accum, const float *grad, float lr, int dim)
{
	for (int i = 0; i < dim; i++)
	{
		accum[i] += grad[i] * grad[i];
		row[i] -= lr * grad[i] / (sqrtf(accum[i]) + 1e-8f);
	}
}

/* Take one bias-corrected Adam step (step counts from 1) over [n] parameters */
void
NnAdamStep(float *param, float *m, float *v, const float *grad, int64_t n,
		   float lr, float beta1, float beta2, float eps, int step)
{
	float		c1 = 1.0f - powf(beta1, (float) step);
	float		c2 = 1.0f - powf(beta2, (float) step);

	for (int64_t i = 0; i < n; i++)
	{
		m[i] = beta1 * m[i] + (1.0f - beta1) * grad[i];
		v[i] = beta2 * v[i] + (1.0f - beta2) * grad[i] * grad[i];
		param[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
	}
}

/* --------------------------------------------------------- least squares */

/*
 * Accumulate gram += alpha x^T x into the upper triangle of gram [dim][dim];
 * x is [rows][dim].  The lower triangle is left untouched.
 */
void
NnGramAccumulate(float *gram, const float *x, int rows, int dim, float alpha)
{
	if (rows <= 0 || dim <= 0)
		return;
	cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, rows, alpha, x, dim,
				1.0f, gram, dim);
}

/*
 * Widen the upper triangle of a [dim][dim] into ad (the lower triangle, which
 * NnGramAccumulate leaves untouched and NnCholeskySolve never reads, is not
 * written)
 */
void
NnWidenUpper(double *restrict ad, const float *restrict a, int dim)
{
	for (int i = 0; i < dim; i++)
		for (int j = i; j < dim; j++)
			ad[(int64_t) i * dim + j] = a[(int64_t) i * dim + j];
}

/*
 * Solve a x = b for a symmetric positive definite a [dim][dim] (upper
 * triangle read) by Cholesky factorization in place; b [dim] receives x.
 * Returns 0, or -1 if a is not positive definite (a and b then undefined).
 *
 * Right-looking and blocked: rows of R are finished CHOL_PANEL at a time
 * (each subtracted from the other rows of its panel as soon as it is
 * known), then the panel is subtracted from every row below it in one
 * pass, so the trailing rows are loaded and stored once per panel instead
 * of once per row of R, and every inner loop runs over contiguous memory.
 * Each element still receives its updates in the order j = 0, 1, ..., so
 * the result is the same as the textbook dot-product form's, only faster.
 */
#define CHOL_PANEL 4			/* rows per panel: the unrolled update below */

/* ri[k] -= f * rj[k] for k in [from, dim): row j of R subtracted from row i */
static inline void
subtract_row(double *restrict ri, const double *restrict rj, double f, int from, int dim)
{
	for (int k = from; k < dim; k++)
		ri[k] -= f * rj[k];
}

__attribute__((target_clones("avx2", "default")))
int
NnCholeskySolve(double *a, double *b, int dim)
{
	/* factor a = R^T R with R upper triangular, stored in the upper triangle */
	for (int j0 = 0; j0 < dim; j0 += CHOL_PANEL)
	{
		int			j1 = j0 + CHOL_PANEL < dim ? j0 + CHOL_PANEL : dim;

		/* finish rows j0 .. j1 - 1, updating only the panel's own rows */
		for (int j = j0; j < j1; j++)
		{
			double	   *rj = a + (int64_t) j * dim;

			if (!(rj[j] > 0.0))
				return -1;
			rj[j] = sqrt(rj[j]);
			for (int i = j + 1; i < dim; i++)
				rj[i] = rj[i] / rj[j];
			for (int i = j + 1; i < j1; i++)
				subtract_row(a + (int64_t) i * dim, rj, rj[i], i, dim);
		}
		/*
		 * subtract the panel from the rows below it, its rows in order (only
		 * the last panel can be narrower, and no rows are below it)
		 */
		for (int i = j1; i < dim; i++)
		{
			double	   *ri = a + (int64_t) i * dim;
			const double *r0 = a + (int64_t) j0 * dim;
			const double *r1 = r0 + dim;
			const double *r2 = r1 + dim;
			const double *r3 = r2 + dim;
			double		f0 = r0[i],
						f1 = r1[i],
						f2 = r2[i],
						f3 = r3[i];

			for (int k = i; k < dim; k++)
				ri[k] = (((ri[k] - f0 * r0[k]) - f1 * r1[k]) - f2 * r2[k]) - f3 * r3[k];
		}
	}
	/* solve R^T y = b (a column of R at a time), then R x = y */
	for (int k = 0; k < dim; k++)
	{
		const double *rk = a + (int64_t) k * dim;

		b[k] = b[k] / rk[k];
		for (int i = k + 1; i < dim; i++)
			b[i] -= rk[i] * b[k];
	}
	for (int i = dim - 1; i >= 0; i--)
	{
		double		t = b[i];

		for (int k = i + 1; k < dim; k++)
			t -= a[(int64_t) i * dim + k] * b[k];
		b[i] = t / a[(int64_t) i * dim + i];
	}
	return 0;
}

/* Build NnFoldIn's system: a (upper triangle) and right-hand side b */
static void
foldin_system(const float *gram, const float *table, int dim, const int *rows,
			  const float *conf, int n, double reg, double *a, double *b)
{
	NnWidenUpper(a, gram, dim);
	for (int j = 0; j < dim; j++)
	{
		a[(int64_t) j * dim + j] += reg;
		b[j] = 0.0;
	}
	for (int k = 0; k < n; k++)
	{
		const float *y = table + (int64_t) rows[k] * dim;
		double		c1 = (double) conf[k] - 1.0;

		for (int i = 0; i < dim; i++)
		{
			double		ci = c1 * y[i];

			b[i] += (double) conf[k] * y[i];
			for (int j = i; j < dim; j++)
				a[(int64_t) i * dim + j] += ci * y[j];
		}
	}
}

/*
 * Fold a user into a trained implicit model: the least-squares user vector
 * for interactions with rows[0..n) of table [.][dim] with confidences conf
 * (> 0), every other row an implicit zero of confidence 1:
 *	  (G + sum (c - 1) y y^T + reg I) x = sum c y,	G = table^T table,
 * given G's upper triangle in gram [dim][dim].  work holds dim * (dim + 1)
 * doubles.  Writes x to out and returns 0, or -1 if the system is singular.
 */
int
NnFoldIn(const float *gram, const float *table, int dim, const int *rows,
		 const float *conf, int n, double reg, float *out, double *work)
{
	double	   *a = work;
	double	   *b = work + (int64_t) dim * dim;

	foldin_system(gram, table, dim, rows, conf, n, reg, a, b);
	if (NnCholeskySolve(a, b, dim) != 0)
		return -1;
	for (int j = 0; j < dim; j++)
		out[j] = (float) b[j];
	return 0;
}

/*
 * Split the score <query, x> of the user NnFoldIn solves (same arguments)
 * into one term per interaction: x = A^-1 sum_k conf_k y_k with A symmetric,
 * so <query, x> = sum_k conf_k <y_k, A^-1 query>, and contrib[k] is the k-th
 * term (the explanation of implicit-feedback least squares, Hu, Koren and
 * Volinsky 2008).  Returns -1 if A is singular.
 */
int
NnFoldInExplain(const float *gram, const float *table, int dim, const int *rows,
				const float *conf, int n, double reg, const float *query, float *contrib,
				double *work)
{
	double	   *a = work;
	double	   *b = work + (int64_t) dim * dim;

	foldin_system(gram, table, dim, rows, conf, n, reg, a, b);
	for (int j = 0; j < dim; j++)
		b[j] = query[j];
	if (NnCholeskySolve(a, b, dim) != 0)
		return -1;
	for (int k = 0; k < n; k++)
	{
		const float *y = table + (int64_t) rows[k] * dim;
		double		s = 0.0;

		for (int j = 0; j < dim; j++)
			s += b[j] * y[j];
		contrib[k] = (float) (conf[k] * s);
	}
	return 0;
}

/* ---------------------------------------------------------------- top-k */

/* Return whether a ranks below b: lower score, or equal score and higher index */
static inline int
ranks_below(NnScored a, NnScored b)
{
	return a.score < b.score || (a.score == b.score && a.index > b.index);
}

/* Restore the heap property downwards from position i */
static void
sift_down(NnScored *h, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			worst = i;
		NnScored	tmp;

		if (l < n && ranks_below(h[l], h[worst]))
			worst = l;
		if (r < n && ranks_below(h[r], h[worst]))
			worst = r;
		if (worst == i)
			return;
		tmp = h[i];
		h[i] = h[worst];
		h[worst] = tmp;
		i = worst;
	}
}

/* Start an empty top-k selection over caller storage of k entries */
void
NnTopKInit(NnTopK *topk, NnScored *storage, int k)
{
	topk->heap = storage;
	topk->k = k;
	topk->n = 0;
}

/* Offer one candidate; NaN scores are ignored */
void
NnTopKPush(NnTopK *topk, int32_t index, float score)
{
	NnScored	c = {score, index};
	NnScored   *h = topk->heap;

	if (isnan(score) || topk->k <= 0)
		return;
	if (topk->n < topk->k)
	{
		int			i = topk->n++;

		while (i > 0 && ranks_below(c, h[(i - 1) / 2]))
		{
			h[i] = h[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = c;
	}
	else if (ranks_below(h[0], c))
	{
		h[0] = c;
		sift_down(h, topk->n, 0);
	}
}

/*
 * Sort the kept entries best first (score descending, then index
 * ascending) in the heap storage, and return how many there are.
 */
int
NnTopKSort(NnTopK *topk)
{
	NnScored   *h = topk->heap;
	int			n = topk->n;

	for (int end = n - 1; end > 0; end--)
	{
		NnScored	tmp = h[0];

		h[0] = h[end];
		h[end] = tmp;
		sift_down(h, end, 0);
	}
	return n;
}

/*
 * Estimate the largest singular value of the sparse n_rows x n_cols matrix
 * whose entries are val[k] at (row[k], col[k]), k < n (duplicates add up),
 * by power iteration on M^T M from the all-ones vector.  Each estimate
 * |M x| of a unit x is a lower bound, and for a positive semidefinite M^T M
 * the estimates never fall, so the iteration may stop as soon as one
 * exceeds stop_above; otherwise it stops when an estimate grows by less
 * than tol (relative) or after max_iter steps.  For a matrix without
 * negative entries the all-ones start cannot miss the largest singular
 * value.  between, if not NULL, is called before each step (a caller's
 * interrupt check).  work holds n_rows + n_cols doubles.  Returns 0 for an
 * empty matrix.
 */
double
NnSpectralNorm(const int32_t *row, const int32_t *col, const float *val, int64_t n,
			   int n_rows, int n_cols, int max_iter, double tol, double stop_above,
			   void (*between) (void), double *work)
{
	double	   *x = work;
	double	   *y = work + n_cols;
	double		sigma = 0.0;

	if (n_rows <= 0 || n_cols <= 0)
		return 0.0;
	for (int j = 0; j < n_cols; j++)
		x[j] = 1.0 / sqrt((double) n_cols);
	for (int it = 0; it < max_iter; it++)
	{
		double		est = 0.0,
					norm = 0.0;

		if (between != NULL)
			between();
		memset(y, 0, sizeof(double) * n_rows);
		for (int64_t k = 0; k < n; k++)
			y[row[k]] += (double) val[k] * x[col[k]];
		for (int i = 0; i < n_rows; i++)
			est += y[i] * y[i];
		est = sqrt(est);
		if (est >= stop_above || est == 0.0 || (it > 0 && est - sigma <= tol * est))
			return est;
		sigma = est;
		memset(x, 0, sizeof(double) * n_cols);
		for (int64_t k = 0; k < n; k++)
			x[col[k]] += (double) val[k] * y[row[k]];
		for (int j = 0; j < n_cols; j++)
			norm += x[j] * x[j];
		norm = sqrt(norm);
		for (int j = 0; j < n_cols; j++)
			x[j] /= norm;
	}
	return sigma;
}

/* Order int64 values ascending, for qsort and bsearch */
int
NnCmpInt64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* --------------------------------------------------------------- random */

/* Return the next 64 random bits of a splitmix64 stream */
uint64_t
NnRandNext(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Return a uniform float in [0, 1) */
float
NnRandUniform(uint64_t *state)
{
	return (float) (NnRandNext(state) >> 40) * (1.0f / 16777216.0f);
}

/* Fill out[n] with normal samples of the given standard deviation (Box-Muller) */
void
NnRandNormalFill(float *out, int64_t n, float stddev, uint64_t *state)
{
	for (int64_t i = 0; i < n; i += 2)
	{
		double		u1 = ((double) (NnRandNext(state) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
		double		u2 = (double) (NnRandNext(state) >> 11) * (1.0 / 9007199254740992.0);
		double		r = sqrt(-2.0 * log(u1)) * stddev;

		out[i] = (float) (r * cos(6.283185307179586 * u2));
		if (i + 1 < n)
			out[i + 1] = (float) (r * sin(6.283185307179586 * u2));
	}
}
