/* conf.h: the vigil.conf(5) configuration, "key = value" lines. */
#ifndef VIGIL_CONF_H
#define VIGIL_CONF_H

#include <stddef.h>

struct conf {
	/* database */
	char	 db_host[256];
	unsigned db_port;
	char	 db_socket[512];
	char	 db_user[128];
	char	 db_password[256];
	char	 db_name[128];
	int	 db_sync_wait;       /* wsrep_sync_wait on a Galera node: 0 off,
				     * -1 auto (1 on Galera, silent elsewhere) */
	/* vigil-api */
	char	 listen[512];        /* "127.0.0.1:9000" or a unix socket path */
	char	 listen_group[64];   /* a unix socket's group; "" = ours */
	int	 listen_mode;        /* a unix socket's mode (0660) */
	int	 workers;
	int	 max_requests;       /* a worker exits after this many; 0 = never */
	int	 request_timeout_ms; /* to send a request, and to take the answer */
	int	 attachment_max_bytes; /* a case attachment's file, at most */
	/* logging: "stderr", "syslog" or a file path */
	char	 log[512];
	/* rate limits, per key and per minute */
	int	 rate_read_per_min;
	int	 rate_write_per_min;
	int	 rate_ingest_per_min;   /* an ingest key at the ingest routes */
	/* trust X-Forwarded-For from these (not used yet) */
	/* webhooks and scanner (later issues) */
	int	 allow_private_targets;
	int	 allow_http_webhooks;
	char	 secret_key_file[512];
	/* keys that only open (a rotation's old keys), separated by spaces
	 * or commas; vigilctl secrets rotate / retire (vigil.conf(5)) */
	char	 previous_key_files[2048];
	char	 rules_dir[512];
	char	 openapi_file[512];
	char	 attack_file[512];      /* ATT&CK technique ids and names */
	char	 frameworks_dir[512];   /* compliance control catalogues */
	/* Azure endpoints: public cloud by default; sovereign clouds and the
	 * tests point them elsewhere */
	char	 azure_authority_url[512];
	char	 azure_arm_url[512];
	/* vigil-spool */
	int	 spool_concurrency;          /* parallel deliveries */
	int	 spool_webhook_concurrency;  /* of them per webhook; 0: 3/4 */
	int	 spool_tenant_concurrency;   /* per tenant; 0: 7/8 */
	int	 spool_poll_ms;              /* idle wait between looks */
	int	 webhook_connect_timeout_ms;
	int	 webhook_timeout_ms;         /* whole attempt */
	int	 webhook_lease;              /* seconds a claim holds */
	double	 webhook_backoff_scale;      /* (0, 1]: 1 in production */
	int	 webhook_disable_after;      /* seconds of failing */
	int	 event_retention_days;       /* vigilctl events prune; 0 = keep */
	int	 report_retention_days;      /* vigilctl reports prune; 0 = keep */
	/* vigil-api: peers whose X-Forwarded-For is believed (the IP
	 * allowlist's client address); "" = none */
	char	 trusted_proxies[1024];
	/* notification channels (vigil-spool): where people open what a
	 * message names ("" = no links), and the message templates */
	char	 public_url[512];
	char	 template_dir[512];
	/* CA certificates vigil-spool verifies HTTPS and SMTP servers with
	 * ("" = libcurl's default, the system's bundle) */
	char	 spool_ca_file[512];
	/* vigil-api: the client addresses GET /metrics answers (CIDRs;
	 * "" = none) */
	char	 metrics_allow[1024];
};

struct cidr;
#define CONF_CIDRS_MAX 32
/* Parse a comma-separated list of addresses or prefixes into out (max
 * entries; out may be NULL to only check): the count, or -1 if an entry
 * is not one or there are more than max. */
int	 conf_cidrs(const char *list, struct cidr *out, size_t max);

/* Fill in the documented defaults (see vigil.conf(5)). */
void	 conf_defaults(struct conf *);
/* Parse text (pure: no I/O) over the current values. On error return -1
 * and write "line N: what" into err. Unknown keys are errors. */
int	 conf_parse(struct conf *, const char *text, char *err, size_t errsz);
/* As conf_parse, but on past errors: each problem given to fn as "line
 * N: key: what" (an unknown key, a bad value, a key set twice), so that
 * one run shows every mistake. The number of problems. Pure. */
int	 conf_lint(struct conf *, const char *text,
	    void (*fn)(void *arg, const char *problem), void *arg);
/* Defaults, then conf_lint over the file at path: the number of problems,
 * or -1 (told to fn, errno set) if it cannot be read. */
int	 conf_lint_file(struct conf *, const char *path,
	    void (*fn)(void *arg, const char *problem), void *arg);
/* Defaults, then the file at path; -1 with err set if unreadable/invalid
 * (errno EACCES or EPERM when permission was denied). */
int	 conf_load(struct conf *, const char *path, char *err, size_t errsz);
/* Which file to read: the -c argument if given, else $VIGIL_CONF, else
 * SYSCONFDIR "/vigil/vigil.conf". The result is static or cli. */
const char *conf_path(const char *cli);
/* A daemon's start (vigil-api, vigil-scan, vigil-spool): vigil.conf (cli,
 * or as conf_path finds it) into g_conf, then prog's log opened where it
 * says. 0, or the exit status (exits.h: VX_NOPERM if a file could not
 * be opened for lack of permission, else VX_CONFIG) after printing why on
 * stderr as "prog: ...". *path (if not NULL) is the file read. */
int	 conf_start(const char *prog, const char *cli, const char **path);
/* Who this process runs as, for error messages: "user NAME (uid N),
 * groups A, B" into out. */
void	 conf_whoami(char *out, size_t outsz);

/* The process-wide configuration, loaded once by main(). */
extern struct conf g_conf;

#endif
