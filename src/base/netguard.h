/* netguard.h: which webhook targets Vigil may connect to (SSRF protection).
 * Pure: the caller resolves names and hands each address in, at
 * registration and again from libcurl's open-socket callback at connect
 * time, so DNS rebinding cannot slip a private address past the first
 * check.
 *
 * Refused unless allow_private (vigil.conf allow_private_targets):
 *   IPv4  127/8 loopback; 10/8, 172.16/12, 192.168/16 private (RFC 1918);
 *         169.254/16 link-local; 100.64/10 shared/CGNAT (RFC 6598);
 *         192.0.0/24 IETF protocol assignments; 198.18/15 benchmarking;
 *         192.0.2/24, 198.51.100/24, 203.0.113/24 documentation
 *   IPv6  ::1 loopback; fc00::/7 unique local; fe80::/10 link-local;
 *         fec0::/10 site-local (deprecated); 2001:db8::/32 documentation;
 *         64:ff9b:1::/48 local-use NAT64; 100::/64 discard-only
 * Refused always, whatever the configuration:
 *   unspecified 0/8 and ::; multicast 224/4 and ff00::/8; 240/4 reserved
 *   and 255.255.255.255 broadcast; cloud metadata endpoints
 *   169.254.169.254 (AWS, Azure IMDS, GCP, OpenStack), 169.254.170.2 (AWS
 *   ECS), 168.63.129.16 (Azure WireServer), 100.100.100.200 (Alibaba),
 *   192.0.0.192 (Oracle), fd00:ec2::254 (AWS IPv6): nothing a test or a
 *   demo needs, and the first thing an SSRF goes for; Teredo 2001::/32 and
 *   IPv4-compatible ::/96 (deprecated tunnels to any IPv4 address);
 *   address families other than IPv4 and IPv6.
 * IPv6 forms that carry an IPv4 address are judged by that address:
 *   IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d (RFC 6052), 6to4
 *   2002:AABB:CCDD::/48 (RFC 3056).
 */
#ifndef VIGIL_NETGUARD_H
#define VIGIL_NETGUARD_H

#include <sys/socket.h>

#include <stddef.h>

/* 1 if Vigil may connect to sa, 0 if not (see above). */
int	 netguard_addr_allowed(const struct sockaddr *sa, int allow_private);

/* What kind of non-public address sa is ("loopback", "cloud metadata",
 * ...; a static string), or NULL for a public one. *always, if not NULL,
 * is set to 1 when even allow_private does not allow it. */
const char *netguard_addr_class(const struct sockaddr *sa, int *always);

/* 0 if url is an absolute https:// URL (or http:// when allow_http) with a
 * host and no user name, password or login options, at most 2048 bytes;
 * -1 with a reason in err otherwise. Parsing only: the host's addresses
 * are checked with netguard_addr_allowed once resolved. */
int	 netguard_url_check(const char *url, int allow_http, char *err,
	    size_t errsz);

#define NETGUARD_URL_MAX 2048

#endif
