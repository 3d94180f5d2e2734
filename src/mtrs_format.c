/*-------------------------------------------------------------------------
 *
 * mtrs_format.c
 *	  Lay out, seal and validate the binary model format (see mtrs_format.h).
 *
 * Plain C: no PostgreSQL headers.  Validation never reads outside the
 * buffer it is given, whatever the bytes say, and reports the first
 * problem it finds as a status plus a one-sentence detail.
 *
 * IDENTIFICATION
 *	  src/mtrs_format.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtrs_format.h"
#include "mtrs_text.h"

_Static_assert(sizeof(MtrsHeader) == 128, "MtrsHeader must be 128 bytes");

#define ALIGN8(x)	(((x) + 7) & ~(uint64_t) 7)

/* Byte offsets of every section, computed from a header */
typedef struct Sections
{
	uint64_t	user_ids;
	uint64_t	item_ids;
	uint64_t	hist_ptr;
	uint64_t	hist_items;
	uint64_t	str_off;
	uint64_t	str_data;
	uint64_t	vocab;
	uint64_t	params;
	uint64_t	checksum;
	uint64_t	total;
} Sections;

/* Count the floats of every tensor the header describes */
static int64_t
count_params(const MtrsHeader *h)
{
	int64_t		n = 0;

#define MTRS_TENSOR_COUNT(name, rows, cols) n += (rows) * (int64_t) (cols);
	MTRS_TENSORS(MTRS_TENSOR_COUNT, h)
#undef MTRS_TENSOR_COUNT
	return n;
}

/* Compute section offsets; the header's fields must already be in range */
static void
compute_sections(const MtrsHeader *h, Sections *s)
{
	uint64_t	n_strings = (uint64_t) h->n_tasks + (uint64_t) h->n_labels;

	s->user_ids = sizeof(MtrsHeader);
	s->item_ids = s->user_ids + 8 * (uint64_t) h->n_users;
	s->hist_ptr = s->item_ids + 8 * (uint64_t) h->n_items;
	s->hist_items = s->hist_ptr +
		((h->kind & MTRS_KIND_INTERACTIONS) ? 8 * ((uint64_t) h->n_users + 1) : 0);
	s->str_off = ALIGN8(s->hist_items + 4 * (uint64_t) h->n_history);
	s->str_data = s->str_off + 4 * n_strings;
	s->vocab = ALIGN8(s->str_data + (uint64_t) h->strings_len);
	s->params = ALIGN8(s->vocab + 4 * (uint64_t) h->n_vocab);
	s->checksum = ALIGN8(s->params + 4 * (uint64_t) h->n_params);
	s->total = s->checksum + 8;
}

