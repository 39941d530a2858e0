/* buf.c: growable byte buffers that refuse to grow past their cap. */
#include "vigil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Make room for need more bytes plus the NUL; 0 or -1 (buffer unchanged). */
static int
buf_grow(struct buf *b, size_t need)
{
	size_t	 want, nalloc;
	char	*p;

	if (need > b->cap || b->len > b->cap - need)
		return -1;
	want = b->len + need + 1;
	if (want <= b->alloc)
		return 0;
	nalloc = b->alloc < 64 ? 64 : b->alloc;
	while (nalloc < want) {
		if (nalloc > SIZE_MAX / 2) {
			nalloc = want;
			break;
		}
		nalloc *= 2;
	}
	if (nalloc > b->cap + 1)
		nalloc = b->cap + 1;
	if ((p = realloc(b->data, nalloc)) == NULL)
		return -1;
	b->data = p;
	b->alloc = nalloc;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_read_fd(struct buf *b, int fd)
{
	char chunk[16384];
	ssize_t r;

	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)r) == -1)
			return -2;
	}
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -1;
	if (buf_grow(b, (size_t)n) == -1)
		return -1;
	va_copy(aq, ap);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, aq);
	va_end(aq);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/* Returns the data (never NULL unless memory ran out; an empty buffer
 * yields ""), which the caller frees; the buffer is left empty. */
char *
buf_detach(struct buf *b, size_t *lenp)
{
	char	*p;

	p = b->data;
	if (p == NULL)
		p = calloc(1, 1);
	if (lenp != NULL)
		*lenp = p == NULL ? 0 : b->len;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}
