/* vigil-spool.c: delivers webhook events (vigil-spool(8)). A daemon, or
 * --once to drain what is due and exit (cron). The database work is
 * spool.c's; this file sends: libcurl's multi interface keeps up to
 * --concurrency attempts in flight, each signed (sign.c), checked against
 * netguard at connect time, and timed out per vigil.conf. */
#include "vigil.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "backoff.h"
#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "exits.h"
#include "log.h"
#include "migrate.h"
#include "netguard.h"
#include "notify.h"
#include "sign.h"
#include "spool.h"
#include "vtime.h"

#define FANOUT_BATCH   500
#define RESPONSE_KEEP  200            /* bytes of a response kept */
#define RESPONSE_MAX   (64 * 1024)    /* bytes read before hanging up */

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;

/* One attempt in flight. */
struct xfer {
	struct spool_job	 job;
	CURL			*h;
	struct curl_slist	*hdrs;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 snippet[RESPONSE_KEEP + 1];
	size_t			 got;
	int			 refused;     /* netguard said no */
	int			 capped;      /* response too long */
	char			 refused_why[128];
	int			 busy;
	/* a notification channel's message (notify.h) */
	struct notify_msg	 msg;
	size_t			 sent;       /* e-mail bytes read by libcurl */
	struct curl_slist	*rcpt;
};

struct spooler {
	struct db		*db;
	CURLM			*multi;
	struct xfer		*x;
	int			 n;          /* slots */
	int			 inflight;
	struct crypto_ring	 ring;       /* opens webhook secrets */
	struct spool_conf	 sc;
	/* finished attempts waiting to be recorded */
	struct spool_job	**done_jobs;
	struct spool_result	*done_res;
	size_t			 ndone;
	long long		 done_at;    /* ms, first of them finished */
	long long		 fan_at;     /* ms, last fan-out */
	long long		 digest_at;  /* ms, last look for digests */
	long long		 expired_at; /* ms, last look for expired leases */
	int			 fan_hot;    /* it found events: again */
	long			 delivered, failed;
	/* caps on attempts in flight per webhook and per tenant */
	struct spool_caps	 caps;
	const char		**busy_w, **busy_t;   /* n each */
	/* The last claim came back short because of the caps: the next
	 * waits for a batch of attempts to finish, new events, or the poll
	 * interval, rather than finding nothing every round. */
	int			 cap_hold;
	int			 cap_done;   /* attempts finished since */
	long long		 cap_at;     /* ms */
	long long		 claim_at;   /* ms, last claim */
};

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		hup_flag = 1;
	else
		stop_flag = 1;
}

/* The synopsis, on stderr after a usage error; with the options too
 * for --help, on stdout. */
static void
usage(FILE *f, int full)
{
	fprintf(f,
	    "usage: vigil-spool [-c file] [--once] [--concurrency N]\n"
	    "       vigil-spool --help | --version\n");
	if (!full)
		return;
	fprintf(f, "\n"
	    "  -c, --config FILE     vigil.conf (default $VIGIL_CONF, then "
	    "%s/vigil/vigil.conf)\n"
	    "      --once            deliver what is due, then exit (cron); "
	    "without it,\n"
	    "                        run as a daemon\n"
	    "      --concurrency N   parallel deliveries, 1 to 1024 "
	    "(default spool_concurrency)\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         the version\n"
	    "\nExit status: 0 done, 64 usage, 69 database unreachable, 70 "
	    "internal error,\n76 the database's schema is behind this binary "
	    "(run vigilctl migrate), 77\npermission denied, 78 configuration "
	    "(vigil-spool(8)).\n", SYSCONFDIR);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, keep, i;

	if (x->got < RESPONSE_KEEP) {
		keep = RESPONSE_KEEP - x->got;
		if (keep > n)
			keep = n;
		/* printable ASCII only: it is shown by the API and logged */
		for (i = 0; i < keep; i++)
			x->snippet[x->got + i] = ((unsigned char)p[i] < 0x20 ||
			    (unsigned char)p[i] > 0x7e) ? ' ' : p[i];
		x->snippet[x->got + keep] = '\0';
	}
	x->got += n;
	if (x->got > RESPONSE_MAX) {
		x->capped = 1;
		return 0;   /* hang up: the status line is what counts */
	}
	return n;
}

