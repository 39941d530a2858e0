/* buf.h: growable byte buffers with a hard cap fixed at creation. */
#ifndef VIGIL_BUF_H
#define VIGIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char   *data;   /* always NUL-terminated when non-NULL */
	size_t  len;
	size_t  alloc;
	size_t  cap;    /* appends that would make len exceed cap fail */
};

/* Initialise an empty buffer that may never hold more than cap bytes. */
void	 buf_init(struct buf *, size_t cap);
/* Release the storage; the buffer may be re-initialised. */
void	 buf_free(struct buf *);
/* Reset length to zero, keeping the storage. */
void	 buf_reset(struct buf *);
/* Append; return 0, or -1 if the cap would be exceeded or memory ran out
 * (the buffer is left unchanged). */
int	 buf_append(struct buf *, const void *, size_t);
/* Append all that fd has left to read, reading again when a signal cuts a
 * read short: 0, -1 on a read error (errno says which), or -2 if the cap
 * would be exceeded or memory ran out (b then holds what fitted). */
int	 buf_read_fd(struct buf *, int fd);
int	 buf_puts(struct buf *, const char *);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Hand the data over to the caller (who frees it); the buffer is emptied. */
char	*buf_detach(struct buf *, size_t *lenp);

#endif
