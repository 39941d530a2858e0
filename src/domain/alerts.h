/* alerts.h: alerts, the detections other tools send (an EDR, a SIEM, a
 * cloud service). Ingest is idempotent on (source, external_id): the
 * same pair again bumps last_seen_at and occurrences and creates nothing.
 * Every change is one transaction holding the tenant's row lock: the
 * rows, their history, one audit entry and the events. */
#ifndef VIGIL_ALERTS_H
#define VIGIL_ALERTS_H

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "observable.h"

struct db;
struct vjson_err;

/* Caps of one alert at ingest (README "Alerts"). */
#define ALERTS_SOURCE_MAX      64      /* bytes: letters, digits, . _ - */
#define ALERTS_EXTERNAL_ID_MAX 255     /* bytes */
#define ALERTS_TITLE_MAX       255     /* bytes */
#define ALERTS_ASSET_MAX       16384   /* the asset object, serialised */
#define ALERTS_RAW_MAX         65536   /* raw kept verbatim up to this */
#define ALERTS_OBS_MAX         64      /* observables per alert */
#define ALERTS_BATCH_MAX       500     /* alerts per batch */
/* detected_at may be ahead of the server's clock by this much (a
 * sender's clock skew), no more. */
#define ALERTS_FUTURE_SLACK    3600
#define ALERTS_ID_LEN          64

/* One observable as ingested: its type, normalised value and the hash
 * it is stored under. */
struct alert_obs {
	enum observable_type type;
	char		 value[OBSERVABLE_VALUE_LEN];
	size_t		 len;
	char		 hash[65];
};

/* One alert as sent, validated. The strings borrow from the request's
 * JSON except asset and raw, which are owned (alerts_in_free). */
struct alert_in {
	const char	*source;
	const char	*external_id;
	const char	*severity;       /* one of the five names */
	const char	*title;
	time_t		 detected_at;
	char		*asset;          /* JSON object text */
	char		*raw;            /* JSON text, or NULL when not sent */
	size_t		 raw_len;
	int		 raw_truncated;  /* raw holds a JSON string of the
	                                  * first ALERTS_RAW_MAX bytes */
	struct alert_obs *obs;           /* distinct, in the order sent */
	size_t		 nobs;
};

/* Validate one alert body obj (an object) into *in: 0, or -1 with err
 * naming the field ("severity", "observables[2].value") and saying why.
 * now is the server's clock (detected_at may not be far after it). On 0
 * free *in with alerts_in_free. Pure. */
int	 alerts_parse(json_object *obj, time_t now, struct alert_in *in,
	    struct vjson_err *err);
void	 alerts_in_free(struct alert_in *);

/* 1 if s names an alert severity (critical, high, medium, low, info). */
int	 alerts_severity_valid(const char *s);
/* 1 if s is an acceptable source name (1..64 of letters, digits, '.',
 * '_', '-'). */
int	 alerts_source_valid(const char *s);

/* What ingest did with one alert. */
struct alert_result {
	char		 id[ALERTS_ID_LEN];
	int		 deduplicated;
	int		 suppressed;     /* stored with status 'suppressed' */
	const char	*status;         /* triage, escalated, dismissed,
	                                  * suppressed (static) */
};

/*
 * Ingest in[0..n) (n >= 1) for tenant_id in one transaction: each alert
 * new or deduplicated on (source, external_id) -- also against an
 * earlier alert of the same call --, its observables upserted and
 * linked, a 'created' history entry and (unless every observable of it
 * is under an unexpired suppression for its source) an alert.created
 * event for each new one, and one audit entry for the call
 * ("alert.ingest" naming the alert, or "alert.ingest_batch" with the
 * counts and ids when batch is set). out[i] answers in[i]. Retried on a
 * deadlock. 0, or a DB_* code (nothing written).
 */
int	 alerts_ingest(struct db *, const char *tenant_id, const char *actor,
	    const struct alert_in *in, size_t n, int batch, time_t now,
	    struct alert_result *out);

#endif
