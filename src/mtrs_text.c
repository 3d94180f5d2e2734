/*-------------------------------------------------------------------------
 *
 * mtrs_text.c
 *	  Text features and hashing: a UTF-8 tokenizer that turns any text
 *	  into hashed word, word-run and character n-gram buckets; FNV-1a;
 *	  and a fast 64-bit checksum for model bytes.
 *
 * A vocabulary is the sorted list of the buckets a model saw in training;
 * its rows are the model's token embeddings, and buckets outside it are
 * dropped when text is served (MtrsVocabMap).
 *
 * Tokenizing: UTF-8 is decoded (invalid bytes are skipped), letters of the
 * scripts that have case are folded to lower case (Latin, Greek, Cyrillic,
 * Armenian, full-width Latin; two sets of rules, see fold_case), white
 * space separates words, punctuation marks are words of their own (or
 * separators, if so configured), and
 * every character of a script written without spaces (Han, kana,
 * Hangul syllables, Thai, Lao, Khmer, Myanmar) is a word by itself, so that
 * runs of words are its character bigrams and trigrams: no word segmenter
 * is needed.  Character n-grams spell out the words of spaced scripts; a
 * text written mostly without spaces can be left without them
 * (ngrams_by_script).
 *
 * Plain C: no PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  src/mtrs_text.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "mtrs_text.h"

#define FNV32_OFFSET	2166136261u
#define SEED_WORD		0x9E3779B1u
#define SEED_PAIR		0x85EBCA77u
#define SEED_CHARS		0xC2B2AE3Du
#define MARK_START		0x5BD1E995u	/* word hash of the start of the text */
#define MARK_END		0x27D4EB2Fu	/* word hash of its end */
#define FNV32_PRIME		16777619u
#define VOCAB_PREFETCH_AHEAD	8	/* table entries requested ahead of their lookup */

/* Return the 32-bit FNV-1a hash of len bytes */
uint32_t
MtrsHashFnv1a(const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *) data;
	uint32_t	h = FNV32_OFFSET;

	for (size_t i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= FNV32_PRIME;
	}
	return h;
}

/* Fold the hash of the next token into a running n-gram hash */
uint32_t
MtrsHashCombine(uint32_t h, uint32_t next)
{
	return h * 116049371u + next;
}

/*
 * h mod size (size > 0), without a division when size is a power of two
 * (as by default).  Static, so that the tokenizer inlines it.
 */
static inline uint32_t
bucket_of(uint32_t h, uint32_t size)
{
	return (size & (size - 1)) == 0 ? h & (size - 1) : h % size;
}

/* Map a hash to one of n_buckets buckets (n_buckets > 0) */
uint32_t
MtrsHashBucket(uint32_t h, uint32_t n_buckets)
{
	return bucket_of(h, n_buckets);
}

/* Mix one 64-bit word into a lane */
static inline uint64_t
mix_word(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

/*
 * Return a 64-bit checksum of len bytes: four independent lanes over
 * 8-byte words (so the loop runs at memory speed), then the tail bytes,
 * then a final avalanche.  Detects corruption; not cryptographic.
 */
uint64_t
MtrsChecksum(const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *) data;
	uint64_t	lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull,
	0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
	uint64_t	h;
	size_t		i = 0;

	for (; i + 32 <= len; i += 32)
	{
		for (int j = 0; j < 4; j++)
		{
			uint64_t	w;

			memcpy(&w, p + i + 8 * j, 8);
			lane[j] = mix_word(lane[j], w);
		}
	}
	h = (uint64_t) len;
	for (int j = 0; j < 4; j++)
		h = mix_word(h, lane[j]);
	for (; i < len; i++)
		h = mix_word(h, p[i]);
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	return h;
}

/*
 * Decode one UTF-8 character at s[*i] (i < len), advancing *i.  Returns the
 * code point, or -1 for an invalid or truncated sequence (one byte skipped).
 */
