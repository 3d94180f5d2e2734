/*-------------------------------------------------------------------------
 *
 * mtrs_textfit.c
 *	  Train the text part of a model (mtrs_fit_text): the token embeddings,
 *	  shared by an intent head learned from labelled utterances and by item
 *	  text that maps an item's title into the item embedding space.
 *
 * Utterances are tokenized in UTF-8 (mtrs_text.c: words, runs of words,
 * punctuation marks and character n-grams, hashed into buckets), gathered
 * by mtrs_textdata.c, read in the rows of the model's vocabulary (the
 * buckets the training texts have; others are dropped), encoded from
 * their token embeddings and scored one-vs-all or by a softmax (mtrs_textmodel.c), so an utterance can carry
 * several intents, or none (out of scope).  Item texts are encoded the same
 * way and regressed onto the trained embeddings of the items that have
 * interactions; items that have text but no interactions join the catalog
 * (embedded by their features' item centroids, or their text's encoding),
 * so they can be recommended and found similar from day one.
 * Both losses train the one token table in the same shuffled passes of
 * stochastic gradient descent (learning rate decaying linearly to zero).
 *
 * A deterministic part of the utterances (validation_fraction) is held out
 * first to choose the decision rule with the best exact-match accuracy: a
 * probability threshold, whether every utterance gets at least its best
 * intent or may get none (out of scope), and on multi-intent data
 * per-intent offsets (mtrs_intentrule.c).  Then the model is trained again
 * on every utterance and the rule is stored with it.  Given validation
 * utterances, the model is trained once and the rule chosen on them.
 *
 * IDENTIFICATION
 *	  src/mtrs_textfit.c
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
#include "mtrs_intentrule.h"
#include "mtrs_text.h"
#include "mtrs_textdata.h"
#include "mtrs_textmodel.h"
#include "mtrs_train.h"

PG_FUNCTION_INFO_V1(mtrs_fit_text);

#define MIN_VALIDATION	50		/* fewer utterances: no held-out part (threshold 0.5) */
#define STEP_CHUNK		1024	/* steps between interrupt checks */
#define AUTO_TEXT_EPOCHS 10		/* "text_epochs": "auto": at least this many epochs */
#define AUTO_TEXT_STEPS	10000	/* ... and at least this many steps */
#define N_THRESHOLDS	19		/* 0.05, 0.10, ..., 0.95 */

/*
 * Return the weight of each intent's positive examples: (most frequent
 * intent's count / this intent's count) ^ balance, at most 10; NULL when
 * balance is 0 (every example counts once).
 */
static float *
positive_weights(const Corpus *c, double balance)
{
	int64	   *cnt;
	int64		top = 1;
	float	   *w;

	if (balance <= 0.0 || c->n_labels == 0)
		return NULL;
	cnt = palloc0(sizeof(int64) * c->n_labels);
	for (int32 k = 0; k < c->lab_off[c->n]; k++)
		cnt[c->lab[k]]++;
	for (int l = 0; l < c->n_labels; l++)
		top = Max(top, cnt[l]);
	w = palloc(sizeof(float) * c->n_labels);
	for (int l = 0; l < c->n_labels; l++)
		w[l] = (float) Min(10.0, pow((double) top / Max(cnt[l], 1), balance));
	pfree(cnt);
	return w;
}

/*
 * Draw the parameters: n_emb small uniform token embeddings (at most
 * 1/dim, and no larger than the typical entry of the item embeddings item texts are
 * mapped onto, so the noise never drowns those targets), zero head, prior
 * biases.
 */
static void
init_params(MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows,
			int64 n_emb, uint64 seed, const Items *it, const float *item_emb)
{
	uint64		rng = seed ^ 0x5DEECE66Dull;
	double	   *freq = palloc0(sizeof(double) * Max(p->n_labels, 1));
	double		scale = 1.0 / p->dim;

	if (it != NULL)
	{
		double		ss = 0.0;
		int64		cnt = 0;

		for (int b = 0; b < it->n; b++)
			if (it->warm[b])
				for (int d = 0; d < p->dim; d++)
				{
					double		x = item_emb[(int64) it->text_item[b] * p->dim + d];

					ss += x * x;
					cnt++;
				}
		if (cnt > 0)
			scale = Min(scale, sqrt(ss / cnt));
	}
	for (int64 i = 0; i < n_emb * p->dim; i++)
		p->emb[i] = (float) ((2.0 * NnRandUniform(&rng) - 1.0) * scale);
	if (p->n_labels == 0)
		return;
	memset(p->label_w, 0, sizeof(float) * p->n_labels * MtrsTextWidth(p));
	for (int r = 0; r < n_rows; r++)
		for (int32 k = c->lab_off[rows[r]]; k < c->lab_off[rows[r] + 1]; k++)
			freq[c->lab[k]] += 1.0;
	for (int l = 0; l < p->n_labels; l++)
	{
		double		f = (freq[l] + 0.5) / (n_rows + 1.0);

		p->label_b[l] = (float) (p->softmax ? log(f) : log(f / (1.0 - f)));
	}
	pfree(freq);
}

