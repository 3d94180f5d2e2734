/*-------------------------------------------------------------------------
 *
 * mtrs_intent.c
 *	  Serving the text part of a model: tokenizing and encoding text the
 *	  way the model was trained, and mtrs_intent.
 *
 * IDENTIFICATION
 *	  src/mtrs_intent.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "mtrs.h"
#include "mtrs_text.h"
#include "mtrs_textmodel.h"

PG_FUNCTION_INFO_V1(mtrs_intent);

/* Return a tokenizer with the given settings */
MtrsTokenizer
MtrsTokenizerMake(uint32 n_buckets, int word_ngrams, int char_min, int char_max, int punctuation,
				  int text_marks, int ngrams_by_script, int case_folding)
{
	MtrsTokenizer t;

	t.n_buckets = n_buckets;
	t.word_ngrams = word_ngrams;
	t.char_min = char_min;
	t.char_max = char_max;
	t.punctuation = punctuation;
	t.text_marks = text_marks;
	t.ngrams_by_script = ngrams_by_script;
	t.case_folding = case_folding;
	return t;
}

/* Return the tokenizer a model with text was trained with */
MtrsTokenizer
MtrsModelTokenizer(const MtrsModel *m)
{
	const float *set = m->v.t.settings;

	return MtrsTokenizerMake((uint32) m->v.hdr->n_buckets, (int) set[MTRS_SET_WORD_NGRAMS],
							 (int) set[MTRS_SET_CHAR_MIN], (int) set[MTRS_SET_CHAR_MAX],
							 (int) set[MTRS_SET_PUNCTUATION], (int) set[MTRS_SET_TEXT_MARKS],
							 (int) MtrsSetting(&m->v, MTRS_SET_NGRAMS_BY_SCRIPT),
							 (int) MtrsSetting(&m->v, MTRS_SET_CASE_FOLDING));
}

/* Tokenize a text datum (any server encoding) into at most MTRS_MAX_TEXT_TOKENS buckets */
int
MtrsTokenizeText(const MtrsTokenizer *t, text *txt, uint32 *out)
{
	int			len = VARSIZE_ANY_EXHDR(txt);
	char	   *utf8 = (char *) pg_server_to_any(VARDATA_ANY(txt), len, PG_UTF8);
	int			n;

	if (utf8 != VARDATA_ANY(txt))
		len = strlen(utf8);
	n = MtrsTokenize(t, utf8, len, out, MTRS_MAX_TEXT_TOKENS);
	if (utf8 != VARDATA_ANY(txt))
		pfree(utf8);
	return n;
}

/* Return the text parameters of a model with text */
MtrsTextParams
MtrsModelTextParams(const MtrsModel *m)
{
	MtrsTextParams p;

	p.dim = m->v.hdr->dim;
	p.n_labels = m->v.hdr->n_labels;
	p.max_pool = (m->v.hdr->text_width == 2 * m->v.hdr->dim);
	p.emb = m->v.t.word_emb;
	p.label_w = m->v.t.label_w;
	p.label_b = m->v.t.label_b;
	p.pos_weight = NULL;
	p.char_from = m->char_rows_from;
	p.softmax = (m->v.t.settings[MTRS_SET_INTENT_SOFTMAX] != 0.0f);
	return p;
}

/*
 * Tokenize text the way model m was trained and turn the buckets into its
 * token embedding rows (out [MTRS_MAX_TEXT_TOKENS]), dropping features the
 * model never saw.  Returns the rows; *n_features gets the features the
 * text has, seen or not (0: no words).
 */
int
MtrsModelTextRows(const MtrsModel *m, text *txt, uint32 *out, int *n_features)
{
	MtrsTokenizer tok = MtrsModelTokenizer(m);
	int			n = MtrsTokenizeText(&tok, txt, out);

	*n_features = n;
	if (m->v.vocab != NULL)
		n = MtrsVocabMap(m->vocab_table, m->vocab_cap, out, n);
	return n;
}

/*
 * Check and return a context argument (the earlier turns of a
 * conversation, oldest first), or NULL.
 */
ArrayType *
MtrsContextArg(FunctionCallInfo fcinfo, int i)
{
	ArrayType  *a;

	if (PG_ARGISNULL(i))
		return NULL;
	a = PG_GETARG_ARRAYTYPE_P(i);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("context must be a one-dimensional array")));
	/* no turns yet is no context, also for a model without text */
	return ARR_NDIM(a) == 0 ? NULL : a;
}

/* Check and return a context_decay argument (default 0.5) */
float
MtrsContextDecayArg(FunctionCallInfo fcinfo, int i)
{
	float		decay = PG_ARGISNULL(i) ? 0.5f : PG_GETARG_FLOAT4(i);

	if (!(decay >= 0.0f && decay <= 1.0f))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("context_decay must be between 0 and 1")));
	return decay;
}