static int32_t
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	int			n;
	int32_t		cp;

	if (c < 0x80)
	{
		(*i)++;
		return c;
	}
	if ((c & 0xE0) == 0xC0)
		n = 1, cp = c & 0x1F;
	else if ((c & 0xF0) == 0xE0)
		n = 2, cp = c & 0x0F;
	else if ((c & 0xF8) == 0xF0)
		n = 3, cp = c & 0x07;
	else
	{
		(*i)++;
		return -1;
	}
	if (*i + n >= len)
	{
		(*i)++;
		return -1;
	}
	for (int k = 1; k <= n; k++)
	{
		if ((s[*i + k] & 0xC0) != 0x80)
		{
			(*i)++;
			return -1;
		}
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	}
	*i += n + 1;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	return cp;
}

/* Return the lower case of c in a block of upper/lower pairs: upper even if even_upper */
static inline int32_t
pair_lower(int32_t c, int even_upper)
{
	return (c % 2 == 0) == even_upper ? c + 1 : c;
}

/*
 * The lower case of c under case folding rules 1 where it differs from
 * rules 0 (the rest of fold_case), else -1: Turkish İ, the end of Latin
 * Extended-A (rules 0 fold ź to Ż, ż to Ž and Ÿ to Ź), Latin Extended-B
 * (Azerbaijani Ə, Vietnamese Ơ and Ư, Pinyin tones, Romanian), Latin
 * Extended Additional (Vietnamese, capital ß), Greek capitals with tonos
 * and final sigma, and Cyrillic beyond Russian (Ukrainian Ґ, Kazakh, Tatar,
 * Bashkir, ...).  Checked code point by code point against Unicode 14's
 * simple lower case mapping (final sigma: its case folding), no two letters
 * folded together.
 */
static int32_t
fold_case_1(int32_t c)
{
	if (c < 0x130 || c > 0x1EFF || (c > 0x52F && c < 0x1E00))
		return -1;				/* outside these blocks (Han, kana, Hangul: at once) */
	if (c == 0x130)
		return 'i';				/* İ (Turkish, Azerbaijani) */
	if (c < 0x178)
		return -1;
	if (c == 0x178)
		return 0xFF;			/* Ÿ */
	if (c <= 0x17E)
		return pair_lower(c, 0);	/* Ź ź Ż ż Ž ž */
	if (c == 0x18F)
		return 0x259;			/* Ə (Azerbaijani) */
	if (c >= 0x1A0 && c <= 0x1A5)
		return pair_lower(c, 1);	/* Ơ ơ (Vietnamese) ... */
	if (c == 0x1AF)
		return 0x1B0;			/* Ư (Vietnamese) */
	if (c >= 0x1CD && c <= 0x1DC)
		return pair_lower(c, 0);	/* Ǎ ǎ ... Ǜ ǜ */
	if ((c >= 0x1DE && c <= 0x1EF) || (c >= 0x1F8 && c <= 0x21F) || (c >= 0x222 && c <= 0x233))
		return pair_lower(c, 1);	/* ... Ș ș Ț ț ... */
	if (c == 0x386)
		return 0x3AC;			/* Ά */
	if (c >= 0x388 && c <= 0x38A)
		return c + 37;			/* Έ Ή Ί */
	if (c == 0x38C)
		return 0x3CC;			/* Ό */
	if (c == 0x38E || c == 0x38F)
		return c + 63;			/* Ύ Ώ */
	if (c == 0x3C2)
		return 0x3C3;			/* final sigma */
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
		return pair_lower(c, 1);	/* Ѡ ... Ґ ґ ... Ә ә ... */
	if (c == 0x4C0)
		return 0x4CF;			/* Ӏ */
	if (c >= 0x4C1 && c <= 0x4CE)
		return pair_lower(c, 0);
	if ((c >= 0x1E00 && c <= 0x1E95) || (c >= 0x1EA0 && c <= 0x1EFF))
		return pair_lower(c, 1);	/* Ḁ ... Ạ ạ ... Ỹ ỹ */
	if (c == 0x1E9E)
		return 0xDF;			/* capital sharp s */
	return -1;
}

