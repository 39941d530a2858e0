/*
 * metrics.c: GET /metrics, in the Prometheus text format (0.0.4).
 *
 * Two kinds of figures. This host's request counters (src/http/metrics.c),
 * which every worker of the pool (or every process of the mod_fcgid
 * class) adds to in shared memory, so that one scrape of a host sees all
 * of that host's requests; a Prometheus scrapes every API host, and sums.
 * And the database's view, read at scrape time with statements whose cost
 * does not grow with the data (src/domain/ops.c): the same from every
 * host, so a query takes max() of them, not sum(). When the database does
 * not answer, the counters are still served, with vigil_metrics_db_up 0.
 *
 * Open to vigil.conf's metrics_allow addresses only (the client address
 * as the IP allowlist reads it), not to API keys: the figures span every
 * tenant, and a key belongs to one.
 */
#include "vigil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "buf.h"
#include "cidr.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "ops.h"

#define METRICS_MAX_OUT     (4 * 1024 * 1024)
#define METRICS_COUNT_CAP   100000  /* counts stop here: "or more" */
#define METRICS_INTEGRATIONS 1000   /* integrations listed, by id */

/* 1 if the request's client may read the metrics. */
static int
allowed(const struct request *r)
{
	struct cidr list[CONF_CIDRS_MAX], client;
	int n = conf_cidrs(g_conf.metrics_allow, list, CONF_CIDRS_MAX);

	if (n <= 0 || !allowlist_client(r, &client))
		return 0;
	return cidr_list_contains(list, (size_t)n, &client);
}

/* The route table as labels, made once. */
static const struct metrics_route *
route_labels(size_t *n)
{
	static struct metrics_route labels[METRICS_ROUTES];
	static size_t nlabels;
	const struct route *rt;
	size_t i, nr;

	if (nlabels == 0) {
		rt = routes_table(&nr);
		for (i = 0; i < nr && i < METRICS_ROUTES; i++) {
			labels[i].method = rt[i].method;
			labels[i].pattern = rt[i].pattern;
		}
		nlabels = i;
	}
	*n = nlabels;
	return labels;
}

static int
gauge(struct buf *out, const char *name, const char *help, double v)
{
	int rc = metrics_family(out, name, "gauge", help);

	return rc | metrics_sample(out, name, NULL, 0, v);
}

/* The database's figures; 0, or a DB_* code (nothing written then). */
static int
db_figures(struct buf *out, struct db *db)
{
	struct ops_outbox o;
	struct ops_scan *sc = NULL;
	size_t n = 0, i;
	const char *lab[6];
	int rc;

	if ((rc = ops_outbox(db, METRICS_COUNT_CAP, &o)) != 0 ||
	    (rc = ops_scans(db, METRICS_INTEGRATIONS, &sc, &n)) != 0)
		goto out;
	rc |= gauge(out, "vigil_outbox_events_pending", "Events not yet "
	    "turned into deliveries by a spooler (at most 100000).",
	    (double)o.events);
	rc |= gauge(out, "vigil_outbox_oldest_event_age_seconds", "How long "
	    "the oldest event not yet turned into deliveries has waited (0: "
	    "none waits).", o.events_age < 0 ? 0 : (double)o.events_age);
	rc |= gauge(out, "vigil_webhook_deliveries_pending", "Webhook "
	    "deliveries not yet delivered: pending (a first attempt or a "
	    "retry) or being delivered (at most 100000).",
	    (double)o.deliveries);
	rc |= gauge(out, "vigil_webhook_oldest_pending_age_seconds", "How "
	    "long the delivery that has waited longest since it became due "
	    "(created, or its retry's time come) has waited (0: none is "
	    "due).", o.deliveries_age < 0 ? 0 : (double)o.deliveries_age);
	rc |= gauge(out, "vigil_webhook_deliveries_dead", "Webhook "
	    "deliveries given up after their retries, until retried or "
	    "pruned (at most 100000).", (double)o.dead);
	lab[0] = "tenant";
	lab[2] = "integration";
	lab[4] = "name";
	rc |= metrics_family(out, "vigil_scan_last_success_timestamp_seconds",
	    "gauge", "When the integration's last completed scan finished "
	    "(no sample: never).");
	for (i = 0; i < n; i++) {
		if (sc[i].last_success < 0)
			continue;
		lab[1] = sc[i].tenant;
		lab[3] = sc[i].id;
		lab[5] = sc[i].name;
		rc |= metrics_sample(out,
		    "vigil_scan_last_success_timestamp_seconds", lab, 3,
		    (double)sc[i].last_success);
	}
	rc |= metrics_family(out, "vigil_scan_last_duration_seconds", "gauge",
	    "How long the integration's last completed scan took.");
	for (i = 0; i < n; i++) {
		if (sc[i].last_success < 0 || sc[i].duration_ms < 0)
			continue;
		lab[1] = sc[i].tenant;
		lab[3] = sc[i].id;
		lab[5] = sc[i].name;
		rc |= metrics_sample(out, "vigil_scan_last_duration_seconds",
		    lab, 3, (double)sc[i].duration_ms / 1000.0);
	}
	rc |= metrics_family(out, "vigil_scan_stale", "gauge", "1 when the "
	    "integration has gone two of its tenant's scan intervals without "
	    "a completed scan.");
	for (i = 0; i < n; i++) {
		lab[1] = sc[i].tenant;
		lab[3] = sc[i].id;
		lab[5] = sc[i].name;
		rc |= metrics_sample(out, "vigil_scan_stale", lab, 3,
		    ops_scan_stale(&sc[i]));
	}
	/* A buffer that filled up is an error of ours, not the database's. */
	rc = rc != 0 ? DB_ERR : 0;
out:
	free(sc);
	return rc;
}