/*
 * Encode text as model m does into out [text width] (the mean of its token
 * embeddings; the first dim floats lie in the item embedding space).  With
 * item_space and a model that weighs its token rows in the item space
 * (MTRS_FLAG_ITEM_WEIGHTS), only the first dim floats are filled (the
 * rest are zeros): each feature counts by its weight, so words that belong
 * to utterances ("find", "movie", trained mostly for intents) do not pull a
 * query away from the items it names.  Returns false when the text has no
 * word that counts (out is then not an encoding).
 */
bool
MtrsEncodeText(const MtrsModel *m, text *txt, bool item_space, float *out)
{
	MtrsTextParams p = MtrsModelTextParams(m);
	uint32	   *toks = palloc(sizeof(uint32) * MTRS_MAX_TEXT_TOKENS);
	int			n_features;
	int			n = MtrsModelTextRows(m, txt, toks, &n_features);

	if (item_space && (m->v.hdr->flags & MTRS_FLAG_ITEM_WEIGHTS))
	{
		n = MtrsTextEncodeWeighted(&p, toks, n, m->v.t.word_item_w, out);
		memset(out + p.dim, 0, sizeof(float) * (MtrsTextWidth(&p) - p.dim));
	}
	else if (n > 0)
		MtrsTextEncode(&p, toks, n, out, NULL);
	pfree(toks);
	return n > 0;
}

/*
 * Encode a conversation into out [text width]: the weighted mean of the
 * encodings of its turns, which are the elements of context (earlier
 * turns, oldest first; NULL for none) and then, if has_latest, the latest
 * turn, given by its encoding latest (MtrsEncodeText with the same
 * item_space; NULL when it has no word that counts).  The newest turn
 * weighs 1 and every turn decay times the turn after it.  NULL turns and
 * turns without a word that counts add nothing (but still count as
 * turns).  Returns false when no turn adds anything.  out may be latest.
 */
bool
MtrsEncodeTurns(const MtrsModel *m, bool item_space, bool has_latest, const float *latest,
				ArrayType *context, float decay, float *out)
{
	MtrsTextParams p = MtrsModelTextParams(m);
	int			width = MtrsTextWidth(&p);
	float	   *h = palloc(sizeof(float) * width);
	double	   *acc = palloc0(sizeof(double) * width);
	Datum	   *elems = NULL;
	bool	   *nulls = NULL;
	int			n_ctx = 0;
	double		w = 1.0,
				w_sum = 0.0;

	if (has_latest)
	{
		for (int j = 0; j < width && latest != NULL; j++)
			acc[j] = latest[j];
		w_sum = latest != NULL ? 1.0 : 0.0;
		w = decay;
	}
	if (context != NULL)
		deconstruct_array(context, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n_ctx);
	for (int t = n_ctx - 1; t >= 0 && w > 0.0; t--, w *= decay)
	{
		if ((t & 255) == 0)
			CHECK_FOR_INTERRUPTS();		/* a context may hold many long turns */
		if (nulls[t] || !MtrsEncodeText(m, DatumGetTextPP(elems[t]), item_space, h))
			continue;
		for (int j = 0; j < width; j++)
			acc[j] += w * h[j];
		w_sum += w;
	}
	for (int j = 0; j < width && w_sum > 0.0; j++)
		out[j] = (float) (acc[j] / w_sum);
	pfree(h);
	pfree(acc);
	return w_sum > 0.0;
}

/* Fail unless model m has an intent head */
void
MtrsCheckIntentHead(const MtrsModel *m)
{
	if (!(m->v.hdr->kind & MTRS_KIND_INTENT))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mtrs model \"%s\" has no intent head", m->name),
				 errhint("Train it with mtrs_train(..., intents => 'utterances').")));
}

/* Raise an error unless model m can encode text */
void
MtrsCheckTextEncoder(const MtrsModel *m)
{
	if (!(m->v.hdr->kind & MTRS_KIND_TEXT))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mtrs model \"%s\" has no text encoder", m->name),
				 errhint("Train it with items => a catalog with text, or intents => utterances.")));
}

/* Order (label, score) pairs by descending score, then label */
typedef struct Scored
{
	int			label;
	float		score;
} Scored;

static int
cmp_scored(const void *a, const void *b)
{
	const Scored *x = a;
	const Scored *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->label - y->label;
}

/* The intents whose probability in z [n_labels] reaches tau, into hits */
static int
intents_at(const float *z, int n_labels, float tau, Scored *hits)
{
	int			n_hits = 0;

	for (int l = 0; l < n_labels; l++)
		if (z[l] >= tau)
		{
			hits[n_hits].label = l;
			hits[n_hits++].score = z[l];
		}
	return n_hits;
}

/*
 * Return the token rows of model m projected on its intents
 * (MtrsTextProject), computed on the first call and kept with the cached
 * model, and their stride in *stride; or NULL when they would not save
 * work: a max_pool encoding (not linear in the rows), or projections wider
 * than half a token row.  Scoring an utterance then reads one cache line
 * per feature instead of the dim floats of its row.
 */