/* Connect-time check against DNS rebinding: every address libcurl is
 * about to connect to is judged again, whatever the name resolved to at
 * registration. */
static curl_socket_t
on_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = arg;
	const char *cls;

	(void)purpose;
	if (!netguard_addr_allowed(&a->addr, g_conf.allow_private_targets)) {
		cls = netguard_addr_class(&a->addr, NULL);
		x->refused = 1;
		snprintf(x->refused_why, sizeof(x->refused_why),
		    "refused at connect time: the target resolved to a %s "
		    "address", cls ? cls : "non-public");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* Printable ASCII only (last_error is shown by the API and logged). */
static void
clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = ' ';
}

static int
header(struct curl_slist **l, const char *name, const char *value)
{
	char line[512];
	struct curl_slist *n;

	snprintf(line, sizeof(line), "%s: %s", name, value);
	if ((n = curl_slist_append(*l, line)) == NULL)
		return -1;
	*l = n;
	return 0;
}

/* Queue a finished attempt for recording; the job moves out of the slot. */
static int
finish(struct spooler *s, struct xfer *x, const struct spool_result *r)
{
	struct spool_job *j;

	if ((j = malloc(sizeof(*j))) == NULL)
		return -1;
	*j = x->job;
	memset(&x->job, 0, sizeof(x->job));
	if (s->ndone == 0)
		s->done_at = vtime_mono_us() / 1000;
	s->done_jobs[s->ndone] = j;
	s->done_res[s->ndone] = *r;
	s->ndone++;
	if (r->verdict == BACKOFF_SUCCESS)
		s->delivered++;
	else
		s->failed++;
	return 0;
}

static void
release(struct spooler *s, struct xfer *x)
{
	s->cap_done++;
	if (x->h != NULL) {
		curl_multi_remove_handle(s->multi, x->h);
		curl_easy_cleanup(x->h);
	}
	curl_slist_free_all(x->hdrs);
	curl_slist_free_all(x->rcpt);
	notify_msg_free(&x->msg);
	x->h = NULL;
	x->hdrs = NULL;
	x->rcpt = NULL;
	x->busy = 0;
	s->inflight--;
}

/* libcurl reads the e-mail from here. */
static size_t
on_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, left = x->msg.len - x->sent;

	if (n > left)
		n = left;
	memcpy(p, x->msg.body + x->sent, n);
	x->sent += n;
	return n;
}

/* What every transfer of a slot sets: limits, no proxy, no redirects,
 * the connect-time SSRF check, the answer kept short. */
static void
common_opts(struct xfer *x)
{
	curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->h, CURLOPT_PROXY, "");   /* no proxy from env */
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)g_conf.webhook_connect_timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS,
	    (long)g_conf.webhook_timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_OPENSOCKETFUNCTION, on_socket);
	curl_easy_setopt(x->h, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	/* an operator's own CA (a private mail relay); verification is
	 * never turned off */
	if (g_conf.spool_ca_file[0] != '\0')
		curl_easy_setopt(x->h, CURLOPT_CAINFO, g_conf.spool_ca_file);
}

/* A notification channel's attempt: its message rendered from the
 * templates, then POSTed (Slack, Teams, PagerDuty) or sent over SMTP
 * (e-mail). 0 started, -1 with r filled. */
