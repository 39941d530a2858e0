/* bodyhash.h: the SHA-256 an Idempotency-Key compares a streamed body by.
 *
 * A multipart/form-data body is hashed by what its form holds, not by
 * its framing: each part's name, filename and Content-Type and the
 * SHA-256 of its content, in order. curl -F, Python's requests and Go's
 * mime/multipart choose a new boundary for every request, so a retry of
 * one upload differs from the first in its bytes but not in its form.
 * The preamble and what follows the closing delimiter are framing too.
 * Any other body is hashed as its bytes. Memory is the struct's,
 * whatever the size of the body. */
#ifndef VIGIL_BODYHASH_H
#define VIGIL_BODYHASH_H

#include <stddef.h>

struct body_hash;

/* A hash for a body of Content-Type content_type (NULL allowed): a
 * form's if it is multipart/form-data with a valid boundary, else the
 * bytes'. NULL if out of memory. */
struct body_hash *body_hash_begin(const char *content_type);
/* 1 if the body is hashed as a form. */
int	 body_hash_is_form(const struct body_hash *);
/* The next len bytes of the body, as they came. */
void	 body_hash_update(struct body_hash *, const void *data, size_t len);
/* The hash of every byte given, lowercase hex, into out[65]: 0; 1 if
 * the body is a form that is malformed or not whole (it has no hash to
 * keep: a retry is not the same body); -1 if OpenSSL failed. */
int	 body_hash_end_hex(struct body_hash *, char out[65]);
/* NULL allowed. */
void	 body_hash_free(struct body_hash *);

#endif
