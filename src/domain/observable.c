/* observable.c: observable types and their normalised forms. */
#include "vigil.h"

#include <string.h>

#include <curl/curl.h>

#include "cidr.h"
#include "crypto.h"
#include "observable.h"
#include "text.h"
#include "vjson.h"

static const char *const observable_names[OBSERVABLE_NTYPES] = {
	"ip", "domain", "url", "hash", "email", "hostname", "user", "file",
};

int
observable_type_parse(const char *s, enum observable_type *t)
{
	int i;

	if (s == NULL)
		return 0;
	for (i = 0; i < OBSERVABLE_NTYPES; i++)
		if (strcmp(s, observable_names[i]) == 0) {
			*t = (enum observable_type)i;
			return 1;
		}
	return 0;
}

const char *
observable_type_name(enum observable_type t)
{
	if ((int)t < 0 || t >= OBSERVABLE_NTYPES)
		return "?";
	return observable_names[t];
}

const char *
observable_err_text(enum observable_err e)
{
	switch (e) {
	case OBSERVABLE_OK:
		return "valid";
	case OBSERVABLE_EMPTY:
		return "is empty";
	case OBSERVABLE_TOO_LONG:
		return "is longer than 2048 bytes";
	case OBSERVABLE_BAD_TEXT:
		return "is not UTF-8 text without control characters";
	case OBSERVABLE_BAD_IP:
		return "is not an IPv4 or IPv6 address (without a prefix)";
	case OBSERVABLE_BAD_DOMAIN:
		return "is not a domain name (ASCII labels of letters, digits, "
		    "'-' and '_'; an internationalised name in its xn-- form)";
	case OBSERVABLE_BAD_URL:
		return "is not an absolute URL (scheme://host/…)";
	case OBSERVABLE_BAD_HASH:
		return "is not an MD5, SHA-1, SHA-256 or SHA-512 hex digest";
	case OBSERVABLE_BAD_EMAIL:
		return "is not an e-mail address (local@domain)";
	}
	return "is not valid";
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s[0..len) lower-cased as a domain into out (the trailing dot dropped);
 * its length, or 0 if it is not one. out has at least len + 1 bytes. */
static size_t
observable_domain(const char *s, size_t len, char *out)
{
	size_t	 i, label = 0;
	char	 c;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		c = lower(s[i]);
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else
			return 0;
		out[i] = c;
	}
	if (label == 0)
		return 0;
	out[len] = '\0';
	return len;
}

static enum observable_err
observable_url(const char *s, char *out, size_t outsz, size_t *outlen)
{
	CURLU			*u = NULL;
	char			*host = NULL, *url = NULL;
	char			 dom[256];
	size_t			 hlen, n;
	enum observable_err	 e = OBSERVABLE_BAD_URL;

	if ((u = curl_url()) == NULL)
		goto out;
	/* No guessed scheme: "example.com/x" is a domain and a path, not a
	 * URL. Any scheme, since senders defang (hxxp://). */
	if (curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host == NULL || *host == '\0')
		goto out;
	hlen = strlen(host);
	/* An IPv6 literal ("[::1]") is kept as curl writes it. */
	if (host[0] != '[') {
		if (hlen >= sizeof(dom) ||
		    observable_domain(host, hlen, dom) == 0)
			goto out;
		if (curl_url_set(u, CURLUPART_HOST, dom, 0) != CURLUE_OK)
			goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT) !=
	    CURLUE_OK || url == NULL)
		goto out;
	n = strlen(url);
	if (n > OBSERVABLE_VALUE_MAX || n >= outsz) {
		e = OBSERVABLE_TOO_LONG;
		goto out;
	}
	memcpy(out, url, n + 1);
	*outlen = n;
	e = OBSERVABLE_OK;
out:
	curl_free(url);
	curl_free(host);
	curl_url_cleanup(u);
	return e;
}

enum observable_err
observable_normalise(enum observable_type t, const char *v, size_t len,
    char *out, size_t outsz, size_t *outlen)
{
	char	 buf[OBSERVABLE_VALUE_LEN];
	size_t	 i, n, at;

	*outlen = 0;
	if (outsz < OBSERVABLE_VALUE_LEN)
		return OBSERVABLE_TOO_LONG;
	out[0] = '\0';
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return OBSERVABLE_EMPTY;
	if (len > OBSERVABLE_VALUE_MAX)
		return OBSERVABLE_TOO_LONG;
	if (!vjson_utf8_valid(v, len) || text_control(v, len, 0) != len ||
	    memchr(v, '\0', len) != NULL)
		return OBSERVABLE_BAD_TEXT;
	memcpy(buf, v, len);
	buf[len] = '\0';

	switch (t) {
	case OBSERVABLE_IP:
		if (!cidr_addr_canon(buf, len, out, outsz))
			return OBSERVABLE_BAD_IP;
		*outlen = strlen(out);
		return OBSERVABLE_OK;
	case OBSERVABLE_DOMAIN:
	case OBSERVABLE_HOSTNAME:
		if ((n = observable_domain(buf, len, out)) == 0)
			return OBSERVABLE_BAD_DOMAIN;
		*outlen = n;
		return OBSERVABLE_OK;
	case OBSERVABLE_URL:
		return observable_url(buf, out, outsz, outlen);
	case OBSERVABLE_HASH:
		if (len != 32 && len != 40 && len != 64 && len != 128)
			return OBSERVABLE_BAD_HASH;
		for (i = 0; i < len; i++) {
			if (crypto_hexval((unsigned char)buf[i]) < 0)
				return OBSERVABLE_BAD_HASH;
			out[i] = lower(buf[i]);
		}
		out[len] = '\0';
		*outlen = len;
		return OBSERVABLE_OK;
	case OBSERVABLE_EMAIL:
		/* The last '@': a quoted local part may hold one. */
		for (at = len; at > 0 && buf[at - 1] != '@'; at--)
			;
		if (at-- == 0)
			return OBSERVABLE_BAD_EMAIL;
		if (at == 0 || at > 64 || memchr(buf, ' ', len) != NULL)
			return OBSERVABLE_BAD_EMAIL;
		for (i = 0; i < at; i++)
			out[i] = lower(buf[i]);
		out[at] = '@';
		if ((n = observable_domain(buf + at + 1, len - at - 1,
		    out + at + 1)) == 0)
			return OBSERVABLE_BAD_EMAIL;
		*outlen = at + 1 + n;
		return OBSERVABLE_OK;
	case OBSERVABLE_USER:
	case OBSERVABLE_FILE:
		memcpy(out, buf, len + 1);
		*outlen = len;
		return OBSERVABLE_OK;
	case OBSERVABLE_NTYPES:
		break;
	}
	return OBSERVABLE_BAD_TEXT;
}

const char *
observable_hash_kind(const char *norm, size_t len)
{
	(void)norm;
	switch (len) {
	case 32:
		return "md5";
	case 40:
		return "sha1";
	case 64:
		return "sha256";
	case 128:
		return "sha512";
	}
	return NULL;
}

void
observable_value_hash(const char *norm, size_t len, char hex[65])
{
	crypto_sha256_hex(norm, len, hex);
}
