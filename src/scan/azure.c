/* azure.c: the Azure connector. An OAuth2 client-credentials token from
 * Entra ID, then the Azure Resource Manager REST API for each
 * subscription and each resource type Vigil has rules for, page by page,
 * with SQL firewall rules, SQL auditing and web app config embedded in
 * their parent resources. List pages are read as a stream (armstream.c),
 * each resource emitted as soon as it is in, so that memory follows the
 * largest resource, not the page; every resource and every answer read
 * whole is capped; 429 and 503 honour Retry-After; network errors and 5xx
 * are retried with bounded backoff. A collection either reads everything
 * or fails. */
#include "vigil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "armstream.h"
#include "azure.h"
#include "buf.h"
#include "connector.h"
#include "crypto.h"
#include "log.h"
#include "vjson.h"
#include "vtime.h"

#define AZURE_DEFAULT_AUTHORITY	"https://login.microsoftonline.com"
#define AZURE_DEFAULT_ARM	"https://management.azure.com"
#define AZURE_DEFAULT_TIMEOUT	30
#define AZURE_DEFAULT_MAX	((size_t)64 * 1024 * 1024)	/* a whole
					 * answer: token, child, error, PATCH */
#define AZURE_DEFAULT_RETRIES	4
#define AZURE_MAX_RETRIES	10
#define AZURE_RETRY_AFTER_CAP	30	/* seconds we wait at most */
#define AZURE_TOKEN_MARGIN	300	/* renew this long before expiry */
#define AZURE_MAX_DEPTH		64
/* One resource of a list page, as ARM sends it, and the child lists
 * embedded into one (firewall rules): a page is read as a stream, so
 * memory follows the largest resource, never the page. An ARM resource is
 * a few KB; an NSG at its 1,000-rule limit under 1 MB. */
#define AZURE_MAX_RESOURCE	((size_t)8 * 1024 * 1024)
#define AZURE_MAX_PAGES		100000	/* per list, against nextLink loops */
#define AZURE_URL_MAX		8192
#define AZURE_TOKEN_MAX		(64 * 1024)	/* token endpoint answers */
/* The API's credential check runs on a web server's worker: one try,
 * bounded well under the web server's timeout (nginx's and Apache's
 * default 60 s, and what a client waits for). */
#define AZURE_CHECK_CONNECT_MS	2000
#define AZURE_CHECK_TOTAL_MS	4000

/* The resource types collected and their ARM api-versions, in one place.
 * Child resources use their parent's version. */
const struct azure_api azure_apis[] = {
	{ "Microsoft.Network/networkSecurityGroups",	"2023-09-01" },
	{ "Microsoft.Storage/storageAccounts",		"2023-05-01" },
	{ "Microsoft.KeyVault/vaults",			"2023-07-01" },
	{ "Microsoft.Sql/servers",			"2021-11-01" },
	{ "Microsoft.Web/sites",			"2023-12-01" },
	{ "Microsoft.Compute/virtualMachines",		"2024-03-01" },
};
const size_t azure_napis = NELEM(azure_apis);

/* Parent types whose children are fetched and embedded. */
enum azure_embed { AZURE_EMBED_NONE, AZURE_EMBED_SQL, AZURE_EMBED_WEB };

struct azure {
	/* Owned copies of the configuration. */
	char		*tenant_id;
	char		*client_id;
	char		*client_secret;
	char		**subs;
	size_t		 nsubs;
	char		*authority;     /* no trailing slash */
	char		*arm;           /* no trailing slash */
	long		 timeout_ms;    /* per try */
	long		 connect_ms;
	size_t		 max_response;
	int		 max_retries;
	int		 no_answer;     /* the last token request got none */

	/* A list page is read while its resources are emitted, and what
	 * is done with one (embedding children, a token renewal) needs a
	 * transfer of its own meanwhile: curls[depth], depth counting the
	 * list transfers under way. */
	CURL		*curls[2];
	int		 depth;
	char		*token;         /* cached bearer token, wiped on free */
	long long	 token_until;   /* monotonic us; renew after */
};

/* What a list page's reader does with one item of len bytes: 0, or
 * non-zero with err set to stop. */
typedef int (*azure_item_fn)(void *arg, json_object *item, size_t len,
    char *err, size_t errsz);

/*
 * Where a list page's 2xx body goes as it arrives: a stream parser that
 * hands each item of "value" to fn at once. A try cut short (network
 * error, 5xx) after some items went out is retried, and the items the
 * failed try already emitted are skipped, provided the new answer starts
 * with the same ids (a running hash of them); otherwise the page fails.
 */
struct azure_sink {
	struct armstream s;
	azure_item_fn	 fn;
	void		*arg;
	size_t		 emitted;       /* items emitted by all tries */
	unsigned long long emitted_hash; /* of their ids */
	unsigned long long hash;        /* of this try's ids so far */
	long long	 busy_us;       /* this try's time in fn */
	char		 err[256];      /* fn's reason when it stopped */
};

/* State of one transfer, seen by the curl callbacks. */
struct azure_xfer {
	struct buf	*body;
	int		 too_large;
	char		 retry_after[64];
	CURL		*curl;
	struct azure_sink *sink;        /* NULL: everything into body */
	long		 status;        /* known once the body starts */
	int		 sink_failed;
	long long	 start_us;
	long		 timeout_ms;
	int		 timed_out;
};

/* --- pure helpers ------------------------------------------------------- */

static int
azure_is_unreserved(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_';
}

int
azure_valid_segment(const char *s)
{
	size_t	 i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= 128 || !azure_is_unreserved((unsigned char)s[i]))
			return 0;
	/* "." and ".." are path navigation, not names. */
	return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int
azure_valid_resource_id(const char *id)
{
	size_t	 i;

	if (id == NULL || strncasecmp(id, "/subscriptions/", 15) != 0)
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		if (i >= 2048 || id[i] <= ' ' || id[i] >= 0x7f ||
		    strchr("?#%\\", id[i]) != NULL)
			return 0;
		if (id[i] == '/' && (id[i + 1] == '/' ||
		    strncmp(id + i + 1, "..", 2) == 0 ||
		    strncmp(id + i + 1, "./", 2) == 0))
			return 0;
	}
	return id[i - 1] != '/' && id[i - 1] != '.';
}

