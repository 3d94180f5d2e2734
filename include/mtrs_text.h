/*-------------------------------------------------------------------------
 *
 * mtrs_text.h
 *	  Hashing for mtrs: FNV-1a for text tokens and n-grams, and the
 *	  checksum of the model format.
 *
 * Plain C: no PostgreSQL headers.
 *
 * IDENTIFICATION
 *	  include/mtrs_text.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MTRS_TEXT_H
#define MTRS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* mtrs_text.c */
extern uint32_t MtrsHashFnv1a(const void *data, size_t len);
extern uint32_t MtrsHashCombine(uint32_t h, uint32_t next);
extern uint32_t MtrsHashBucket(uint32_t h, uint32_t n_buckets);
extern uint64_t MtrsChecksum(const void *data, size_t len);

#endif							/* MTRS_TEXT_H */
