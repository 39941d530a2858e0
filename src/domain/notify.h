/* notify.h: the message a notification channel sends for an event, made
 * from the templates under template_dir (vigil.conf; installed in
 * $(sysconfdir)/vigil/templates, for users to edit):
 *
 *   slack.json      a Slack message (Block Kit blocks and a text fallback)
 *   teams.json      a Teams message with an Adaptive Card attachment
 *   pagerduty.json  the payload of a PagerDuty Events API v2 trigger
 *   email.txt       "Subject: …", an empty line, the plain-text body
 *
 * Templates hold {{name}} (the value; JSON-escaped in .json templates,
 * Slack's &, <, > escaped too in slack.json, control characters dropped
 * everywhere), {{#name}}…{{/name}} (kept if the value is not empty) and
 * {{^name}}…{{/name}} (kept if it is). The names: event_type, event_id,
 * tenant_id, timestamp, headline, object (finding, alert, case, scan or
 * test), id, title, severity, state, resource, environment, source, link
 * (public_url + the object's API path; empty without public_url),
 * public_url, pd_severity (critical, error, warning, info) and color
 * (attention, warning, good, default). A template is read at each
 * message, so an edit applies to the next one. */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"

/* What to send. */
struct notify_msg {
	char		*url;       /* the HTTP endpoint, or smtp[s]://host:port */
	char		*body;      /* JSON, or the RFC 5322 message */
	size_t		 len;
	int		 email;
	/* e-mail only */
	char		*from;
	json_object	*rcpt;      /* array of addresses, owned */
	char		*username;  /* NULL: no AUTH */
	char		*password;  /* wiped by notify_msg_free */
	int		 starttls;
};

void	 notify_msg_free(struct notify_msg *);

/* The message channel kind (slack, teams, pagerduty, email) sends for
 * event (the stored envelope), given its config (JSON text) and opened
 * secret (JSON text). 0, or -1 with a reason in err (a template missing
 * or not rendering JSON, a config not usable). */
int	 notify_render(const char *kind, const char *config,
	    const char *secret, const char *event, const char *template_dir,
	    const char *public_url, struct notify_msg *out, char *err,
	    size_t errsz);

/* The variables notify_render fills a template with, for event (an
 * envelope object): a new object of strings. */
json_object *notify_vars(json_object *event, const char *public_url);

/* Expand tpl[0..len) with vars into out (appended) in a mode: 0 plain
 * text, 1 JSON string content, 2 JSON string content for Slack. 0, or
 * -1 (out of memory, or a section not closed: err says). Pure. */
int	 notify_expand(const char *tpl, size_t len, json_object *vars,
	    int mode, struct buf *out, char *err, size_t errsz);

/* 1 if an event of type resolves a PagerDuty incident (the finding,
 * alert or case is no longer a problem), 0 if it triggers one. */
int	 notify_resolves(const char *type);

#endif
