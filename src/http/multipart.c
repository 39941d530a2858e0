/*
 * multipart.c: a streaming multipart/form-data reader. The body goes
 * through in whatever pieces it arrives in; a part's content is handed on
 * as it is read, never gathered, and the only bytes kept between pieces
 * are a header line (at most MULTIPART_LINE_MAX) and how much of the
 * delimiter the last piece ended with (the delimiter itself is a constant,
 * so those bytes need no copy).
 *
 * Strict where leniency would make two readers disagree on where a part
 * ends or what it is called: header lines end in CRLF, no folded lines, no
 * NUL, Content-Disposition and Content-Type at most once, parameters at
 * most once. A preamble and an epilogue are allowed (RFC 2046) and
 * ignored.
 */
#include "vigil.h"

#include <string.h>
#include <strings.h>

#include "multipart.h"

enum {
	ST_PREAMBLE,	/* before the first delimiter: discarded */
	ST_AFTER,	/* just after a delimiter */
	ST_PAD,		/* transport padding after a delimiter */
	ST_AFTER_DASH,	/* "-" after a delimiter */
	ST_AFTER_CR,	/* CR after a delimiter */
	ST_HEADERS,	/* a header line */
	ST_HEADER_CR,	/* CR at the end of a header line */
	ST_BODY,	/* a part's content */
	ST_EPILOGUE	/* after the closing delimiter: ignored */
};

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 2046's bchars. */
static int
is_bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("'()+_,-./:=? ", c) != NULL);
}

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * One parameter "; name=value" at *pp (value a token or a quoted-string,
 * its escapes undone into val, at most valsz - 1 bytes, *vallen set).
 * 1 with *pp past it, 0 at the end of the string, -1 on bad syntax.
 * stop, if not NULL, lists the extra bytes that end an unquoted value.
 */
static int
param_next(const char **pp, char *name, size_t namesz, char *val,
    size_t valsz, size_t *vallen, const char *stop)
{
	const char *p = skip_ows(*pp);
	size_t n = 0;

	if (*p == '\0')
		return 0;
	if (*p != ';')
		return -1;
	p = skip_ows(p + 1);
	while (is_tchar((unsigned char)*p)) {
		if (n + 1 >= namesz)
			return -1;
		name[n++] = *p++;
	}
	name[n] = '\0';
	if (n == 0)
		return -1;
	p = skip_ows(p);
	if (*p++ != '=')
		return -1;
	p = skip_ows(p);
	n = 0;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return -1;
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 >= valsz)
				return -1;
			val[n++] = *p;
		}
		p++;
	} else {
		while (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t') {
			if (!is_tchar((unsigned char)*p) &&
			    (stop == NULL || strchr(stop, *p) == NULL))
				return -1;
			if (n + 1 >= valsz)
				return -1;
			val[n++] = *p++;
		}
		if (n == 0)
			return -1;
	}
	val[n] = '\0';
	*vallen = n;
	*pp = p;
	return 1;
}

int
multipart_boundary(const char *ct, char *out, size_t outsz)
{
	static const char type[] = "multipart/form-data";
	char name[64], val[MULTIPART_LINE_MAX];
	const char *p;
	size_t len, i;
	int rc, found = 0;

	if (ct == NULL)
		return 0;
	p = skip_ows(ct);
	if (strncasecmp(p, type, sizeof(type) - 1) != 0)
		return 0;
	p += sizeof(type) - 1;
	if (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t')
		return 0;
	/* A boundary may hold bchars a token may not, unquoted as well. */
	while ((rc = param_next(&p, name, sizeof(name), val, sizeof(val),
	    &len, "'()+_,-./:=?")) == 1) {
		if (strcasecmp(name, "boundary") != 0)
			continue;
		if (found)
			return -1;
		found = 1;
		if (len < 1 || len > MULTIPART_BOUNDARY_MAX || len >= outsz ||
		    val[len - 1] == ' ')
			return -1;
		for (i = 0; i < len; i++)
			if (!is_bchar((unsigned char)val[i]))
				return -1;
		memcpy(out, val, len + 1);
	}
	return rc == 0 && found ? 1 : -1;
}

void
multipart_init(struct multipart *m, const char *boundary)
{
	size_t n = strlen(boundary);

	memset(m, 0, sizeof(*m));
	if (n > MULTIPART_BOUNDARY_MAX)
		n = MULTIPART_BOUNDARY_MAX;
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary, n);
	m->dlen = 4 + n;
	m->state = ST_PREAMBLE;
	/* The first delimiter may open the body: as if a CRLF came first. */
	m->match = 2;
}