/*
 * The epochs of "text_epochs": "auto" for n examples: at least
 * AUTO_TEXT_EPOCHS, and enough for AUTO_TEXT_STEPS steps in all, so that a
 * few dozen utterances are not left near their initial values
 */
static int
auto_epochs(int n)
{
	return Min(1000, Max(AUTO_TEXT_EPOCHS, (AUTO_TEXT_STEPS + Max(n, 1) - 1) / Max(n, 1)));
}

/*
 * Train for the configured epochs on the utterances rows[0..n_rows) and on
 * the texts of the items that have trained embeddings (targets: item_emb,
 * [n_all][dim]), in one shuffled order per epoch, learning rate decaying
 * linearly to zero.  Appends per-epoch records to log (if given).  Returns
 * the number of epochs.
 */
static int
train_epochs(MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows, const Items *it,
			 const float *item_emb, const MtrsFitOptions *o, const char *phase, StringInfo log)
{
	MtrsTextSet set = {c->n, c->tok_off, c->tok, c->lab_off, c->lab};
	int			n_items = 0;
	int			n_ex;
	int			epochs;
	int32	   *order;
	float	   *scratch = palloc(sizeof(float) * (2 * p->dim + 3 * p->n_labels));
	uint64		rng = (uint64) o->seed * 0x9E3779B97F4A7C15ull + 1;
	double		total,
				done = 0.0;
	instr_time	start,
				now;
	char		activity[160];
	char		losses[64];

	/* examples: utterance r as r >= 0, item text b as -1 - b */
	for (int b = 0; it != NULL && b < it->n; b++)
		n_items += it->warm[b];
	n_ex = n_rows + n_items;
	order = palloc(sizeof(int32) * Max(n_ex, 1));
	memcpy(order, rows, sizeof(int32) * n_rows);
	for (int b = 0, k = n_rows; it != NULL && b < it->n; b++)
		if (it->warm[b])
			order[k++] = -1 - b;
	epochs = o->text_epochs_auto ? auto_epochs(n_ex) : o->text_epochs;
	total = (double) epochs * Max(n_ex, 1);
	INSTR_TIME_SET_CURRENT(start);
	for (int e = 1; e <= epochs; e++)
	{
		double		loss = 0.0,
					item_loss = 0.0;

		for (int i = n_ex - 1; i > 0; i--)
		{
			int			j = (int) (NnRandNext(&rng) % (uint64) (i + 1));
			int32		tmp = order[i];

			order[i] = order[j];
			order[j] = tmp;
		}
		for (int i = 0; i < n_ex; i++)
		{
			float		lr = (float) (o->text_lr * (1.0 - done / total));

			if ((i % STEP_CHUNK) == 0)
				CHECK_FOR_INTERRUPTS();
			if (order[i] >= 0)
				loss += MtrsTextStep(p, &set, order[i], lr, scratch);
			else
			{
				int			b = -1 - order[i];

				item_loss += MtrsTextRegressStep(p, it->tok + it->tok_off[b],
												 it->tok_off[b + 1] - it->tok_off[b],
												 item_emb + (int64) it->text_item[b] * p->dim,
												 lr, scratch);
			}
			done += 1.0;
		}
		loss /= Max(n_rows, 1);
		item_loss /= Max(n_items, 1);
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		/* the losses of the tasks this phase trains: no 0 for one it does not */
		if (n_rows > 0 && n_items > 0)
			snprintf(losses, sizeof(losses), "intent %.4f, item text %.4f", loss, item_loss);
		else if (n_items > 0)
			snprintf(losses, sizeof(losses), "item text %.4f", item_loss);
		else
			snprintf(losses, sizeof(losses), "intent %.4f", loss);
		/* at most about 20 progress lines, however many epochs a small set gets */
		if (e == 1 || e == epochs || e % ((epochs + 19) / 20) == 0)
			ereport(o->progress ? NOTICE : DEBUG1,
					(errmsg("text %s epoch %d of %d: %s; %.2f s", phase, e, epochs, losses,
							INSTR_TIME_GET_DOUBLE(now))));
		if (log != NULL)
		{
			appendStringInfo(log, "%s{\"text_epoch\": %d, \"seconds\": %.3f, \"loss\": {",
							 log->len > 0 ? ", " : "", e, INSTR_TIME_GET_DOUBLE(now));
			if (n_rows > 0)
				appendStringInfo(log, "\"intent\": %.6g%s", loss, n_items > 0 ? ", " : "");
			if (n_items > 0)
				appendStringInfo(log, "\"item_text\": %.6g", item_loss);
			appendStringInfoString(log, "}}");
		}
		/* visible from other sessions in pg_stat_activity.query, as the iterations are */
		snprintf(activity, sizeof(activity), "mtrs training: text %s epoch %d of %d, %.1f s: %s",
				 phase, e, epochs, INSTR_TIME_GET_DOUBLE(now), losses);
		MtrsShowActivity(activity);
	}
	pfree(order);
	pfree(scratch);
	return epochs;
}