int
azure_valid_api_version(const char *v)
{
	size_t	 i;

	if (v == NULL || strlen(v) < 10 || strlen(v) > 32)
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if (!isdigit((unsigned char)v[i]) && v[i] != '-' &&
		    !islower((unsigned char)v[i]))
			return 0;
	return isdigit((unsigned char)v[0]) != 0;
}

/* Length of "scheme://authority" at the start of url, or 0. */
static size_t
azure_origin_len(const char *url)
{
	const char	*p;
	size_t		 n;

	if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return 0;
	n = strcspn(p, "/?#");
	if (n == 0)
		return 0;
	return (size_t)(p - url) + n;
}

int
azure_base_ok(const char *url, char *err, size_t errsz)
{
	const char	*host;
	size_t		 olen, i, hlen;
	int		 loop;

	if (url == NULL || *url == '\0') {
		snprintf(err, errsz, "URL is empty");
		return -1;
	}
	if ((olen = azure_origin_len(url)) == 0) {
		snprintf(err, errsz, "URL must start with https://");
		return -1;
	}
	for (i = 0; url[i] != '\0'; i++) {
		if (i >= 512 || url[i] <= ' ' || url[i] >= 0x7f ||
		    strchr("?#\\@", url[i]) != NULL) {
			snprintf(err, errsz, "URL must be a plain https:// "
			    "base URL without credentials, query or fragment");
			return -1;
		}
	}
	if (strncmp(url, "http://", 7) == 0) {
		host = url + 7;
		hlen = olen - 7;
		/* Strip a port. */
		if (host[0] == '[') {
			loop = hlen >= 5 && strncmp(host, "[::1]", 5) == 0 &&
			    (hlen == 5 || host[5] == ':');
		} else {
			for (i = 0; i < hlen && host[i] != ':'; i++)
				;
			loop = (i == 9 && strncmp(host, "127.0.0.1", 9) == 0) ||
			    (i == 9 && strncasecmp(host, "localhost", 9) == 0);
		}
		if (!loop) {
			snprintf(err, errsz, "plain http:// is only allowed to "
			    "a loopback address; use https://");
			return -1;
		}
	}
	return 0;
}

int
azure_same_origin(const char *base, const char *url)
{
	size_t	 n;

	if (base == NULL || url == NULL || (n = azure_origin_len(base)) == 0)
		return 0;
	if (azure_origin_len(url) != n || strncasecmp(base, url, n) != 0)
		return 0;
	return url[n] == '/';
}

int
azure_token_url(struct buf *b, const char *authority, const char *tenant)
{
	buf_reset(b);
	return buf_printf(b, "%s/%s/oauth2/v2.0/token", authority, tenant);
}

int
azure_list_url(struct buf *b, const char *arm, const char *sub,
    const char *type, const char *api_version)
{
	buf_reset(b);
	return buf_printf(b, "%s/subscriptions/%s/providers/%s?api-version=%s",
	    arm, sub, type, api_version);
}

int
azure_resource_url(struct buf *b, const char *arm, const char *resource_id,
    const char *suffix, const char *api_version)
{
	buf_reset(b);
	return buf_printf(b, "%s%s%s?api-version=%s", arm, resource_id,
	    suffix != NULL ? suffix : "", api_version);
}

long
azure_retry_after(const char *value, time_t now, long cap)
{
	const char	*p;
	char		*end;
	long		 secs;
	time_t		 when;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return -1;
	if (isdigit((unsigned char)*value)) {
		errno = 0;
		secs = strtol(value, &end, 10);
		for (p = end; *p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'; p++)
			;
		if (*p != '\0')
			return -1;
		if (errno == ERANGE || secs > cap)
			return cap;
		return secs;
	}
	/* An IMF-fixdate (or the obsolete forms curl also knows). */
	if ((when = curl_getdate(value, NULL)) == -1)
		return -1;
	if (when <= now)
		return 0;
	if (when - now > cap)
		return cap;
	return (long)(when - now);
}

long
azure_backoff_ms(int attempt)
{
	long	 ms = 500;

	if (attempt < 0)
		attempt = 0;
	while (attempt-- > 0 && ms < 30000)
		ms *= 2;
	return ms > 30000 ? 30000 : ms;
}

int
azure_retryable(long status)
{
	return status == 0 || status == 408 || status == 429 ||
	    (status >= 500 && status <= 599);
}

int
azure_page(json_object *page, const char *arm, json_object **value,
    const char **next, char *err, size_t errsz)
{
	json_object	*v, *nl;

	*value = NULL;
	*next = NULL;
	if (!json_object_is_type(page, json_type_object)) {
		snprintf(err, errsz, "list response is not a JSON object");
		return -1;
	}
	if (!json_object_object_get_ex(page, "value", &v) ||
	    !json_object_is_type(v, json_type_array)) {
		snprintf(err, errsz, "list response has no \"value\" array");
		return -1;
	}
	if (json_object_object_get_ex(page, "nextLink", &nl) && nl != NULL) {
		if (!json_object_is_type(nl, json_type_string)) {
			snprintf(err, errsz, "list response has a non-string "
			    "\"nextLink\"");
			return -1;
		}
		if (json_object_get_string_len(nl) > 0) {
			if (azure_next_link_ok(arm, json_object_get_string(nl),
			    err, errsz) == -1)
				return -1;
			*next = json_object_get_string(nl);
		}
	}
	*value = v;
	return 0;
}

int
azure_next_link_ok(const char *arm, const char *next, char *err,
    size_t errsz)
{
	if (strlen(next) >= AZURE_URL_MAX || !azure_same_origin(arm, next)) {
		snprintf(err, errsz, "list response has a \"nextLink\" "
		    "outside the ARM endpoint");
		return -1;
	}
	return 0;
}

int
azure_token_parse(json_object *resp, const char **token, long *expires_in,
    char *err, size_t errsz)
{
	json_object	*t, *e;
	const char	*s;
	char		*end;
	long		 n;
	size_t		 i;

	*token = NULL;
	*expires_in = 3600;
	if (!json_object_is_type(resp, json_type_object) ||
	    !json_object_object_get_ex(resp, "access_token", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    json_object_get_string_len(t) == 0) {
		snprintf(err, errsz, "token response has no access_token");
		return -1;
	}
	s = json_object_get_string(t);
	/* It goes into an HTTP header: no control characters or spaces. */
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
			snprintf(err, errsz, "token response has a malformed "
			    "access_token");
			return -1;
		}
	}
	if (json_object_object_get_ex(resp, "expires_in", &e) && e != NULL) {
		if (json_object_is_type(e, json_type_int))
			n = (long)json_object_get_int64(e);
		else if (json_object_is_type(e, json_type_string)) {
			errno = 0;
			n = strtol(json_object_get_string(e), &end, 10);
			if (errno != 0 || end == json_object_get_string(e) ||
			    *end != '\0')
				n = -1;
		} else
			n = -1;
		if (n <= 0 || n > 7 * 86400) {
			snprintf(err, errsz, "token response has a bad "
			    "expires_in");
			return -1;
		}
		*expires_in = n;
	}
	*token = s;
	return 0;
}

