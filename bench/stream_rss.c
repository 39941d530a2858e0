/* stream_rss.c: collect every resource through one connector, as the
 * scanner does, and print how many came and the process's peak RSS. The
 * measure behind bench/stream.py (memory against a list page's size);
 * it prints "COMPLETE RESOURCES PEAK_RSS_KB".
 *
 *   stream_rss inventory DIR
 *   stream_rss azure URL TENANT CLIENT SECRET SUBSCRIPTION
 *
 * URL is a fake Entra ID and ARM (tests/integration/fakearm.py). */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "connector.h"

/* The peak RSS of this program in KB: VmHWM, which starts afresh at exec
 * (getrusage's ru_maxrss keeps the parent's peak from before the exec). */
static long
peak_kb(void)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static int
count_emit(void *arg, json_object *res)
{
	(void)res;
	(*(size_t *)arg)++;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct azure_config	 az;
	struct connector	*c = NULL;
	const char		*subs[1];
	char			 err[512];
	size_t			 n = 0;
	int			 rc;

	if (argc == 3 && strcmp(argv[1], "inventory") == 0)
		c = connector_inventory_new(argv[2]);
	else if (argc == 7 && strcmp(argv[1], "azure") == 0) {
		memset(&az, 0, sizeof(az));
		subs[0] = argv[6];
		az.tenant_id = argv[3];
		az.client_id = argv[4];
		az.client_secret = argv[5];
		az.subscription_ids = subs;
		az.nsubscriptions = 1;
		az.authority_url = argv[2];
		az.arm_url = argv[2];
		az.timeout_secs = 120;
		c = connector_azure_new(&az);
	} else {
		fprintf(stderr, "usage: stream_rss inventory DIR | azure URL "
		    "TENANT CLIENT SECRET SUBSCRIPTION\n");
		return 2;
	}
	if (c == NULL)
		return 1;
	err[0] = '\0';
	rc = c->collect(c, count_emit, &n, err, sizeof(err));
	c->free(c);
	/* One plain line for the script: complete, resources, peak KB. */
	printf("%d %zu %ld\n", rc == 0, n, peak_kb());
	if (rc != 0)
		fprintf(stderr, "stream_rss: %s\n", err);
	return rc == 0 ? 0 : 1;
}