static int
start_channel(struct xfer *x, struct spool_result *r, const char *ua)
{
	struct curl_slist *n;
	size_t i;
	char line[300];

	if (notify_render(x->job.kind, x->job.config, x->job.secret,
	    x->job.body, g_conf.template_dir, g_conf.public_url, &x->msg,
	    r->error, sizeof(r->error)) != 0) {
		/* a template or the settings: the same next time */
		r->verdict = BACKOFF_FAIL;
		log_err("delivery %s (channel %s): %s", x->job.id,
		    x->job.webhook_id, r->error);
		return -1;
	}
	if ((x->h = curl_easy_init()) == NULL)
		goto nomem;
	common_opts(x);
	curl_easy_setopt(x->h, CURLOPT_URL, x->msg.url);
	if (!x->msg.email) {
		if (header(&x->hdrs, "Content-Type", "application/json") != 0 ||
		    (x->hdrs = curl_slist_append(x->hdrs, "Expect:")) == NULL)
			goto nomem;
		curl_easy_setopt(x->h, CURLOPT_POST, 1L);
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->msg.body);
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x->msg.len);
		curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
		curl_easy_setopt(x->h, CURLOPT_USERAGENT, ua);
		curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR,
		    g_conf.allow_http_webhooks ? "http,https" : "https");
		return 0;
	}
	/* SMTP in clear is what allow_http_webhooks allows, now as when
	 * the channel was made */
	if (!x->msg.starttls && strncmp(x->msg.url, "smtp://", 7) == 0 &&
	    !g_conf.allow_http_webhooks) {
		r->verdict = BACKOFF_FAIL;
		snprintf(r->error, sizeof(r->error), "security none (SMTP in "
		    "clear) is not allowed by this spooler's configuration "
		    "(allow_http_webhooks)");
		return -1;
	}
	for (i = 0; i < json_object_array_length(x->msg.rcpt); i++) {
		snprintf(line, sizeof(line), "<%s>", json_object_get_string(
		    json_object_array_get_idx(x->msg.rcpt, i)));
		if ((n = curl_slist_append(x->rcpt, line)) == NULL)
			goto nomem;
		x->rcpt = n;
	}
	snprintf(line, sizeof(line), "<%s>", x->msg.from);
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(x->h, CURLOPT_MAIL_FROM, line);
	curl_easy_setopt(x->h, CURLOPT_MAIL_RCPT, x->rcpt);
	curl_easy_setopt(x->h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(x->h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(x->h, CURLOPT_READDATA, x);
	/* STARTTLS is required, never optional: a server that does not
	 * offer it fails the attempt rather than get the mail in clear. */
	curl_easy_setopt(x->h, CURLOPT_USE_SSL, x->msg.starttls ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	if (x->msg.username != NULL) {
		curl_easy_setopt(x->h, CURLOPT_USERNAME, x->msg.username);
		curl_easy_setopt(x->h, CURLOPT_PASSWORD, x->msg.password ?
		    x->msg.password : "");
	}
	return 0;
nomem:
	r->verdict = BACKOFF_RETRY;
	snprintf(r->error, sizeof(r->error), "out of memory");
	return -1;
}

/* Start sending job (moved into a free slot); a job that must not be
 * sent is finished at once. */
static void
start(struct spooler *s, struct spool_job *job)
{
	struct spool_result r;
	struct xfer *x = NULL;
	char vsig[SIGN_VIGIL_LEN], vsig256[SIGN_SHA256_LEN];
	char ssig[SIGN_STANDARD_LEN], ts[32], ua[64];
	long long now = time(NULL);
	int i;

	for (i = 0; i < s->n; i++)
		if (!s->x[i].busy) {
			x = &s->x[i];
			break;
		}
	if (x == NULL)
		return;   /* cannot happen: claims never exceed free slots */
	memset(x, 0, sizeof(*x));
	x->job = *job;
	memset(job, 0, sizeof(*job));
	x->busy = 1;
	s->inflight++;

	memset(&r, 0, sizeof(r));
	r.latency_ms = -1;
	if (x->job.skip != NULL) {
		r.verdict = x->job.skip_retry ? BACKOFF_RETRY : BACKOFF_FAIL;
		snprintf(r.error, sizeof(r.error), "%s", x->job.skip);
		goto now;
	}
	snprintf(ts, sizeof(ts), "%lld", now);
	snprintf(ua, sizeof(ua), "vigil-spool/%s", VIGIL_VERSION);
	if (strcmp(x->job.kind, "webhook") != 0) {
		if (start_channel(x, &r, ua) != 0)
			goto now;
		goto add;
	}
	if (sign_vigil(x->job.secret, x->job.body, x->job.len, vsig) != 0 ||
	    sign_sha256(x->job.secret, x->job.body, x->job.len, vsig256) != 0 ||
	    sign_standard(x->job.secret, x->job.event_id, now, x->job.body,
	    x->job.len, ssig, sizeof(ssig)) != 0) {
		r.verdict = BACKOFF_FAIL;
		snprintf(r.error, sizeof(r.error), "cannot sign with the "
		    "webhook's secret");
		goto now;
	}
	if (header(&x->hdrs, "Content-Type", "application/json") != 0 ||
	    header(&x->hdrs, "X-Vigil-Event", x->job.type) != 0 ||
	    header(&x->hdrs, "X-Vigil-Delivery", x->job.id) != 0 ||
	    header(&x->hdrs, "X-Vigil-Signature", vsig) != 0 ||
	    header(&x->hdrs, "X-Vigil-Signature-256", vsig256) != 0 ||
	    header(&x->hdrs, "webhook-id", x->job.event_id) != 0 ||
	    header(&x->hdrs, "webhook-timestamp", ts) != 0 ||
	    header(&x->hdrs, "webhook-signature", ssig) != 0 ||
	    /* no "Expect: 100-continue" round trip */
	    (x->hdrs = curl_slist_append(x->hdrs, "Expect:")) == NULL ||
	    (x->h = curl_easy_init()) == NULL) {
		r.verdict = BACKOFF_RETRY;
		snprintf(r.error, sizeof(r.error), "out of memory");
		goto now;
	}
	curl_easy_setopt(x->h, CURLOPT_URL, x->job.url);
	curl_easy_setopt(x->h, CURLOPT_POST, 1L);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->job.body);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)x->job.len);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR,
	    g_conf.allow_http_webhooks ? "http,https" : "https");
	common_opts(x);
