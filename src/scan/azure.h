/* azure.h: the pure pieces of the Azure connector (URLs, paging, token
 * and error bodies, Retry-After and backoff), apart from the HTTP client
 * in azure.c so that Check tests call them directly. The connector itself
 * is declared in connector.h. */
#ifndef VIGIL_AZURE_H
#define VIGIL_AZURE_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

struct buf;

/* A resource type the connector lists, and the ARM api-version it uses. */
struct azure_api {
	const char	*type;          /* "Microsoft.Storage/storageAccounts" */
	const char	*api_version;
};

extern const struct azure_api	 azure_apis[];
extern const size_t		 azure_napis;

/* 0 if url may be used as an authority or ARM base: "https://host…", or
 * "http://" only to a loopback host (127.0.0.1, ::1, localhost — the test
 * servers); no userinfo, query or fragment. -1 with err set otherwise. */
int	 azure_base_ok(const char *url, char *err, size_t errsz);
/* 1 if s is a safe single path segment for a tenant or subscription id:
 * 1..128 of [A-Za-z0-9.-_]. */
int	 azure_valid_segment(const char *s);
/* 1 if id looks like an ARM resource id: "/subscriptions/…", printable
 * ASCII without spaces, '?', '#', '%', '\\' or "..", at most 2048 bytes. */
int	 azure_valid_resource_id(const char *id);
/* 1 if v looks like an api-version ("2023-05-01", "2021-11-01-preview"). */
int	 azure_valid_api_version(const char *v);
/* 1 if url has exactly base's scheme, host and port (base as accepted by
 * azure_base_ok), so a nextLink cannot send the token elsewhere. */
int	 azure_same_origin(const char *base, const char *url);

/* URLs into b (reset first); 0, or -1 if b's cap is too small. */
int	 azure_token_url(struct buf *b, const char *authority,
	    const char *tenant);
int	 azure_list_url(struct buf *b, const char *arm, const char *sub,
	    const char *type, const char *api_version);
/* arm + resource_id + suffix (may be NULL) + "?api-version=" + v. */
int	 azure_resource_url(struct buf *b, const char *arm,
	    const char *resource_id, const char *suffix,
	    const char *api_version);

/* Seconds to wait for a Retry-After value (delta-seconds or an HTTP
 * date, compared with now), clamped to 0..cap; -1 if value is NULL or
 * unparseable (the caller then backs off on its own). */
long	 azure_retry_after(const char *value, time_t now, long cap);
/* Backoff before retry number attempt (0-based): 500 ms doubling, at
 * most 30 s. */
long	 azure_backoff_ms(int attempt);
/* 1 if a request that ended with this status (0: no HTTP response, a
 * network error or timeout) is worth retrying: 0, 408, 429, 5xx. */
int	 azure_retryable(long status);

/* One list page: *value gets its "value" array and *next its "nextLink"
 * (NULL on the last page), both borrowed from page. A nextLink outside
 * arm's origin is refused. 0, or -1 with err set. */
int	 azure_page(json_object *page, const char *arm, json_object **value,
	    const char **next, char *err, size_t errsz);
/* 0 if next may be followed as a list's nextLink: on arm's origin and
 * shorter than a URL may be; -1 with err set otherwise. */
int	 azure_next_link_ok(const char *arm, const char *next, char *err,
	    size_t errsz);
/* A token endpoint answer: *token borrowed from resp, *expires_in in
 * seconds (number or numeric string; 3600 when absent). 0 or -1. */
int	 azure_token_parse(json_object *resp, const char **token,
	    long *expires_in, char *err, size_t errsz);
/* A short, printable description of an ARM ({"error":{"code","message"}})
 * or Entra ({"error","error_description"}) error body into out; "" when
 * body has neither. Never contains control characters. */
void	 azure_error_text(json_object *body, char *out, size_t outsz);

#endif