/* train_epochs, showing the statement in pg_stat_activity again afterwards, on error too */
static int
train(MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows, const Items *it,
	  const float *item_emb, const MtrsFitOptions *o, const char *phase, StringInfo log)
{
	volatile int epochs = 0;

	PG_TRY();
	{
		epochs = train_epochs(p, c, rows, n_rows, it, item_emb, o, phase, log);
	}
	PG_CATCH();
	{
		MtrsRestoreActivity();
		PG_RE_THROW();
	}
	PG_END_TRY();
	MtrsRestoreActivity();
	return epochs;
}

/*
 * Return the vocabulary (palloc'd, ascending, *n_vocab buckets): every
 * bucket of the utterances rows[0..n_rows) of c and of the texts of the
 * items with trained embeddings in it (if given).
 */
static inline bool
bit_is_set(const uint64 *bits, uint32 b)
{
	return (bits[b / 64] >> (b % 64)) & 1;
}

static uint32 *
build_vocab(const Corpus *c, const int32 *rows, int n_rows, const Items *it, uint32 n_buckets,
			int64 *n_vocab)
{
	uint64	   *seen = palloc0_array(uint64, n_buckets / 64 + 1);
	uint32	   *vocab;
	int64		n = 0;

	for (int r = 0; r < n_rows; r++)
		for (int32 j = c->tok_off[rows[r]]; j < c->tok_off[rows[r] + 1]; j++)
			seen[c->tok[j] / 64] |= 1ull << (c->tok[j] % 64);
	for (int b = 0; it != NULL && b < it->n; b++)
		if (it->warm[b])
			for (int32 j = it->tok_off[b]; j < it->tok_off[b + 1]; j++)
				seen[it->tok[j] / 64] |= 1ull << (it->tok[j] % 64);
	for (uint32 b = 0; b < n_buckets; b++)
		n += bit_is_set(seen, b);
	vocab = palloc(sizeof(uint32) * Max(n, 1));
	*n_vocab = 0;
	for (uint32 b = 0; b < n_buckets; b++)
		if (bit_is_set(seen, b))
			vocab[(*n_vocab)++] = b;
	pfree(seen);
	return vocab;
}

/*
 * Re-express n texts (buckets tok, offsets tok_off [n + 1]) in the rows of
 * vocab, dropping the buckets it does not have: new palloc'd arrays.
 */
static void
map_texts(const uint32 *vocab, int64 n_vocab, int n, const int32 *tok_off, const uint32 *tok,
		  int32 **out_off, uint32 **out_tok)
{
	int32	   *off = palloc(sizeof(int32) * (n + 1));
	uint32	   *t = palloc_extended(sizeof(uint32) * Max(n > 0 ? (Size) tok_off[n] : 0, 1),
									MCXT_ALLOC_HUGE);
	int64		cap = MtrsVocabTableSize(n_vocab);
	uint64	   *table = palloc_extended(sizeof(uint64) * cap, MCXT_ALLOC_HUGE);

	MtrsVocabTableBuild(vocab, n_vocab, table, cap);
	off[0] = 0;
	for (int i = 0; i < n; i++)
	{
		int			len = tok_off[i + 1] - tok_off[i];

		memcpy(t + off[i], tok + tok_off[i], sizeof(uint32) * len);
		off[i + 1] = off[i] + MtrsVocabMap(table, cap, t + off[i], len);
	}
	pfree(table);
	*out_off = off;
	*out_tok = t;
}

/* Return a copy of c whose tokens are rows of vocab (labels shared) */
static Corpus
corpus_in_vocab(const Corpus *c, const uint32 *vocab, int64 n_vocab)
{
	Corpus		m = *c;

	map_texts(vocab, n_vocab, c->n, c->tok_off, c->tok, &m.tok_off, &m.tok);
	return m;
}

/*
 * Score the held-out utterances rows[0..n_rows) of c with the model p:
 * fill s with their logits and gold intents (palloc'd).
 */
static void
held_out_logits(const MtrsTextParams *p, const Corpus *c, const int32 *rows, int n_rows,
				MtrsRuleSet *s)
{
	double		zbytes = sizeof(float) * Max((double) n_rows * p->n_labels, 1.0);
	float	   *z;
	float	   *h = palloc(sizeof(float) * MtrsTextWidth(p));
	int32	   *lab_off = palloc(sizeof(int32) * (n_rows + 1));
	int32	   *lab = palloc(sizeof(int32) * Max(c->lab_off[c->n], 1));

	/* every held-out utterance's logit of every intent: past 1 GB at 2^28 */
	MtrsCheckTrainingMemory((double) MemoryContextMemAllocated(CurrentMemoryContext, true) + zbytes,
							psprintf("the logits of %d held-out utterances and %d intents",
									 n_rows, p->n_labels),
							false, "held-out utterances");
	z = palloc_extended((Size) zbytes, MCXT_ALLOC_HUGE);

	lab_off[0] = 0;
	for (int r = 0; r < n_rows; r++)
	{
		int			i = rows[r];

		MtrsTextEncode(p, c->tok + c->tok_off[i], c->tok_off[i + 1] - c->tok_off[i], h, NULL);
		MtrsTextScores(p, h, z + (int64) r * p->n_labels);
		lab_off[r + 1] = lab_off[r];
		for (int32 k = c->lab_off[i]; k < c->lab_off[i + 1]; k++)
			lab[lab_off[r + 1]++] = c->lab[k];
	}
	pfree(h);
	s->n = n_rows;
	s->n_labels = p->n_labels;
	s->z = z;
	s->lab_off = lab_off;
	s->lab = lab;
}