add:
	if (curl_multi_add_handle(s->multi, x->h) != CURLM_OK) {
		r.verdict = BACKOFF_RETRY;
		snprintf(r.error, sizeof(r.error), "cannot start the transfer");
		goto now;
	}
	return;
now:
	if (finish(s, x, &r) != 0)
		spool_job_free(&x->job);
	release(s, x);
}

/* An attempt libcurl finished: its verdict. */
static void
completed(struct spooler *s, CURL *h, CURLcode cc)
{
	struct spool_result r;
	struct xfer *x = NULL;
	enum backoff_errkind kind;
	curl_off_t ra = 0, us = 0;
	long code = 0;
	int refused;

	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
	if (x == NULL)
		return;
	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
	curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra);
	kind = backoff_curl_kind((int)cc);
	/* A refused address only counts when no other one connected
	 * (libcurl tries the host's next address after a refusal). */
	refused = x->refused && cc == CURLE_COULDNT_CONNECT;
	if (refused)
		kind = BACKOFF_ERR_REFUSED;
	else if (x->capped && code > 0)
		kind = BACKOFF_ERR_NONE;   /* we hung up on a long answer */
	if (ra > BACKOFF_RETRY_AFTER_MAX)
		ra = BACKOFF_RETRY_AFTER_MAX;
	r.http_status = (int)code;
	r.latency_ms = (long)(us / 1000);
	r.retry_after = (code == 429 || code == 503) ? (long)ra : 0;
	r.verdict = backoff_classify((int)code, kind);
	if (x->msg.email) {
		/* code is the SMTP server's last reply: a 5xx is permanent
		 * (a refused login or recipient), the rest is retried */
		r.retry_after = 0;
		r.verdict = cc == CURLE_OK ? BACKOFF_SUCCESS :
		    (code >= 500 && code < 600) || cc == CURLE_LOGIN_DENIED ?
		    BACKOFF_FAIL : BACKOFF_RETRY;
		if (!refused && cc != CURLE_OK)
			kind = BACKOFF_ERR_NETWORK;
	}
	if (refused)
		snprintf(r.error, sizeof(r.error), "%s", x->refused_why);
	else if (kind != BACKOFF_ERR_NONE)
		snprintf(r.error, sizeof(r.error), "%s", x->errbuf[0] ?
		    x->errbuf : curl_easy_strerror(cc));
	else if (r.verdict != BACKOFF_SUCCESS)
		snprintf(r.error, sizeof(r.error), "HTTP %ld: %s", code,
		    x->snippet);
	clean(r.error);
	if (r.verdict != BACKOFF_SUCCESS)
		log_info("delivery %s (webhook %s, attempt %d): %s",
		    x->job.id, x->job.webhook_id, x->job.attempts, r.error);
	if (finish(s, x, &r) != 0)
		spool_job_free(&x->job);
	release(s, x);
}

/* Write what finished; on failure the leases expire and the deliveries
 * are attempted again (at least once). */
