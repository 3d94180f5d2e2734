/*-------------------------------------------------------------------------
 *
 * mtrs_explain.c
 *	  SQL-callable explanations: which of a user's interactions make an item
 *	  score high (mtrs_explain, mtrs_explain_for), and which features of an
 *	  utterance make an intent score high (mtrs_intent_explain).
 *
 * A user folded in from interactions has the embedding
 *	  p = A^-1 sum_k c_k q_k,	A = Q^T Q + sum_k (c_k - 1) q_k q_k^T + reg I
 * (mtrs_source.c), so head t's logit for item i is
 *	  z = sum_k c_k <q_k, A^-1 (w_t * q_i)> + rest
 * with one term per interacted item k and rest the biases and private
 * factors (MtrsLogitSplit).  The explanation re-solves the user from their
 * interactions: for a user served by fold-in (new rows, or an anonymous
 * history) the terms add up to the served logit; for a user served as
 * trained they explain the re-solved embedding, close to the trained one.
 *
 * An intent's logit is <label_w, h> + label_b with h the mean of the
 * utterance's word features plus the mean of its character n-grams (and,
 * with max pooling, their per-dimension maximum), so it is a sum of one
 * term per feature (MtrsTextContributions) plus the intent's bias.
 *
 * IDENTIFICATION
 *	  src/mtrs_explain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_score.h"
#include "mtrs_text.h"
#include "mtrs_textmodel.h"

PG_FUNCTION_INFO_V1(mtrs_explain);
PG_FUNCTION_INFO_V1(mtrs_explain_for);
PG_FUNCTION_INFO_V1(mtrs_intent_explain);

/*
 * Emit the explanation of head task's logit for user (u and its training
 * index; emb unused) and item i given the user's interactions items[0..n)
 * at times ts: the k items with the largest terms as (item_id,
 * contribution, rank), then (NULL, rest, NULL).
 */
static void
explain_rows(FunctionCallInfo fcinfo, MtrsModel *m, int task, int k, const MtrsUser *user,
			 int i, const int *items, const double *ts, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	float	   *query = palloc(sizeof(float) * m->v.hdr->dim);
	float		rest = MtrsLogitSplit(m, task, user, i, query);
	int		   *rows;
	float	   *contrib;
	int			u = MtrsFoldInExplain(m, items, ts, n, query, &rows, &contrib);
	NnScored   *storage = palloc(sizeof(NnScored) * Max(Min(k, u), 1));
	NnTopK		topk;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int			kept;

	NnTopKInit(&topk, storage, Min(k, u));
	for (int r = 0; r < u; r++)
		NnTopKPush(&topk, r, contrib[r]);
	kept = NnTopKSort(&topk);
	for (int r = 0; r < kept; r++)
	{
		values[0] = Int64GetDatum(m->v.item_ids[rows[topk.heap[r].index]]);
		values[1] = Float4GetDatum(topk.heap[r].score);
		values[2] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	values[1] = Float4GetDatum(rest);
	nulls[0] = nulls[2] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* Resolve the arguments after the first two: k (2), model (3), task (4) */
static MtrsModel *
explain_args(FunctionCallInfo fcinfo, int *k, int *task)
{
	MtrsModel  *m;

	*k = MtrsKArg(fcinfo, 2);
	m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 3));
	*task = MtrsModelTaskArg(m, MtrsOptTextArg(fcinfo, 4));
	return m;
}

/*
 * mtrs_explain(user_id bigint, item_id bigint, k int, model text, task text)
 *	 -> TABLE(item_id bigint, contribution real, rank int)
 * The user's interactions that raise head task's logit for the item most.
 * The interactions are the user's rows in the model's source table (as
 * fold-in reads them: all of them, with their times) when fold-in is on and
 * the table is readable and has some, else the user's training history
 * (every item weighted as recent).  No rows for a NULL or unknown item.
 */