static void set_detail(char *detail, size_t detail_len, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Format a detail sentence into a caller's buffer */
static void
set_detail(char *detail, size_t detail_len, const char *fmt,...)
{
	va_list		ap;

	if (detail == NULL || detail_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, detail_len, fmt, ap);
	va_end(ap);
}

/* Check one int32 header field against [lo, hi] */
static int
field_ok(const char *name, int64_t value, int64_t lo, int64_t hi,
		 char *detail, size_t detail_len)
{
	if (value >= lo && value <= hi)
		return 1;
	set_detail(detail, detail_len,
			   "Field %s is %lld, expected a value between %lld and %lld.",
			   name, (long long) value, (long long) lo, (long long) hi);
	return 0;
}

/*
 * Check the shape fields of a header for range and consistency.
 * Returns 1 when they describe a model whose size fits a bytea.
 */
static int
header_shapes_ok(const MtrsHeader *h, char *detail, size_t detail_len)
{
	int			inter = (h->kind & MTRS_KIND_INTERACTIONS) != 0;
	int			text = (h->kind & MTRS_KIND_TEXT) != 0;
	int			intent = (h->kind & MTRS_KIND_INTENT) != 0;

	if (h->kind == 0 || (h->kind & ~MTRS_KIND_ALL) != 0 || (intent && !text))
	{
		set_detail(detail, detail_len, "Model kind %u is not valid.", (unsigned) h->kind);
		return 0;
	}
	if ((h->flags & ~MTRS_FLAGS_ALL) != 0 || (h->flags != 0 && (h->version < 2 || !text)) ||
		((h->flags & MTRS_FLAG_ITEM_WEIGHTS) && (h->version < 3 || !(h->flags & MTRS_FLAG_VOCAB))))
	{
		set_detail(detail, detail_len, "Flags %u are not valid for format version %u and kind %u.",
				   (unsigned) h->flags, (unsigned) h->version, (unsigned) h->kind);
		return 0;
	}
	if (!field_ok("dim", h->dim, 1, MTRS_MAX_DIM, detail, detail_len) ||
		!field_ok("text_width", h->text_width, text ? h->dim : 0, text ? 2 * h->dim : 0,
				  detail, detail_len) ||
		!field_ok("head_dim", h->head_dim, 0, inter ? MTRS_MAX_DIM : 0, detail, detail_len) ||
		!field_ok("n_users", h->n_users, 0, inter ? MTRS_MAX_USERS : 0, detail, detail_len) ||
		!field_ok("n_items", h->n_items, inter, inter ? MTRS_MAX_ITEMS : 0, detail, detail_len) ||
		!field_ok("n_history", h->n_history, 0, inter ? MTRS_MAX_HISTORY : 0, detail, detail_len) ||
		!field_ok("n_tasks", h->n_tasks, inter, inter ? MTRS_MAX_TASKS : 0, detail, detail_len) ||
		!field_ok("n_labels", h->n_labels, intent, intent ? MTRS_MAX_LABELS : 0, detail, detail_len) ||
		!field_ok("n_buckets", h->n_buckets, text, text ? MTRS_MAX_BUCKETS : 0, detail, detail_len) ||
		!field_ok("n_vocab", h->n_vocab, 0, (h->flags & MTRS_FLAG_VOCAB) ? h->n_buckets : 0,
				  detail, detail_len) ||
		!field_ok("strings_len", h->strings_len, 2 * ((int64_t) h->n_tasks + h->n_labels),
				  MTRS_MAX_STRINGS_LEN, detail, detail_len))
		return 0;
	if (text && h->text_width != h->dim && h->text_width != 2 * h->dim)
	{
		set_detail(detail, detail_len, "Field text_width is %d; it must be dim (%d) or twice dim.",
				   h->text_width, h->dim);
		return 0;
	}
	return 1;
}

/*
 * Fill a header for the given shapes and compute its parameter count.
 * Returns 0 on success, -1 when a shape is out of range or the model
 * would not fit a bytea.
 */
int
MtrsHeaderInit(MtrsHeader *hdr, int kind, int dim, int text_width, int head_dim,
			   int n_users, int n_items, int64_t n_history, int n_tasks,
			   int n_labels, int n_buckets, int64_t n_vocab, int item_weights, int strings_len)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = MTRS_MAGIC;
	hdr->version = MTRS_FORMAT_VERSION;
	hdr->kind = (uint16_t) kind;
	hdr->dim = dim;
	hdr->text_width = text_width;
	hdr->head_dim = head_dim;
	hdr->n_users = n_users;
	hdr->n_items = n_items;
	hdr->n_history = n_history;
	hdr->n_tasks = n_tasks;
	hdr->n_labels = n_labels;
	hdr->n_buckets = n_buckets;
	if (n_vocab >= 0 && (kind & MTRS_KIND_TEXT))
	{
		hdr->flags = MTRS_FLAG_VOCAB | (item_weights ? MTRS_FLAG_ITEM_WEIGHTS : 0);
		hdr->n_vocab = n_vocab;
	}
	else if (item_weights)
		return -1;
	hdr->strings_len = strings_len;
	if (kind < 0 || kind > 0xFFFF || !header_shapes_ok(hdr, NULL, 0))
		return -1;
	hdr->n_params = count_params(hdr);
	return MtrsFormatSize(hdr) == 0 ? -1 : 0;
}