/* Content-Disposition: form-data; name="..."[; filename="..."]. */
static int
parse_disposition(struct multipart *m, const char *v)
{
	static const char type[] = "form-data";
	struct multipart_part *pt = &m->part;
	char name[64], val[MULTIPART_LINE_MAX];
	int rc, seen_name = 0;
	size_t len;

	if (strncasecmp(v, type, sizeof(type) - 1) != 0)
		return MULTIPART_ERR_HEADER;
	v += sizeof(type) - 1;
	if (*v != '\0' && *v != ';' && *v != ' ' && *v != '\t')
		return MULTIPART_ERR_HEADER;
	while ((rc = param_next(&v, name, sizeof(name), val, sizeof(val),
	    &len, NULL)) == 1) {
		if (strcasecmp(name, "name") == 0) {
			if (seen_name++ || len == 0 ||
			    memchr(val, '\0', len) != NULL)
				return MULTIPART_ERR_HEADER;
			memcpy(pt->name, val, len + 1);
		} else if (strcasecmp(name, "filename") == 0) {
			if (pt->has_filename)
				return MULTIPART_ERR_HEADER;
			pt->has_filename = 1;
			memcpy(pt->filename, val, len + 1);
			pt->filename_len = len;
		}
		/* Anything else (filename*, which RFC 7578 says not to
		 * send) is not ours to read. */
	}
	if (rc != 0 || !seen_name)
		return MULTIPART_ERR_HEADER;
	return 0;
}

/* One complete header line in m->line (no CRLF, NUL-terminated). */
static int
header_line(struct multipart *m)
{
	char *colon, *v, *end;
	size_t i;

	if (++m->nheaders > MULTIPART_HEADERS_MAX)
		return MULTIPART_ERR_HEADER;
	/* A folded line (obsolete) or no name. */
	if (m->line[0] == ' ' || m->line[0] == '\t' ||
	    (colon = strchr(m->line, ':')) == NULL || colon == m->line)
		return MULTIPART_ERR_HEADER;
	for (i = 0; m->line + i < colon; i++)
		if (!is_tchar((unsigned char)m->line[i]))
			return MULTIPART_ERR_HEADER;
	*colon = '\0';
	v = (char *)skip_ows(colon + 1);
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcasecmp(m->line, "Content-Disposition") == 0) {
		if (m->seen_cd++)
			return MULTIPART_ERR_HEADER;
		return parse_disposition(m, v);
	}
	if (strcasecmp(m->line, "Content-Type") == 0) {
		if (m->seen_ct++)
			return MULTIPART_ERR_HEADER;
		memcpy(m->part.ctype, v, (size_t)(end - v) + 1);
	}
	return 0;
}

static int
emit(const struct multipart *m, multipart_cb cb, void *arg, const char *p,
    size_t n)
{
	if (n == 0 || m->state == ST_PREAMBLE)
		return 0;
	return cb(arg, MULTIPART_DATA, p, n);
}

/*
 * Content (or the preamble) from buf[*ip]: hand it on until a delimiter
 * is complete. The delimiter holds a CR only at its start (a boundary has
 * none), so a failed partial match can only restart at the byte that
 * failed it, and the bytes it had matched are the delimiter's own.
 */