static int
flush(struct spooler *s)
{
	size_t i;
	int rc;

	if (s->ndone == 0)
		return 0;
	rc = spool_record(s->db, s->done_jobs, s->done_res, s->ndone,
	    vtime_now_ms(), &s->sc);
	if (rc != 0) {
		/* Kept and tried again next round: an outcome is written
		 * only under its own lease, so a late write is harmless,
		 * and one that comes after the lease expired is dropped
		 * (the delivery is then attempted again). */
		log_err("recording %zu outcomes: %s (will try again)",
		    s->ndone, db_error(s->db));
		return rc;
	}
	for (i = 0; i < s->ndone; i++) {
		spool_job_free(s->done_jobs[i]);
		free(s->done_jobs[i]);
	}
	s->ndone = 0;
	return rc;
}

/* What is in flight, for the claim's caps. */
static void
busy_list(struct spooler *s)
{
	size_t k = 0;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->x[i].busy) {
			s->busy_w[k] = s->x[i].job.webhook_id;
			s->busy_t[k] = s->x[i].job.tenant_id;
			k++;
		}
	s->caps.busy_webhooks = s->busy_w;
	s->caps.busy_tenants = s->busy_t;
	s->caps.nbusy = k;
}

/* One round: fan out, claim into free slots, run transfers for up to
 * wait_ms, record what finished. *busy is set when there was work (look
 * again at once). Work is batched to spare the database commits: fan-out
 * runs every spool_poll_ms unless the last one found events, claims wait
 * for a quarter of the slots to be free (or all, or new events, or
 * spool_poll_ms), and outcomes are
 * recorded a quarter of the slots at a time, or when nothing else is in
 * flight, or after FLUSH_MS. */
#define FLUSH_MS 20

