/* request.c: build a struct request from CGI/FastCGI parameters and parse
 * its query string. Pure: no FastCGI, no I/O. */
#include "vigil.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodyhash.h"
#include "crypto.h"
#include "id.h"
#include "request.h"
#include "vjson.h"
#include "vtime.h"

/* The value of NAME in a "NAME=value" environment, or NULL. */
static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Every NAME in the environment, in order, joined with ", " (nginx before
 * 1.23 passes a header sent twice as two parameters; believing only the
 * first would let a client's own X-Forwarded-For line win); NULL if none
 * or out of memory. */
static char *
env_join(char *const *envp, const char *name)
{
	size_t n = strlen(name), len = 0, vl;
	char *out = NULL, *p;

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) != 0 || (*envp)[n] != '=')
			continue;
		vl = strlen(*envp + n + 1);
		if ((p = realloc(out, len + vl + 3)) == NULL) {
			free(out);
			return NULL;
		}
		out = p;
		if (len > 0) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, *envp + n + 1, vl);
		len += vl;
		out[len] = '\0';
	}
	return out;
}

/*
 * Split the raw path raw[0..len) into the prefix the server mounted
 * vigil-api on and the path Vigil routes on, both raw (percent-encoded as
 * sent), into new strings *prefix and *path (NULL when out of memory).
 *
 * A server that mounts the program under a prefix says where the
 * program's own part of the URL begins in PATH_INFO: Apache's
 * ScriptAlias, an .htaccess RewriteRule to the program, nginx's
 * fastcgi_split_path_info. PATH_INFO is decoded, so the route is the raw
 * path's tail holding as many slashes as PATH_INFO, if that tail decodes
 * to PATH_INFO; else (a server that rewrote the URL beyond recognition)
 * PATH_INFO itself, under SCRIPT_NAME. Without PATH_INFO (nginx's stock
 * fastcgi_params, whose SCRIPT_NAME is the whole path) the whole raw path
 * is the route, as it always was.
 */
static void
split_prefix(const char *raw, size_t len, const char *sn, const char *pi,
    char **prefix, char **path)
{
	size_t slashes = 0, at = len;
	const char *c;
	char *tail;

	*prefix = *path = NULL;
	if (pi == NULL || *pi != '/') {
		*prefix = strdup("");
		*path = strndup(raw, len);
		return;
	}
	for (c = pi; *c != '\0'; c++)
		slashes += *c == '/';
	while (at > 0 && slashes > 0)
		if (raw[--at] == '/')
			slashes--;
	if (slashes == 0 && (tail = request_decode(raw + at, len - at, 0))
	    != NULL) {
		if (strcmp(tail, pi) == 0) {
			free(tail);
			*prefix = strndup(raw, at);
			*path = strndup(raw + at, len - at);
			return;
		}
		free(tail);
	}
	*prefix = strdup(sn != NULL ? sn : "");
	*path = strdup(pi);
}

