/*-------------------------------------------------------------------------
 *
 * model_mutate.c
 *	  Crafted variants of a valid model, each with a correct checksum: the
 *	  input of the "crafted models" check of scripts/test.sh, which feeds
 *	  them to mtrs_register and the serving functions.
 *
 * A random bit flip is caught by the checksum (test_kernels.c tests that);
 * someone who writes a model by hand recomputes it.  So every variant here
 * changes one field of a valid model to a value chosen to be awkward (0, -1,
 * the count, one past it, the type's extremes, NaN, huge floats, a byte in
 * a name, an out-of-range setting) and then reseals the model.  The server
 * must refuse each variant with an SQLSTATE or serve it, and never crash.
 *
 * Usage: model_mutate SEED N < model.hex > variants.tsv
 * Reads a model as hex digits (optionally prefixed with \x) and writes N
 * lines "what<TAB>hex".  No PostgreSQL headers: the kernel layer only.
 *
 * IDENTIFICATION
 *	  test/unit/model_mutate.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrs_format.h"
#include "mtrs_text.h"

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int64_t
pick(int64_t n)
{
	return n > 0 ? (int64_t) (rnd() % (uint64_t) n) : 0;
}

/* An awkward integer near a count n or an original value v */
static int64_t
awkward_int(int64_t n, int64_t v)
{
	const int64_t fixed[] = {0, 1, -1, 2, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
	(int64_t) 1 << 31, (int64_t) 1 << 32};

	switch (pick(6))
	{
		case 0:
			return fixed[pick(sizeof(fixed) / sizeof(fixed[0]))];
		case 1:
			return n + pick(3) - 1;
		case 2:
			return v + (pick(2) ? 1 : -1);
		case 3:
			return -v;
		case 4:
			return (int64_t) rnd();
		default:
			return pick(n + 2);
	}
}

/* An awkward float: finite ones mostly (non-finite ones are refused outright) */
static float
awkward_float(float v)
{
	const float fixed[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 3.0f, 63.0f, 64.0f, 1e9f,
		-1e9f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f, 1.5f, 100.0f, 1e6f};

	switch (pick(5))
	{
		case 0:
			return NAN;
		case 1:
			return pick(2) ? INFINITY : -INFINITY;
		case 2:
			return v * 1e20f;
		default:
			return fixed[pick(sizeof(fixed) / sizeof(fixed[0]))];
	}
}

static void
set_int(void *p, int size, int64_t value)
{
	if (size == 8)
		memcpy(p, &value, 8);
	else if (size == 4)
	{
		int32_t		x = (int32_t) value;

		memcpy(p, &x, 4);
	}
	else
	{
		int16_t		x = (int16_t) value;

		memcpy(p, &x, 2);
	}
}

static int64_t
get_int(const void *p, int size)
{
	if (size == 8)
	{
		int64_t		x;

		memcpy(&x, p, 8);
		return x;
	}
	if (size == 4)
	{
		int32_t		x;

		memcpy(&x, p, 4);
		return x;
	}
	{
		int16_t		x;

		memcpy(&x, p, 2);
		return x;
	}
}

/* The header's fields: offset, size and the count each is compared with */
typedef struct Field
{
	const char *name;
	size_t		off;
	int			size;
} Field;

#define FIELD(f) {#f, offsetof(MtrsHeader, f), (int) sizeof(((MtrsHeader *) 0)->f)}
static const Field fields[] = {
	FIELD(version), FIELD(kind), FIELD(flags), FIELD(dim), FIELD(text_width), FIELD(n_users),
	FIELD(n_items), FIELD(n_tasks), FIELD(n_labels), FIELD(n_buckets), FIELD(strings_len),
	FIELD(head_dim), FIELD(n_params), FIELD(n_history), FIELD(n_vocab),
};