/* Append src to out (size outsz, NUL-terminated), printable ASCII only. */
static void
azure_clean_append(char *out, size_t outsz, const char *src)
{
	size_t	 n = strlen(out);

	for (; src != NULL && *src != '\0' && n + 1 < outsz; src++)
		out[n++] = (*src >= ' ' && *src < 0x7f) ? *src : ' ';
	out[n] = '\0';
}

void
azure_error_text(json_object *body, char *out, size_t outsz)
{
	json_object	*e, *code = NULL, *msg = NULL;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (!json_object_is_type(body, json_type_object) ||
	    !json_object_object_get_ex(body, "error", &e))
		return;
	if (json_object_is_type(e, json_type_object)) {
		/* ARM: {"error":{"code":"…","message":"…"}} */
		json_object_object_get_ex(e, "code", &code);
		json_object_object_get_ex(e, "message", &msg);
	} else if (json_object_is_type(e, json_type_string)) {
		/* Entra ID: {"error":"invalid_client","error_description":…} */
		code = e;
		json_object_object_get_ex(body, "error_description", &msg);
	}
	if (json_object_is_type(code, json_type_string))
		azure_clean_append(out, outsz, json_object_get_string(code));
	if (json_object_is_type(msg, json_type_string)) {
		if (out[0] != '\0')
			azure_clean_append(out, outsz, ": ");
		azure_clean_append(out, outsz, json_object_get_string(msg));
	}
}

/* --- HTTP --------------------------------------------------------------- */

static size_t
azure_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct azure_xfer	*x = arg;
	size_t			 n = size * nmemb;

	/* Headers are all in once the body starts: a list page's 2xx body
	 * is parsed as it comes; anything else (an error) is kept whole. */
	if (x->sink != NULL && x->status == 0)
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->sink != NULL && x->status >= 200 && x->status <= 299) {
		if (armstream_feed(&x->sink->s, data, n) == -1) {
			x->sink_failed = 1;
			return 0;       /* aborts the transfer */
		}
		return n;
	}
	if (buf_append(x->body, data, n) == -1) {
		x->too_large = 1;
		return 0;       /* aborts the transfer */
	}
	return n;
}

static size_t
azure_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct azure_xfer	*x = arg;
	size_t			 n = size * nmemb, vlen;
	const char		*v;

	/* A new status line starts a new response (e.g. after 100). */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		x->retry_after[0] = '\0';
	else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		v = data + 12;
		vlen = n - 12;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'
		    || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= sizeof(x->retry_after))
			vlen = sizeof(x->retry_after) - 1;
		memcpy(x->retry_after, v, vlen);
		x->retry_after[vlen] = '\0';
	}
	return n;
}

/* A list page's try may spend timeout_ms on the network; the time its
 * resources take to scan (in the write callback) does not count. */
static int
azure_progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct azure_xfer	*x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (vtime_mono_us() - x->start_us - x->sink->busy_us >
	    1000LL * x->timeout_ms) {
		x->timed_out = 1;
		return 1;       /* aborts the transfer */
	}
	return 0;
}

/* FNV-1a, 64 bits, over the ids of a page's items in order: enough to
 * tell whether a retried page starts as the failed try did. */
#define AZURE_HASH_INIT		0xcbf29ce484222325ULL

static unsigned long long
azure_hash(unsigned long long h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	/* A separator, so that "ab","c" and "a","bc" differ. */
	h ^= 0xff;
	return h * 0x100000001b3ULL;
}

/* armstream_item_fn of a list page: skip what an earlier try emitted,
 * pass the rest to the sink's fn, timed. */
static int
azure_sink_item(void *arg, json_object *item, size_t idx)
{
	struct azure_sink	*k = arg;
	json_object		*id;
	long long		 t0;
	int			 r;

	k->hash = azure_hash(k->hash, json_object_object_get_ex(item, "id",
	    &id) && json_object_is_type(id, json_type_string) ?
	    json_object_get_string(id) : "");
	if (idx < k->emitted) {
		if (idx + 1 == k->emitted && k->hash != k->emitted_hash) {
			snprintf(k->err, sizeof(k->err), "the list changed "
			    "between two tries of a page");
			return 1;
		}
		return 0;
	}
	t0 = vtime_mono_us();
	r = k->fn(k->arg, item, k->s.elem.len, k->err, sizeof(k->err));
	k->busy_us += vtime_mono_us() - t0;
	if (r != 0) {
		if (k->err[0] == '\0')
			snprintf(k->err, sizeof(k->err), "stopped (%d)", r);
		return r;
	}
	k->emitted = idx + 1;
	k->emitted_hash = k->hash;
	return 0;
}