static const float *
intent_projection(MtrsModel *m, int *stride)
{
	MtrsTextParams p = MtrsModelTextParams(m);

	if (m->intent_proj_stride == 0)
	{
		int			s = MtrsTextProjectedStride(p.n_labels);
		int64		rows = MtrsWordRows(m->v.hdr);

		if (p.max_pool || 2 * s > p.dim)
			m->intent_proj_stride = -1;
		else
		{
			char	   *raw = MemoryContextAllocExtended(m->context,
														 sizeof(float) * s * rows + 64,
														 MCXT_ALLOC_HUGE);

			m->intent_proj = (float *) TYPEALIGN(64, raw);
			MtrsTextProject(&p, (int) rows, s, m->intent_proj);
			m->intent_proj_stride = s;
		}
	}
	*stride = m->intent_proj_stride;
	return m->intent_proj_stride > 0 ? m->intent_proj : NULL;
}

/*
 * mtrs_intent(utterance text, model text, threshold real, context text[],
 *			   context_decay real)
 *	 -> TABLE(intent text, score real)
 * The intents whose probability reaches the threshold, highest first.  By
 * default the rule tuned in training: its threshold, and, if held-out data
 * showed it is better, at least the best intent.  With an explicit
 * threshold, exactly the intents reaching it.  An utterance with no intent
 * of its own at the threshold (a follow-up such as "and the phone?") is
 * scored again together with the earlier turns in context, if given (see
 * MtrsEncodeTurns).  No rows when no intent qualifies (out of scope), for
 * a NULL utterance, or for text without words.  Features the model never
 * saw are ignored; text with none it saw is scored by the biases alone
 * (the intents' prior).
 */
Datum
mtrs_intent(PG_FUNCTION_ARGS)
{
	MtrsModel  *m = MtrsCacheGetModel(fcinfo, PG_ARGISNULL(1) ? NULL :
									  text_to_cstring(PG_GETARG_TEXT_PP(1)));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const MtrsHeader *h = m->v.hdr;
	const float *set = m->v.t.settings;
	float		tau;
	ArrayType  *context = MtrsContextArg(fcinfo, 3);
	float		decay = MtrsContextDecayArg(fcinfo, 4);
	MtrsTextParams p;
	uint32		toks[MTRS_MAX_TEXT_TOKENS];
	float		enc[2 * MTRS_MAX_DIM];
	const float *proj;
	float	   *z;
	Scored	   *hits;
	int			n,
				n_features,
				n_hits,
				stride;

	MtrsCheckIntentHead(m);
	tau = PG_ARGISNULL(2) ? set[MTRS_SET_INTENT_THRESHOLD] : PG_GETARG_FLOAT4(2);
	if (!(tau >= 0.0f && tau <= 1.0f))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be between 0 and 1")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	n = MtrsModelTextRows(m, PG_GETARG_TEXT_PP(0), toks, &n_features);
	if (n_features == 0)
		PG_RETURN_NULL();
	p = MtrsModelTextParams(m);
	z = palloc(sizeof(float) * h->n_labels);
	hits = palloc(sizeof(Scored) * h->n_labels);
	proj = intent_projection(m, &stride);
	if (proj != NULL)
		MtrsTextScoresProjected(&p, proj, stride, toks, n, z);
	else
	{
		MtrsTextEncode(&p, toks, n, enc, NULL);
		MtrsTextScores(&p, enc, z);
	}
	MtrsTextProbs(&p, z, z);
	n_hits = intents_at(z, h->n_labels, tau, hits);
	/*
	 * Read with the context: a turn with no intent of its own, and one with no
	 * feature the model knows (whose scores are the intents' prior alone)
	 */
	if ((n_hits == 0 || n == 0) && context != NULL)
	{
		if (proj != NULL)
			MtrsTextEncode(&p, toks, n, enc, NULL);	/* the latest turn, to pool */
		if (MtrsEncodeTurns(m, false, true, n > 0 ? enc : NULL, context, decay, enc))
		{
			MtrsTextScores(&p, enc, z);
			MtrsTextProbs(&p, z, z);
			n_hits = intents_at(z, h->n_labels, tau, hits);
		}
	}
	if (n_hits == 0 && PG_ARGISNULL(2) && set[MTRS_SET_INTENT_TOP1] != 0.0f)
	{
		hits[0].label = 0;
		for (int l = 1; l < h->n_labels; l++)
			if (z[l] > z[hits[0].label])
				hits[0].label = l;
		hits[0].score = z[hits[0].label];
		n_hits = 1;
	}
	qsort(hits, n_hits, sizeof(Scored), cmp_scored);
	if (PG_ARGISNULL(2) && set[MTRS_SET_INTENT_ONE] != 0.0f)
		n_hits = Min(n_hits, 1);	/* trained on one intent per utterance */
	for (int r = 0; r < n_hits; r++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(MtrsModelString(&m->v, h->n_tasks + hits[r].label));
		values[1] = Float4GetDatum(hits[r].score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}