/* Change one thing of model m (len bytes, view v laid over it); return what */
static const char *
mutate(char *m, MtrsModelView *v, char *what, size_t what_len)
{
	MtrsHeader *h = v->hdr;
	int			choice = (int) pick(9);

	switch (choice)
	{
		case 0:					/* a header field */
			{
				const Field *f = &fields[pick(sizeof(fields) / sizeof(fields[0]))];
				char	   *p = m + f->off;

				set_int(p, f->size, awkward_int(get_int(p, f->size), get_int(p, f->size)));
				snprintf(what, what_len, "header %s", f->name);
				break;
			}
		case 1:					/* a user or item id (duplicates, order) */
			{
				int			users = pick(2) && h->n_users > 0;
				int64_t    *ids = users ? v->user_ids : v->item_ids;
				int64_t		n = users ? h->n_users : h->n_items;

				if (n == 0)
					return NULL;
				{
					int64_t		i = pick(n);

					ids[i] = pick(2) ? ids[pick(n)] : awkward_int(n, ids[i]);
					snprintf(what, what_len, "%s id %lld", users ? "user" : "item", (long long) i);
				}
				break;
			}
		case 2:					/* the history offsets and items */
			{
				if (v->hist_ptr == NULL)
					return NULL;
				if (pick(2) || h->n_history == 0)
				{
					int64_t		u = pick(h->n_users + 1);

					v->hist_ptr[u] = awkward_int(h->n_history, v->hist_ptr[u]);
					snprintf(what, what_len, "history offset %lld", (long long) u);
				}
				else
				{
					int64_t		k = pick(h->n_history);

					v->hist_items[k] = (int32_t) awkward_int(h->n_items, v->hist_items[k]);
					snprintf(what, what_len, "history item %lld", (long long) k);
				}
				break;
			}
		case 3:					/* the name table */
			{
				int			n = h->n_tasks + h->n_labels;

				if (n == 0)
					return NULL;
				if (pick(2))
				{
					int			i = (int) pick(n);

					v->str_off[i] = (int32_t) awkward_int(h->strings_len, v->str_off[i]);
					snprintf(what, what_len, "name offset %d", i);
				}
				else
				{
					const unsigned char bytes[] = {0, ' ', 0xFF, 0xC3, 0x80, 'a', '\n', '%'};
					int64_t		i = pick(h->strings_len);

					v->str_data[i] = (char) bytes[pick(sizeof(bytes))];
					snprintf(what, what_len, "name byte %lld", (long long) i);
				}
				break;
			}
		case 4:					/* the vocabulary */
			{
				if (v->vocab == NULL || h->n_vocab == 0)
					return NULL;
				{
					int64_t		r = pick(h->n_vocab);

					v->vocab[r] = (uint32_t) awkward_int(h->n_buckets, v->vocab[r]);
					snprintf(what, what_len, "vocabulary row %lld", (long long) r);
				}
				break;
			}
		case 5:					/* a setting */
			{
				int			k = (int) pick(MtrsSettingsCount(h));

				v->t.settings[k] = awkward_float(v->t.settings[k]);
				snprintf(what, what_len, "setting %d = %g", k, (double) v->t.settings[k]);
				break;
			}
		case 6:					/* a task's parent */
			{
				const float parents[] = {-1.0f, -2.0f, 0.0f, 0.5f, 1e9f};
				int			t;

				if (h->n_tasks == 0)
					return NULL;
				t = (int) pick(h->n_tasks);
				v->t.task_parent[t] = pick(2) ? parents[pick(5)] : (float) pick(h->n_tasks + 1);
				snprintf(what, what_len, "task %d parent = %g", t, (double) v->t.task_parent[t]);
				break;
			}
		case 7:					/* item space weight of a token row */
			{
				int64_t		rows = MtrsItemWeightRows(h);

				if (rows == 0)
					return NULL;
				{
					int64_t		r = pick(rows);

					v->t.word_item_w[r] = pick(2) ? -0.5f : 1.5f;
					snprintf(what, what_len, "item weight of token row %lld", (long long) r);
				}
				break;
			}
		default:				/* any parameter */
			{
				int64_t		i = pick(h->n_params);

				v->params[i] = awkward_float(v->params[i]);
				snprintf(what, what_len, "parameter %lld = %g", (long long) i,
						 (double) v->params[i]);
				break;
			}
	}
	return what;
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

int
main(int argc, char **argv)
{
	size_t		cap = 1 << 20,
				n_hex = 0,
				len;
	char	   *hex = malloc(cap);
	char	   *model;
	char	   *copy;
	char		detail[256];
	char		what[128];
	MtrsModelView v;
	int			c;
	long		count;

	if (argc != 3)
	{
		fprintf(stderr, "usage: model_mutate SEED N < model.hex > variants.tsv\n");
		return 2;
	}
	rng_state = strtoull(argv[1], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
	count = strtol(argv[2], NULL, 10);
	while ((c = getchar()) != EOF)
	{
		if (!isxdigit(c))
			continue;			/* white space and the \x prefix's backslash */
		if (n_hex + 1 >= cap)
			hex = realloc(hex, cap *= 2);
		hex[n_hex++] = (char) c;
	}
	/* the "x" of a \x prefix is not a hex digit, so only digits remain */
	len = n_hex / 2;
	model = aligned_alloc(8, (len + 7) / 8 * 8 + 8);
	copy = aligned_alloc(8, (len + 7) / 8 * 8 + 8);
	for (size_t i = 0; i < len; i++)
		model[i] = (char) (hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
	if (MtrsFormatCheck(&v, model, len, detail, sizeof(detail)) != MTRS_FMT_OK)
	{
		fprintf(stderr, "model_mutate: the input is not a valid model: %s\n", detail);
		return 1;
	}
	for (long done = 0; done < count;)
	{
		uint64_t	sum;

		memcpy(copy, model, len);
		MtrsFormatLayout(&v, copy);
		if (mutate(copy, &v, what, sizeof(what)) == NULL)
			continue;
		/* reseal: the checksum is the last 8 bytes, over every byte before */
		sum = MtrsChecksum(copy, len - 8);
		memcpy(copy + len - 8, &sum, 8);
		printf("%s\t", what);
		for (size_t i = 0; i < len; i++)
			printf("%02x", (unsigned char) copy[i]);
		putchar('\n');
		done++;
	}
	free(hex);
	free(model);
	free(copy);
	return 0;
}
