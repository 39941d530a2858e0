/* multipart.h: a streaming multipart/form-data reader (RFC 7578, RFC
 * 2046 section 5.1). Pure: bytes in, events out; no I/O and no memory
 * beyond the struct, whatever the size of the body, so that an upload is
 * never held whole. */
#ifndef VIGIL_MULTIPART_H
#define VIGIL_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70	/* RFC 2046 */
#define MULTIPART_LINE_MAX     1024	/* one part header line, at most */
#define MULTIPART_HEADERS_MAX  16	/* header lines of one part */

/* What multipart_feed reports through its callback. */
enum multipart_event {
	MULTIPART_PART,		/* a part's headers are read: see m->part */
	MULTIPART_DATA,		/* some of the part's content */
	MULTIPART_PART_END,	/* the part's content is over */
	MULTIPART_DONE		/* the closing delimiter: nothing follows */
};

/* Errors (negative): the body is not a form multipart/form-data can
 * read. */
#define MULTIPART_ERR_SYNTAX    (-1)	/* delimiters or framing */
#define MULTIPART_ERR_HEADER    (-2)	/* a part's headers */
#define MULTIPART_ERR_TRUNCATED (-3)	/* ended before the closing delimiter */

/* The headers of the current part. name and filename are the
 * Content-Disposition parameters as sent (quoted-string escapes undone),
 * NUL-terminated; filename_len counts its bytes (it may hold a NUL the
 * caller must refuse). ctype is the Content-Type header's value, "" if
 * none. */
struct multipart_part {
	char	 name[MULTIPART_LINE_MAX];
	char	 filename[MULTIPART_LINE_MAX];
	size_t	 filename_len;
	int	 has_filename;
	char	 ctype[MULTIPART_LINE_MAX];
};

struct multipart {
	char	 delim[4 + MULTIPART_BOUNDARY_MAX + 1];	/* "\r\n--" boundary */
	size_t	 dlen;
	size_t	 match;		/* bytes of delim matched so far */
	int	 state;
	int	 in_part;	/* between MULTIPART_PART and _PART_END */
	char	 line[MULTIPART_LINE_MAX];
	size_t	 linelen;
	int	 nheaders;
	int	 seen_cd, seen_ct;
	struct multipart_part part;
};

/* The callback: 0 to go on, anything else stops multipart_feed, which
 * returns it. data/len only for MULTIPART_DATA. */
typedef int (*multipart_cb)(void *arg, enum multipart_event ev,
    const char *data, size_t len);

/* The boundary parameter of a Content-Type value: 1 if ct is
 * multipart/form-data with a valid boundary (1-70 characters of RFC
 * 2046's set, not ending in a space; quoted or not), copied into out
 * (at least MULTIPART_BOUNDARY_MAX + 1 bytes); 0 if ct is not
 * multipart/form-data; -1 if it is but the boundary is missing or bad. */
int	 multipart_boundary(const char *ct, char *out, size_t outsz);
/* Ready m to read a body delimited by boundary (as multipart_boundary
 * gave it). */
void	 multipart_init(struct multipart *m, const char *boundary);
/* Read the next len bytes of the body: 0, a MULTIPART_ERR_* code, or
 * the callback's non-zero return. After an error or a stop, m must not
 * be fed again. Bytes after the closing delimiter are ignored. */
int	 multipart_feed(struct multipart *m, const char *buf, size_t len,
	    multipart_cb cb, void *arg);
/* The body has ended: 0 if its closing delimiter was read, else
 * MULTIPART_ERR_TRUNCATED. */
int	 multipart_finish(const struct multipart *m);

#endif