static void
azure_sleep_ms(long ms)
{
	struct timespec	 ts, rem;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

/* The path of url without its query, for messages (no secrets are ever
 * in Vigil's URLs, but skiptokens are long and useless to a reader). */
static void
azure_describe(const char *method, const char *url, char *out, size_t outsz)
{
	size_t	 o = azure_origin_len(url), n;

	url += o;
	n = strcspn(url, "?");
	if (n > 200)
		n = 200;
	snprintf(out, outsz, "%s %.*s", method, (int)n, url);
}

/*
 * One HTTP exchange with retries. body (may be NULL) is sent with
 * content_type; the answer goes into resp (reset first, capped at
 * max_response) and its status into *status. With a sink, a 2xx answer
 * goes to the sink instead, as it arrives, and is complete and well
 * formed when 0 is returned. Returns 0 when a final answer arrived (any
 * status the caller must judge, retries used up or not needed), -1 with
 * err set when no usable answer came (network errors or retryable
 * statuses until the retries ran out, the response was too large, or the
 * sink refused it: malformed, or its callback stopped).
 */
static int
azure_http(struct azure *az, const char *method, const char *url,
    const char *body, const char *content_type, int with_token,
    struct buf *resp, struct azure_sink *sink, long *status, char *err,
    size_t errsz)
{
	struct curl_slist	*hdrs = NULL, *h;
	struct azure_xfer	 x;
	struct buf		 auth;
	char			 what[256], cerr[CURL_ERROR_SIZE];
	CURL			*curl;
	CURLcode		 cc;
	long			 wait_ms, ra;
	int			 attempt, rc = -1;

	azure_describe(method, url, what, sizeof(what));
	if (az->depth >= (int)NELEM(az->curls)) {
		snprintf(err, errsz, "%s: too many transfers at once", what);
		return -1;
	}
	curl = az->curls[az->depth];
	buf_init(&auth, 16 * 1024);
	if (with_token) {
		if (buf_printf(&auth, "Authorization: Bearer %s",
		    az->token) == -1 ||
		    (h = curl_slist_append(hdrs, auth.data)) == NULL)
			goto oom;
		hdrs = h;
	}
	if ((h = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
		goto oom;
	hdrs = h;
	if (content_type != NULL) {
		if ((h = curl_slist_append(hdrs, content_type)) == NULL)
			goto oom;
		hdrs = h;
	}
	/* Without this curl waits for "100 Continue" on big bodies. */
	if ((h = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto oom;
	hdrs = h;

	for (attempt = 0; ; attempt++) {
		buf_reset(resp);
		memset(&x, 0, sizeof(x));
		x.body = resp;
		x.curl = curl;
		x.sink = sink;
		x.timeout_ms = az->timeout_ms;
		x.start_us = vtime_mono_us();
		if (sink != NULL) {
			/* Each try parses its answer afresh. */
			armstream_free(&sink->s);
			armstream_init(&sink->s, AZURE_MAX_RESOURCE,
			    AZURE_MAX_DEPTH, 0, azure_sink_item, sink);
			sink->hash = AZURE_HASH_INIT;
			sink->busy_us = 0;
			sink->err[0] = '\0';
		}
		cerr[0] = '\0';
		*status = 0;
		curl_easy_reset(curl);
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "GET") == 0 ? NULL : method);
		if (body != NULL) {
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)strlen(body));
		}
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
		    azure_write_cb);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION,
		    azure_header_cb);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
		curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
		    az->connect_ms);
		if (sink == NULL) {
			curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			    az->timeout_ms);
			curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
			    (curl_off_t)az->max_response);
		} else {
			/* No cap on a page, which is never held whole, and
			 * a timeout that leaves out the time its resources
			 * take to scan. */
			curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION,
			    azure_progress_cb);
			curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
			curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		}
		curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
		curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
		    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
		curl_easy_setopt(curl, CURLOPT_USERAGENT,
		    "vigil/" VIGIL_VERSION);

		if (sink != NULL)
			az->depth++;
		cc = curl_easy_perform(curl);
		if (sink != NULL)
			az->depth--;
		if (x.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(err, errsz, "%s: response too large (over "
			    "%zu bytes)", what, az->max_response);
			goto out;
		}
		if (x.sink_failed) {
			/* Not worth another try: the page is malformed, or
			 * the resource could not be used. */
			if (sink->s.stopped && sink->err[0] != '\0')
				snprintf(err, errsz, "%s", sink->err);
			else
				snprintf(err, errsz, "%s: malformed JSON in "
				    "response (%s)", what, sink->s.err);
			goto out;
		}
		if (cc == CURLE_OK)
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE,
			    status);
		if (cc == CURLE_OK && !azure_retryable(*status)) {
			if (sink != NULL && *status >= 200 && *status <= 299 &&
			    armstream_finish(&sink->s) == -1) {
				snprintf(err, errsz, "%s: malformed JSON in "
				    "response (%s)", what, sink->s.err);
				goto out;
			}
			rc = 0;
			goto out;
		}
		if (x.timed_out)
			snprintf(err, errsz, "%s: timed out after %ld ms on the "
			    "network", what, az->timeout_ms);
		else if (cc != CURLE_OK)
			snprintf(err, errsz, "%s: %s", what, cerr[0] != '\0' ?
			    cerr : curl_easy_strerror(cc));
		else
			snprintf(err, errsz, "%s: HTTP %ld", what, *status);
		if (attempt >= az->max_retries) {
			/* A final answer with a body is the caller's to
			 * explain (e.g. ARM's error message). */
			if (cc == CURLE_OK)
				rc = 0;
			else
				azure_clean_append(err, errsz, " (gave up)");
			goto out;
		}
		wait_ms = azure_backoff_ms(attempt);
		if (cc == CURLE_OK && (*status == 429 || *status == 503) &&
		    (ra = azure_retry_after(x.retry_after[0] != '\0' ?
		    x.retry_after : NULL, time(NULL),
		    AZURE_RETRY_AFTER_CAP)) >= 0)
			wait_ms = ra * 1000;
		log_warn("azure: %s, retrying in %ld ms (%d of %d)", err,
		    wait_ms, attempt + 1, az->max_retries);
		azure_sleep_ms(wait_ms);
	}
oom:
	snprintf(err, errsz, "%s: out of memory", what);
out:
	curl_slist_free_all(hdrs);
	if (auth.data != NULL)
		crypto_wipe(auth.data, auth.len);
	buf_free(&auth);
	return rc;
}

/* Parse a response; a new object the caller puts, or NULL with err set. */
static json_object *
azure_parse(struct azure *az, const char *what, const struct buf *resp,
    char *err, size_t errsz)
{
	struct vjson_err	 verr;
	json_object		*obj;

	obj = vjson_parse(resp->data != NULL ? resp->data : "", resp->len,
	    AZURE_MAX_DEPTH, az->max_response, &verr);
	if (obj == NULL)
		snprintf(err, errsz, "%s: malformed JSON in response (%s)",
		    what, verr.message);
	return obj;
}