Datum
mtrs_explain(PG_FUNCTION_ARGS)
{
	int			k,
				task,
				i,
				n = 0;
	MtrsModel  *m = explain_args(fcinfo, &k, &task);
	int64		user_id;
	MtrsUser	user;
	int		   *items = NULL;
	double	   *ts = NULL;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) ||
		(i = MtrsModelFindItem(m, PG_GETARG_INT64(1))) < 0)
		PG_RETURN_NULL();
	user_id = PG_GETARG_INT64(0);
	MtrsUserTrained(m, MtrsModelFindUser(m, user_id), &user);
	if ((!MtrsSourceUserRows(m, user_id, &items, &ts, &n) || n == 0) && user.u >= 0)
	{
		int64		from = m->v.hist_ptr[user.u];

		n = (int) (m->v.hist_ptr[user.u + 1] - from);
		items = palloc(sizeof(int) * Max(n, 1));
		ts = palloc(sizeof(double) * Max(n, 1));
		for (int j = 0; j < n; j++)
		{
			items[j] = m->v.hist_items[from + j];
			ts[j] = NAN;
		}
	}
	explain_rows(fcinfo, m, task, k, &user, i, items, ts, n);
	PG_RETURN_NULL();
}

/*
 * mtrs_explain_for(history bigint[], item_id bigint, k int, model text, task text)
 *	 -> TABLE(item_id bigint, contribution real, rank int)
 * The same for an anonymous session that interacted with the history items
 * (as mtrs_recommend_for serves it: ids the model does not know are ignored).
 */
Datum
mtrs_explain_for(PG_FUNCTION_ARGS)
{
	int			k,
				task,
				i,
				n;
	MtrsModel  *m = explain_args(fcinfo, &k, &task);
	MtrsUser	user = {-1, NULL};
	int		   *items;
	double	   *ts;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	n = MtrsHistoryArg(fcinfo, 0, m, &items, &ts);
	if (PG_ARGISNULL(1) || (i = MtrsModelFindItem(m, PG_GETARG_INT64(1))) < 0)
		PG_RETURN_NULL();
	explain_rows(fcinfo, m, task, k, &user, i, items, ts, n);
	PG_RETURN_NULL();
}

/* Return the index of the named intent of model m, or fail listing them */
static int
intent_arg(const MtrsModel *m, const char *intent)
{
	const MtrsHeader *h = m->v.hdr;
	StringInfoData names;

	for (int l = 0; l < h->n_labels; l++)
		if (strcmp(MtrsModelString(&m->v, h->n_tasks + l), intent) == 0)
			return l;
	initStringInfo(&names);
	for (int l = 0; l < h->n_labels; l++)
		appendStringInfo(&names, "%s%s", l ? ", " : "", MtrsModelString(&m->v, h->n_tasks + l));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("mtrs model \"%s\" has no intent \"%s\"", m->name, intent),
			 errhint("Its intents are: %s.", names.data)));
	return -1;					/* keep compiler quiet */
}

/*
 * Return how feature sp of the UTF-8 text utf8 reads, in the server
 * encoding: a word as written, a run of words as written from its first
 * word to its last ("^ " and " $" for the start and the end of the text),
 * a character n-gram as written with "<" and ">" for the word's edges.
 */
static char *
feature_text(const char *utf8, const MtrsFeatureSpan *sp)
{
	StringInfoData buf;
	initStringInfo(&buf);
	if (sp->kind == MTRS_FEATURE_RUN && (sp->marks & MTRS_SPAN_BEGIN))
		appendStringInfoString(&buf, "^ ");
	if (sp->kind == MTRS_FEATURE_CHARS && (sp->marks & MTRS_SPAN_BEGIN))
		appendStringInfoChar(&buf, '<');
	appendBinaryStringInfo(&buf, utf8 + sp->start, sp->end - sp->start);
	if (sp->kind == MTRS_FEATURE_CHARS && (sp->marks & MTRS_SPAN_END))
		appendStringInfoChar(&buf, '>');
	if (sp->kind == MTRS_FEATURE_RUN && (sp->marks & MTRS_SPAN_END))
		appendStringInfoString(&buf, " $");
	return pg_any_to_server(buf.data, buf.len, PG_UTF8);
}

/* Order feature positions by their embedding row (rows: arg), then by position */
static int
cmp_by_row(const void *a, const void *b, void *arg)
{
	const uint32 *rows = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	if (rows[x] != rows[y])
		return rows[x] < rows[y] ? -1 : 1;
	return x - y;
}

/*
 * mtrs_intent_explain(utterance text, intent text, k int, model text)
 *	 -> TABLE(feature text, kind text, contribution real, rank int)
 * Why an utterance gets an intent (default: its best one): the k features
 * that add the most to the intent's logit, highest first, then a row with
 * feature, kind and rank NULL holding the intent's bias.  A feature that
 * occurs more than once counts once with the sum of its terms (named by
 * its first occurrence); features the model never saw add nothing and are
 * not listed.  With k large enough the rows add up to the logit
 * mtrs_intent scores (its probability is the logit's sigmoid, or with
 * softmax its softmax over the intents).  No rows for a NULL utterance or
 * text without words, as mtrs_intent.
 */