/*
 * Return the exact serialized size of a model with this header, or 0 when
 * the header's shapes are out of range or the model would exceed
 * MTRS_MAX_MODEL_SIZE.  The writer and the reader both call this.
 */
size_t
MtrsFormatSize(const MtrsHeader *hdr)
{
	Sections	s;

	if (!header_shapes_ok(hdr, NULL, 0) || hdr->n_params != count_params(hdr))
		return 0;
	compute_sections(hdr, &s);
	if (s.total > MTRS_MAX_MODEL_SIZE)
		return 0;
	return (size_t) s.total;
}

/*
 * Point a view at the sections of buf, whose header is already written and
 * valid.  buf must be 8-byte aligned and at least MtrsFormatSize() long.
 */
void
MtrsFormatLayout(MtrsModelView *view, void *buf)
{
	char	   *b = (char *) buf;
	MtrsHeader *h = (MtrsHeader *) buf;
	Sections	s;
	float	   *p;

	compute_sections(h, &s);
	view->hdr = h;
	view->user_ids = (int64_t *) (b + s.user_ids);
	view->item_ids = (int64_t *) (b + s.item_ids);
	view->hist_ptr = (h->kind & MTRS_KIND_INTERACTIONS) ? (int64_t *) (b + s.hist_ptr) : NULL;
	view->hist_items = (int32_t *) (b + s.hist_items);
	view->str_off = (int32_t *) (b + s.str_off);
	view->str_data = b + s.str_data;
	view->vocab = (h->flags & MTRS_FLAG_VOCAB) ? (uint32_t *) (b + s.vocab) : NULL;
	view->params = (float *) (b + s.params);
	view->checksum = (uint64_t *) (b + s.checksum);

	p = view->params;
#define MTRS_TENSOR_POINT(name, rows, cols) \
	view->t.name = p; p += (rows) * (int64_t) (cols);
	MTRS_TENSORS(MTRS_TENSOR_POINT, h)
#undef MTRS_TENSOR_POINT
}

/* Zero the padding and write the checksum: the last step of a writer */
void
MtrsFormatSeal(MtrsModelView *view)
{
	char	   *base = (char *) view->hdr;
	char	   *hist_end = (char *) (view->hist_items + view->hdr->n_history);
	char	   *str_end = view->str_data + view->hdr->strings_len;
	char	   *vocab = base + ALIGN8((uint64_t) (str_end - base));
	char	   *vocab_end = vocab + 4 * view->hdr->n_vocab;
	char	   *params_end = (char *) (view->params + view->hdr->n_params);

	memset(hist_end, 0, (char *) view->str_off - hist_end);
	memset(str_end, 0, vocab - str_end);
	memset(vocab_end, 0, (char *) view->params - vocab_end);
	memset(params_end, 0, (char *) view->checksum - params_end);
	*view->checksum = MtrsChecksum(base, (char *) view->checksum - base);
}

/* Return setting k (MTRS_SET_*) of a model: 0 when its format predates the setting */
float
MtrsSetting(const MtrsModelView *view, int k)
{
	return k < MtrsSettingsCount(view->hdr) ? view->t.settings[k] : 0.0f;
}

/* Return string i of the string table (task names, then labels) */
const char *
MtrsModelString(const MtrsModelView *view, int i)
{
	return view->str_data + view->str_off[i];
}

/* Check that an id array is strictly ascending */
static int
ids_ok(const int64_t *ids, int n, const char *what, char *detail, size_t detail_len)
{
	for (int i = 1; i < n; i++)
	{
		if (ids[i - 1] >= ids[i])
		{
			set_detail(detail, detail_len,
					   "The %s ids are not strictly ascending at position %d.", what, i);
			return 0;
		}
	}
	return 1;
}

