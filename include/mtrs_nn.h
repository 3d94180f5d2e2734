/*-------------------------------------------------------------------------
 *
 * mtrs_nn.h
 *	  Math kernels of mtrs: dense and embedding layers (forward and
 *	  backward), losses, optimizer steps and a bounded top-k heap.
 *
 * Plain C plus CBLAS: no PostgreSQL headers, no allocation, no errors.
 * Kernels take outputs first, then inputs, then dimensions; every backward
 * kernel accumulates (+=) into its gradient outputs.  Matrices are
 * row-major; dense weights are stored [out][in].
 *
 * IDENTIFICATION
 *	  include/mtrs_nn.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_NN_H
#define MTRS_NN_H

#include <stddef.h>
#include <stdint.h>

/* One entry of a top-k selection */
typedef struct NnScored
{
	float		score;
	int32_t		index;
} NnScored;

/* A bounded min-heap keeping the k best entries seen so far */
typedef struct NnTopK
{
	NnScored   *heap;			/* caller-provided storage for k entries */
	int			k;
	int			n;
} NnTopK;

/* mtrs_nn.c: dense layers */
extern void NnLinearForward(float *out, const float *in, const float *w, const float *b,
							int batch, int in_dim, int out_dim);
extern void NnLinearBackward(float *din, float *dw, float *db, const float *dout,
							 const float *in, const float *w,
							 int batch, int in_dim, int out_dim);
extern void NnReluForward(float *out, const float *in, int64_t n);
extern void NnReluBackward(float *din, const float *dout, const float *out, int64_t n);

/* mtrs_nn.c: embedding bags (weighted sums of table rows) */
extern void NnEmbeddingBagForward(float *out, const float *table, const int32_t *idx,
								  const float *weight, const int32_t *offsets,
								  int batch, int dim);
extern void NnEmbeddingBagBackward(float *dtable, const float *dout, const int32_t *idx,
								   const float *weight, const int32_t *offsets,
								   int batch, int dim);

/* mtrs_nn.c: losses over a batch; each returns the mean loss */
extern double NnSigmoidBce(float *dlogit, const float *logit, const float *label, int n);
extern double NnSquaredError(float *dpred, const float *pred, const float *target, int n);
extern float NnSigmoid(float x);

/* mtrs_nn.c: vector helpers written for the auto-vectorizer */
extern float NnDot(const float *a, const float *b, int n);
extern float NnDot3(const float *a, const float *b, const float *c, int n);
extern void NnAxpy(float *y, float alpha, const float *x, int n);
extern void NnScores(float *scores, const float *table, const float *q, int rows, int dim);
extern void NnProjectRows(float *out, int ldo, const float *table, int rows, int dim,
						  const float *w, int ldw, int n);
extern void NnScoresMany(float *scores, const float *table, const float *q, int rows, int dim,
						 int n);

/*
 * Ask the CPU to start loading a row of dim floats that will be read soon
 * (a row of a large table read at random: embeddings by id)
 */
static inline void
NnPrefetchRow(const float *row, int dim)
{
	for (int b = 0; b < dim * (int) sizeof(float); b += 64)
		__builtin_prefetch((const char *) row + b);
}

/* mtrs_nn.c: optimizers */
extern void NnAdagradRow(float *row, float *accum, const float *grad, float lr, int dim);
extern void NnAdamStep(float *param, float *m, float *v, const float *grad, int64_t n,
					   float lr, float beta1, float beta2, float eps, int step);

/* mtrs_nn.c: least squares (alternating least squares steps) */
extern void NnGramAccumulate(float *gram, const float *x, int rows, int dim, float alpha);
extern void NnWidenUpper(double *ad, const float *a, int dim);
extern int	NnCholeskySolve(double *a, double *b, int dim);
extern int	NnFoldIn(const float *gram, const float *table, int dim, const int *rows,
					 const float *conf, int n, double reg, float *out, double *work);
extern int	NnFoldInExplain(const float *gram, const float *table, int dim, const int *rows,
							const float *conf, int n, double reg, const float *query,
							float *contrib, double *work);

/* mtrs_nn.c: the scale of a sparse matrix (largest singular value) */
extern double NnSpectralNorm(const int32_t *row, const int32_t *col, const float *val, int64_t n,
							 int n_rows, int n_cols, int max_iter, double tol,
							 double stop_above, void (*between) (void), double *work);

/* mtrs_nn.c: top-k selection */
extern void NnTopKInit(NnTopK *topk, NnScored *storage, int k);
extern void NnTopKPush(NnTopK *topk, int32_t index, float score);
extern int	NnTopKSort(NnTopK *topk);
extern int	NnCmpInt64(const void *a, const void *b);

/* mtrs_nn.c: deterministic random numbers (splitmix64) */
extern uint64_t NnRandNext(uint64_t *state);
extern float NnRandUniform(uint64_t *state);
extern void NnRandNormalFill(float *out, int64_t n, float stddev, uint64_t *state);

#endif							/* MTRS_NN_H */
