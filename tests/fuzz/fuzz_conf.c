/* fuzz_conf.c: libFuzzer target for the configuration parser (conf.c).
 * The input is parsed as vigil.conf text over the defaults, and read as a
 * file by conf_load (through a memfd, so nothing is left on disk).
 * Checks: an accepted file leaves every value within the bounds
 * vigil.conf(5) gives; parsing it again over the result changes nothing;
 * the values written back as "key = value" lines parse to the same
 * values; conf_load agrees with conf_parse; a refusal names its line,
 * one the input has. Built by "make fuzz". */
#include "vigil.h"

#include <sys/mman.h>

#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cidr.h"
#include "conf.h"
#include "fuzz.h"

#define S(f)	{ #f, 's', offsetof(struct conf, f), \
		    sizeof(((struct conf *)0)->f), 0, 0 }
#define I(f, lo, hi) { #f, 'i', offsetof(struct conf, f), 0, lo, hi }

/* The keys vigil.conf(5) documents, with their bounds. */
static const struct {
	const char	*name;
	char		 type;	/* s string, i int, u unsigned, m mode, d fraction */
	size_t		 off, size;
	long		 lo, hi;
} keys[] = {
	S(db_host), { "db_port", 'u', offsetof(struct conf, db_port), 0, 1,
	    65535 }, S(db_socket), S(db_user), S(db_password), S(db_name),
	S(listen), S(listen_group),
	{ "listen_mode", 'm', offsetof(struct conf, listen_mode), 0, 0,
	    0777 },
	I(workers, 1, 256), I(max_requests, 0, 1000000000), S(log),
	I(rate_read_per_min, 1, 1000000), I(rate_write_per_min, 1, 1000000),
	I(allow_private_targets, 0, 1), I(allow_http_webhooks, 0, 1),
	S(secret_key_file), S(rules_dir), S(openapi_file), S(attack_file),
	S(frameworks_dir),
	S(azure_authority_url), S(azure_arm_url),
	I(spool_concurrency, 1, 1024), I(spool_poll_ms, 10, 60000),
	I(webhook_connect_timeout_ms, 100, 60000),
	I(webhook_timeout_ms, 100, 300000), I(webhook_lease, 1, 86400),
	{ "webhook_backoff_scale", 'd',
	    offsetof(struct conf, webhook_backoff_scale), 0, 0, 1 },
	I(webhook_disable_after, 1, 31536000),
	I(event_retention_days, 0, 36500),
	I(report_retention_days, 0, 36500), S(trusted_proxies),
};

static int	 memfd = -1;
static char	 memfd_path[64];

static void
bounds(const struct conf *c)
{
	const char *p;
	size_t i;
	long v;
	double d;

	for (i = 0; i < NELEM(keys); i++) {
		p = (const char *)c + keys[i].off;
		switch (keys[i].type) {
		case 's':
			FUZZ_CHECK(memchr(p, '\0', keys[i].size) != NULL);
			continue;
		case 'u':
			v = (long)*(const unsigned *)(const void *)p;
			break;
		case 'd':
			memcpy(&d, p, sizeof(d));
			FUZZ_CHECK(d > 0.0 && d <= 1.0);
			continue;
		default:
			v = *(const int *)(const void *)p;
		}
		FUZZ_CHECK(v >= keys[i].lo && v <= keys[i].hi);
	}
	FUZZ_CHECK(conf_cidrs(c->trusted_proxies, NULL, CONF_CIDRS_MAX) >= 0);
}

/* The documented keys of c as vigil.conf lines. */
static void
write_back(const struct conf *c, struct buf *b)
{
	const char *p;
	size_t i;
	double d;

	for (i = 0; i < NELEM(keys); i++) {
		p = (const char *)c + keys[i].off;
		switch (keys[i].type) {
		case 's':
			FUZZ_CHECK(buf_printf(b, "%s = %s\n", keys[i].name,
			    p) == 0);
			break;
		case 'u':
			FUZZ_CHECK(buf_printf(b, "%s = %u\n", keys[i].name,
			    *(const unsigned *)(const void *)p) == 0);
			break;
		case 'm':
			FUZZ_CHECK(buf_printf(b, "%s = %o\n", keys[i].name,
			    (unsigned)*(const int *)(const void *)p) == 0);
			break;
		case 'd':
			memcpy(&d, p, sizeof(d));
			FUZZ_CHECK(buf_printf(b, "%s = %.17g\n", keys[i].name,
			    d) == 0);
			break;
		default:
			FUZZ_CHECK(buf_printf(b, "%s = %d\n", keys[i].name,
			    *(const int *)(const void *)p) == 0);
		}
	}
}

static void
same(const struct conf *a, const struct conf *b)
{
	const char *p, *q;
	size_t i;

	for (i = 0; i < NELEM(keys); i++) {
		p = (const char *)a + keys[i].off;
		q = (const char *)b + keys[i].off;
		if (keys[i].type == 's')
			FUZZ_CHECK(strcmp(p, q) == 0);
		else
			FUZZ_CHECK(memcmp(p, q, keys[i].type == 'd' ?
			    sizeof(double) : sizeof(int)) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf	 a, again, b, loaded;
	struct buf		 out;
	char			*text, err[512], err2[512];
	const char		*p;
	unsigned long		 line;
	size_t			 lines = 1, i;
	int			 rc;

	if (memfd == -1) {
		FUZZ_CHECK((memfd = memfd_create("vigil.conf", 0)) != -1);
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d",
		    memfd);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	rc = conf_load(&loaded, memfd_path, err2, sizeof(err2));

	if ((text = strndup((const char *)data, size)) == NULL)
		return 0;
	for (i = 0; text[i] != '\0'; i++)
		lines += text[i] == '\n';
	conf_defaults(&a);
	if (conf_parse(&a, text, err, sizeof(err)) != 0) {
		FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
		line = strtoul(err + 5, NULL, 10);
		FUZZ_CHECK(line >= 1 && line <= lines);
		FUZZ_CHECK(rc == -1);
		goto out;
	}
	FUZZ_CHECK(err[0] == '\0');
	/* conf_load also refuses a NUL byte and a file over 64 KiB */
	FUZZ_CHECK(rc == 0 || memchr(data, '\0', size) != NULL ||
	    size > 64 * 1024);
	if (rc == 0)
		FUZZ_CHECK(memcmp(&loaded, &a, sizeof(a)) == 0);
	bounds(&a);
	again = a;
	FUZZ_CHECK(conf_parse(&again, text, err, sizeof(err)) == 0);
	FUZZ_CHECK(memcmp(&again, &a, sizeof(a)) == 0);

	buf_init(&out, 64 * 1024);
	write_back(&a, &out);
	conf_defaults(&b);
	p = out.data;
	if (conf_parse(&b, p, err, sizeof(err)) != 0)
		fprintf(stderr, "written back:\n%s\n%s\n", p, err);
	FUZZ_CHECK(conf_parse(&b, p, err, sizeof(err)) == 0);
	same(&a, &b);
	buf_free(&out);
out:
	free(text);
	return 0;
}