static int
round_once(struct spooler *s, int claiming, int once, int wait_ms,
    int *busy)
{
	struct spool_job *jobs = NULL;
	struct CURLMsg *m;
	size_t njobs = 0, i;
	long ne = 0, nd = 0;
	long long now = vtime_mono_us() / 1000;
	int running, left, rc = 0, rc2, free_slots, batch, timeout, expired;
	int capped = 0;

	*busy = 0;
	batch = (s->n + 3) / 4;
	if (claiming) {
		if (once || s->fan_hot || now - s->fan_at >= wait_ms) {
			/* ended digest periods first (once a second at
			 * most): their events are fanned out at once */
			if (once || now - s->digest_at >= 1000) {
				s->digest_at = now;
				if ((rc = spool_digests(s->db, FANOUT_BATCH,
				    &nd)) != 0)
					log_err("digests: %s", db_error(s->db));
				if (nd > 0)
					log_info("%ld e-mail digests written",
					    nd);
				nd = 0;
			}
			if ((rc = spool_fanout(s->db, FANOUT_BATCH, &ne,
			    &nd)) != 0)
				log_err("fan-out: %s", db_error(s->db));
			s->fan_at = now;
			s->fan_hot = ne > 0;
		}
		free_slots = s->n - s->inflight;
		if (s->cap_hold && (ne > 0 || s->cap_done >= batch ||
		    s->inflight == 0 || now - s->cap_at >= wait_ms))
			s->cap_hold = 0;
		/* done_* hold 2n: unrecorded outcomes stop new claims. Fewer
		 * free slots than a batch may be all there is while capped
		 * webhooks hang: new events, or the poll interval, claim
		 * them too. */
		if (free_slots > 0 && (int)s->ndone < s->n && !s->cap_hold &&
		    (free_slots >= batch || s->inflight == 0 || ne > 0 ||
		    now - s->claim_at >= wait_ms)) {
			s->claim_at = now;
			expired = once || now - s->expired_at >= 1000;
			if (expired)
				s->expired_at = now;
			busy_list(s);
			if ((rc2 = spool_claim(s->db, &s->ring, free_slots,
			    expired, &s->sc, &s->caps, &capped, &jobs,
			    &njobs)) != 0) {
				log_err("claim: %s", db_error(s->db));
				rc = rc2;
			}
			if (capped) {
				s->cap_hold = 1;
				s->cap_done = 0;
				s->cap_at = now;
			}
			for (i = 0; i < njobs; i++)
				start(s, &jobs[i]);
			spool_jobs_free(jobs, njobs);
		}
	}
	if (ne > 0 || njobs > 0)
		*busy = 1;
	timeout = *busy ? 0 : (s->ndone > 0 ? FLUSH_MS : wait_ms);
	curl_multi_perform(s->multi, &running);
	if (timeout > 0)
		curl_multi_poll(s->multi, NULL, 0, timeout, NULL);
	curl_multi_perform(s->multi, &running);
	while ((m = curl_multi_info_read(s->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			completed(s, m->easy_handle, m->data.result);
	if (s->ndone > 0 && ((int)s->ndone >= batch || s->inflight == 0 ||
	    !claiming || vtime_mono_us() / 1000 - s->done_at >= FLUSH_MS)) {
		*busy = 1;
		if (flush(s) != 0 && rc == 0)
			rc = DB_ERR;
	}
	if (s->ndone > 0 || s->inflight > 0)
		*busy = 1;
	return rc;
}

static int
run(struct spooler *s, int once)
{
	int busy, rc, failed = 0, idle_rounds = 0, stop_rounds = 0;

	for (;;) {
		if (hup_flag) {
			hup_flag = 0;
			log_reopen();
		}
		/* Stopping: once nothing is in flight, and what finished is
		 * recorded, or could not be after a few tries (the database
		 * is away: those leases expire and the deliveries are sent
		 * again, at least once). */
		if (stop_flag && s->inflight == 0 && (s->ndone == 0 || failed ||
		    ++stop_rounds > 5))
			break;
		rc = round_once(s, !stop_flag, once, g_conf.spool_poll_ms,
		    &busy);
		if (rc != 0) {
			if (once) {
				/* finish what is in flight, then fail */
				failed = 1;
				stop_flag = 1;
				continue;
			}
			/* The database is away: wait a second before the
			 * next look, unless transfers need driving (the
			 * round's own poll waits then). */
			if (s->inflight == 0)
				usleep(1000 * 1000);
			continue;
		}
		if (once && !busy && s->inflight == 0) {
			/* two quiet rounds: nothing new was committed
			 * between them */
			if (++idle_rounds >= 2)
				break;
		} else
			idle_rounds = 0;
	}
	return failed ? db_exit(s->db) : VX_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config",      required_argument, NULL, 'c' },
		{ "once",        no_argument,       NULL, 'o' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "version",     no_argument,       NULL, 'V' },
		{ "help",        no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa;
	struct spooler s;
	const char *cfile = NULL;
	char err[1024], *end;
	long conc = 0;
	int ch, once = 0, rc, i;

	while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'o': once = 1; break;
		case 'n':
			conc = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || conc < 1 ||
			    conc > 1024) {
				fprintf(stderr, "vigil-spool: --concurrency "
				    "takes 1 to 1024\n");
				return VX_USAGE;
			}
			break;
		case 'h':
			usage(stdout, 1);
			return VX_OK;
		case 'V':
			printf("vigil-spool %s\n", VIGIL_VERSION);
			return VX_OK;
		default:
			usage(stderr, 0);
			return VX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr, 0);
		return VX_USAGE;
	}
	if ((rc = conf_start("vigil-spool", cfile, NULL)) != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	/* Every key of the ring is loaded now: a rotation (vigilctl
	 * secrets rotate) re-seals under secret_key_file while values sealed
	 * with a previous key are still being delivered. */
	if (g_conf.secret_key_file[0] == '\0' ||
	    crypto_ring_load(&s.ring, g_conf.secret_key_file,
	    g_conf.previous_key_files, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigil-spool: secret_key_file: %s\n",
		    g_conf.secret_key_file[0] ? err : "not set");
		log_err("secret_key_file: %s", g_conf.secret_key_file[0] ?
		    err : "not set");
		return g_conf.secret_key_file[0] && access(
		    g_conf.secret_key_file, R_OK) != 0 && errno == EACCES ?
		    VX_NOPERM : VX_CONFIG;
	}
	s.n = conc > 0 ? (int)conc : g_conf.spool_concurrency;
	/* Three quarters of the slots for one webhook, seven eighths for
	 * one tenant's, and at least one slot for the others: receivers
	 * that hang hold only those for a timeout, while a single healthy
	 * receiver keeps most of the parallelism (bench/deliveries.py, one
	 * spooler: 0 to 20 % slower at 12 of 16, a third slower at 8). */
	if ((s.caps.per_webhook = g_conf.spool_webhook_concurrency) == 0 &&
	    (s.caps.per_webhook = (3 * s.n + 3) / 4) >= s.n && s.n > 1)
		s.caps.per_webhook = s.n - 1;
	if ((s.caps.per_tenant = g_conf.spool_tenant_concurrency) == 0 &&
	    (s.caps.per_tenant = (7 * s.n + 7) / 8) >= s.n && s.n > 1)
		s.caps.per_tenant = s.n - 1;
	if (s.caps.per_webhook > s.n)
		s.caps.per_webhook = s.n;
	if (s.caps.per_tenant > s.n)
		s.caps.per_tenant = s.n;
	s.sc.lease_s = g_conf.webhook_lease;
	s.sc.disable_after_s = g_conf.webhook_disable_after;
	s.sc.policy = (struct backoff_policy)BACKOFF_POLICY_DEFAULT;
	s.sc.policy.scale = g_conf.webhook_backoff_scale;
	if (s.sc.lease_s * 1000 <= g_conf.webhook_timeout_ms) {
		fprintf(stderr, "vigil-spool: webhook_lease (%d s) must be "
		    "longer than webhook_timeout_ms (%d ms)\n", s.sc.lease_s,
		    g_conf.webhook_timeout_ms);
		return VX_CONFIG;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (s.multi = curl_multi_init()) == NULL ||
	    (s.x = calloc((size_t)s.n, sizeof(*s.x))) == NULL ||
	    (s.done_jobs = calloc(2 * (size_t)s.n, sizeof(*s.done_jobs))) ==
	    NULL ||
	    (s.done_res = calloc(2 * (size_t)s.n, sizeof(*s.done_res))) ==
	    NULL ||
	    (s.busy_w = calloc((size_t)s.n, sizeof(*s.busy_w))) == NULL ||
	    (s.busy_t = calloc((size_t)s.n, sizeof(*s.busy_t))) == NULL ||
	    (s.db = db_new(&g_conf)) == NULL) {
		fprintf(stderr, "vigil-spool: out of memory\n");
		rc = VX_SOFTWARE;
		goto out;
	}
	curl_multi_setopt(s.multi, CURLMOPT_MAXCONNECTS, (long)s.n);
	if (db_connect(s.db) != 0) {
		fprintf(stderr, "vigil-spool: %s\n", db_error(s.db));
		if (once) {
			rc = db_exit(s.db);
			goto out;
		}
		/* a daemon waits for the database */
		log_err("database: %s (retrying)", db_error(s.db));
	} else if ((rc = migrate_require(s.db, "vigil-spool")) ==
	    VX_SCHEMA) {
		/* A schema behind this binary: stop (a unit restarts it
		 * until vigilctl migrate has run). */
		log_err("the database's schema is behind this vigil-spool "
		    "(it needs migration %s): run vigilctl migrate",
		    MIGRATE_NEED);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("started (%s, %d parallel deliveries, at most %d per "
	    "webhook and %d per tenant)", once ? "--once" : "daemon", s.n,
	    s.caps.per_webhook, s.caps.per_tenant);
	rc = run(&s, once);
	log_info("stopping: %ld delivered, %ld failed attempts", s.delivered,
	    s.failed);
out:
	if (s.ndone > 0)
		log_warn("%zu outcomes not recorded: those deliveries will be "
		    "attempted again when their leases expire", s.ndone);
	for (i = 0; (size_t)i < s.ndone; i++) {
		spool_job_free(s.done_jobs[i]);
		free(s.done_jobs[i]);
	}
	for (i = 0; s.x != NULL && i < s.n; i++)
		if (s.x[i].busy) {
			spool_job_free(&s.x[i].job);
			release(&s, &s.x[i]);
		}
	if (s.multi != NULL)
		curl_multi_cleanup(s.multi);
	curl_global_cleanup();
	crypto_ring_wipe(&s.ring);
	db_free(s.db);
	free(s.x);
	free(s.done_jobs);
	free(s.done_res);
	free(s.busy_w);
	free(s.busy_t);
	return rc;
}