/*
 * Fold a code point to lower case for the scripts that have case, under
 * the model's rules (MtrsTokenizer.case_folding): 0 as in mtrs 0.1.0, 1
 * with fold_case_1's corrections and additions
 */
static int32_t
fold_case(int32_t c, int rules)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0xC0)
		return c;
	if (rules >= 1)
	{
		int32_t		f = fold_case_1(c);

		if (f >= 0)
			return f;
	}
	if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) ||	/* Latin-1 */
		(c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||	/* Greek */
		(c >= 0x410 && c <= 0x42F))	/* Cyrillic */
		return c + 32;
	if (c >= 0x400 && c <= 0x40F)	/* Cyrillic with marks */
		return c + 80;
	if (c >= 0x531 && c <= 0x556)	/* Armenian */
		return c + 48;
	if (c >= 0xFF21 && c <= 0xFF3A)	/* full-width Latin */
		return c + 32;
	if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
		c != 0x17F)				/* Latin Extended-A: mostly upper/lower pairs */
	{
		int			even_upper = (c < 0x138) || (c >= 0x14A);

		if (even_upper ? (c % 2 == 0) : (c % 2 == 1))
			return c + 1;
	}
	return c;
}

/* Character classes for word splitting */
#define CH_SEPARATOR	0
#define CH_WORD			1
#define CH_SELF			2		/* a word by itself (scripts without spaces) */
#define CH_PUNCT		3		/* punctuation: a word by itself when kept */

