/* attachments.h: a case's attachments (evidence files): uploaded in a
 * stream and stored in the database in chunks with their SHA-256, read
 * back chunk by chunk, listed, deleted; each change audited and on the
 * case's timeline. */
#ifndef VIGIL_ATTACHMENTS_H
#define VIGIL_ATTACHMENTS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "vigil.h"

struct db;
struct db_res;

/* Bytes per attachment_chunks row: one INSERT's packet stays far below
 * every max_allowed_packet a server has defaulted to (1 MiB in MySQL 5.5,
 * 16 MiB in MariaDB 10.2 and later), and a 50 MiB file is 200 rows. */
#define ATTACHMENTS_CHUNK     (256 * 1024)
#define ATTACHMENTS_NAME_MAX  255	/* bytes of a stored file name */
#define ATTACHMENTS_TYPE_MAX  127	/* bytes of a declared type */
/* attachments_list_json gives at most this many. */
#define ATTACHMENTS_ALL_MAX   1000
/* Room for attachments_disposition's header value. */
#define ATTACHMENTS_DISPOSITION_LEN 1400

struct attachment {
	long long	 seq;
	char		 id[VIGIL_ID_LEN];
	char		 case_id[VIGIL_ID_LEN];
	char		 name[4 * ATTACHMENTS_NAME_MAX + 1];
	char		 content_type[ATTACHMENTS_TYPE_MAX + 1];
	long long	 size;
	char		 sha256[65];
	char		 created_by[256];
	char		 created_at[32];	/* RFC 3339 */
};

enum attachments_outcome {
	ATTACHMENTS_OK,
	ATTACHMENTS_NOT_FOUND,		/* no such case (or attachment) */
	ATTACHMENTS_TOO_LARGE,		/* over the limit given to begin */
	ATTACHMENTS_DB_ERROR		/* *rc has the DB_* code */
};

/* Why a file name is refused (attachments_name). */
enum attachments_name_err {
	ATTACHMENTS_NAME_OK,
	ATTACHMENTS_NAME_EMPTY,		/* empty, ".", ".." (after the path) */
	ATTACHMENTS_NAME_UTF8,		/* not UTF-8 */
	ATTACHMENTS_NAME_CONTROL,	/* a control character (NUL, CR, LF …) */
	ATTACHMENTS_NAME_LONG		/* over ATTACHMENTS_NAME_MAX bytes */
};

/*
 * The name to store for a file name as a client sent it (raw[0..len)):
 * its last path segment (after the last '/' or '\'), since a name is not
 * a path and some clients send one; refused rather than altered if what
 * is left is empty, ".", "..", not UTF-8, holds a control character (C0,
 * DEL, C1: a CR or LF would split a header, a NUL end a string early) or
 * is longer than ATTACHMENTS_NAME_MAX bytes. Quotes, backslashes inside
 * the kept segment, spaces and any other character are kept as sent.
 * Writes out (at least ATTACHMENTS_NAME_MAX + 1 bytes). Pure.
 */
enum attachments_name_err attachments_name(const char *raw, size_t len,
	    char *out, size_t outsz);
/* The declared type to store for a part's Content-Type value: its
 * "type/subtype", lower-cased, parameters dropped; "" gives
 * application/octet-stream. 0, or -1 if it is not a media type (or longer
 * than ATTACHMENTS_TYPE_MAX). Pure. */
int	 attachments_type(const char *raw, char *out, size_t outsz);
/* The Content-Type to serve a file of declared type with: the type itself
 * for a few that no browser runs as a page or script (plain text, CSV,
 * JSON, PDF, PNG, JPEG, GIF, WebP, ZIP, gzip), else
 * application/octet-stream. Pure. */
const char *attachments_serve_type(const char *declared);
/* The Content-Disposition value for name: attachment, an ASCII filename
 * (each character outside printable ASCII, and '"', '\', '%', as '_')
 * and the exact name as RFC 6266's filename*=UTF-8''. Pure. */
void	 attachments_disposition(const char *name, char *out, size_t outsz);

/* Three-way: 1 if case_id is a case of the tenant, 0 if not (another
 * tenant's, a malformed id), or a DB_* code. */
int	 attachments_case(struct db *, const char *tenant_id,
	    const char *case_id);

/*
 * An upload, written as it arrives in one transaction: the attachment's
 * row ('uploading') and its chunks, then on attachments_finish its size,
 * SHA-256, state 'complete', timeline entry and audit entry, committed
 * together. Until then nothing of it is visible to anyone, and a failure,
 * a refusal (attachments_abort) or the process dying (the server rolls
 * the connection's transaction back) leaves nothing behind. Memory: one
 * chunk.
 */
struct attachments_upload;
/* Start one (name and ctype as attachments_name/_type gave them; max:
 * the most bytes the file may have). *out to write to, on ATTACHMENTS_OK. */
enum attachments_outcome attachments_begin(struct db *, const char *tenant_id,
	    const char *case_id, const char *name, const char *ctype,
	    const char *actor, long long max, time_t now,
	    struct attachments_upload **out, int *rc);
/* The next bytes of the file: ATTACHMENTS_OK, _TOO_LARGE past max, or
 * _DB_ERROR. After anything but OK only abort is left to call. */
enum attachments_outcome attachments_write(struct attachments_upload *,
	    const void *data, size_t len, int *rc);
/* The file is whole: complete and commit it; *out the attachment (free
 * with attachments_free) on ATTACHMENTS_OK. Frees up in every case. */
enum attachments_outcome attachments_finish(struct attachments_upload *up,
	    struct attachment **out, int *rc);
/* Give it up: roll back and free (NULL: nothing). */
void	 attachments_abort(struct attachments_upload *up);

/* Three-way loader of a complete attachment of the case. */
int	 attachments_get(struct db *, const char *tenant_id,
	    const char *case_id, const char *id, struct attachment **out);
void	 attachments_free(struct attachment *);
/* Chunk n (from 0) of an attachment: 1 with *data, *len set (valid until
 * db_res_free(*res)), 0 if there is none, or a DB_* code. */
int	 attachments_chunk(struct db *, const char *tenant_id, const char *id,
	    long n, struct db_res **res, const char **data, size_t *len);
/* A page of the case's complete attachments, newest first, below seq
 * before: {attachments, total, has_more, next_cursor} into *out. 0 or a
 * DB_* code. */
int	 attachments_list(struct db *, const char *tenant_id,
	    const char *case_id, long long before, long limit,
	    json_object **out);
/* For GET /cases/{id}'s evidence list: the case's complete attachments,
 * oldest first (at most ATTACHMENTS_ALL_MAX), each as attachments_to_json
 * gives it, as a new array in *out. 0 or a DB_* code. Does not check the
 * case. */
int	 attachments_list_json(struct db *, const char *tenant_id,
	    const char *case_id, json_object **out);
/* Delete one, with its chunks, its timeline entry and audit entry. */
enum attachments_outcome attachments_delete(struct db *, const char *tenant_id,
	    const char *case_id, const char *id, const char *actor, time_t now,
	    int *rc);
/* {attachment_id, case_id, name, content_type, size, sha256, created_by,
 * created_at}: a new object. */
json_object *attachments_to_json(const struct attachment *);

#endif
