/*-------------------------------------------------------------------------
 *
 * mtrs_intent.c
 *	  Intent recognition: train the text encoder and the multi-label intent
 *	  head from labelled utterances (mtrs_fit_intents), and serve it
 *	  (mtrs_intent).
 *
 * Utterances are tokenized in UTF-8 (mtrs_text.c: words, word pairs and
 * character n-grams, hashed into buckets), encoded as the mean of their
 * token embeddings and scored one-vs-all (mtrs_textmodel.c), so an
 * utterance can carry several intents, or none (out of scope).  Training
 * is stochastic gradient descent with a linearly decaying learning rate.
 * A deterministic part of the utterances (validation_fraction) is held out
 * first to choose the decision rule with the best exact-match accuracy: a
 * probability threshold, and whether every utterance gets at least its best
 * intent or may get none (out of scope).  Then the model is trained again
 * on every utterance and the rule is stored with it.
 *
 * A label value may carry several intents joined by '#'; an empty label
 * marks an out-of-scope utterance (no intent), which is how a model learns
 * to answer "none".
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
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "mtrs.h"
#include "mtrs_nn.h"
#include "mtrs_text.h"
#include "mtrs_textmodel.h"
#include "mtrs_train.h"

PG_FUNCTION_INFO_V1(mtrs_fit_intents);
PG_FUNCTION_INFO_V1(mtrs_intent);

#define MAX_TOKENS		4096	/* features kept per utterance */
#define MIN_VALIDATION	50		/* fewer utterances: no held-out part, threshold 0.5 */
#define STEP_CHUNK		1024	/* steps between interrupt checks */
#define N_THRESHOLDS	19		/* 0.05, 0.10, ..., 0.95 */

/* Labelled utterances, tokenized */
typedef struct Corpus
{
	int			n;
	int32	   *tok_off;		/* [n + 1] */
	uint32	   *tok;
	int32	   *lab_off;		/* [n + 1] */
	int32	   *lab;
	int			n_labels;
	char	  **labels;			/* [n_labels], ascending (strcmp) */
} Corpus;

/* Return the tokenizer a model (or options) describes */
static MtrsTokenizer
tokenizer_of(uint32 n_buckets, int word_ngrams, int char_min, int char_max, int punctuation)
{
	MtrsTokenizer t;

	t.n_buckets = n_buckets;
	t.word_ngrams = word_ngrams;
	t.char_min = char_min;
	t.char_max = char_max;
	t.punctuation = punctuation;
	return t;
}

/* Tokenize a text datum (any server encoding) into at most MAX_TOKENS buckets */
static int
tokenize_text(const MtrsTokenizer *t, text *txt, uint32 *out)
{
	int			len = VARSIZE_ANY_EXHDR(txt);
	char	   *utf8 = (char *) pg_server_to_any(VARDATA_ANY(txt), len, PG_UTF8);
	int			n;

	if (utf8 != VARDATA_ANY(txt))
		len = strlen(utf8);
	n = MtrsTokenize(t, utf8, len, out, MAX_TOKENS);
	if (utf8 != VARDATA_ANY(txt))
		pfree(utf8);
	return n;
}

/* Compare C strings through pointers, for qsort and bsearch */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Split a label value into its intents: parts between '#', trimmed of
 * white space.  Returns them in a new list of palloc'd strings.
 */
static List *
split_label(const char *value, int row)
{
	List	   *parts = NIL;
	const char *p = value;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\0')
		return NIL;				/* out of scope: no intent */
	for (;;)
	{
		const char *end = strchr(p, '#');
		const char *a = p;
		const char *b = end ? end : p + strlen(p);

		while (a < b && isspace((unsigned char) *a))
			a++;
		while (b > a && isspace((unsigned char) b[-1]))
			b--;
		if (a == b)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("utterance %d has an empty intent label", row),
					 errdetail("The label value is \"%s\".", value),
					 errhint("Join several intents with '#', e.g. 'PlayMusic#AddToPlaylist'.")));
		if (b - a > MTRS_MAX_NAME_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("intent label of utterance %d is longer than %d bytes", row,
							MTRS_MAX_NAME_LEN)));
		parts = lappend(parts, pnstrdup(a, b - a));
		if (end == NULL)
			break;
		p = end + 1;
	}
	return parts;
}