/*
 * Check the string table: packed NUL-terminated names of 1..63 bytes,
 * task names pairwise distinct, labels strictly ascending.
 */
static int
strings_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	const MtrsHeader *h = v->hdr;
	int			n = h->n_tasks + h->n_labels;
	int64_t		expect = 0;

	for (int i = 0; i < n; i++)
	{
		const char *s;
		size_t		len;

		if (v->str_off[i] != expect)
		{
			set_detail(detail, detail_len, "Name %d starts at offset %d, expected %lld.",
					   i, (int) v->str_off[i], (long long) expect);
			return 0;
		}
		s = v->str_data + expect;
		len = strnlen(s, h->strings_len - expect);
		if (len == 0 || len > MTRS_MAX_NAME_LEN || expect + (int64_t) len >= h->strings_len)
		{
			set_detail(detail, detail_len, "Name %d is empty, too long or not terminated.", i);
			return 0;
		}
		expect += len + 1;
	}
	if (expect != h->strings_len)
	{
		set_detail(detail, detail_len, "The name table has %lld unused bytes.",
				   (long long) (h->strings_len - expect));
		return 0;
	}
	for (int i = 0; i < h->n_tasks; i++)
		for (int j = i + 1; j < h->n_tasks; j++)
			if (strcmp(MtrsModelString(v, i), MtrsModelString(v, j)) == 0)
			{
				set_detail(detail, detail_len, "Task name \"%s\" appears twice.",
						   MtrsModelString(v, i));
				return 0;
			}
	for (int i = h->n_tasks + 1; i < n; i++)
		if (strcmp(MtrsModelString(v, i - 1), MtrsModelString(v, i)) >= 0)
		{
			set_detail(detail, detail_len, "The labels are not strictly ascending at position %d.",
					   i - h->n_tasks);
			return 0;
		}
	return 1;
}

/* Check the vocabulary: strictly ascending buckets below n_buckets */
static int
vocab_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	for (int64_t r = 0; v->vocab != NULL && r < v->hdr->n_vocab; r++)
		if (v->vocab[r] >= (uint32_t) v->hdr->n_buckets || (r > 0 && v->vocab[r - 1] >= v->vocab[r]))
		{
			set_detail(detail, detail_len, "The vocabulary is invalid at row %lld.", (long long) r);
			return 0;
		}
	return 1;
}

/* Check the training history: monotone offsets, item indices ascending per user */
static int
history_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	const MtrsHeader *h = v->hdr;

	if (v->hist_ptr == NULL)
		return 1;
	if (v->hist_ptr[0] != 0 || v->hist_ptr[h->n_users] != h->n_history)
	{
		set_detail(detail, detail_len, "%s", "The history offsets do not span the history.");
		return 0;
	}
	for (int u = 0; u < h->n_users; u++)
	{
		int64_t		lo = v->hist_ptr[u],
					hi = v->hist_ptr[u + 1];

		if (lo > hi || hi > h->n_history)
		{
			set_detail(detail, detail_len, "The history offsets of user %d are invalid.", u);
			return 0;
		}
		for (int64_t k = lo; k < hi; k++)
			if (v->hist_items[k] < 0 || v->hist_items[k] >= h->n_items ||
				(k > lo && v->hist_items[k - 1] >= v->hist_items[k]))
			{
				set_detail(detail, detail_len, "The history of user %d is invalid at entry %lld.",
						   u, (long long) k);
				return 0;
			}
	}
	return 1;
}

/* Check that task parents are task indices or -1 and form no cycle */
static int
parents_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	int			n = v->hdr->n_tasks;

	for (int t = 0; t < n; t++)
	{
		int			at = t;

		for (int step = 0; step <= n; step++)
		{
			float		f = v->t.task_parent[at];

			if (f == -1.0f)
				break;
			if (!(f >= 0.0f && f < (float) n) || f != floorf(f) || step == n)
			{
				set_detail(detail, detail_len, "The parent of task %d is invalid or cyclic.", t);
				return 0;
			}
			at = (int) f;
		}
	}
	return 1;
}