int
request_init(struct request *r, char *const *envp)
{
	const char *m, *uri, *q, *cl, *sn, *pi;
	char *end;
	size_t plen;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->start_us = vtime_mono_us();
	r->content_length = -1;
	r->status = 0;
	buf_init(&r->headers, 64 * 1024);
	buf_init(&r->out, 64 * 1024 * 1024);
	if (id_new("req", r->id, sizeof(r->id)) != 0)
		snprintf(r->id, sizeof(r->id), "req_unknown");

	m = env_get(envp, "REQUEST_METHOD");
	if (m == NULL || *m == '\0' || strlen(m) >= sizeof(r->method)) {
		snprintf(r->method, sizeof(r->method), "GET");
		rc = 400;
	} else
		snprintf(r->method, sizeof(r->method), "%s", m);

	/* REQUEST_URI is the raw target as the client sent it; without it
	 * (some CGI servers) rebuild it from SCRIPT_NAME and PATH_INFO. */
	uri = env_get(envp, "REQUEST_URI");
	sn = env_get(envp, "SCRIPT_NAME");
	pi = env_get(envp, "PATH_INFO");
	if (uri != NULL && *uri != '\0') {
		q = strchr(uri, '?');
		plen = q ? (size_t)(q - uri) : strlen(uri);
		if (plen > REQUEST_MAX_PATH)
			rc = 414;
		else
			split_prefix(uri, plen, sn, pi, &r->prefix, &r->path);
		r->query = strdup(q ? q + 1 : "");
	} else {
		if (pi != NULL && *pi != '\0') {
			r->prefix = strdup(sn ? sn : "");
			r->path = strdup(pi);
		} else {
			r->prefix = strdup("");
			r->path = strdup(sn ? sn : "");
		}
		q = env_get(envp, "QUERY_STRING");
		r->query = strdup(q ? q : "");
	}
	if (r->path == NULL || r->prefix == NULL || r->query == NULL) {
		free(r->path);
		free(r->prefix);
		free(r->query);
		r->path = strdup("/");
		r->prefix = strdup("");
		r->query = strdup("");
		return rc ? rc : 500;
	}
	if (strlen(r->prefix) + strlen(r->path) > REQUEST_MAX_PATH ||
	    strlen(r->query) > REQUEST_MAX_QUERY)
		rc = 414;

	r->content_type = dup_or_null(env_get(envp, "CONTENT_TYPE"));
	if (r->content_type != NULL && *r->content_type == '\0') {
		free(r->content_type);
		r->content_type = NULL;
	}
	if ((cl = env_get(envp, "CONTENT_LENGTH")) != NULL && *cl != '\0') {
		errno = 0;
		r->content_length = strtoll(cl, &end, 10);
		if (errno != 0 || *end != '\0' || r->content_length < 0)
			rc = rc ? rc : 400;
	}
	r->authorization = dup_or_null(env_get(envp, "HTTP_AUTHORIZATION"));
	r->x_license_key = dup_or_null(env_get(envp, "HTTP_X_LICENSE_KEY"));
	r->x_api_key = dup_or_null(env_get(envp, "HTTP_X_API_KEY"));
	r->accept = dup_or_null(env_get(envp, "HTTP_ACCEPT"));
	r->remote_addr = dup_or_null(env_get(envp, "REMOTE_ADDR"));
	r->x_forwarded_for = env_join(envp, "HTTP_X_FORWARDED_FOR");
	r->idempotency_key = dup_or_null(env_get(envp,
	    "HTTP_IDEMPOTENCY_KEY"));
	return rc;
}

/* Percent-decode s[0..len) into a new string ('+' is a space when plus is
 * set). NULL on bad escapes, NUL bytes, invalid UTF-8 or out of memory. */
char *
request_decode(const char *s, size_t len, int plus)
{
	char *out, *o;
	size_t i;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto bad;
			hi = crypto_hexval((unsigned char)s[i + 1]);
			lo = crypto_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+' && plus) {
			*o++ = ' ';
		} else if (s[i] == '\0') {
			goto bad;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	if (!vjson_utf8_valid(out, (size_t)(o - out)))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

int
request_parse_query(struct request *r)
{
	const char *p = r->query, *amp, *eq;
	size_t len, i;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > 0) {
			struct param *pm;

			if (r->nparams >= REQUEST_MAX_PARAMS)
				return -1;
			pm = &r->params[r->nparams];
			eq = memchr(p, '=', len);
			pm->name = request_decode(p, eq ? (size_t)(eq - p) : len, 1);
			pm->value = eq ? request_decode(eq + 1,
			    len - (size_t)(eq - p) - 1, 1) : strdup("");
			if (pm->name == NULL || pm->value == NULL) {
				free(pm->name);
				free(pm->value);
				pm->name = pm->value = NULL;
				return -1;
			}
			r->nparams++;
			/* Which of two values a client meant is a guess; refuse
			 * the repeat (compared decoded, so l%69mit is limit). */
			for (i = 0; i + 1 < r->nparams; i++)
				if (strcmp(r->params[i].name, pm->name) == 0)
					return -2;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* Each name appears once (request_parse_query refuses repeats). */
const char *
request_param(const struct request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

void
request_free(struct request *r)
{
	size_t i;

	free(r->path);
	free(r->prefix);
	free(r->query);
	free(r->content_type);
	free(r->authorization);
	free(r->x_license_key);
	free(r->x_api_key);
	free(r->accept);
	free(r->remote_addr);
	free(r->x_forwarded_for);
	free(r->idempotency_key);
	for (i = 0; i < r->nparams; i++) {
		free(r->params[i].name);
		free(r->params[i].value);
	}
	for (i = 0; i < r->npathvars; i++)
		free(r->pathvars[i]);
	free(r->body);
	body_hash_free(r->body_hash);
	if (r->json != NULL)
		json_object_put(r->json);
	buf_free(&r->headers);
	buf_free(&r->out);
	memset(r, 0, sizeof(*r));
}