/* Make sure az->token is valid for a while; 0 or -1 with err set. */
static int
azure_token(struct azure *az, char *err, size_t errsz)
{
	struct buf	 url, form, resp;
	json_object	*obj = NULL;
	const char	*tok;
	char		*e, etext[256];
	const char	*fields[4][2];
	long		 status, expires;
	size_t		 i;
	int		 rc = -1;

	if (az->token != NULL && vtime_mono_us() < az->token_until)
		return 0;
	if (az->token != NULL) {
		crypto_wipe(az->token, strlen(az->token));
		free(az->token);
		az->token = NULL;
	}
	buf_init(&url, AZURE_URL_MAX);
	buf_init(&form, 16 * 1024);
	buf_init(&resp, AZURE_TOKEN_MAX);
	fields[0][0] = "grant_type";
	fields[0][1] = "client_credentials";
	fields[1][0] = "client_id";
	fields[1][1] = az->client_id;
	fields[2][0] = "client_secret";
	fields[2][1] = az->client_secret;
	fields[3][0] = "scope";
	fields[3][1] = NULL;    /* {arm}/.default, built below */
	if (azure_token_url(&url, az->authority, az->tenant_id) == -1)
		goto oom;
	for (i = 0; i < NELEM(fields); i++) {
		if (i == 3) {
			struct buf	 scope;

			buf_init(&scope, AZURE_URL_MAX);
			if (buf_printf(&scope, "%s/.default", az->arm) == -1) {
				buf_free(&scope);
				goto oom;
			}
			e = curl_easy_escape(az->curls[0], scope.data, 0);
			buf_free(&scope);
		} else
			e = curl_easy_escape(az->curls[0], fields[i][1], 0);
		if (e == NULL)
			goto oom;
		if (buf_printf(&form, "%s%s=%s", i > 0 ? "&" : "",
		    fields[i][0], e) == -1) {
			crypto_wipe(e, strlen(e));
			curl_free(e);
			goto oom;
		}
		crypto_wipe(e, strlen(e));
		curl_free(e);
	}
	az->no_answer = 1;
	if (azure_http(az, "POST", url.data, form.data,
	    "Content-Type: application/x-www-form-urlencoded", 0, &resp,
	    NULL, &status, err, errsz) == -1)
		goto out;
	/* Throttled or failing: the authority did not judge the
	 * credentials. */
	az->no_answer = status == 429 || status >= 500;
	obj = vjson_parse(resp.data != NULL ? resp.data : "", resp.len,
	    AZURE_MAX_DEPTH, AZURE_TOKEN_MAX, NULL);
	if (status != 200) {
		azure_error_text(obj, etext, sizeof(etext));
		snprintf(err, errsz, "token request to %s failed: HTTP %ld%s%s",
		    az->authority, status, etext[0] != '\0' ? ": " : "", etext);
		goto out;
	}
	if (obj == NULL) {
		snprintf(err, errsz, "token request: malformed JSON in "
		    "response");
		goto out;
	}
	if (azure_token_parse(obj, &tok, &expires, err, errsz) == -1)
		goto out;
	if ((az->token = strdup(tok)) == NULL)
		goto oom;
	/* Renew well before expiry; short-lived tokens at half-life. */
	az->token_until = vtime_mono_us() + 1000000LL *
	    (expires > 2 * AZURE_TOKEN_MARGIN ? expires - AZURE_TOKEN_MARGIN :
	    expires / 2);
	rc = 0;
	goto out;
oom:
	snprintf(err, errsz, "token request: out of memory");
out:
	json_object_put(obj);
	if (form.data != NULL)
		crypto_wipe(form.data, form.len);
	if (resp.data != NULL)
		crypto_wipe(resp.data, resp.len);
	buf_free(&url);
	buf_free(&form);
	buf_free(&resp);
	return rc;
}

/* A non-2xx answer to a GET: 1 when ARM says the resource provider is not
 * registered in the subscription (there are then no such resources), -1
 * otherwise with err naming the status and ARM's reason. */
static int
azure_get_error(struct azure *az, const char *what, const struct buf *resp,
    long status, char *err, size_t errsz)
{
	json_object	*obj, *e, *code;
	char		 etext[256];
	int		 rc = -1;

	obj = vjson_parse(resp->data != NULL ? resp->data : "", resp->len,
	    AZURE_MAX_DEPTH, az->max_response, NULL);
	if (json_object_object_get_ex(obj, "error", &e) &&
	    json_object_object_get_ex(e, "code", &code) &&
	    json_object_is_type(code, json_type_string) &&
	    strcmp(json_object_get_string(code),
	    "MissingSubscriptionRegistration") == 0) {
		log_info("azure: %s: provider not registered, no resources",
		    what);
		rc = 1;
		goto out;
	}
	azure_error_text(obj, etext, sizeof(etext));
	snprintf(err, errsz, "%s: HTTP %ld%s%s", what, status,
	    etext[0] != '\0' ? ": " : "", etext);
out:
	json_object_put(obj);
	return rc;
}

/*
 * GET url as JSON into *out (caller puts). 0 on 2xx; 1 when ARM says the
 * resource provider is not registered in the subscription (there are
 * then no such resources: an empty answer, *out NULL); -1 with err set.
 */
static int
azure_get_json(struct azure *az, const char *url, json_object **out,
    char *err, size_t errsz)
{
	struct buf	 resp;
	json_object	*obj;
	char		 what[256];
	long		 status;
	int		 rc = -1;

	*out = NULL;
	azure_describe("GET", url, what, sizeof(what));
	buf_init(&resp, az->max_response);
	if (azure_token(az, err, errsz) == -1)
		goto out;
	if (azure_http(az, "GET", url, NULL, NULL, 1, &resp, NULL, &status,
	    err, errsz) == -1)
		goto out;
	if (status < 200 || status > 299) {
		rc = azure_get_error(az, what, &resp, status, err, errsz);
		goto out;
	}
	if ((obj = azure_parse(az, what, &resp, err, errsz)) == NULL)
		goto out;
	*out = obj;
	rc = 0;
out:
	buf_free(&resp);
	return rc;
}

/*
 * GET the list page at url as a stream: fn(arg, item, len, err, errsz)
 * for each item of its "value" as soon as the item is in (len: its bytes;
 * non-zero stops, with err set), and *next a new copy of its nextLink
 * (caller frees), NULL on the last page. 0; 1 when the provider is not
 * registered (no items); -1 with err set, possibly after items went out.
 */