Datum
mtrs_intent_explain(PG_FUNCTION_ARGS)
{
	int			k = MtrsKArg(fcinfo, 2);
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, MtrsOptTextArg(fcinfo, 3));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MtrsTokenizer tok = MtrsModelTokenizer(m);
	MtrsTextParams p;
	text	   *txt;
	char	   *utf8;
	int			len,
				n,
				n_rows = 0,
				label,
				u = 0;
	uint32	   *rows;
	MtrsFeatureSpan *spans;
	int		   *pos,
			   *order,
			   *argmax;
	float	   *contrib,
			   *merged,
			   *h;
	NnScored   *storage;
	NnTopK		topk;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	const char *kinds[] = {"word", "words", "characters"};

	MtrsCheckIntentHead(m);
	p = MtrsModelTextParams(m);
	label = PG_ARGISNULL(1) ? -1 : intent_arg(m, text_to_cstring(PG_GETARG_TEXT_PP(1)));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	txt = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(txt);
	utf8 = (char *) pg_server_to_any(VARDATA_ANY(txt), len, PG_UTF8);
	if (utf8 != VARDATA_ANY(txt))
		len = strlen(utf8);
	rows = palloc(sizeof(uint32) * MTRS_MAX_TEXT_TOKENS);
	spans = palloc(sizeof(MtrsFeatureSpan) * MTRS_MAX_TEXT_TOKENS);
	pos = palloc(sizeof(int) * MTRS_MAX_TEXT_TOKENS);
	n = MtrsTokenizeSpans(&tok, utf8, len, rows, spans, MTRS_MAX_TEXT_TOKENS);
	if (n == 0)
		PG_RETURN_NULL();
	/* the features the model has, as embedding rows, with their positions */
	for (int j = 0; j < n; j++)
	{
		rows[n_rows] = rows[j];
		if (m->v.vocab == NULL || MtrsVocabMap(m->vocab_table, m->vocab_cap, rows + n_rows, 1) == 1)
			pos[n_rows++] = j;
	}
	h = palloc(sizeof(float) * MtrsTextWidth(&p));
	if (label < 0)
	{
		float	   *z = palloc(sizeof(float) * p.n_labels);

		MtrsTextEncode(&p, rows, n_rows, h, NULL);
		MtrsTextScores(&p, h, z);
		label = 0;
		for (int l = 1; l < p.n_labels; l++)
			if (z[l] > z[label])
				label = l;
	}
	contrib = palloc(sizeof(float) * Max(n_rows, 1));
	argmax = palloc(sizeof(int) * p.dim);
	MtrsTextContributions(&p, rows, n_rows, label, contrib, argmax, h);

	/* one entry per distinct row: the sum of its terms, at its first position */
	order = palloc(sizeof(int) * Max(n_rows, 1));
	merged = palloc(sizeof(float) * Max(n_rows, 1));
	for (int j = 0; j < n_rows; j++)
		order[j] = j;
	qsort_arg(order, n_rows, sizeof(int), cmp_by_row, rows);
	for (int j = 0; j < n_rows; j++)
	{
		if (j > 0 && rows[order[j]] == rows[order[j - 1]])
			merged[u - 1] += contrib[order[j]];
		else
		{
			merged[u] = contrib[order[j]];
			order[u++] = order[j];
		}
	}
	storage = palloc(sizeof(NnScored) * Max(Min(k, u), 1));
	NnTopKInit(&topk, storage, Min(k, u));
	for (int r = 0; r < u; r++)
		NnTopKPush(&topk, r, merged[r]);
	u = NnTopKSort(&topk);
	for (int r = 0; r < u; r++)
	{
		const MtrsFeatureSpan *sp = &spans[pos[order[topk.heap[r].index]]];

		values[0] = CStringGetTextDatum(feature_text(utf8, sp));
		values[1] = CStringGetTextDatum(kinds[sp->kind]);
		values[2] = Float4GetDatum(topk.heap[r].score);
		values[3] = Int32GetDatum(r + 1);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	values[2] = Float4GetDatum(p.label_b[label]);
	nulls[0] = nulls[1] = nulls[3] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	PG_RETURN_NULL();
}
