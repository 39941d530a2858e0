/* cidr.h: address prefixes, and which address a request comes from.
 * Pure: no I/O. */
#ifndef VIGIL_CIDR_H
#define VIGIL_CIDR_H

#include <stddef.h>
#include <netinet/in.h>

#define CIDR_TEXT_MAX 64   /* longest "address/prefix" accepted */
/* Room for cidr_canon's text: the longest address inet_ntop writes, "/128"
 * and the NUL. */
#define CIDR_CANON_LEN (INET6_ADDRSTRLEN + 5)

/* An address prefix; an address alone is a /32 or /128. */
struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	unsigned	 bits;
};

/* Parse "a.b.c.d[/n]" or "x::y[/n]" (len bytes of s; n of 1 to 3 digits,
 * at most the address's length); 1 or 0. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, with a prefix of at least 96) is read as the IPv4
 * one, so that a dual-stack listener's clients match IPv4 ranges. */
int	 cidr_parse(const char *s, size_t len, struct cidr *c);

/* Why cidr_canon refused an entry. */
enum cidr_canon_err {
	CIDR_CANON_OK = 0,
	CIDR_CANON_SYNTAX,      /* not an address or address/prefix */
	CIDR_CANON_PREFIX,      /* the prefix is longer than the address */
	CIDR_CANON_HOST_BITS,   /* bits set past the prefix */
};

/*
 * s[0..len) as an entry of a list a person writes (the IP allowlist):
 * what cidr_parse reads, but stricter, since a typo must not silently
 * open a wider range: no leading zero in the prefix, and no bit set past
 * it (refused, not masked). On CIDR_CANON_OK out (outsz, at least
 * CIDR_CANON_LEN) holds the canonical "address/prefix": the address as
 * inet_ntop writes it (lowercase, "::" for the longest run of zeros; an
 * IPv4-mapped address stays IPv6) and a bare address as a /32 or /128.
 */
enum cidr_canon_err cidr_canon(const char *s, size_t len, char *out,
	    size_t outsz);

/*
 * s[0..len) as one address, no prefix, in its one canonical text: what
 * inet_ntop writes (lowercase, "::" for the longest run of zeros), an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 one, so that both
 * forms of an address compare equal. 1 with out (outsz, at least
 * INET6_ADDRSTRLEN) set, or 0 if s is not an address.
 */
int	 cidr_addr_canon(const char *s, size_t len, char *out, size_t outsz);

/* 1 if prefix a contains all of prefix b (an address is a full-length
 * prefix). */
int	 cidr_contains(const struct cidr *a, const struct cidr *b);

/* 1 if address addr is in any of the n prefixes of list. */
int	 cidr_list_contains(const struct cidr *list, size_t n,
	    const struct cidr *addr);

/*
 * The client's address, for the IP allowlist: remote (REMOTE_ADDR, the
 * peer of the web server) unless it is one of the trusted proxies, in
 * which case the X-Forwarded-For list (xff, may be NULL) is read from its
 * right end and the first address that is not a trusted proxy is the
 * client (a client can prepend anything; only what trusted proxies
 * appended counts). 1 with *out set; 0 if remote is missing or not an
 * address, or a trusted proxy sent no usable X-Forwarded-For.
 */
int	 cidr_client(const char *remote, const char *xff,
	    const struct cidr *trusted, size_t ntrusted, struct cidr *out);

#endif