static int
azure_get_page(struct azure *az, const char *url, azure_item_fn fn,
    void *arg, char **next, char *err, size_t errsz)
{
	struct azure_sink	 sink;
	struct buf		 resp;
	char			 what[256];
	long			 status;
	int			 rc = -1;

	*next = NULL;
	memset(&sink, 0, sizeof(sink));
	armstream_init(&sink.s, AZURE_MAX_RESOURCE, AZURE_MAX_DEPTH, 0, NULL,
	    NULL);
	sink.fn = fn;
	sink.arg = arg;
	azure_describe("GET", url, what, sizeof(what));
	buf_init(&resp, az->max_response);
	if (azure_token(az, err, errsz) == -1)
		goto out;
	if (azure_http(az, "GET", url, NULL, NULL, 1, &resp, &sink, &status,
	    err, errsz) == -1)
		goto out;
	if (status < 200 || status > 299) {
		rc = azure_get_error(az, what, &resp, status, err, errsz);
		goto out;
	}
	/* A retried page that ends before what an earlier try emitted. */
	if (sink.s.items < sink.emitted) {
		snprintf(err, errsz, "%s: the list changed between two tries "
		    "of a page", what);
		goto out;
	}
	if (!sink.s.has_value) {
		snprintf(err, errsz, "%s: list response has no \"value\" "
		    "array", what);
		goto out;
	}
	if (sink.s.next_link != NULL) {
		if (azure_next_link_ok(az->arm, sink.s.next_link, err,
		    errsz) == -1)
			goto out;
		*next = sink.s.next_link;
		sink.s.next_link = NULL;
	}
	rc = 0;
out:
	armstream_free(&sink.s);
	buf_free(&resp);
	return rc;
}

/* A child list being read into one array, capped in total. */
struct azure_children {
	json_object	*all;
	size_t		 bytes;
};

static int
azure_child_item(void *arg, json_object *item, size_t len, char *err,
    size_t errsz)
{
	struct azure_children	*ch = arg;

	/* Embedded into one resource: the resource's cap holds for all. */
	if (len > AZURE_MAX_RESOURCE - ch->bytes) {
		snprintf(err, errsz, "a child list larger than %zu bytes",
		    AZURE_MAX_RESOURCE);
		return 1;
	}
	ch->bytes += len;
	if (json_object_array_add(ch->all, json_object_get(item)) != 0) {
		json_object_put(item);
		snprintf(err, errsz, "out of memory");
		return 1;
	}
	return 0;
}

/* Every item of a (possibly paged) child list into a new array *out the
 * caller puts; 0 or -1 with err set. */
static int
azure_get_list(struct azure *az, const char *url, json_object **out,
    char *err, size_t errsz)
{
	struct azure_children	 ch = { NULL, 0 };
	struct buf		 next;
	char			*nl = NULL;
	size_t			 pages = 0;
	int			 rc = -1, r;

	buf_init(&next, AZURE_URL_MAX);
	if ((ch.all = json_object_new_array()) == NULL ||
	    buf_puts(&next, url) == -1) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (;;) {
		if ((r = azure_get_page(az, next.data, azure_child_item, &ch,
		    &nl, err, errsz)) == -1)
			goto out;
		if (r == 1 || nl == NULL)
			break;
		if (++pages >= AZURE_MAX_PAGES || strcmp(nl, next.data) == 0) {
			snprintf(err, errsz, "list does not end (nextLink "
			    "loop)");
			goto out;
		}
		buf_reset(&next);
		if (buf_puts(&next, nl) == -1) {
			snprintf(err, errsz, "nextLink too long");
			goto out;
		}
		free(nl);
		nl = NULL;
	}
	*out = ch.all;
	ch.all = NULL;
	rc = 0;
out:
	free(nl);
	json_object_put(ch.all);
	buf_free(&next);
	return rc;
}

/* The resource's "properties" object, created if absent; NULL if it is
 * there but not an object, or out of memory. Borrowed from res. */