static void
metrics_get(struct request *r, struct db *db)
{
	const struct metrics_route *routes;
	const char *lab[2];
	struct migrate_schema s;
	struct buf out, dbout;
	size_t nroutes;
	int dbrc, rc = 0;

	if (!allowed(r)) {
		response_error(r, 403, "ip_not_allowed", "This address may not "
		    "read the metrics (metrics_allow in vigil.conf).", NULL);
		return;
	}
	if (r->nparams > 0) {
		response_error(r, 400, "invalid_request", "The metrics take no "
		    "query parameters.", r->params[0].name);
		return;
	}
	buf_init(&out, METRICS_MAX_OUT);
	buf_init(&dbout, METRICS_MAX_OUT);
	if ((dbrc = db_figures(&dbout, db)) != 0) {
		metrics_db_error(dbrc == DB_DOWN ? METRICS_DB_UNAVAILABLE :
		    dbrc == DB_RETRY ? METRICS_DB_BUSY : METRICS_DB_OTHER);
		log_warn("metrics: the database's figures left out (%d)", dbrc);
	}
	lab[0] = "version";
	lab[1] = VIGIL_VERSION;
	rc |= metrics_family(&out, "vigil_build_info", "gauge",
	    "Always 1; the version of vigil-api.");
	rc |= metrics_sample(&out, "vigil_build_info", lab, 1, 1);
	rc |= gauge(&out, "vigil_metrics_shared", "1 when the request "
	    "counters cover every process of this host's pool (or mod_fcgid "
	    "class), 0 when only the process that answered.",
	    metrics_shared());
	routes = route_labels(&nroutes);
	rc |= metrics_render_counters(&out, routes, nroutes);
	rc |= gauge(&out, "vigil_metrics_db_up", "1 when the database "
	    "answered this scrape's questions (the outbox and scan figures "
	    "follow), else 0.", dbrc == 0);
	if (dbrc == 0 && dbout.data != NULL)
		rc |= buf_append(&out, dbout.data, dbout.len);
	/* The schema's state whenever it can be read, whatever became of
	 * the figures above: a statement of theirs that failed (a table
	 * missing from a schema behind, a privilege taken away) is when it
	 * matters most. Not after an outage, which a second try would only
	 * wait for again. */
	if (dbrc != DB_DOWN && schemagate_read(db, &s) == 0) {
		rc |= gauge(&out, "vigil_db_schema_behind", "1 when the "
		    "database has not recorded the newest migration this "
		    "vigil-api needs (vigilctl migrate not run: requests are "
		    "answered 503 schema_outdated), else 0.",
		    s.state == MIGRATE_SCHEMA_BEHIND);
		rc |= gauge(&out, "vigil_db_schema_version", "The newest "
		    "migration the database has recorded, as a number (0: "
		    "none); this vigil-api needs " MIGRATE_NEED ".",
		    (double)strtol(s.newest, NULL, 10));
	}
	if (rc != 0 || out.data == NULL)
		response_error(r, 500, "internal_error",
		    "An unexpected error occurred.", NULL);
	else
		response_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8",
		    out.data, out.len);
	buf_free(&dbout);
	buf_free(&out);
}

const struct route metrics_routes[] = {
	{ "GET", "/metrics", SCOPE_NONE, 0, metrics_get },
};
const size_t metrics_nroutes = NELEM(metrics_routes);