/* Build the corpus from parallel text and label arrays (NULL pairs skipped) */
static void
build_corpus(ArrayType *texts, ArrayType *labels, const MtrsTokenizer *t, Corpus *c)
{
	Datum	   *tv,
			   *lv;
	bool	   *tn,
			   *ln;
	int			nt,
				nl,
				n_all = 0,
				n_tok = 0,
				n_lab = 0;
	List	  **parts;
	char	  **all;
	uint32	   *buf = palloc(sizeof(uint32) * MAX_TOKENS);

	if (ARR_NDIM(texts) > 1 || ARR_NDIM(labels) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("texts and labels must be one-dimensional arrays")));
	deconstruct_array(texts, TEXTOID, -1, false, TYPALIGN_INT, &tv, &tn, &nt);
	deconstruct_array(labels, TEXTOID, -1, false, TYPALIGN_INT, &lv, &ln, &nl);
	if (nt != nl)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("texts and labels must have the same length"),
				 errdetail("There are %d texts and %d labels.", nt, nl)));
	parts = palloc0(sizeof(List *) * Max(nt, 1));
	c->n = 0;
	for (int i = 0; i < nt; i++)
		if (!tn[i] && !ln[i])
		{
			parts[i] = split_label(TextDatumGetCString(lv[i]), i + 1);
			n_all += list_length(parts[i]);
			c->n++;
		}
	if (c->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no labelled utterances to train on"),
				 errdetail("Every utterance or its label is null.")));

	/* the distinct intents, ascending */
	all = palloc(sizeof(char *) * Max(n_all, 1));
	n_all = 0;
	for (int i = 0; i < nt; i++)
	{
		ListCell   *lc;

		foreach(lc, parts[i])
			all[n_all++] = lfirst(lc);
	}
	qsort(all, n_all, sizeof(char *), cmp_str);
	c->n_labels = 0;
	for (int i = 0; i < n_all; i++)
		if (c->n_labels == 0 || strcmp(all[i], all[c->n_labels - 1]) != 0)
			all[c->n_labels++] = all[i];
	if (c->n_labels == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no intents to learn"),
				 errdetail("Every label is empty (out of scope).")));
	if (c->n_labels > MTRS_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct intents: %d", c->n_labels),
				 errdetail("A model holds at most %d intents.", MTRS_MAX_LABELS)));
	c->labels = all;

	/* tokens and label indices per utterance */
	c->tok_off = palloc(sizeof(int32) * (c->n + 1));
	c->lab_off = palloc(sizeof(int32) * (c->n + 1));
	c->tok = palloc_extended(sizeof(uint32) * (Size) Max(1, c->n) * 64, MCXT_ALLOC_HUGE);
	c->lab = palloc(sizeof(int32) * Max(n_all, 1));
	{
		Size		tok_cap = (Size) Max(1, c->n) * 64;
		int			r = 0;

		for (int i = 0; i < nt; i++)
		{
			ListCell   *lc;
			int			first = n_lab;
			int			k;

			if (tn[i] || ln[i])
				continue;
			k = tokenize_text(t, DatumGetTextPP(tv[i]), buf);
			if (n_tok + k > tok_cap)
			{
				tok_cap = Max(tok_cap * 2, (Size) n_tok + k);
				c->tok = repalloc_huge(c->tok, sizeof(uint32) * tok_cap);
			}
			memcpy(c->tok + n_tok, buf, sizeof(uint32) * k);
			c->tok_off[r] = n_tok;
			n_tok += k;
			foreach(lc, parts[i])
			{
				char	   *name = lfirst(lc);
				char	  **hit = bsearch(&name, c->labels, c->n_labels, sizeof(char *), cmp_str);
				int			idx = (int) (hit - c->labels);
				bool		dup = false;

				for (int j = first; j < n_lab; j++)
					dup |= (c->lab[j] == idx);
				if (!dup)
					c->lab[n_lab++] = idx;
			}
			c->lab_off[r] = first;
			r++;
		}
		c->tok_off[r] = n_tok;
		c->lab_off[r] = n_lab;
	}
	pfree(buf);
}