static json_object *
azure_properties(json_object *res)
{
	json_object	*p;

	if (json_object_object_get_ex(res, "properties", &p))
		return json_object_is_type(p, json_type_object) ? p : NULL;
	if ((p = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(res, "properties", p) != 0) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

/* Fetch the children Vigil's rules read and embed them into res. */
static int
azure_embed(struct azure *az, json_object *res, enum azure_embed kind,
    const char *api, char *err, size_t errsz)
{
	struct buf	 url;
	json_object	*idobj, *props, *child = NULL, *cp;
	const char	*id;
	int		 rc = -1, r;

	buf_init(&url, AZURE_URL_MAX);
	if (!json_object_object_get_ex(res, "id", &idobj) ||
	    !azure_valid_resource_id(id = json_object_get_string(idobj))) {
		snprintf(err, errsz, "resource with a missing or malformed id");
		goto out;
	}
	if ((props = azure_properties(res)) == NULL) {
		snprintf(err, errsz, "%.200s: \"properties\" is not an "
		    "object", id);
		goto out;
	}
	if (kind == AZURE_EMBED_SQL) {
		if (azure_resource_url(&url, az->arm, id, "/firewallRules",
		    api) == -1)
			goto toolong;
		if (azure_get_list(az, url.data, &child, err, errsz) == -1)
			goto out;
		json_object_object_add(props, "firewallRules", child);
		child = NULL;
		if (azure_resource_url(&url, az->arm, id,
		    "/auditingSettings/default", api) == -1)
			goto toolong;
	} else if (azure_resource_url(&url, az->arm, id, "/config/web",
	    api) == -1)
		goto toolong;
	if ((r = azure_get_json(az, url.data, &child, err, errsz)) == -1)
		goto out;
	if (r == 0 && (!json_object_object_get_ex(child, "properties", &cp) ||
	    !json_object_is_type(cp, json_type_object))) {
		snprintf(err, errsz, "%.200s: child resource has no "
		    "properties", id);
		goto out;
	}
	if (r == 0)
		json_object_object_add(props, kind == AZURE_EMBED_SQL ?
		    "auditingSettings" : "siteConfig", json_object_get(cp));
	rc = 0;
	goto out;
toolong:
	snprintf(err, errsz, "%.200s: resource id too long", id);
out:
	json_object_put(child);
	buf_free(&url);
	return rc;
}

/* One type in one subscription being listed. */
struct azure_lister {
	struct azure		*az;
	const char		*sub;
	const struct azure_api	*api;
	enum azure_embed	 kind;
	connector_emit		 emit;
	void			*arg;
	size_t			*count;
};

/* azure_item_fn: check one resource of a list page, complete it and
 * emit it, while the rest of the page is still arriving. */
static int
azure_resource_item(void *arg, json_object *res, size_t len, char *err,
    size_t errsz)
{
	struct azure_lister	*l = arg;
	json_object		*idobj, *s;
	int			 r;

	(void)len;
	if (!json_object_is_type(res, json_type_object) ||
	    !json_object_object_get_ex(res, "id", &idobj) ||
	    !json_object_is_type(idobj, json_type_string)) {
		snprintf(err, errsz, "%s in %s: an item without an id",
		    l->api->type, l->sub);
		return 1;
	}
	if (!json_object_object_get_ex(res, "subscriptionId", NULL)) {
		if ((s = json_object_new_string(l->sub)) == NULL ||
		    json_object_object_add(res, "subscriptionId", s) != 0) {
			json_object_put(s);
			snprintf(err, errsz, "out of memory");
			return 1;
		}
	}
	if (l->kind != AZURE_EMBED_NONE && azure_embed(l->az, res, l->kind,
	    l->api->api_version, err, errsz) == -1)
		return 1;
	if ((r = l->emit(l->arg, res)) != 0) {
		snprintf(err, errsz, "collection stopped by the caller (%d)",
		    r);
		return 1;
	}
	(*l->count)++;
	return 0;
}

/* List one type in one subscription, emitting each resource as its page
 * arrives. */
static int
azure_collect_type(struct azure *az, const char *sub,
    const struct azure_api *api, connector_emit emit, void *arg,
    size_t *count, char *err, size_t errsz)
{
	struct azure_lister	 l = { az, sub, api, AZURE_EMBED_NONE, emit,
				    arg, count };
	struct buf		 url;
	char			*nl = NULL;
	size_t			 pages = 0;
	int			 rc = -1, r;

	if (strcmp(api->type, "Microsoft.Sql/servers") == 0)
		l.kind = AZURE_EMBED_SQL;
	else if (strcmp(api->type, "Microsoft.Web/sites") == 0)
		l.kind = AZURE_EMBED_WEB;
	buf_init(&url, AZURE_URL_MAX);
	if (azure_list_url(&url, az->arm, sub, api->type,
	    api->api_version) == -1) {
		snprintf(err, errsz, "URL too long");
		goto out;
	}
	for (;;) {
		if ((r = azure_get_page(az, url.data, azure_resource_item, &l,
		    &nl, err, errsz)) == -1)
			goto out;
		if (r == 1 || nl == NULL)
			break;
		if (++pages >= AZURE_MAX_PAGES || strcmp(nl, url.data) == 0) {
			snprintf(err, errsz, "%s in %s: list does not end "
			    "(nextLink loop)", api->type, sub);
			goto out;
		}
		buf_reset(&url);
		if (buf_puts(&url, nl) == -1) {
			snprintf(err, errsz, "nextLink too long");
			goto out;
		}
		free(nl);
		nl = NULL;
	}
	rc = 0;
out:
	free(nl);
	buf_free(&url);
	return rc;
}

/* --- the connector ------------------------------------------------------ */

static int
azure_collect(struct connector *c, connector_emit emit, void *arg,
    char *err, size_t errsz)
{
	struct azure	*az = c->priv;
	size_t		 s, t, count = 0;

	for (s = 0; s < az->nsubs; s++) {
		for (t = 0; t < azure_napis; t++) {
			if (azure_collect_type(az, az->subs[s], &azure_apis[t],
			    emit, arg, &count, err, errsz) == -1) {
				log_warn("azure: collection failed after %zu "
				    "resources: %s", count, err);
				return -1;
			}
		}
		log_info("azure: subscription %s read (%zu resources so far)",
		    az->subs[s], count);
	}
	return 0;
}

/* After is a new object (caller puts). */
static int
azure_patch(struct connector *c, const char *resource_id,
    const char *api_version, json_object *body, json_object **after,
    char *err, size_t errsz)
{
	struct azure	*az = c->priv;
	struct buf	 url, resp;
	json_object	*obj = NULL;
	const char	*text;
	char		 what[256], etext[256];
	long		 status;
	int		 rc = -1;

	*after = NULL;
	buf_init(&url, AZURE_URL_MAX);
	buf_init(&resp, az->max_response);
	if (!azure_valid_resource_id(resource_id)) {
		snprintf(err, errsz, "malformed resource id");
		goto out;
	}
	if (!azure_valid_api_version(api_version)) {
		snprintf(err, errsz, "malformed api-version");
		goto out;
	}
	if (!json_object_is_type(body, json_type_object)) {
		snprintf(err, errsz, "the PATCH body must be a JSON object");
		goto out;
	}
	if (azure_resource_url(&url, az->arm, resource_id, NULL,
	    api_version) == -1) {
		snprintf(err, errsz, "resource id too long");
		goto out;
	}
	azure_describe("PATCH", url.data, what, sizeof(what));
	if ((text = vjson_str(body, NULL)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	if (azure_token(az, err, errsz) == -1)
		goto out;
	if (azure_http(az, "PATCH", url.data, text,
	    "Content-Type: application/json", 1, &resp, NULL, &status, err,
	    errsz) == -1)
		goto out;
	if (status < 200 || status > 299) {
		obj = vjson_parse(resp.data != NULL ? resp.data : "", resp.len,
		    AZURE_MAX_DEPTH, az->max_response, NULL);
		azure_error_text(obj, etext, sizeof(etext));
		snprintf(err, errsz, "%s: HTTP %ld%s%s", what, status,
		    etext[0] != '\0' ? ": " : "", etext);
		goto out;
	}
	/* Read it back: what ARM now holds is what the scan records. */
	if (azure_get_json(az, url.data, &obj, err, errsz) != 0) {
		if (obj == NULL && err[0] == '\0')
			snprintf(err, errsz, "%s: not found after PATCH", what);
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errsz, "%s: read back a non-object", what);
		goto out;
	}
	*after = obj;
	obj = NULL;
	rc = 0;
out:
	json_object_put(obj);
	buf_free(&url);
	buf_free(&resp);
	return rc;
}

static void
azure_free_priv(struct azure *az)
{
	size_t	 i;

	if (az == NULL)
		return;
	for (i = 0; i < NELEM(az->curls); i++)
		if (az->curls[i] != NULL)
			curl_easy_cleanup(az->curls[i]);
	if (az->token != NULL) {
		crypto_wipe(az->token, strlen(az->token));
		free(az->token);
	}
	if (az->client_secret != NULL) {
		crypto_wipe(az->client_secret, strlen(az->client_secret));
		free(az->client_secret);
	}
	free(az->tenant_id);
	free(az->client_id);
	for (i = 0; i < az->nsubs; i++)
		free(az->subs[i]);
	free(az->subs);
	free(az->authority);
	free(az->arm);
	free(az);
}

static void
azure_free(struct connector *c)
{
	if (c == NULL)
		return;
	azure_free_priv(c->priv);
	free(c);
}

/* A copy of url without trailing slashes; NULL if out of memory. */
static char *
azure_base_dup(const char *url)
{
	char	*s;
	size_t	 n;

	if ((s = strdup(url)) == NULL)
		return NULL;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* Validate cfg; 0 or -1 with err set (names the field, never a value
 * that could be secret). */
static int
azure_config_ok(const struct azure_config *cfg, char *err, size_t errsz)
{
	char	 e[160];
	size_t	 i;

	if (cfg == NULL) {
		snprintf(err, errsz, "no configuration");
		return -1;
	}
	if (!azure_valid_segment(cfg->tenant_id)) {
		snprintf(err, errsz, "tenant_id must be a directory id or "
		    "domain ([A-Za-z0-9.-_], at most 128 characters)");
		return -1;
	}
	if (cfg->client_id == NULL || *cfg->client_id == '\0' ||
	    strlen(cfg->client_id) > 256) {
		snprintf(err, errsz, "client_id is missing or too long");
		return -1;
	}
	if (cfg->client_secret == NULL || *cfg->client_secret == '\0' ||
	    strlen(cfg->client_secret) > 1024) {
		snprintf(err, errsz, "client_secret is missing or too long");
		return -1;
	}
	if (cfg->nsubscriptions == 0 || cfg->subscription_ids == NULL ||
	    cfg->nsubscriptions > 1000) {
		snprintf(err, errsz, "subscription_ids must list 1 to 1000 "
		    "subscriptions");
		return -1;
	}
	for (i = 0; i < cfg->nsubscriptions; i++) {
		if (!azure_valid_segment(cfg->subscription_ids[i])) {
			snprintf(err, errsz, "subscription_ids[%zu] is not a "
			    "subscription id", i);
			return -1;
		}
	}
	if (cfg->authority_url != NULL && *cfg->authority_url != '\0' &&
	    azure_base_ok(cfg->authority_url, e, sizeof(e)) == -1) {
		snprintf(err, errsz, "authority URL: %s", e);
		return -1;
	}
	if (cfg->arm_url != NULL && *cfg->arm_url != '\0' &&
	    azure_base_ok(cfg->arm_url, e, sizeof(e)) == -1) {
		snprintf(err, errsz, "ARM URL: %s", e);
		return -1;
	}
	return 0;
}

/* New private state with owned copies of cfg (checked first); NULL with
 * err set. */
static struct azure *
azure_new_priv(const struct azure_config *cfg, char *err, size_t errsz)
{
	struct azure	*az = NULL;
	size_t		 i;

	if (azure_config_ok(cfg, err, errsz) == -1)
		return NULL;
	if ((az = calloc(1, sizeof(*az))) == NULL)
		goto oom;
	if ((az->tenant_id = strdup(cfg->tenant_id)) == NULL ||
	    (az->client_id = strdup(cfg->client_id)) == NULL ||
	    (az->client_secret = strdup(cfg->client_secret)) == NULL ||
	    (az->authority = azure_base_dup(cfg->authority_url != NULL &&
	    *cfg->authority_url != '\0' ? cfg->authority_url :
	    AZURE_DEFAULT_AUTHORITY)) == NULL ||
	    (az->arm = azure_base_dup(cfg->arm_url != NULL &&
	    *cfg->arm_url != '\0' ? cfg->arm_url : AZURE_DEFAULT_ARM)) == NULL)
		goto oom;
	if ((az->subs = calloc(cfg->nsubscriptions, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < cfg->nsubscriptions; i++) {
		if ((az->subs[i] = strdup(cfg->subscription_ids[i])) == NULL)
			goto oom;
		az->nsubs++;
	}
	az->timeout_ms = 1000L * (cfg->timeout_secs > 0 ? cfg->timeout_secs :
	    AZURE_DEFAULT_TIMEOUT);
	az->connect_ms = az->timeout_ms < 10000 ? az->timeout_ms : 10000;
	az->max_response = cfg->max_response > 0 ? cfg->max_response :
	    AZURE_DEFAULT_MAX;
	az->max_retries = cfg->max_retries > 0 ? cfg->max_retries :
	    AZURE_DEFAULT_RETRIES;
	if (az->max_retries > AZURE_MAX_RETRIES)
		az->max_retries = AZURE_MAX_RETRIES;
	for (i = 0; i < NELEM(az->curls); i++)
		if ((az->curls[i] = curl_easy_init()) == NULL)
			goto oom;
	return az;
oom:
	snprintf(err, errsz, "out of memory");
	azure_free_priv(az);
	return NULL;
}

/* A new connector (caller calls ->free), or NULL if out of memory or cfg
 * is invalid (the reason is logged). */
struct connector *
connector_azure_new(const struct azure_config *cfg)
{
	struct connector	*c;
	struct azure		*az;
	char			 err[256];

	if ((az = azure_new_priv(cfg, err, sizeof(err))) == NULL) {
		log_err("azure: %s", err);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		azure_free_priv(az);
		return NULL;
	}
	c->type = "azure";
	c->collect = azure_collect;
	c->patch = azure_patch;
	c->free = azure_free;
	c->priv = az;
	return c;
}

int
connector_azure_check(const struct azure_config *cfg, char *err,
    size_t errsz)
{
	struct azure	*az;
	int		 rc;

	if ((az = azure_new_priv(cfg, err, errsz)) == NULL)
		return -1;
	/* One try within a bound that a web server's worker can afford,
	 * whatever the scanner's timeouts and retries. */
	az->max_retries = 0;
	az->timeout_ms = AZURE_CHECK_TOTAL_MS;
	az->connect_ms = AZURE_CHECK_CONNECT_MS;
	if ((rc = azure_token(az, err, errsz)) != 0 && az->no_answer)
		rc = -2;
	azure_free_priv(az);
	return rc;
}
