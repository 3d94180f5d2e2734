/*-------------------------------------------------------------------------
 *
 * mtrs_text.c
 *	  Hashing: FNV-1a for tokens, a word-combining step for n-grams, and
 *	  a fast 64-bit checksum for model bytes.
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
#define FNV32_PRIME		16777619u

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

/* Map a hash to one of n_buckets buckets (n_buckets > 0) */
uint32_t
MtrsHashBucket(uint32_t h, uint32_t n_buckets)
{
	return h % n_buckets;
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
