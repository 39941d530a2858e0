/* spool.h: the database side of webhook delivery, for vigil-spool(8).
 *
 * Three steps, each its own short transaction, any number of spoolers on
 * any number of hosts at once:
 *
 *   fan-out  events not yet dispatched (SELECT ... FOR UPDATE SKIP LOCKED)
 *            become one pending delivery per matching webhook that existed
 *            when the event was written, and are marked dispatched in the
 *            same transaction; UNIQUE (webhook_id, event_id) keeps it one.
 *   claim    due deliveries (pending and due, or delivering with an expired
 *            lease) are taken with SKIP LOCKED and marked delivering under
 *            a lease naming this claim; the attempt is counted here, so a
 *            spooler that dies mid-delivery still used an attempt.
 *   record   each attempt's outcome is written only if the lease is still
 *            this claim's: succeeded, pending again at the next time of the
 *            backoff schedule, failed, or dead after the last retry.
 *
 * Every time spoolers compare (due, lease, failing since) is the
 * database's clock, so hosts with skewed clocks still agree.
 *
 * A process that dies anywhere leaves either an uncommitted transaction
 * (rolled back: the rows are due again) or a committed lease that expires;
 * nothing is lost, and a delivery is repeated at most when a spooler dies
 * or loses its lease between sending and recording (at least once).
 */
#ifndef VIGIL_SPOOL_H
#define VIGIL_SPOOL_H

#include <stddef.h>

#include "backoff.h"
#include "vigil.h"

struct db;

/* One claimed delivery, with what sending it needs. */
struct spool_job {
	char	 id[VIGIL_ID_LEN];
	char	 webhook_id[VIGIL_ID_LEN];
	char	 event_id[VIGIL_ID_LEN];
	char	 tenant_id[VIGIL_ID_LEN];
	char	 type[64];
	char	 lease[VIGIL_ID_LEN];
	int	 attempts;       /* including this one */
	char	*url;
	char	 kind[16];       /* webhook, slack, teams, email, pagerduty
	                          * (channels.h) */
	char	*config;         /* a channel's settings: JSON object text */
	char	*secret;         /* opened (a channel's: JSON object text);
	                          * wiped by spool_job_free */
	char	*body;           /* the event envelope, sent as is */
	size_t	 len;
	/* Why it must not be sent (webhook deleted or disabled, secret
	 * unreadable), or NULL. */
	const char *skip;
	int	 skip_retry;     /* the skip is this host's problem: retry */
	int	 failing;        /* the webhook has failing_since set */
};

/* What an attempt came to. */
struct spool_result {
	enum backoff_verdict verdict;
	int	 http_status;    /* 0 if no response */
	long	 latency_ms;     /* -1 if not sent */
	long	 retry_after;    /* seconds, 0 if none */
	char	 error[256];     /* "" on success */
};

/* Tunables (from vigil.conf). */
struct spool_conf {
	int	 lease_s;
	int	 disable_after_s;
	struct backoff_policy policy;
};

/* Fan out up to batch undispatched events; *nevents and *ndeliveries (may
 * be NULL) say how many. 0 or a DB_* code. */
int	 spool_fanout(struct db *, int batch, long *nevents,
	    long *ndeliveries);

/* Close up to batch ended digest periods of e-mail channels (see
 * migration 0033): each becomes one channel.digest event, targeted at its
 * channel, listing the period's events (the first 200; data.count says
 * how many), written with the removal of the period's rows; the next
 * fan-out makes it a delivery. *ndigests (may be NULL) counts the events
 * written. 0 or a DB_* code. */
int	 spool_digests(struct db *, int batch, long *ndigests);

/* Caps on one spooler's attempts in flight, so that a receiver that
 * hangs holds at most per_webhook of its slots (and a tenant per_tenant):
 * the others stay free for other webhooks and tenants. busy_webhooks and
 * busy_tenants (nbusy each, borrowed) name what is in flight now. */
struct spool_caps {
	int		  per_webhook;    /* 0: no cap */
	int		  per_tenant;     /* 0: no cap */
	const char *const *busy_webhooks;
	const char *const *busy_tenants;
	size_t		  nbusy;
};

/* Claim up to max due deliveries under a fresh lease, those whose lease
 * expired first when expired is set (the daemon looks for them once a
 * second), none beyond caps (may be NULL): those are not claimed at all
 * (their attempts are not counted, another spooler may take them), and
 * *capped (may be NULL) is set when due deliveries were left for that
 * reason. *jobs (an array of *njobs, free with spool_jobs_free) is what
 * was taken. ring opens the webhook secrets. 0 or a DB_* code. */
struct crypto_ring;
int	 spool_claim(struct db *, const struct crypto_ring *ring, int max,
	    int expired, const struct spool_conf *, const struct spool_caps *,
	    int *capped, struct spool_job **jobs, size_t *njobs);
void	 spool_jobs_free(struct spool_job *, size_t n);
void	 spool_job_free(struct spool_job *);

/* Record n outcomes (jobs[i] with res[i]) in one transaction, retried on
 * deadlock or a lost connection; then disables webhooks (410, or failing
 * past disable_after) with a webhook.disabled event and an audit entry,
 * each in its own transaction. 0 or the DB_* code of the outcomes'
 * transaction (a failed disable is logged and tried again at the next
 * failure). */
int	 spool_record(struct db *, struct spool_job *const *jobs,
	    const struct spool_result *res, size_t n, long long now_ms,
	    const struct spool_conf *);

#endif
