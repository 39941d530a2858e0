/* observable.h: the values alerts carry (addresses, domains, hashes, …),
 * each type with its one normalised form, so that one value is one row per
 * tenant however a sender wrote it. Pure: no database. */
#ifndef VIGIL_OBSERVABLE_H
#define VIGIL_OBSERVABLE_H

#include <stddef.h>

/* The longest normalised value kept (bytes), and room for one with its
 * NUL. */
#define OBSERVABLE_VALUE_MAX 2048
#define OBSERVABLE_VALUE_LEN (OBSERVABLE_VALUE_MAX + 1)

enum observable_type {
	OBSERVABLE_IP = 0,
	OBSERVABLE_DOMAIN,
	OBSERVABLE_URL,
	OBSERVABLE_HASH,
	OBSERVABLE_EMAIL,
	OBSERVABLE_HOSTNAME,
	OBSERVABLE_USER,
	OBSERVABLE_FILE,
	OBSERVABLE_NTYPES
};

/* Why a value was refused. */
enum observable_err {
	OBSERVABLE_OK = 0,
	OBSERVABLE_EMPTY,        /* nothing but spaces */
	OBSERVABLE_TOO_LONG,     /* longer than OBSERVABLE_VALUE_MAX */
	OBSERVABLE_BAD_TEXT,     /* not UTF-8, or a control character */
	OBSERVABLE_BAD_IP,
	OBSERVABLE_BAD_DOMAIN,   /* also a hostname's, an e-mail's domain */
	OBSERVABLE_BAD_URL,
	OBSERVABLE_BAD_HASH,
	OBSERVABLE_BAD_EMAIL,
};

/* The type named s ("ip", "domain", …): 1 with *t set, or 0. */
int	 observable_type_parse(const char *s, enum observable_type *t);
/* The type's name as the API writes it. */
const char *observable_type_name(enum observable_type t);
/* A sentence saying why a value was refused, for a 400's message. */
const char *observable_err_text(enum observable_err e);

/*
 * The normalised form of value v[0..len) of type t into out (outsz, at
 * least OBSERVABLE_VALUE_LEN), NUL-terminated, its length in *outlen.
 * Every type: leading and trailing spaces and tabs dropped, valid UTF-8
 * without control characters, at most OBSERVABLE_VALUE_MAX bytes.
 *   ip        an address alone, written as inet_ntop writes it; an
 *             IPv4-mapped IPv6 address as the IPv4 one
 *   domain,   ASCII letters, digits, '-' and '_' in dot-separated labels
 *   hostname  of 1-63 bytes, at most 253 in all, lower-cased, without the
 *             trailing dot (an internationalised name in its xn-- form)
 *   url       scheme://host…: scheme and host lower-cased, the host's
 *             trailing dot and the scheme's default port dropped, the
 *             rest as sent (parsed by libcurl)
 *   hash      32, 40, 64 or 128 hex digits (MD5, SHA-1, SHA-256,
 *             SHA-512: told apart by length), lower-cased
 *   email     local@domain, lower-cased as a whole, the domain as above
 *   user,     as sent
 *   file
 */
enum observable_err observable_normalise(enum observable_type t,
	    const char *v, size_t len, char *out, size_t outsz,
	    size_t *outlen);

/* For a normalised hash: "md5", "sha1", "sha256" or "sha512"; NULL for
 * another length. */
const char *observable_hash_kind(const char *norm, size_t len);

/* The key a normalised value is stored under: lowercase hex SHA-256 of
 * its bytes into hex[65]. */
void	 observable_value_hash(const char *norm, size_t len, char hex[65]);

#endif