/* Draw the parameters: small uniform token embeddings, zero head, prior biases */
static void
init_params(MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows,
			int64 n_buckets, uint64 seed)
{
	uint64		rng = seed ^ 0x5DEECE66Dull;
	double	   *freq = palloc0(sizeof(double) * p->n_labels);

	for (int64 i = 0; i < n_buckets * p->dim; i++)
		p->emb[i] = (2.0f * NnRandUniform(&rng) - 1.0f) / p->dim;
	memset(p->label_w, 0, sizeof(float) * p->n_labels * MtrsTextWidth(p));
	for (int r = 0; r < n_rows; r++)
		for (int32 k = c->lab_off[rows[r]]; k < c->lab_off[rows[r] + 1]; k++)
			freq[c->lab[k]] += 1.0;
	for (int l = 0; l < p->n_labels; l++)
	{
		double		f = (freq[l] + 0.5) / (n_rows + 1.0);

		p->label_b[l] = (float) log(f / (1.0 - f));
	}
	pfree(freq);
}

/*
 * Train on the utterances rows[0..n_rows) for the configured epochs:
 * shuffled order each epoch, learning rate decaying linearly to zero.
 * Appends per-epoch records to log (if given).
 */
static void
train(MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows,
	  const MtrsFitOptions *o, const char *phase, StringInfo log)
{
	MtrsTextSet set = {c->n, c->tok_off, c->tok, c->lab_off, c->lab};
	int32	   *order = palloc(sizeof(int32) * Max(n_rows, 1));
	float	   *scratch = palloc(sizeof(float) * (2 * p->dim + 2 * p->n_labels));
	uint64		rng = (uint64) o->seed * 0x9E3779B97F4A7C15ull + 1;
	double		total = (double) o->text_epochs * n_rows;
	double		done = 0.0;
	instr_time	start,
				now;

	INSTR_TIME_SET_CURRENT(start);
	memcpy(order, rows, sizeof(int32) * n_rows);
	for (int e = 1; e <= o->text_epochs; e++)
	{
		double		loss = 0.0;

		for (int i = n_rows - 1; i > 0; i--)
		{
			int			j = (int) (NnRandNext(&rng) % (uint64) (i + 1));
			int32		tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		for (int i = 0; i < n_rows; i++)
		{
			float		lr = (float) (o->text_lr * (1.0 - done / total));

			if ((i % STEP_CHUNK) == 0)
				CHECK_FOR_INTERRUPTS();
			loss += MtrsTextStep(p, &set, order[i], lr, scratch);
			done += 1.0;
		}
		loss /= Max(n_rows, 1);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		ereport(o->progress ? NOTICE : DEBUG1,
				(errmsg("intent %s epoch %d of %d: loss %.4f; %.2f s", phase, e, o->text_epochs,
						loss, INSTR_TIME_GET_DOUBLE(now))));
		if (log != NULL)
			appendStringInfo(log, "%s{\"intent_epoch\": %d, \"seconds\": %.3f, \"loss\": {\"intent\": %.6g}}",
							 log->len > 0 ? ", " : "", e, INSTR_TIME_GET_DOUBLE(now), loss);
	}
	pfree(order);
	pfree(scratch);
}

/*
 * Choose the decision rule with the best exact-match accuracy on the
 * held-out utterances: a threshold tau in 0.05 .. 0.95 and whether the best
 * intent is always given (top1) or an utterance may get none.  Ties go to
 * the rule that allows "none", then to tau nearest 0.5.  Sets *accuracy.
 */
static float
tune_threshold(const MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows,
			   bool *top1, double *accuracy)
{
	int			hits[2][N_THRESHOLDS] = {{0}};
	float	   *h = palloc(sizeof(float) * MtrsTextWidth(p));
	float	   *z = palloc(sizeof(float) * p->n_labels);
	bool	   *gold = palloc(sizeof(bool) * p->n_labels);
	int			best = N_THRESHOLDS / 2,
				best_rule = 0;

	for (int r = 0; r < n_rows; r++)
	{
		int			i = rows[r];
		int			arg = 0;

		MtrsTextEncode(p, c->tok + c->tok_off[i], c->tok_off[i + 1] - c->tok_off[i], h, NULL);
		MtrsTextScores(p, h, z);
		memset(gold, 0, sizeof(bool) * p->n_labels);
		for (int32 k = c->lab_off[i]; k < c->lab_off[i + 1]; k++)
			gold[c->lab[k]] = true;
		for (int l = 1; l < p->n_labels; l++)
			if (z[l] > z[arg])
				arg = l;
		for (int t = 0; t < N_THRESHOLDS; t++)
		{
			float		tau = 0.05f * (t + 1);
			bool		exact = true,
						any = false;

			for (int l = 0; l < p->n_labels; l++)
			{
				bool		on = NnSigmoid(z[l]) >= tau;

				any |= on;
				exact &= (on == gold[l]);
			}
			hits[0][t] += exact;
			/* top1: if nothing reaches tau, the answer is {arg} */
			if (any)
				hits[1][t] += exact;
			else
			{
				bool		only_arg = gold[arg];

				for (int l = 0; l < p->n_labels; l++)
					if (l != arg && gold[l])
						only_arg = false;
				hits[1][t] += only_arg;
			}
		}
	}
	for (int rule = 0; rule < 2; rule++)
		for (int t = 0; t < N_THRESHOLDS; t++)
			if (hits[rule][t] > hits[best_rule][best] ||
				(hits[rule][t] == hits[best_rule][best] && rule == best_rule &&
				 abs(t - N_THRESHOLDS / 2) < abs(best - N_THRESHOLDS / 2)))
			{
				best_rule = rule;
				best = t;
			}
	*top1 = (best_rule == 1);
	*accuracy = n_rows > 0 ? (double) hits[best_rule][best] / n_rows : 0.0;
	pfree(h);
	pfree(z);
	pfree(gold);
	return 0.05f * (best + 1);
}

/* Return whether utterance i goes to the held-out part */
static bool
held_out(int i, const MtrsFitOptions *o)
{
	uint64		h = (uint64) i * 0x9E3779B97F4A7C15ull ^ (uint64) o->seed;

	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 29;
	return (double) (h % 1000000) < o->validation_fraction * 1e6;
}

/*
 * Lay out a model holding the interaction part of old (if any) and a new
 * text encoder and intent head; returns the buffer and its view.
 */
static char *
begin_model(const MtrsModel *old, const Corpus *c, int dim, int text_width, int n_buckets,
			Size *size, MtrsModelView *v)
{
	MtrsHeader	h;
	int			kind = MTRS_KIND_TEXT | MTRS_KIND_INTENT;
	int			n_tasks = 0,
				task_len = 0,
				slen = 0;
	char	   *buf;
	int			off = 0;

	if (old != NULL && (old->v.hdr->kind & MTRS_KIND_INTERACTIONS))
	{
		kind |= MTRS_KIND_INTERACTIONS;
		n_tasks = old->v.hdr->n_tasks;
		for (int t = 0; t < n_tasks; t++)
			task_len += strlen(MtrsModelString(&old->v, t)) + 1;
	}
	slen = task_len;
	for (int l = 0; l < c->n_labels; l++)
		slen += strlen(c->labels[l]) + 1;
	if (MtrsHeaderInit(&h, kind, dim, text_width,
					   n_tasks ? old->v.hdr->head_dim : 0,
					   n_tasks ? old->v.hdr->n_users : 0,
					   n_tasks ? old->v.hdr->n_items : 0,
					   n_tasks ? old->v.hdr->n_history : 0,
					   n_tasks, c->n_labels, n_buckets, slen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would exceed the maximum model size of %zu bytes", MTRS_MAX_MODEL_SIZE),
				 errhint("Lower the \"buckets\" or \"dim\" option.")));
	*size = MtrsFormatSize(&h);
	buf = palloc_extended(*size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	memcpy(buf, &h, sizeof(h));
	MtrsFormatLayout(v, buf);
	if (n_tasks > 0)
	{
		const MtrsModelView *ov = &old->v;

		memcpy(v->user_ids, ov->user_ids, sizeof(int64) * ov->hdr->n_users);
		memcpy(v->item_ids, ov->item_ids, sizeof(int64) * ov->hdr->n_items);
		memcpy(v->hist_ptr, ov->hist_ptr, sizeof(int64) * (ov->hdr->n_users + 1));
		memcpy(v->hist_items, ov->hist_items, sizeof(int32) * ov->hdr->n_history);
#define COPY_INTERACTION_TENSOR(name, rows, cols) \
		if (strcmp(#name, "word_emb") != 0 && strcmp(#name, "label_w") != 0 && \
			strcmp(#name, "label_b") != 0) \
			memcpy(v->t.name, ov->t.name, sizeof(float) * (size_t) ((rows) * (int64) (cols)));
		MTRS_TENSORS(COPY_INTERACTION_TENSOR, ov->hdr)
#undef COPY_INTERACTION_TENSOR
	}
	for (int t = 0; t < n_tasks + c->n_labels; t++)
	{
		const char *name = t < n_tasks ? MtrsModelString(&old->v, t) : c->labels[t - n_tasks];

		v->str_off[t] = off;
		strcpy(v->str_data + off, name);
		off += strlen(name) + 1;
	}
	return buf;
}

/* What the last mtrs_fit_intents recorded; read by mtrs_last_fit */
char	   *mtrs_last_text_fit = NULL;

/*
 * mtrs_fit_intents(model bytea, texts text[], labels text[], options jsonb) -> bytea
 * Train the text encoder and intent head on labelled utterances and return
 * model bytes: model's interaction part (if model is not NULL) plus the
 * new text part.
 */
Datum
mtrs_fit_intents(PG_FUNCTION_ARGS)
{
	MtrsModel  *old = PG_ARGISNULL(0) ? NULL :
		MtrsModelDecode(PG_GETARG_BYTEA_PP(0), CurrentMemoryContext);
	MtrsFitOptions o;
	MtrsTokenizer tok;
	Corpus		c;
	int32	   *train_rows,
			   *val_rows;
	int			n_train = 0,
				n_val = 0,
				dim;
	float		tau = 0.5f;
	bool		top1 = false;
	double		val_acc = -1.0;
	MtrsModelView v;
	MtrsTextParams p;
	Size		size;
	char	   *buf;
	bytea	   *out;
	StringInfoData log;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("texts and labels must not be null")));
	MtrsFitOptionsParse(&o, PG_ARGISNULL(3) ? NULL :
						JsonbToCString(NULL, &PG_GETARG_JSONB_P(3)->root, 0));
	dim = old != NULL ? old->v.hdr->dim : o.dim;
	tok = tokenizer_of((uint32) o.buckets, o.word_ngrams, o.char_max > 0 ? o.char_min : 0,
					   o.char_max, o.punctuation);
	build_corpus(PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2), &tok, &c);

	buf = begin_model(old, &c, dim, o.max_pool ? 2 * dim : dim, o.buckets, &size, &v);
	p.dim = dim;
	p.n_labels = c.n_labels;
	p.max_pool = o.max_pool;
	p.emb = v.t.word_emb;
	p.label_w = v.t.label_w;
	p.label_b = v.t.label_b;

	train_rows = palloc(sizeof(int32) * c.n);
	val_rows = palloc(sizeof(int32) * c.n);
	for (int i = 0; i < c.n; i++)
	{
		if (c.n >= MIN_VALIDATION && held_out(i, &o))
			val_rows[n_val++] = i;
		else
			train_rows[n_train++] = i;
	}
	initStringInfo(&log);
	if (n_val > 0 && n_train > 0)
	{
		/* choose the threshold on the held-out part, then train on everything */
		init_params(&p, &c, train_rows, n_train, o.buckets, (uint64) o.seed);
		train(&p, &c, train_rows, n_train, &o, "tuning", NULL);
		tau = tune_threshold(&p, &c, val_rows, n_val, &top1, &val_acc);
		for (int i = 0; i < c.n; i++)
			train_rows[i] = i;
		n_train = c.n;
	}
	init_params(&p, &c, train_rows, n_train, o.buckets, (uint64) o.seed);
	train(&p, &c, train_rows, n_train, &o, "training", &log);

	v.t.settings[MTRS_SET_INTENT_THRESHOLD] = tau;
	v.t.settings[MTRS_SET_INTENT_TOP1] = top1 ? 1.0f : 0.0f;
	v.t.settings[MTRS_SET_WORD_NGRAMS] = (float) tok.word_ngrams;
	v.t.settings[MTRS_SET_CHAR_MIN] = (float) tok.char_min;
	v.t.settings[MTRS_SET_CHAR_MAX] = (float) tok.char_max;
	v.t.settings[MTRS_SET_PUNCTUATION] = (float) tok.punctuation;
	for (int64 i = 0; i < v.hdr->n_params; i++)
		if (!isfinite(v.params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("intent training diverged"),
					 errhint("Lower the \"text_lr\" option.")));
	MtrsFormatSeal(&v);

	if (mtrs_last_text_fit != NULL)
		pfree(mtrs_last_text_fit);
	mtrs_last_text_fit = MemoryContextStrdup(TopMemoryContext,
		psprintf("{\"options\": %s, \"utterances\": %d, \"intents\": %d, \"threshold\": %.2f, "
				 "\"always_best_intent\": %s, \"validation_utterances\": %d, "
				 "\"validation_accuracy\": %s, \"training_log\": [%s]}",
				 MtrsFitOptionsToJson(&o), c.n, c.n_labels, tau, top1 ? "true" : "false", n_val,
				 val_acc >= 0 ? psprintf("%.4f", val_acc) : "null", log.data));

	out = palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);
	SET_VARSIZE(out, VARHDRSZ + size);
	memcpy(VARDATA(out), buf, size);
	PG_RETURN_BYTEA_P(out);
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

/*
 * mtrs_intent(utterance text, model text, threshold real)
 *	 -> TABLE(intent text, score real)
 * The intents whose probability reaches the threshold, highest first.  By
 * default the rule tuned in training: its threshold, and, if held-out data
 * showed it is better, at least the best intent.  With an explicit
 * threshold, exactly the intents reaching it.  No rows when none does (out
 * of scope), for a NULL utterance, or for text without words.
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
	MtrsTokenizer tok;
	MtrsTextParams p;
	uint32		toks[MAX_TOKENS];
	float		enc[2 * MTRS_MAX_DIM];
	float	   *z;
	Scored	   *hits;
	int			n,
				n_hits = 0;

	if (!(h->kind & MTRS_KIND_INTENT))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mtrs model \"%s\" has no intent head", m->name),
				 errhint("Train it with mtrs_train(..., intents => 'utterances').")));
	tau = PG_ARGISNULL(2) ? set[MTRS_SET_INTENT_THRESHOLD] : PG_GETARG_FLOAT4(2);
	if (!(tau >= 0.0f && tau <= 1.0f))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("threshold must be between 0 and 1")));
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tok = tokenizer_of((uint32) h->n_buckets, (int) set[MTRS_SET_WORD_NGRAMS],
					   (int) set[MTRS_SET_CHAR_MIN], (int) set[MTRS_SET_CHAR_MAX],
					   (int) set[MTRS_SET_PUNCTUATION]);
	n = tokenize_text(&tok, PG_GETARG_TEXT_PP(0), toks);
	if (n == 0)
		PG_RETURN_NULL();
	p.dim = h->dim;
	p.n_labels = h->n_labels;
	p.max_pool = (h->text_width == 2 * h->dim);
	p.emb = m->v.t.word_emb;
	p.label_w = m->v.t.label_w;
	p.label_b = m->v.t.label_b;
	z = palloc(sizeof(float) * h->n_labels);
	hits = palloc(sizeof(Scored) * h->n_labels);
	MtrsTextEncode(&p, toks, n, enc, NULL);
	MtrsTextScores(&p, enc, z);
	for (int l = 0; l < h->n_labels; l++)
	{
		float		s = NnSigmoid(z[l]);

		if (s >= tau)
		{
			hits[n_hits].label = l;
			hits[n_hits++].score = s;
		}
	}
	if (n_hits == 0 && PG_ARGISNULL(2) && set[MTRS_SET_INTENT_TOP1] != 0.0f)
	{
		hits[0].label = 0;
		for (int l = 1; l < h->n_labels; l++)
			if (z[l] > z[hits[0].label])
				hits[0].label = l;
		hits[0].score = NnSigmoid(z[hits[0].label]);
		n_hits = 1;
	}
	qsort(hits, n_hits, sizeof(Scored), cmp_scored);
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