/* Return whether setting k is a whole number in [lo, hi] */
static int
setting_in(const MtrsModelView *v, int k, float lo, float hi)
{
	float		f = MtrsSetting(v, k);

	return f >= lo && f <= hi && f == floorf(f);
}

/* Check that the item space weights of the token rows lie in [0, 1] */
static int
item_weights_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	for (int64_t r = 0; r < MtrsItemWeightRows(v->hdr); r++)
		if (!(v->t.word_item_w[r] >= 0.0f && v->t.word_item_w[r] <= 1.0f))
		{
			set_detail(detail, detail_len, "The item space weight of token row %lld is not in [0, 1].",
					   (long long) r);
			return 0;
		}
	return 1;
}

/* Return whether setting k lies in [lo, hi] */
static int
setting_within(const MtrsModelView *v, int k, float lo, float hi)
{
	float		f = MtrsSetting(v, k);

	return f >= lo && f <= hi;
}

/*
 * Check the settings serving reads: the scalars of fold-in (so confidences,
 * the regularized solve and the training time stay in range), the rating
 * range, the intent rule, and the tokenizer of a model with text (whose
 * values size loops)
 */
static int
settings_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	double		last_ts = (double) MtrsSetting(v, MTRS_SET_LAST_TS) +
		(double) MtrsSetting(v, MTRS_SET_LAST_TS_LO);

	if (!setting_within(v, MTRS_SET_ALPHA, 0, MTRS_MAX_ALPHA) ||
		!setting_within(v, MTRS_SET_REG, 0, MTRS_MAX_REG) ||
		!setting_within(v, MTRS_SET_HALF_LIFE, 0, MTRS_MAX_HALF_LIFE) ||
		!(last_ts >= -MTRS_MAX_DAYS && last_ts <= MTRS_MAX_DAYS) ||
		!(MtrsSetting(v, MTRS_SET_RATING_MIN) <= MtrsSetting(v, MTRS_SET_RATING_MAX)))
	{
		set_detail(detail, detail_len, "%s", "An interaction setting is out of range.");
		return 0;
	}
	if ((v->hdr->kind & MTRS_KIND_INTENT) &&
		(!setting_within(v, MTRS_SET_INTENT_THRESHOLD, 0, 1) ||
		 !setting_in(v, MTRS_SET_INTENT_TOP1, 0, 1)))
	{
		set_detail(detail, detail_len, "%s", "The intent threshold or rule is out of range.");
		return 0;
	}
	if (!(v->hdr->kind & MTRS_KIND_TEXT))
		return 1;
	if (!setting_in(v, MTRS_SET_WORD_NGRAMS, 1, MTRS_MAX_WORD_NGRAMS) ||
		!setting_in(v, MTRS_SET_CHAR_MIN, 0, MTRS_MAX_TOKEN_CHARS) ||
		!setting_in(v, MTRS_SET_CHAR_MAX, 0, MTRS_MAX_TOKEN_CHARS) ||
		!setting_in(v, MTRS_SET_PUNCTUATION, 0, 1) ||
		!setting_in(v, MTRS_SET_TEXT_MARKS, 0, 1) ||
		!setting_in(v, MTRS_SET_NGRAMS_BY_SCRIPT, 0, 1) ||
		!setting_in(v, MTRS_SET_CASE_FOLDING, 0, MTRS_CASE_FOLDING) ||
		!setting_in(v, MTRS_SET_INTENT_SOFTMAX, 0, 1) ||
		!setting_in(v, MTRS_SET_INTENT_ONE, 0, 1))
	{
		set_detail(detail, detail_len, "%s", "A text setting is out of range.");
		return 0;
	}
	return 1;
}

