/* response.c: the response side of struct request: headers, JSON bodies,
 * the error shape, and serialisation into a CGI response. */
#include "vigil.h"

#include <stdio.h>
#include <stdarg.h>
#include <string.h>

#include "request.h"
#include "vjson.h"

static const char *
response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default:  return "Unknown";
	}
}

void
response_header(struct request *r, const char *name, const char *fmt, ...)
{
	char value[2048];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	/* Never let a value split the header block. */
	for (i = 0; value[i] != '\0'; i++)
		if (value[i] == '\r' || value[i] == '\n')
			value[i] = ' ';
	buf_printf(&r->headers, "%s: %s\r\n", name, value);
}

void
response_raw(struct request *r, int status, const char *ctype,
    const char *data, size_t len)
{
	r->status = status;
	buf_reset(&r->out);
	if (buf_append(&r->out, data, len) != 0) {
		response_error(r, 500, "internal_error",
		    "The response was too large.", NULL);
		return;
	}
	response_header(r, "Content-Type", "%s", ctype);
}

void
response_json(struct request *r, int status, json_object *obj)
{
	const char *s;
	size_t len;

	if (obj == NULL) {
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
		return;
	}
	s = vjson_str(obj, &len);
	response_raw(r, status, "application/json; charset=utf-8", s, len);
	json_object_put(obj);
}

void
response_error(struct request *r, int status, const char *code,
    const char *message, const char *field)
{
	json_object *root, *err, *details;
	const char *s;
	size_t len;

	root = json_object_new_object();
	err = json_object_new_object();
	details = json_object_new_object();
	if (field != NULL)
		json_object_object_add(details, "field",
		    json_object_new_string(field));
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message",
	    json_object_new_string(message));
	json_object_object_add(err, "request_id",
	    json_object_new_string(r->id));
	json_object_object_add(err, "details", details);
	json_object_object_add(root, "error", err);
	/* An error replaces whatever was being built. */
	buf_reset(&r->headers);
	buf_reset(&r->out);
	r->status = status;
	s = vjson_str(root, &len);
	buf_append(&r->out, s, len);
	response_header(r, "Content-Type", "application/json; charset=utf-8");
	json_object_put(root);
}

int
response_serialize(const struct request *r, struct buf *out)
{
	response_serialize_head(r, (long long)r->out.len, out);
	if (r->out.len > 0 && strcmp(r->method, "HEAD") != 0)
		buf_append(out, r->out.data, r->out.len);
	return 0;
}

int
response_serialize_head(const struct request *r, long long body_len,
    struct buf *out)
{
	int status = r->status ? r->status : 500;

	buf_printf(out, "Status: %d %s\r\n", status, response_reason(status));
	if (r->headers.len > 0)
		buf_append(out, r->headers.data, r->headers.len);
	if (r->rl_set)
		buf_printf(out, "X-RateLimit-Limit: %ld\r\n"
		    "X-RateLimit-Remaining: %ld\r\nX-RateLimit-Reset: %ld\r\n",
		    r->rl_limit, r->rl_remaining, r->rl_reset);
	buf_printf(out,
	    "X-Request-Id: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "X-Frame-Options: DENY\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n",
	    r->id);
	/* A length not known before the end (an export written as it is
	 * read): none, and the front end chunks the answer. */
	if (body_len >= 0)
		buf_printf(out, "Content-Length: %lld\r\n", body_len);
	buf_puts(out, "\r\n");
	return 0;
}
