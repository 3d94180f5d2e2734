/*-------------------------------------------------------------------------
 *
 * mtrs_textdata.c
 *	  Gather the text a model trains on: labelled utterances (a label value
 *	  may carry several intents joined by '#'; an empty label marks an
 *	  out-of-scope utterance) and item texts with the catalog they extend,
 *	  tokenized with the model's tokenizer.
 *
 * IDENTIFICATION
 *	  src/mtrs_textdata.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "mtrs_nn.h"
#include "mtrs_textdata.h"
#include "mtrs_train.h"

/* Compare C strings through pointers, for qsort and bsearch */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Return s, cut to whole characters of at most 80 bytes with "..." if longer (for messages) */
static const char *
clipped(const char *s)
{
	int			len = strlen(s);
	int			keep = pg_mbcliplen(s, len, 80);

	return keep < len ? psprintf("%.*s...", keep, s) : s;
}

/*
 * Split a label value into its intents: parts between '#', trimmed of
 * white space.  Returns them in a new list of palloc'd strings.
 */
static List *
split_label(const char *value, Datum utterance)
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
					 errmsg("an utterance has an empty intent in its label"),
					 errdetail("The label of \"%s\" is \"%s\".", clipped(TextDatumGetCString(utterance)), value),
					 errhint("Join several intents with '#', e.g. 'PlayMusic#AddToPlaylist'.")));
		if (b - a > MTRS_MAX_NAME_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("an intent label is longer than %d bytes", MTRS_MAX_NAME_LEN),
					 errdetail("The label of \"%s\" is \"%s\".", clipped(TextDatumGetCString(utterance)), clipped(value))));
		parts = lappend(parts, pnstrdup(a, b - a));
		if (end == NULL)
			break;
		p = end + 1;
	}
	return parts;
}

/* Set c's intents to the distinct ones among parts[0..n) (n_all in all), ascending */
static void
distinct_labels(List **parts, int n, int n_all, Corpus *c)
{
	char	  **all = palloc(sizeof(char *) * Max(n_all, 1));

	n_all = 0;
	for (int i = 0; i < n; i++)
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
}

/* Return whether every intent in names is one of the corpus's */
static bool
labels_known(const Corpus *c, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		char	   *name = lfirst(lc);

		if (bsearch(&name, c->labels, c->n_labels, sizeof(char *), cmp_str) == NULL)
			return false;
	}
	return true;
}

/*
 * Make room in tok (NULL: none yet; capacity *cap features) for need
 * features of the texts what names: at most what int32 offsets address,
 * and within mtrs.max_training_memory together with everything the run
 * holds so far.  Returns the array, moved if it grew.
 */
static uint32 *
grow_features(uint32 *tok, Size *cap, Size need, const char *what)
{
	Size		new_cap;

	if (tok != NULL && need <= *cap)
		return tok;
	if (need > (Size) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the %s have more than %d text features", what, PG_INT32_MAX),
				 errhint("Train on fewer or shorter texts.")));
	new_cap = Min(Max(tok != NULL ? *cap * 2 : 0, need), (Size) PG_INT32_MAX);
	MtrsCheckTrainingMemory((double) MemoryContextMemAllocated(CurrentMemoryContext, true) +
							sizeof(uint32) * (double) new_cap,
							psprintf("The %s read so far", what), false, "or shorter texts");
	*cap = new_cap;
	if (tok == NULL)
		return palloc_extended(sizeof(uint32) * Max(new_cap, 1), MCXT_ALLOC_HUGE);
	return repalloc_huge(tok, sizeof(uint32) * new_cap);
}

/*
 * Build the corpus from parallel text and label arrays (NULL pairs
 * skipped).  With known, the intents are known's and utterances with an
 * intent known lacks are left out (held-out data for a trained head).
 */
void
MtrsBuildCorpus(ArrayType *texts, ArrayType *labels, const MtrsTokenizer *t, const Corpus *known,
				Corpus *c)
{
	Datum	   *tv,
			   *lv;
	bool	   *tn,
			   *ln;
	int			nt,
				nl,
				n_all = 0,
				n_lab = 0;
	Size		n_tok = 0,
				tok_cap = 0;
	List	  **parts;
	uint32	   *buf = palloc(sizeof(uint32) * MTRS_MAX_TEXT_TOKENS);

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
			parts[i] = split_label(TextDatumGetCString(lv[i]), tv[i]);
			n_all += list_length(parts[i]);
			c->n++;
		}
	if (c->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no labelled utterances to train on"),
				 errdetail("Every utterance or its label is null.")));

	/* the intents: known's, or the distinct ones, ascending */
	if (known != NULL)
	{
		c->labels = known->labels;
		c->n_labels = known->n_labels;
	}
	else
		distinct_labels(parts, nt, n_all, c);

	/* tokens and label indices per utterance */
	c->tok_off = palloc(sizeof(int32) * (c->n + 1));
	c->lab_off = palloc(sizeof(int32) * (c->n + 1));
	c->tok = grow_features(NULL, &tok_cap, Min((Size) c->n * 64, (Size) PG_INT32_MAX),
						   "utterances");
	c->lab = palloc(sizeof(int32) * Max(n_all, 1));
	{
		int			r = 0;

		for (int i = 0; i < nt; i++)
		{
			ListCell   *lc;
			int			first = n_lab;
			int			k;

			if (tn[i] || ln[i] || !labels_known(c, parts[i]))
				continue;
			k = MtrsTokenizeText(t, DatumGetTextPP(tv[i]), buf);
			c->tok = grow_features(c->tok, &tok_cap, n_tok + k, "utterances");
			memcpy(c->tok + n_tok, buf, sizeof(uint32) * k);
			c->tok_off[r] = (int32) n_tok;
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
		c->tok_off[r] = (int32) n_tok;
		c->lab_off[r] = n_lab;
		c->n = r;
	}
	pfree(buf);
}