/* Return whether c is white space (a pure separator) */
static int
is_space(int32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
		c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 ||
		c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

static int
char_class(int32_t c)
{
	if (c < 0 || is_space(c) || c < 0x20 || c == 0x7F || c == 0xFFFD)
		return CH_SEPARATOR;
	if (c < 0x80)
		return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				c == '_') ? CH_WORD : CH_PUNCT;
	if ((c >= 0x80 && c <= 0xBF) || c == 0xD7 || c == 0xF7 ||	/* Latin-1 punctuation */
		(c >= 0x2000 && c <= 0x206F) ||	/* general punctuation */
		(c >= 0x3000 && c <= 0x303F) ||	/* CJK punctuation */
		(c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
		(c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65))
		return CH_PUNCT;
	if ((c >= 0x0E00 && c <= 0x0EFF) ||	/* Thai, Lao */
		(c >= 0x1000 && c <= 0x109F) ||	/* Myanmar */
		(c >= 0x1780 && c <= 0x17FF) ||	/* Khmer */
		(c >= 0x3040 && c <= 0x30FF) ||	/* kana */
		(c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||	/* Han */
		(c >= 0xAC00 && c <= 0xD7AF) ||	/* Hangul syllables */
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF))
		return CH_SELF;
	return CH_WORD;
}

/*
 * Fold one code point (its four bytes, lowest first) into an FNV-1a hash.
 * A zero byte leaves the xor step as it is, so the multiplications of a
 * code point's zero high bytes are one multiplication by a power of the
 * prime (modulo 2^32, the same bits): one for ASCII and Latin-1, two for
 * the rest of the Basic Multilingual Plane.
 */
static inline uint32_t
hash_char(uint32_t h, int32_t cp)
{
	uint32_t	c = (uint32_t) cp;

	if (c < 0x100)
		return (h ^ c) * (FNV32_PRIME * FNV32_PRIME * FNV32_PRIME * FNV32_PRIME);
	h = (h ^ (c & 0xFF)) * FNV32_PRIME;
	if (c < 0x10000)
		return (h ^ (c >> 8)) * (FNV32_PRIME * FNV32_PRIME * FNV32_PRIME);
	h = (h ^ ((c >> 8) & 0xFF)) * FNV32_PRIME;
	h = (h ^ ((c >> 16) & 0xFF)) * FNV32_PRIME;
	return (h ^ (c >> 24)) * FNV32_PRIME;
}

/* Hash a sequence of code points with a seed */
static uint32_t
hash_chars(uint32_t seed, const int32_t *cp, int n)
{
	uint32_t	h = FNV32_OFFSET ^ seed;

	for (int i = 0; i < n; i++)
		h = hash_char(h, cp[i]);
	return h;
}

/*
 * Return the first bucket of the character n-grams: with character n-grams
 * the upper half of the buckets holds them and the lower half the words
 * and word runs, so the encoder can tell the kinds apart; else n_buckets.
 */
uint32_t
MtrsCharBucketsFrom(const MtrsTokenizer *tok)
{
	return (tok->char_max > 0 && tok->n_buckets >= 2) ? tok->n_buckets - tok->n_buckets / 2 :
		tok->n_buckets;
}

/*
 * Return the first row of the sorted vocabulary vocab[0..n) whose bucket
 * is not below bucket (n when every bucket is below it).
 */
int64_t
MtrsVocabLowerBound(const uint32_t *vocab, int64_t n, uint32_t bucket)
{
	int64_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (vocab[mid] < bucket)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Return the first embedding row of a character n-gram for text tokenized
 * by tok: with the sorted vocabulary vocab[0..n_vocab) the first row whose
 * bucket is one (rows keep the buckets' order), without one (vocab NULL: a
 * row per bucket) MtrsCharBucketsFrom; 0 when tok makes no n-grams.
 */
uint32_t
MtrsCharRowsFrom(const MtrsTokenizer *tok, const uint32_t *vocab, int64_t n_vocab)
{
	if (tok->char_max == 0)
		return 0;
	if (vocab == NULL)
		return MtrsCharBucketsFrom(tok);
	return (uint32_t) MtrsVocabLowerBound(vocab, n_vocab, MtrsCharBucketsFrom(tok));
}

/*
 * Return the capacity of the lookup table of a vocabulary of n_vocab
 * buckets: a power of two at least twice n_vocab (so most lookups probe
 * one entry), at least 16.
 */
int64_t
MtrsVocabTableSize(int64_t n_vocab)
{
	int64_t		cap = 16;

	while (cap < 2 * n_vocab)
		cap *= 2;
	return cap;
}

/* Return the first entry to probe for bucket b in a table of capacity cap */
static inline int64_t
table_home(uint32_t b, int64_t cap)
{
	return (int64_t) (((uint64_t) b * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/*
 * Fill table [cap] (cap from MtrsVocabTableSize) for the vocabulary
 * vocab[0..n_vocab): open addressing with linear probing, each entry
 * (bucket + 1) << 32 | row, 0 when empty, so one lookup usually reads one
 * 8-byte entry.
 */
void
MtrsVocabTableBuild(const uint32_t *vocab, int64_t n_vocab, uint64_t *table, int64_t cap)
{
	memset(table, 0, sizeof(uint64_t) * cap);
	for (int64_t r = 0; r < n_vocab; r++)
	{
		int64_t		k = table_home(vocab[r], cap);

		while (table[k] != 0)
			k = (k + 1) & (cap - 1);
		table[k] = ((uint64_t) vocab[r] + 1) << 32 | (uint64_t) r;
	}
}

/*
 * Replace the buckets tok[0..n) by their vocabulary rows, looked up in
 * table [cap] (MtrsVocabTableBuild), in place and in order, dropping the
 * buckets the vocabulary does not have (features never seen in training).
 * Returns how many remain.
 */
int
MtrsVocabMap(const uint64_t *table, int64_t cap, uint32_t *tok, int n)
{
	int			kept = 0;

	for (int j = 0; j < n; j++)
	{
		uint64_t	key = (uint64_t) tok[j] + 1;

		if (j + VOCAB_PREFETCH_AHEAD < n)
			__builtin_prefetch(table + table_home(tok[j + VOCAB_PREFETCH_AHEAD], cap));
		for (int64_t k = table_home(tok[j], cap);; k = (k + 1) & (cap - 1))
		{
			if (table[k] == 0)
				break;
			if ((table[k] >> 32) == key)
			{
				tok[kept++] = (uint32_t) table[k];
				break;
			}
		}
	}
	return kept;
}

/* Where the features come from, when the caller asks (MtrsTokenizeSpans) */
typedef struct Spans
{
	MtrsFeatureSpan *out;		/* one per feature written, or NULL */
	int32_t		hist_start[MTRS_MAX_WORD_NGRAMS - 1];	/* bytes of the previous words, */
	int32_t		hist_end[MTRS_MAX_WORD_NGRAMS - 1];	/* newest first; -1 = the text's start */
} Spans;

/*
 * Append bucket from + h mod size if there is room, and its span if spans
 * are kept; returns the new count
 */
static inline __attribute__((always_inline)) int
emit(uint32_t *out, int n, int max_out, uint32_t h, uint32_t from, uint32_t size,
	 MtrsFeatureSpan *span, int32_t start, int32_t end, int kind, int marks)
{
	if (n < max_out)
	{
		if (span != NULL)
		{
			span[n].start = start;
			span[n].end = end;
			span[n].kind = (uint8_t) kind;
			span[n].marks = (uint8_t) marks;
		}
		out[n++] = from + bucket_of(h, size);
	}
	return n;
}

/*
 * Append the runs of 2 .. ngrams words that end with the word hashed h
 * (bytes [start, end) of the text; start -1 for the end of the text),
 * given the hashes of the words before it (hist, newest first, n_hist of
 * them; their bytes in sp); returns the new count.
 */
static inline __attribute__((always_inline)) int
emit_runs(uint32_t *out, int n, int max_out, const uint32_t *hist, int n_hist, int ngrams,
		  uint32_t h, uint32_t char_from, Spans *sp, int32_t start, int32_t end)
{
	for (int k = 2; k <= ngrams && k - 1 <= n_hist; k++)
	{
		/* the k words ending here: the oldest, seeded by k, then the newer ones */
		uint32_t	g = hist[k - 2] ^ (SEED_PAIR + (uint32_t) (k - 2) * SEED_WORD);
		int32_t		s = -1,
					e = -1;
		int			marks = 0;

		for (int b = k - 3; b >= 0; b--)
			g = MtrsHashCombine(g, hist[b]);
		if (sp->out != NULL)
		{
			/* the run's bytes: from its oldest word to its newest, marks aside */
			for (int b = k - 2; b >= 0; b--)
			{
				if (sp->hist_start[b] < 0)
					marks |= MTRS_SPAN_BEGIN;
				else
				{
					s = s < 0 ? sp->hist_start[b] : s;
					e = sp->hist_end[b];
				}
			}
			if (start < 0)
				marks |= MTRS_SPAN_END;
			else
			{
				s = s < 0 ? start : s;
				e = end;
			}
		}
		n = emit(out, n, max_out, MtrsHashCombine(g, h), 0, char_from, sp->out,
				 s < 0 ? 0 : s, e < 0 ? 0 : e, MTRS_FEATURE_RUN, marks);
	}
	return n;
}

/*
 * Return whether text is written mostly without spaces: it has more
 * characters of the scripts that are (each character a word of its own)
 * than words of the scripts that are not.  ASCII text never is, and is
 * told by a byte scan alone (no decoding on the common path).
 */
static int
mostly_unspaced(const unsigned char *s, size_t len)
{
	int			spaced = 0,
				unspaced = 0,
				in_word = 0;
	size_t		ascii = 0;

	while (ascii < len && s[ascii] < 0x80)
		ascii++;
	if (ascii == len)
		return 0;
	for (size_t i = 0; i < len;)
	{
		int32_t		c = utf8_next(s, len, &i);
		int			cls;

		if (c < 0)
			continue;
		cls = char_class(c);	/* folding maps letters to letters: the same class */
		spaced += (cls == CH_WORD && !in_word);
		unspaced += (cls == CH_SELF);
		in_word = (cls == CH_WORD);
	}
	return unspaced > spaced;
}

static inline __attribute__((always_inline)) int
tokenize(const MtrsTokenizer *tok, const char *text, size_t len, uint32_t *out,
		 MtrsFeatureSpan *spans, int max_out);

/*
 * Turn len bytes of UTF-8 text into at most max_out hashed feature buckets:
 * each word, each run of 2 .. word_ngrams adjacent words (with text_marks,
 * the start and the end of the text count as words in these runs) and each
 * character n-gram of a word marked with boundaries ("<ab>" for "ab", n in
 * [char_min, char_max]; see MtrsCharBucketsFrom).  With ngrams_by_script,
 * a text written mostly without spaces gets no n-grams: its characters are
 * its words already, and the n-grams of the few Latin words in it (a name,
 * a title) would make up the whole n-gram half of its encoding.  Returns the number of
 * buckets written; text with no word (only white space and punctuation)
 * gives 0.  Never reads beyond len or writes beyond max_out.
 */
int
MtrsTokenize(const MtrsTokenizer *tok, const char *text, size_t len, uint32_t *out, int max_out)
{
	return tokenize(tok, text, len, out, NULL, max_out);
}

/*
 * MtrsTokenize, and where each feature comes from (spans [max_out], one
 * per bucket written): the bytes of the text it covers and its kind
 * (MTRS_FEATURE_*; MTRS_SPAN_* for the marks).  A word cut at
 * MTRS_MAX_TOKEN_CHARS covers its first characters only.
 */
int
MtrsTokenizeSpans(const MtrsTokenizer *tok, const char *text, size_t len, uint32_t *out,
				  MtrsFeatureSpan *spans, int max_out)
{
	return tokenize(tok, text, len, out, spans, max_out);
}

/*
 * The tokenizer; inlined into both entry points, so that with spans NULL
 * the compiler drops every line that keeps them (serving tokenizes every
 * utterance it scores)
 */
static inline __attribute__((always_inline)) int
tokenize(const MtrsTokenizer *tok, const char *text, size_t len, uint32_t *out,
		 MtrsFeatureSpan *spans, int max_out)
{
	const unsigned char *s = (const unsigned char *) text;
	int32_t		word[MTRS_MAX_TOKEN_CHARS + 2];
	int32_t		cstart[MTRS_MAX_TOKEN_CHARS + 1];	/* bytes of the word's characters */
	int32_t		cend[MTRS_MAX_TOKEN_CHARS + 1];
	int			wlen = 0;
	int			n = 0;
	uint32_t	hist[MTRS_MAX_WORD_NGRAMS - 1];	/* hashes of the previous words, newest first */
	Spans		sp;
	int			n_hist = 0;
	int			ngrams = tok->word_ngrams < 1 ? 1 :
		tok->word_ngrams > MTRS_MAX_WORD_NGRAMS ? MTRS_MAX_WORD_NGRAMS : tok->word_ngrams;
	int			char_max = tok->char_max > MTRS_MAX_TOKEN_CHARS + 1 ?
		MTRS_MAX_TOKEN_CHARS + 1 : tok->char_max;
	int			words = 0;		/* words that are not punctuation marks */
	uint32_t	char_from = MtrsCharBucketsFrom(tok);
	uint32_t	char_size = tok->n_buckets - char_from;
	size_t		i = 0;

	sp.out = spans;
	if (char_max > 0 && tok->ngrams_by_script && mostly_unspaced(s, len))
		char_max = 0;
	if (char_size == 0)
		char_max = 0;			/* fewer than 2 buckets: none for n-grams (MtrsCharBucketsFrom) */
	if (tok->text_marks && ngrams > 1)
	{
		sp.hist_start[n_hist] = sp.hist_end[n_hist] = -1;
		hist[n_hist++] = MARK_START;	/* runs may begin at the start of the text */
	}
	while (n < max_out)
	{
		int32_t		c = -1;
		int			cls = CH_SEPARATOR;
		int			at_end = (i >= len);
		int32_t		at = (int32_t) i;

		if (!at_end)
		{
			c = utf8_next(s, len, &i);
			if (c >= 0)
				c = fold_case(c, tok->case_folding);
			cls = char_class(c);
			if (c < 0)
				continue;		/* invalid bytes are skipped, not separators */
		}
		if (cls == CH_WORD)
		{
			if (wlen < MTRS_MAX_TOKEN_CHARS)
			{
				if (spans != NULL)
				{
					cstart[wlen] = at;
					cend[wlen] = (int32_t) i;
				}
				word[1 + wlen++] = c;
			}
			continue;
		}
		/* the word so far ends here; a CH_SELF character is a word of its own */
		for (int pass = 0; pass < 2; pass++)
		{
			uint32_t	h;
			int32_t		ws,
						we;

			if (pass == 1)
			{
				if (cls != CH_SELF && !(cls == CH_PUNCT && tok->punctuation))
					break;
				word[1] = c;
				cstart[0] = at;
				cend[0] = (int32_t) i;
				wlen = 1;
			}
			if (wlen == 0)
				continue;
			words += (pass == 0 || cls == CH_SELF);
			ws = spans != NULL ? cstart[0] : 0;
			we = spans != NULL ? cend[wlen - 1] : 0;
			h = hash_chars(SEED_WORD, word + 1, wlen);
			n = emit(out, n, max_out, h, 0, char_from, spans, ws, we, MTRS_FEATURE_WORD, 0);
			n = emit_runs(out, n, max_out, hist, n_hist, ngrams, h, char_from, &sp, ws, we);
			if (ngrams > 1)
			{
				n_hist = n_hist < ngrams - 1 ? n_hist + 1 : n_hist;
				for (int b = n_hist - 1; b > 0; b--)
				{
					hist[b] = hist[b - 1];
					if (spans != NULL)
					{
						sp.hist_start[b] = sp.hist_start[b - 1];
						sp.hist_end[b] = sp.hist_end[b - 1];
					}
				}
				hist[0] = h;
				sp.hist_start[0] = ws;
				sp.hist_end[0] = we;
			}
			if (char_max > 0 && wlen >= 2 && pass == 0)
			{
				/*
				 * The n-grams of the marked word, shortest first and each
				 * length from the left; the whole marked word is the word
				 * itself, so the longest has wlen + 1 characters.  The
				 * n-grams that start at st are prefixes of each other, so
				 * their hashes are taken in one pass over the characters
				 * and written where their length puts them.
				 */
				int			marked = wlen + 2;
				int			top = char_max < marked - 1 ? char_max : marked - 1;
				int			first = n;
				int64_t		total = 0;

				word[0] = '<';
				word[wlen + 1] = '>';
				for (int len_ng = tok->char_min; len_ng <= top; len_ng++)
					total += marked - len_ng + 1;
				for (int st = 0; st <= marked && total > 0; st++)
				{
					uint32_t	h = FNV32_OFFSET ^ SEED_CHARS;
					int64_t		at = first + st;	/* where length len_ng starting at st goes */

					for (int len_ng = 0; len_ng <= top && st + len_ng <= marked; len_ng++)
					{
						/* its characters: word[st .. last], the marks at 0 and wlen + 1 */
						int			last = st + len_ng - 1;
						int			lo = st < 1 ? 1 : st;
						int			hi = last > wlen ? wlen : last;

						if (len_ng > 0)
							h = hash_char(h, word[last]);
						if (len_ng < tok->char_min)
							continue;
						if (at < max_out)
							emit(out, (int) at, max_out, h, char_from, char_size, spans,
								 lo <= hi ? cstart[lo - 1] : (st == 0 ? ws : we),
								 lo <= hi ? cend[hi - 1] : (st == 0 ? ws : we),
								 MTRS_FEATURE_CHARS,
								 (st == 0 ? MTRS_SPAN_BEGIN : 0) |
								 (last == wlen + 1 ? MTRS_SPAN_END : 0));
						at += marked - len_ng + 1;
					}
				}
				n = first + total < max_out ? (int) (first + total) : max_out;
			}
			wlen = 0;
		}
		if (at_end)
		{
			/* ... and end at its end */
			if (tok->text_marks && words > 0)
				n = emit_runs(out, n, max_out, hist, n_hist, ngrams, MARK_END, char_from, &sp,
							  -1, -1);
			break;
		}
	}
	return words > 0 ? n : 0;
}
