/* idempotency.h: the Idempotency-Key of a POST, kept in the database
 * (idempotency_keys, migration 0023) so that every worker on every host
 * sees the same key. The first request with a key claims it; once it is
 * answered, its answer is stored, and the same request with the same key
 * within IDEMPOTENCY_TTL gets that answer again without running. What a
 * stored answer is and which are kept is the caller's decision
 * (cgi/replay.c); this file keeps the rows. */
#ifndef VIGIL_IDEMPOTENCY_H
#define VIGIL_IDEMPOTENCY_H

#include <stddef.h>
#include <time.h>

#include "vigil.h"

struct db;

#define IDEMPOTENCY_KEY_MAX   255
/* How long a key stays a key's: a row older than this counts as absent. */
#define IDEMPOTENCY_TTL       (24 * 60 * 60)
/* A claim not answered within this many seconds is abandoned (its worker
 * died, or lost the database while answering): the same request may take
 * it over. Longer than any request may take. */
#define IDEMPOTENCY_STALE     300

/* 1 if key is 1..IDEMPOTENCY_KEY_MAX printable ASCII characters without
 * spaces (0x21-0x7e); else 0. Pure. */
int	 idempotency_key_valid(const char *key);
/* The hash (lowercase hex SHA-256, hex[65]) of what a request asks: its
 * method and path with the query string; and of its body. Pure. */
void	 idempotency_target_hash(const char *method, const char *path,
	    const char *query, char hex[65]);
void	 idempotency_body_hash(const char *body, size_t len, char hex[65]);
/* What a streamed body's claim holds until it is answered: the hash of
 * its announced length (-1: none announced). Pure. */
void	 idempotency_stream_hash(long long length, char hex[65]);

/* The request a key is used for (borrowed). A body its handler streams
 * is not read when the key is claimed: body_hash then holds
 * idempotency_stream_hash of its announced length, which is what a
 * retry meanwhile is compared with, until idempotency_finish stores the
 * hash of the bytes and their count in its place. */
struct idempotency_req {
	const char	*tenant_id;
	const char	*key;         /* the Idempotency-Key, valid */
	const char	*key_id;      /* the API key sending it */
	char		 target_hash[65];
	char		 body_hash[65];
	int		 streamed;    /* its handler streams the body */
};

/* An answer as stored (owned; free with idempotency_stored_free). */
struct idempotency_stored {
	int	 status;
	int	 withheld;            /* its body held a secret: not kept */
	char	*headers;             /* "Name: value\r\n" lines */
	size_t	 headers_len;
	char	*body;
	size_t	 body_len;
	char	 claimed_at[32];      /* the claim's created_at (SQL text) */
	/* A streamed request's answer (IDEMPOTENCY_REPLAY): the SHA-256 of
	 * the body it was given for and the body's length, which the caller
	 * compares with the retry's before replaying; -1 for any other. */
	char	 stream_hash[65];
	long long stream_len;
};
void	 idempotency_stored_free(struct idempotency_stored *);

enum idempotency_outcome {
	IDEMPOTENCY_PROCEED = 0,  /* claimed: serve, then _finish or _release */
	IDEMPOTENCY_REPLAY,       /* answered before: *out holds the answer */
	IDEMPOTENCY_IN_PROGRESS,  /* the first request is still being served */
	IDEMPOTENCY_OTHER_KEY,    /* first used by another API key */
	IDEMPOTENCY_OTHER_TARGET, /* first used with another method or path */
	IDEMPOTENCY_OTHER_BODY,   /* first used with another body */
	IDEMPOTENCY_DB_ERROR,     /* *rc holds the DB_* code */
};

/* Claim req's key at now, or say why not. On IDEMPOTENCY_PROCEED
 * out->claimed_at names the claim (pass out to _finish or _release); on
 * IDEMPOTENCY_REPLAY out holds the stored answer, which for a streamed
 * req (out->stream_len >= 0) is its answer only if the retry's body
 * hashes to out->stream_hash: the caller reads and compares it. Free out
 * with idempotency_stored_free in every case. */
enum idempotency_outcome idempotency_begin(struct db *,
	    const struct idempotency_req *, time_t now,
	    struct idempotency_stored *out, int *rc);
/* Store the answer of the claim in stored->claimed_at: status, headers,
 * body (withheld: not the body, only that there was one); for a
 * streamed req, stream_hash (hex SHA-256) and stream_len, what its body
 * was (else NULL and -1). 0 or a DB_* code. */
int	 idempotency_finish(struct db *, const struct idempotency_req *,
	    const struct idempotency_stored *claim, int status,
	    const char *headers, size_t hlen, const char *body, size_t blen,
	    int withheld, const char *stream_hash, long long stream_len);
/* Give the claim up (the answer is not to be replayed: a retry runs
 * again). 0 or a DB_* code. */
int	 idempotency_release(struct db *, const struct idempotency_req *,
	    const struct idempotency_stored *claim);

/* Delete keys older than IDEMPOTENCY_TTL at now, in batches of 5000;
 * their count into *n (what was deleted before an error too). 0 or a
 * DB_* code. For vigilctl events prune. */
int	 idempotency_prune(struct db *, time_t now, long long *n);

#endif