/*
 * Build the item texts from parallel id and text arrays (NULL pairs
 * skipped), and the catalog they extend: the model's items plus items known
 * only by their text.
 */
void
MtrsBuildItems(ArrayType *ids, ArrayType *texts, const MtrsTokenizer *t, const MtrsModel *m,
			   Items *it)
{
	Datum	   *iv,
			   *tv;
	bool	   *in,
			   *tn;
	int			ni,
				nt,
				n_new = 0,
				k = 0;
	Size		n_tok = 0,
				cap = 0;
	uint32	   *buf = palloc(sizeof(uint32) * MTRS_MAX_TEXT_TOKENS);
	int		   *order;
	int			n_old = m->v.hdr->n_items;

	if (ARR_NDIM(ids) > 1 || ARR_NDIM(texts) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("item ids and texts must be one-dimensional arrays")));
	deconstruct_array(ids, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &iv, &in, &ni);
	deconstruct_array(texts, TEXTOID, -1, false, TYPALIGN_INT, &tv, &tn, &nt);
	if (ni != nt)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("item ids and texts must have the same length"),
				 errdetail("There are %d ids and %d texts.", ni, nt)));
	/* order the usable rows by id */
	order = palloc(sizeof(int) * Max(ni, 1));
	it->ids = palloc(sizeof(int64) * Max(ni, 1));
	for (int i = 0; i < ni; i++)
		if (!in[i] && !tn[i])
			it->ids[k++] = DatumGetInt64(iv[i]);
	it->n = k;
	qsort(it->ids, k, sizeof(int64), NnCmpInt64);
	for (int i = 1; i < k; i++)
		if (it->ids[i] == it->ids[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("item " INT64_FORMAT " has more than one text", it->ids[i]),
					 errhint("Give one row per item, e.g. concatenate its text columns.")));
	for (int i = 0; i < ni; i++)
		order[i] = -1;
	for (int i = 0; i < ni; i++)
		if (!in[i] && !tn[i])
		{
			int64		id = DatumGetInt64(iv[i]);
			int64	   *hit = bsearch(&id, it->ids, it->n, sizeof(int64), NnCmpInt64);

			order[hit - it->ids] = i;
		}
	/* tokens per item, in id order */
	it->tok = grow_features(NULL, &cap, Min((Size) it->n * 16, (Size) PG_INT32_MAX), "item texts");
	it->tok_off = palloc(sizeof(int32) * (it->n + 1));
	for (int r = 0; r < it->n; r++)
	{
		int			n = MtrsTokenizeText(t, DatumGetTextPP(tv[order[r]]), buf);

		it->tok = grow_features(it->tok, &cap, n_tok + n, "item texts");
		memcpy(it->tok + n_tok, buf, sizeof(uint32) * n);
		it->tok_off[r] = (int32) n_tok;
		n_tok += n;
	}
	it->tok_off[it->n] = (int32) n_tok;

	/* the extended catalog: merge the model's ids with the new ones */
	for (int r = 0; r < it->n; r++)
		if (MtrsModelFindItem(m, it->ids[r]) < 0)
			n_new++;
	if ((int64) n_old + n_new > MTRS_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many items: %d", n_old + n_new)));
	it->n_all = n_old + n_new;
	it->all_ids = palloc(sizeof(int64) * Max(it->n_all, 1));
	it->old_to_new = palloc(sizeof(int32) * Max(n_old, 1));
	it->text_item = palloc(sizeof(int32) * Max(it->n, 1));
	it->warm = palloc(sizeof(bool) * Max(it->n, 1));
	{
		int			a = 0,
					b = 0,
					o = 0;

		while (a < n_old || b < it->n)
		{
			bool		take_old = b >= it->n ||
				(a < n_old && m->v.item_ids[a] <= it->ids[b]);
			bool		same = a < n_old && b < it->n && m->v.item_ids[a] == it->ids[b];

			if (take_old)
			{
				it->all_ids[o] = m->v.item_ids[a];
				it->old_to_new[a++] = o;
				if (same)
				{
					it->text_item[b] = o;
					it->warm[b++] = true;
				}
			}
			else
			{
				it->all_ids[o] = it->ids[b];
				it->text_item[b] = o;
				it->warm[b++] = false;
			}
			o++;
		}
	}
	pfree(buf);
	pfree(order);
}

/* Return whether some utterance has no intent (out of scope) */
bool
MtrsCorpusHasOutOfScope(const Corpus *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->lab_off[i + 1] == c->lab_off[i])
			return true;
	return false;
}

/* Return whether every utterance has exactly one intent */
bool
MtrsCorpusSingleLabel(const Corpus *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->lab_off[i + 1] - c->lab_off[i] != 1)
			return false;
	return c->n > 0;
}