/*
 * Choose the decision rule with the best exact-match accuracy on the
 * held-out utterances s: a threshold tau in 0.05 .. 0.95 and whether the
 * best intent is always given (top1) or an utterance may get none (only if
 * allow_none: the training data has out-of-scope utterances).  With one,
 * an utterance gets at most its best intent (single-intent training data).
 * Ties go to the rule that allows "none", then to tau nearest 0.5.  Sets
 * *accuracy.
 */
static float
tune_threshold(const MtrsTextParams *p, const MtrsRuleSet *s, bool one, bool allow_none,
			   bool *top1, double *accuracy)
{
	int			hits[2][N_THRESHOLDS] = {{0}};
	float	   *prob = palloc(sizeof(float) * p->n_labels);
	bool	   *gold = palloc(sizeof(bool) * p->n_labels);
	int			best = N_THRESHOLDS / 2,
				best_rule = allow_none ? 0 : 1;

	for (int r = 0; r < s->n; r++)
	{
		int			arg = 0;

		MtrsTextProbs(p, s->z + (int64) r * p->n_labels, prob);
		memset(gold, 0, sizeof(bool) * p->n_labels);
		for (int32 k = s->lab_off[r]; k < s->lab_off[r + 1]; k++)
			gold[s->lab[k]] = true;
		for (int l = 1; l < p->n_labels; l++)
			if (prob[l] > prob[arg])
				arg = l;
		for (int t = 0; t < N_THRESHOLDS; t++)
		{
			float		tau = 0.05f * (t + 1);
			bool		exact = true,
						any = false;

			for (int l = 0; l < p->n_labels; l++)
			{
				bool		on = prob[l] >= tau && (!one || l == arg);

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
	for (int rule = best_rule; rule < 2; rule++)
		for (int t = 0; t < N_THRESHOLDS; t++)
			if (hits[rule][t] > hits[best_rule][best] ||
				(hits[rule][t] == hits[best_rule][best] && rule == best_rule &&
				 abs(t - N_THRESHOLDS / 2) < abs(best - N_THRESHOLDS / 2)))
			{
				best_rule = rule;
				best = t;
			}
	*top1 = (best_rule == 1);
	*accuracy = s->n > 0 ? (double) hits[best_rule][best] / s->n : 0.0;
	pfree(prob);
	pfree(gold);
	return 0.05f * (best + 1);
}

/* Return the offsets as a JSON array, or null */
static char *
offsets_json(const float *offsets, int n)
{
	StringInfoData buf;

	if (offsets == NULL)
		return "null";
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int l = 0; l < n; l++)
		appendStringInfo(&buf, "%s%g", l > 0 ? ", " : "", offsets[l]);
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * Choose the decision rule on held-out utterances rows[0..n_rows) of held
 * (whose intents are those of the training corpus c) with the model p:
 * the threshold and top-1 rule, then, on multi-intent training data,
 * per-intent offsets (mtrs_intentrule.h).  Returns the offsets (NULL when
 * none were tuned).
 */
static float *
choose_rule(const MtrsTextParams *p, const Corpus *c, const Corpus *held, const int32 *rows,
			int n_rows, const MtrsFitOptions *o, float *tau, bool *top1, double *accuracy)
{
	bool		single = MtrsCorpusSingleLabel(c);
	float	   *offsets = NULL;
	MtrsRuleSet s;

	held_out_logits(p, held, rows, n_rows, &s);
	*tau = tune_threshold(p, &s, single, MtrsCorpusHasOutOfScope(c), top1, accuracy);
	if (o->per_intent_thresholds && !p->softmax && !single)
	{
		offsets = palloc0(sizeof(float) * c->n_labels);
		*accuracy = n_rows > 0 ? (double) MtrsTuneOffsets(&s, *tau, *top1, offsets) / n_rows : 0.0;
	}
	pfree((float *) s.z);
	pfree((int32 *) s.lab_off);
	pfree((int32 *) s.lab);
	return offsets;
}

/*
 * Embed the items known only by their text from the items with
 * interactions: each text feature's centroid is the mean trained embedding
 * of the items whose text has it, and a new item's embedding is the mean
 * of its features' centroids (features no trained item has are skipped;
 * an item with none keeps its text's encoding).  An estimate of "what
 * items described like this look like" that needs no fitting; on
 * MovieLens it ranks new items better than the encoder (bench/README.md).
 * Memory: one centroid per distinct feature of the new items.
 */
static void
cold_from_centroids(const Items *it, MtrsModelView *v)
{
	int			dim = v->hdr->dim;
	int64		nb = MtrsWordRows(v->hdr);
	int32	   *slot = palloc_extended(sizeof(int32) * nb, MCXT_ALLOC_HUGE);
	int32		n_slots = 0;
	float	   *sum;
	int32	   *cnt;
	float	   *out = palloc(sizeof(float) * dim);

	/* a slot for every feature of a new item */
	memset(slot, -1, sizeof(int32) * nb);
	for (int b = 0; b < it->n; b++)
		if (!it->warm[b])
			for (int32 j = it->tok_off[b]; j < it->tok_off[b + 1]; j++)
				if (slot[it->tok[j]] < 0)
					slot[it->tok[j]] = n_slots++;
	sum = palloc_extended(sizeof(float) * (int64) Max(n_slots, 1) * dim,
						  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	cnt = palloc0(sizeof(int32) * Max(n_slots, 1));
	for (int b = 0; b < it->n; b++)
		if (it->warm[b])
			for (int32 j = it->tok_off[b]; j < it->tok_off[b + 1]; j++)
			{
				int32		k = slot[it->tok[j]];

				if (k < 0)
					continue;
				NnAxpy(sum + (int64) k * dim, 1.0f, v->t.item_emb + (int64) it->text_item[b] * dim,
					   dim);
				cnt[k]++;
			}
	for (int b = 0; b < it->n; b++)
	{
		int			seen = 0;

		if (it->warm[b])
			continue;
		memset(out, 0, sizeof(float) * dim);
		for (int32 j = it->tok_off[b]; j < it->tok_off[b + 1]; j++)
		{
			int32		k = slot[it->tok[j]];

			if (cnt[k] == 0)
				continue;
			NnAxpy(out, 1.0f / cnt[k], sum + (int64) k * dim, dim);
			seen++;
		}
		if (seen > 0)
			for (int d = 0; d < dim; d++)
				v->t.item_emb[(int64) it->text_item[b] * dim + d] = out[d] / seen;
	}
	pfree(slot);
	pfree(sum);
	pfree(cnt);
	pfree(out);
}

/*
 * Count in df [n_vocab] how many of the n texts (rows tok, offsets
 * tok_off) have each vocabulary row, over the texts with keep[i] (all if
 * keep is NULL); returns the number of texts counted.
 */
static int
doc_freq(int n, const int32 *tok_off, const uint32 *tok, const bool *keep, int64 n_vocab,
		 int32 *df)
{
	int32	   *last = palloc_array(int32, Max(n_vocab, 1));
	int			counted = 0;

	memset(last, -1, sizeof(int32) * Max(n_vocab, 1));
	for (int i = 0; i < n; i++)
	{
		if (keep != NULL && !keep[i])
			continue;
		for (int32 j = tok_off[i]; j < tok_off[i + 1]; j++)
			if (last[tok[j]] != i)
			{
				last[tok[j]] = i;
				df[tok[j]]++;
			}
		counted++;
	}
	pfree(last);
	return counted;
}

/*
 * Weigh every vocabulary row in the item space (w [n_vocab]): how much
 * more typical the feature is of item texts than of utterances, a / (a + u)
 * with a and u the shares of the texts of the items with trained
 * embeddings and of the utterances that have it (it and c in vocabulary
 * rows).  A feature only item texts have weighs 1, one only utterances
 * have 0.  Queries are read in the item space with these weights
 * (MtrsTextEncodeWeighted), so words trained mostly for intents ("find",
 * "movie") do not drown the ones that name items.
 */
static void
item_space_weights(const Items *it, const Corpus *c, int64 n_vocab, float *w)
{
	int32	   *df_item = palloc0_array(int32, Max(n_vocab, 1));
	int32	   *df_utt = palloc0_array(int32, Max(n_vocab, 1));
	int			n_item = doc_freq(it->n, it->tok_off, it->tok, it->warm, n_vocab, df_item);
	int			n_utt = doc_freq(c->n, c->tok_off, c->tok, NULL, n_vocab, df_utt);

	for (int64 r = 0; r < n_vocab; r++)
	{
		double		a = (double) df_item[r] / Max(n_item, 1);
		double		u = (double) df_utt[r] / Max(n_utt, 1);

		w[r] = a + u > 0.0 ? (float) (a / (a + u)) : 0.0f;
	}
	pfree(df_item);
	pfree(df_utt);
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
 * Lay out the new model: the interaction part of old (if any) over the
 * extended catalog (item-indexed tensors and the history remapped), room
 * for the text part (with item space weights if item_weights), and the task
 * and intent names.  Fails first if what the run holds, the model twice
 * (its buffer and the copy returned) and later bytes that the run will
 * allocate after it exceed mtrs.max_training_memory.  Returns the buffer.
 */
static char *
begin_model(const MtrsModel *old, const Corpus *c, const Items *it, int dim, int text_width,
			int n_buckets, int64 n_vocab, bool item_weights, double later, Size *size,
			MtrsModelView *v)
{
	MtrsHeader	h;
	int			kind = MTRS_KIND_TEXT | (c->n_labels > 0 ? MTRS_KIND_INTENT : 0);
	int			n_tasks = 0,
				slen = 0,
				n_items = 0,
				n_users = 0,
				head_dim = 0;
	int64		n_history = 0;
	char	   *buf;
	int			off = 0;

	if (old != NULL && (old->v.hdr->kind & MTRS_KIND_INTERACTIONS))
	{
		kind |= MTRS_KIND_INTERACTIONS;
		n_tasks = old->v.hdr->n_tasks;
		n_users = old->v.hdr->n_users;
		n_items = it != NULL ? it->n_all : old->v.hdr->n_items;
		n_history = old->v.hdr->n_history;
		head_dim = old->v.hdr->head_dim;
		for (int t = 0; t < n_tasks; t++)
			slen += strlen(MtrsModelString(&old->v, t)) + 1;
	}
	for (int l = 0; l < c->n_labels; l++)
		slen += strlen(c->labels[l]) + 1;
	if (MtrsHeaderInit(&h, kind, dim, text_width, head_dim, n_users, n_items, n_history,
					   n_tasks, c->n_labels, n_buckets, n_vocab, item_weights, slen) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model would exceed the maximum model size of %zu bytes", MTRS_MAX_MODEL_SIZE),
				 errhint("Lower the \"buckets\" or \"dim\" option.")));
	*size = MtrsFormatSize(&h);
	MtrsCheckTrainingMemory((double) MemoryContextMemAllocated(CurrentMemoryContext, true) +
							2.0 * (double) *size + later,
							psprintf("%d utterances and %d item texts (" INT64_FORMAT
									 " features, a vocabulary of " INT64_FORMAT ")",
									 c->n, it != NULL ? it->n : 0,
									 (int64) (c->n > 0 ? c->tok_off[c->n] : 0) +
									 (it != NULL && it->n > 0 ? it->tok_off[it->n] : 0), n_vocab),
							true, "or shorter texts");
	buf = palloc_extended(*size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	memcpy(buf, &h, sizeof(h));
	MtrsFormatLayout(v, buf);
	if (n_tasks > 0)
	{
		const MtrsModelView *ov = &old->v;
		int			on = ov->hdr->n_items;
		int			d = ov->hdr->dim;

		/* unchanged: users, per-task and per-user tensors */
		memcpy(v->user_ids, ov->user_ids, sizeof(int64) * n_users);
		memcpy(v->hist_ptr, ov->hist_ptr, sizeof(int64) * (n_users + 1));
		memcpy(v->t.user_emb, ov->t.user_emb, sizeof(float) * (size_t) n_users * d);
		memcpy(v->t.user_bias, ov->t.user_bias, sizeof(float) * (size_t) n_tasks * n_users);
		memcpy(v->t.task_w, ov->t.task_w, sizeof(float) * (size_t) n_tasks * d);
		memcpy(v->t.task_b, ov->t.task_b, sizeof(float) * n_tasks);
		memcpy(v->t.settings, ov->t.settings,
			   sizeof(float) * Min(MtrsSettingsCount(v->hdr), MtrsSettingsCount(ov->hdr)));
		memcpy(v->t.task_parent, ov->t.task_parent, sizeof(float) * n_tasks);
		memcpy(v->t.head_user, ov->t.head_user, sizeof(float) * (size_t) n_tasks * n_users * head_dim);
		/* item-indexed: remapped into the extended catalog */
		if (it != NULL)
			memcpy(v->item_ids, it->all_ids, sizeof(int64) * n_items);
		else
			memcpy(v->item_ids, ov->item_ids, sizeof(int64) * n_items);
		for (int i = 0; i < on; i++)
		{
			int			ni = it != NULL ? it->old_to_new[i] : i;

			memcpy(v->t.item_emb + (int64) ni * d, ov->t.item_emb + (int64) i * d, sizeof(float) * d);
			for (int t = 0; t < n_tasks; t++)
			{
				v->t.item_bias[(int64) t * n_items + ni] = ov->t.item_bias[(int64) t * on + i];
				memcpy(v->t.head_item + ((int64) t * n_items + ni) * head_dim,
					   ov->t.head_item + ((int64) t * on + i) * head_dim, sizeof(float) * head_dim);
			}
		}
		for (int64 k = 0; k < n_history; k++)
			v->hist_items[k] = it != NULL ? it->old_to_new[ov->hist_items[k]] : ov->hist_items[k];
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

/* What the last mtrs_fit_text recorded; read by mtrs_last_fit */
char	   *mtrs_last_text_fit = NULL;

/*
 * mtrs_fit_text(model bytea, item_ids bigint[], item_texts text[],
 *				 utterances text[], labels text[], options jsonb) -> bytea
 * Train the text part of a model and return model bytes holding model's
 * interaction part (if model is not NULL) plus the new text part: item
 * texts (needs interactions) and/or labelled utterances (intent head).
 */
Datum
mtrs_fit_text(PG_FUNCTION_ARGS)
{
	MtrsModel  *old = PG_ARGISNULL(0) ? NULL :
		MtrsModelDecode(PG_GETARG_BYTEA_PP(0), CurrentMemoryContext);
	bool		with_items = !PG_ARGISNULL(1) && !PG_ARGISNULL(2);
	bool		with_utterances = !PG_ARGISNULL(3) && !PG_ARGISNULL(4);
	bool		with_validation = with_utterances && !PG_ARGISNULL(6) && !PG_ARGISNULL(7);
	Corpus		vc;
	MtrsFitOptions o;
	MtrsTokenizer tok;
	Corpus		c,
				fc;
	Items		items,
				fi;
	uint32	   *vocab;
	int64		n_vocab;
	int32	   *train_rows,
			   *val_rows;
	int			n_train = 0,
				n_val = 0,
				dim,
				n_cold = 0,
				epochs;
	float		tau = 0.5f;
	bool		top1 = false;
	double		val_acc = -1.0;
	float	   *offsets = NULL;
	MtrsModelView v;
	MtrsTextParams p;
	Size		size;
	char	   *buf;
	bytea	   *out;
	StringInfoData log;

	if (!with_items && !with_utterances)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("nothing to train on"),
				 errhint("Give item ids and texts, utterances and labels, or both.")));
	if (with_items && (old == NULL || !(old->v.hdr->kind & MTRS_KIND_INTERACTIONS)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("item texts need a model trained on interactions"),
				 errhint("Train with interactions => ... and items => ... together.")));
	MtrsFitOptionsParse(&o, PG_ARGISNULL(5) ? NULL :
						JsonbToCString(NULL, &PG_GETARG_JSONB_P(5)->root, 0));
	dim = old != NULL ? old->v.hdr->dim : o.dim;
	tok = MtrsTokenizerMake((uint32) o.buckets, o.word_ngrams, o.char_max > 0 ? o.char_min : 0,
							o.char_max, o.punctuation, o.text_marks, o.ngrams_by_script,
							MTRS_CASE_FOLDING);
	memset(&c, 0, sizeof(c));
	if (with_utterances)
		MtrsBuildCorpus(PG_GETARG_ARRAYTYPE_P(3), PG_GETARG_ARRAYTYPE_P(4), &tok, NULL, &c);
	if (with_items)
		MtrsBuildItems(PG_GETARG_ARRAYTYPE_P(1), PG_GETARG_ARRAYTYPE_P(2), &tok, old, &items);

	train_rows = palloc(sizeof(int32) * Max(c.n, 1));
	val_rows = palloc(sizeof(int32) * Max(c.n, 1));
	for (int i = 0; i < c.n; i++)
		train_rows[i] = i;

	/*
	 * The vocabulary: every feature of the utterances and of the texts of
	 * the items with trained embeddings.  Only its buckets get a row; text
	 * is read in its rows from here on (fc, fi), features outside it are
	 * dropped.
	 */
	vocab = build_vocab(&c, train_rows, c.n, with_items ? &items : NULL, tok.n_buckets, &n_vocab);
	fc = corpus_in_vocab(&c, vocab, n_vocab);
	if (with_items)
	{
		fi = items;
		map_texts(vocab, n_vocab, items.n, items.tok_off, items.tok, &fi.tok_off, &fi.tok);
	}
	/*
	 * the model, its copy returned, and what the held-out tuning run will
	 * add: the utterances' features in its vocabulary, which it builds
	 */
	buf = begin_model(old, &c, with_items ? &items : NULL, dim, o.max_pool ? 2 * dim : dim,
					  o.buckets, n_vocab, with_items && c.n > 0,
					  c.n > 0 ? sizeof(uint32) * (double) c.tok_off[c.n] + tok.n_buckets / 8.0 +
					  32.0 * n_vocab : 0.0, &size, &v);
	memcpy(v.vocab, vocab, sizeof(uint32) * n_vocab);
	if (v.hdr->flags & MTRS_FLAG_ITEM_WEIGHTS)
		item_space_weights(&fi, &fc, n_vocab, v.t.word_item_w);
	p.dim = dim;
	p.n_labels = c.n_labels;
	p.max_pool = o.max_pool;
	p.emb = v.t.word_emb;
	p.label_w = v.t.label_w;
	p.label_b = v.t.label_b;
	p.pos_weight = positive_weights(&c, o.balance);
	p.char_from = MtrsCharRowsFrom(&tok, vocab, n_vocab);
	if (o.intent_loss == MTRS_INTENT_LOSS_AUTO)
		o.intent_loss = MtrsCorpusSingleLabel(&c) ? MTRS_INTENT_LOSS_SOFTMAX : MTRS_INTENT_LOSS_OVA;
	p.softmax = (o.intent_loss == MTRS_INTENT_LOSS_SOFTMAX);

	for (int i = 0; i < c.n; i++)
	{
		if (!with_validation && c.n >= MIN_VALIDATION && held_out(i, &o))
			val_rows[n_val++] = i;
		else
			train_rows[n_train++] = i;
	}
	initStringInfo(&log);

	/*
	 * Without a held-out part: threshold 0.5, and the best intent is always
	 * given unless the training data has out-of-scope utterances (the same
	 * limit the tuning on a held-out part has: "none" is never a rule there)
	 */
	top1 = c.n_labels > 0 && !MtrsCorpusHasOutOfScope(&c);
	if (n_val > 0 && n_train > 0)
	{
		/*
		 * choose the decision rule on the held-out part, read in the
		 * vocabulary of the rest (a subset of the full one, so its rows fit
		 * the model's), then train on everything
		 */
		int64		n_tune;
		uint32	   *tune_vocab = build_vocab(&c, train_rows, n_train, NULL, tok.n_buckets, &n_tune);
		Corpus		tc = corpus_in_vocab(&c, tune_vocab, n_tune);
		MtrsTextParams tp = p;

		tp.char_from = MtrsCharRowsFrom(&tok, tune_vocab, n_tune);
		init_params(&tp, &tc, train_rows, n_train, n_tune, (uint64) o.seed, NULL, NULL);
		train(&tp, &tc, train_rows, n_train, NULL, NULL, &o, "tuning", NULL);
		offsets = choose_rule(&tp, &tc, &tc, val_rows, n_val, &o, &tau, &top1, &val_acc);
		for (int i = 0; i < c.n; i++)
			train_rows[i] = i;
		n_train = c.n;
	}
	init_params(&p, &fc, train_rows, n_train, n_vocab, (uint64) o.seed,
				with_items ? &fi : NULL, v.t.item_emb);
	epochs = train(&p, &fc, train_rows, n_train, with_items ? &fi : NULL, v.t.item_emb, &o,
				   "training", &log);

	/* given held-out utterances: choose the decision rule on them with the final model */
	if (with_validation)
	{
		MtrsBuildCorpus(PG_GETARG_ARRAYTYPE_P(6), PG_GETARG_ARRAYTYPE_P(7), &tok, &c, &vc);
		vc = corpus_in_vocab(&vc, vocab, n_vocab);
		if (vc.n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("no validation utterance has only intents the training utterances have"),
					 errhint("Validate with utterances labelled with the intents being trained.")));
		val_rows = palloc(sizeof(int32) * Max(vc.n, 1));
		for (int i = 0; i < vc.n; i++)
			val_rows[i] = i;
		n_val = vc.n;
		offsets = choose_rule(&p, &fc, &vc, val_rows, n_val, &o, &tau, &top1, &val_acc);
	}

	/* the per-intent offsets become part of the head's biases */
	for (int l = 0; offsets != NULL && l < c.n_labels; l++)
		v.t.label_b[l] += offsets[l];

	/*
	 * items known only by their text: their embedding is their text's
	 * encoding, or (cold_items "centroid") the mean of their features'
	 * centroids
	 */
	if (with_items)
	{
		float	   *h = palloc(sizeof(float) * 2 * dim);

		for (int b = 0; b < fi.n; b++)
			if (!fi.warm[b])
			{
				MtrsTextEncode(&p, fi.tok + fi.tok_off[b], fi.tok_off[b + 1] - fi.tok_off[b], h, NULL);
				memcpy(v.t.item_emb + (int64) fi.text_item[b] * dim, h, sizeof(float) * dim);
				n_cold++;
			}
		pfree(h);
		if (n_cold > 0 && o.cold_items == MTRS_COLD_CENTROID)
			cold_from_centroids(&fi, &v);
	}

	v.t.settings[MTRS_SET_INTENT_THRESHOLD] = tau;
	v.t.settings[MTRS_SET_INTENT_TOP1] = top1 ? 1.0f : 0.0f;
	v.t.settings[MTRS_SET_INTENT_ONE] = MtrsCorpusSingleLabel(&c) ? 1.0f : 0.0f;
	v.t.settings[MTRS_SET_WORD_NGRAMS] = (float) tok.word_ngrams;
	v.t.settings[MTRS_SET_CHAR_MIN] = (float) tok.char_min;
	v.t.settings[MTRS_SET_CHAR_MAX] = (float) tok.char_max;
	v.t.settings[MTRS_SET_PUNCTUATION] = (float) tok.punctuation;
	v.t.settings[MTRS_SET_TEXT_MARKS] = (float) tok.text_marks;
	v.t.settings[MTRS_SET_NGRAMS_BY_SCRIPT] = (float) tok.ngrams_by_script;
	v.t.settings[MTRS_SET_CASE_FOLDING] = (float) tok.case_folding;
	v.t.settings[MTRS_SET_INTENT_SOFTMAX] = (float) p.softmax;
	for (int64 i = 0; i < v.hdr->n_params; i++)
		if (!isfinite(v.params[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("text training diverged"),
					 errhint("Lower the \"text_lr\" option.")));
	MtrsFormatSeal(&v);

	if (mtrs_last_text_fit != NULL)
		pfree(mtrs_last_text_fit);
	mtrs_last_text_fit = MemoryContextStrdup(TopMemoryContext,
		psprintf("{\"options\": %s, \"utterances\": %d, \"intents\": %d, \"threshold\": %.2f, "
				 "\"always_best_intent\": %s, \"validation_utterances\": %d, "
				 "\"validation_accuracy\": %s, \"intent_offsets\": %s, \"item_texts\": %d, "
				 "\"text_only_items\": %d, \"vocabulary\": " INT64_FORMAT ", \"text_epochs\": %d, "
				 "\"training_log\": [%s]}",
				 MtrsFitOptionsToJson(&o), c.n, c.n_labels, tau, top1 ? "true" : "false", n_val,
				 val_acc >= 0 ? psprintf("%.4f", val_acc) : "null", offsets_json(offsets, c.n_labels),
				 with_items ? items.n : 0, n_cold, n_vocab, epochs, log.data));

	out = palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);
	SET_VARSIZE(out, VARHDRSZ + size);
	memcpy(VARDATA(out), buf, size);
	PG_RETURN_BYTEA_P(out);
}