/* Check that every parameter is a finite number */
static int
params_ok(const MtrsModelView *v, char *detail, size_t detail_len)
{
	for (int64_t i = 0; i < v->hdr->n_params; i++)
	{
		if (!isfinite(v->params[i]))
		{
			set_detail(detail, detail_len, "Parameter %lld is not a finite number.", (long long) i);
			return 0;
		}
	}
	return 1;
}

/*
 * Validate an untrusted model of len bytes at buf (8-byte aligned) and lay
 * a view over it.  On failure returns the status and writes a detail
 * sentence; the view is then unusable.
 */
MtrsFormatStatus
MtrsFormatCheck(MtrsModelView *view, void *buf, size_t len,
				char *detail, size_t detail_len)
{
	MtrsHeader *h = (MtrsHeader *) buf;
	size_t		size;

	set_detail(detail, detail_len, "%s", "");
	if (len < sizeof(MtrsHeader))
	{
		set_detail(detail, detail_len, "The value has %zu bytes, a model header has %zu.",
				   len, sizeof(MtrsHeader));
		return MTRS_FMT_TOO_SHORT;
	}
	if (h->magic == MTRS_MAGIC_SWAPPED)
		return MTRS_FMT_BYTE_ORDER;
	if (h->magic != MTRS_MAGIC)
	{
		set_detail(detail, detail_len, "The value starts with 0x%08x, not the mtrs magic number.",
				   (unsigned) h->magic);
		return MTRS_FMT_BAD_MAGIC;
	}
	if (h->version > MTRS_FORMAT_VERSION)
	{
		set_detail(detail, detail_len, "The model has format version %u; this mtrs reads up to %u.",
				   (unsigned) h->version, (unsigned) MTRS_FORMAT_VERSION);
		return MTRS_FMT_NEWER_VERSION;
	}
	if (h->version == 0)
	{
		set_detail(detail, detail_len, "%s", "Format version 0 is not valid.");
		return MTRS_FMT_BAD_HEADER;
	}
	for (int i = 0; i < (int) (sizeof(h->reserved) / sizeof(h->reserved[0])); i++)
		if (h->reserved[i] != 0)
		{
			set_detail(detail, detail_len, "Reserved header field %d is not zero.", i);
			return MTRS_FMT_BAD_HEADER;
		}
	if (!header_shapes_ok(h, detail, detail_len))
		return MTRS_FMT_BAD_HEADER;
	if (h->n_params != count_params(h))
	{
		set_detail(detail, detail_len, "The header declares %lld parameters, its shapes need %lld.",
				   (long long) h->n_params, (long long) count_params(h));
		return MTRS_FMT_BAD_HEADER;
	}
	size = MtrsFormatSize(h);
	if (size == 0)
	{
		set_detail(detail, detail_len, "The shapes describe a model larger than %zu bytes.",
				   MTRS_MAX_MODEL_SIZE);
		return MTRS_FMT_BAD_HEADER;
	}
	if (len != size)
	{
		set_detail(detail, detail_len, "Expected %zu bytes, found %zu.", size, len);
		return len < size ? MTRS_FMT_TRUNCATED : MTRS_FMT_TRAILING;
	}
	MtrsFormatLayout(view, buf);
	if (*view->checksum != MtrsChecksum(buf, (char *) view->checksum - (char *) buf))
	{
		set_detail(detail, detail_len, "%s", "The stored checksum does not match the content.");
		return MTRS_FMT_CHECKSUM;
	}
	if (!ids_ok(view->user_ids, h->n_users, "user", detail, detail_len) ||
		!ids_ok(view->item_ids, h->n_items, "item", detail, detail_len) ||
		!history_ok(view, detail, detail_len) ||
		!strings_ok(view, detail, detail_len) ||
		!vocab_ok(view, detail, detail_len) ||
		!params_ok(view, detail, detail_len) ||
		!parents_ok(view, detail, detail_len) ||
		!item_weights_ok(view, detail, detail_len) ||
		!settings_ok(view, detail, detail_len))
		return MTRS_FMT_BAD_CONTENT;
	return MTRS_FMT_OK;
}