static int
body(struct multipart *m, const char *buf, size_t len, size_t *ip,
    multipart_cb cb, void *arg)
{
	size_t i = *ip, run = i;
	const char *cr;
	int rc;

	while (i < len) {
		if (m->match == 0) {
			cr = memchr(buf + i, '\r', len - i);
			if (cr == NULL) {
				i = len;
				break;
			}
			i = (size_t)(cr - buf);
		}
		if (buf[i] == m->delim[m->match]) {
			if (m->match == 0 &&
			    (rc = emit(m, cb, arg, buf + run, i - run)) != 0)
				return rc;
			i++;
			if (++m->match < m->dlen)
				continue;
			m->match = 0;
			*ip = i;
			if (m->in_part) {
				m->in_part = 0;
				if ((rc = cb(arg, MULTIPART_PART_END, NULL, 0))
				    != 0)
					return rc;
			}
			m->state = ST_AFTER;
			return 0;
		}
		/* What had matched was content after all. */
		if ((rc = emit(m, cb, arg, m->delim, m->match)) != 0)
			return rc;
		m->match = 0;
		run = i;
		if (buf[i] == '\r')
			continue;	/* it may start the delimiter */
		i++;
	}
	if (m->match == 0 && (rc = emit(m, cb, arg, buf + run, i - run)) != 0)
		return rc;
	*ip = len;
	return 0;
}

int
multipart_feed(struct multipart *m, const char *buf, size_t len,
    multipart_cb cb, void *arg)
{
	size_t i = 0;
	int rc;
	char c;

	while (i < len) {
		if (m->state == ST_PREAMBLE || m->state == ST_BODY) {
			if ((rc = body(m, buf, len, &i, cb, arg)) != 0)
				return rc;
			continue;
		}
		if (m->state == ST_EPILOGUE)
			return 0;
		c = buf[i++];
		switch (m->state) {
		case ST_AFTER:
			if (c == '-')
				m->state = ST_AFTER_DASH;
			else if (c == '\r')
				m->state = ST_AFTER_CR;
			else if (c == ' ' || c == '\t')
				m->state = ST_PAD;
			else
				return MULTIPART_ERR_SYNTAX;
			break;
		case ST_PAD:
			if (c == '\r')
				m->state = ST_AFTER_CR;
			else if (c != ' ' && c != '\t')
				return MULTIPART_ERR_SYNTAX;
			break;
		case ST_AFTER_DASH:
			if (c != '-')
				return MULTIPART_ERR_SYNTAX;
			m->state = ST_EPILOGUE;
			if ((rc = cb(arg, MULTIPART_DONE, NULL, 0)) != 0)
				return rc;
			break;
		case ST_AFTER_CR:
			if (c != '\n')
				return MULTIPART_ERR_SYNTAX;
			memset(&m->part, 0, sizeof(m->part));
			m->linelen = 0;
			m->nheaders = 0;
			m->seen_cd = m->seen_ct = 0;
			m->state = ST_HEADERS;
			break;
		case ST_HEADERS:
			if (c == '\r') {
				m->state = ST_HEADER_CR;
				break;
			}
			if (c == '\n' || c == '\0' ||
			    m->linelen + 1 >= sizeof(m->line))
				return MULTIPART_ERR_HEADER;
			m->line[m->linelen++] = c;
			break;
		case ST_HEADER_CR:
			if (c != '\n')
				return MULTIPART_ERR_HEADER;
			m->state = ST_HEADERS;
			if (m->linelen > 0) {
				m->line[m->linelen] = '\0';
				m->linelen = 0;
				if ((rc = header_line(m)) != 0)
					return rc;
				break;
			}
			/* The blank line: the content follows. */
			if (!m->seen_cd)
				return MULTIPART_ERR_HEADER;
			m->state = ST_BODY;
			m->in_part = 1;
			m->match = 0;
			if ((rc = cb(arg, MULTIPART_PART, NULL, 0)) != 0)
				return rc;
			break;
		default:
			return MULTIPART_ERR_SYNTAX;
		}
	}
	return 0;
}

int
multipart_finish(const struct multipart *m)
{
	return m->state == ST_EPILOGUE ? 0 : MULTIPART_ERR_TRUNCATED;
}
