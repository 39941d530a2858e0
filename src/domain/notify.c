/* notify.c: a channel's message from its template (notify.h). */
#include "vigil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "id.h"
#include "notify.h"
#include "vjson.h"

#define NOTIFY_TEMPLATE_MAX (64 * 1024)
#define NOTIFY_OUT_MAX      (1024 * 1024)

void
notify_msg_free(struct notify_msg *m)
{
	if (m == NULL)
		return;
	if (m->password != NULL) {
		crypto_wipe(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->url);
	free(m->body);
	free(m->from);
	free(m->username);
	json_object_put(m->rcpt);
	memset(m, 0, sizeof(*m));
}

int
notify_resolves(const char *type)
{
	static const char *const r[] = { "finding.resolved",
	    "finding.dismissed", "finding.accepted", "finding.muted",
	    "finding.remediated", "alert.dismissed", "case.resolved" };
	size_t i;

	for (i = 0; type != NULL && i < NELEM(r); i++)
		if (strcmp(type, r[i]) == 0)
			return 1;
	return 0;
}

/* --- variables ------------------------------------------------------------ */

static const char *
str_at(json_object *o, const char *k)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) || v == NULL ||
	    json_object_is_type(v, json_type_object) ||
	    json_object_is_type(v, json_type_array))
		return NULL;
	return json_object_get_string(v);
}

static void
set(json_object *vars, const char *k, const char *v)
{
	json_object_object_add(vars, k, json_object_new_string(v ? v : ""));
}

/* What an event type tells a person, or NULL for its name. */
static const char *
headline(const char *type)
{
	static const char *const h[][2] = {
		{ "finding.detected", "New finding" },
		{ "finding.reopened", "Finding reopened" },
		{ "finding.resolved", "Finding resolved" },
		{ "finding.updated", "Finding updated" },
		{ "finding.accepted", "Finding risk accepted" },
		{ "finding.dismissed", "Finding dismissed" },
		{ "finding.muted", "Finding muted" },
		{ "finding.expired", "Risk acceptance expired" },
		{ "alert.created", "New alert" },
		{ "alert.dismissed", "Alert dismissed" },
		{ "alert.escalated", "Alert escalated" },
		{ "case.created", "Case opened" },
		{ "case.updated", "Case updated" },
		{ "case.resolved", "Case resolved" },
		{ "case.reopened", "Case reopened" },
		{ "scan.completed", "Scan completed" },
		{ "scan.failed", "Scan failed" },
		{ "webhook.test", "Test notification from Vigil" },
		{ "channel.digest", "Vigil digest" },
	};
	size_t i;

	for (i = 0; type != NULL && i < NELEM(h); i++)
		if (strcmp(type, h[i][0]) == 0)
			return h[i][1];
	return NULL;
}

/* A digest's list, one line per event: "- [severity] Headline: title
 * <link>", into vars' digest_lines; count, listed and period_end too. */
static void
digest_vars(json_object *vars, json_object *data, const char *base)
{
	static const char *const paths[][2] = { { "finding.", "findings" },
	    { "alert.", "alerts" }, { "case.", "cases" } };
	json_object *list = NULL, *e;
	struct buf b;
	const char *type, *sev, *title, *id, *hl, *path;
	char num[32];
	size_t i, k, n;

	buf_init(&b, NOTIFY_OUT_MAX);
	json_object_object_get_ex(data, "events", &list);
	n = json_object_is_type(list, json_type_array) ?
	    json_object_array_length(list) : 0;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		type = str_at(e, "event_type");
		sev = str_at(e, "severity");
		title = str_at(e, "title");
		id = str_at(e, "id");
		hl = headline(type);
		path = NULL;
		for (k = 0; type != NULL && k < NELEM(paths); k++)
			if (strncmp(type, paths[k][0], strlen(paths[k][0])) ==
			    0)
				path = paths[k][1];
		buf_printf(&b, "- %s%s%s%s: %s", sev ? "[" : "", sev ? sev : "",
		    sev ? "] " : "", hl ? hl : (type ? type : "event"),
		    title ? title : (id ? id : ""));
		if (*base != '\0' && path != NULL && id != NULL)
			buf_printf(&b, "\n  %s/api/v1/%s/%s", base, path, id);
		buf_append(&b, "\n", 1);
	}
	buf_append(&b, "", 1);
	json_object_object_add(vars, "digest_lines",
	    json_object_new_string(b.data ? b.data : ""));
	buf_free(&b);
	snprintf(num, sizeof(num), "%s", str_at(data, "count") ?
	    str_at(data, "count") : "0");
	set(vars, "count", num);
	snprintf(num, sizeof(num), "%zu", n);
	set(vars, "listed", num);
	set(vars, "period_end", str_at(data, "period_end"));
}

json_object *
notify_vars(json_object *ev, const char *public_url)
{
	static const char *const objs[][2] = { { "finding", "findings" },
	    { "alert", "alerts" }, { "case", "cases" }, { "scan", "scans" } };
	json_object *vars = json_object_new_object(), *data = NULL, *o = NULL;
	const char *type = str_at(ev, "event_type"), *obj = "test";
	const char *path = NULL, *id = NULL, *sev, *res, *hl;
	char link[2600], base[2100];
	size_t i, n;

	json_object_object_get_ex(ev, "data", &data);
	for (i = 0; i < NELEM(objs); i++)
		if (data != NULL && json_object_object_get_ex(data, objs[i][0],
		    &o) && json_object_is_type(o, json_type_object)) {
			obj = objs[i][0];
			path = objs[i][1];
			break;
		} else
			o = NULL;
	if (o != NULL)
		id = str_at(o, "id");
	if (id == NULL && type != NULL && strncmp(type, "case.", 5) == 0)
		id = str_at(data, "case_id");
	set(vars, "event_type", type);
	set(vars, "event_id", str_at(ev, "event_id"));
	set(vars, "tenant_id", str_at(ev, "tenant_id"));
	set(vars, "timestamp", str_at(ev, "timestamp"));
	hl = headline(type);
	set(vars, "headline", hl ? hl : type);
	set(vars, "object", obj);
	set(vars, "id", id);
	set(vars, "title", o ? str_at(o, "title") : (type && strcmp(type,
	    "webhook.test") == 0 ? "This channel works." : NULL));
	sev = o ? str_at(o, "severity") : NULL;
	set(vars, "severity", sev);
	set(vars, "state", o ? (str_at(o, "state") ? str_at(o, "state") :
	    str_at(o, "status")) : NULL);
	res = o ? str_at(o, "resource_name") : NULL;
	if (res == NULL || *res == '\0')
		res = o ? str_at(o, "resource_id") : NULL;
	set(vars, "resource", res);
	set(vars, "environment", o ? str_at(o, "environment") : NULL);
	set(vars, "source", o ? str_at(o, "source") : NULL);
	/* the link: public_url without its trailing slashes */
	n = public_url ? strlen(public_url) : 0;
	while (n > 0 && public_url[n - 1] == '/')
		n--;
	snprintf(base, sizeof(base), "%.*s", (int)(n < 2048 ? n : 2048),
	    public_url ? public_url : "");
	set(vars, "public_url", base);
	link[0] = '\0';
	if (n > 0 && path != NULL && id != NULL && *id != '\0')
		snprintf(link, sizeof(link), "%s/api/v1/%s/%s", base, path,
		    id);
	set(vars, "link", link);
	set(vars, "pd_severity", sev == NULL ? "info" :
	    strcmp(sev, "critical") == 0 ? "critical" :
	    strcmp(sev, "high") == 0 ? "error" :
	    strcmp(sev, "medium") == 0 ? "warning" : "info");
	if (type != NULL && strcmp(type, "channel.digest") == 0 &&
	    data != NULL)
		digest_vars(vars, data, base);
	set(vars, "color", sev == NULL ? "default" :
	    (strcmp(sev, "critical") == 0 || strcmp(sev, "high") == 0) ?
	    "attention" : strcmp(sev, "medium") == 0 ? "warning" :
	    notify_resolves(type) ? "good" : "default");
	return vars;
}

/* --- templates ------------------------------------------------------------ */

static int
put_value(struct buf *out, const char *v, int mode, int lines)
{
	char u[8];
	int rc = 0;

	for (; *v != '\0' && rc == 0; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\n' && lines) {
			rc = buf_puts(out, mode == 0 ? "\n" : "\\n");
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			rc = buf_append(out, " ", 1);
			continue;
		}
		if (mode == 0) {
			rc = buf_append(out, v, 1);
			continue;
		}
		if (mode == 2 && (c == '&' || c == '<' || c == '>')) {
			rc = buf_puts(out, c == '&' ? "&amp;" : c == '<' ?
			    "&lt;" : "&gt;");
			continue;
		}
		if (c == '"' || c == '\\') {
			snprintf(u, sizeof(u), "\\%c", c);
			rc = buf_puts(out, u);
		} else
			rc = buf_append(out, v, 1);
	}
	return rc;
}

/* The name between "{{" + skip and "}}" at p into name; its length with
 * the braces, or 0 if none. */
static size_t
tag(const char *p, const char *end, char *name, size_t namesz)
{
	const char *q;
	size_t n;

	if (end - p < 4 || p[0] != '{' || p[1] != '{')
		return 0;
	for (q = p + 2; q + 1 < end && !(q[0] == '}' && q[1] == '}'); q++)
		;
	if (q + 1 >= end)
		return 0;
	n = (size_t)(q - (p + 2));
	if (n == 0 || n >= namesz)
		return 0;
	memcpy(name, p + 2, n);
	name[n] = '\0';
	return n + 4;
}

static int
expand(const char *p, const char *end, json_object *vars, int mode,
    struct buf *out, char *err, size_t errsz, int depth)
{
	char name[64], close[70], inner[64];
	const char *v, *q, *body_end;
	json_object *jv;
	size_t t, t2;
	int keep, nest;

	if (depth > 8) {
		snprintf(err, errsz, "sections nested too deep");
		return -1;
	}
	while (p < end) {
		if ((t = tag(p, end, name, sizeof(name))) == 0) {
			if (buf_append(out, p, 1) != 0)
				return -1;
			p++;
			continue;
		}
		if (name[0] != '#' && name[0] != '^') {
			v = json_object_object_get_ex(vars, name, &jv) ?
			    json_object_get_string(jv) : "";
			/* digest_lines is the one value of several lines,
			 * made by notify_vars */
			if (put_value(out, v ? v : "", mode,
			    strcmp(name, "digest_lines") == 0) != 0)
				return -1;
			p += t;
			continue;
		}
		/* a section: find its close, sections of the same name
		 * nested inside counted */
		snprintf(close, sizeof(close), "/%s", name + 1);
		nest = 0;
		body_end = NULL;
		for (q = p + t; q < end; q++) {
			if ((t2 = tag(q, end, inner, sizeof(inner))) == 0)
				continue;
			if ((inner[0] == '#' || inner[0] == '^') &&
			    strcmp(inner + 1, name + 1) == 0)
				nest++;
			else if (strcmp(inner, close) == 0 && nest-- == 0) {
				body_end = q;
				break;
			}
			q += t2 - 1;
		}
		if (body_end == NULL) {
			snprintf(err, errsz, "{{%s}} is not closed", name);
			return -1;
		}
		v = json_object_object_get_ex(vars, name + 1, &jv) ?
		    json_object_get_string(jv) : "";
		keep = (v != NULL && *v != '\0') == (name[0] == '#');
		if (keep && expand(p + t, body_end, vars, mode, out, err,
		    errsz, depth + 1) != 0)
			return -1;
		p = body_end + strlen(close) + 4;
	}
	return 0;
}

int
notify_expand(const char *tpl, size_t len, json_object *vars, int mode,
    struct buf *out, char *err, size_t errsz)
{
	err[0] = '\0';
	if (expand(tpl, tpl + len, vars, mode, out, err, errsz, 0) != 0) {
		if (err[0] == '\0')
			snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

/* Read template_dir/name into b. */
static int
template_read(const char *dir, const char *name, struct buf *b, char *err,
    size_t errsz)
{
	char path[4200];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "template %s: %s", path, strerror(errno));
		return -1;
	}
	rc = buf_read_fd(b, fd);
	close(fd);
	if (rc != 0 || b->len > NOTIFY_TEMPLATE_MAX) {
		snprintf(err, errsz, "template %s: unreadable or over %d "
		    "bytes", path, NOTIFY_TEMPLATE_MAX);
		return -1;
	}
	return 0;
}

/* Expand template name into a JSON value (new object); NULL with err. */
static json_object *
render_json(const char *dir, const char *name, json_object *vars, int mode,
    char *err, size_t errsz)
{
	struct buf t, o;
	struct vjson_err je;
	json_object *j = NULL;

	buf_init(&t, NOTIFY_TEMPLATE_MAX + 1);
	buf_init(&o, NOTIFY_OUT_MAX);
	if (template_read(dir, name, &t, err, errsz) != 0 ||
	    notify_expand(t.data ? t.data : "", t.len, vars, mode, &o, err,
	    errsz) != 0)
		goto out;
	if ((j = vjson_parse(o.data ? o.data : "", o.len, 32, o.len + 1,
	    &je)) == NULL)
		snprintf(err, errsz, "template %s/%s does not make JSON", dir,
		    name);
out:
	buf_free(&t);
	buf_free(&o);
	return j;
}

/* PagerDuty refuses a summary over 1024 characters: a longer one (a long
 * title on a long resource id) is cut there, on a UTF-8 boundary, with
 * "..." at the end. */
#define PD_SUMMARY_MAX 1024

static void
summary_cap(json_object *payload)
{
	const char *s;
	char cut[PD_SUMMARY_MAX + 1];
	size_t n, chars, i;

	if ((s = str_at(payload, "summary")) == NULL)
		return;
	n = strlen(s);
	for (i = 0, chars = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	if (chars <= PD_SUMMARY_MAX)
		return;
	/* PD_SUMMARY_MAX - 3 characters, then "..." */
	for (i = 0, chars = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 &&
		    chars++ == PD_SUMMARY_MAX - 3)
			break;
	}
	if (i > sizeof(cut) - 4)
		i = sizeof(cut) - 4;
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	memcpy(cut, s, i);
	memcpy(cut + i, "...", 4);
	json_object_object_add(payload, "summary",
	    json_object_new_string(cut));
}

static char *
dupstr(json_object *o, const char *k)
{
	const char *s = str_at(o, k);

	return s ? strdup(s) : NULL;
}

/* RFC 2047 for a header value that is not ASCII. */
static int
header_value(struct buf *b, const char *v)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), i;
	int ascii = 1;

	for (i = 0; i < n; i++)
		if (s[i] >= 0x80)
			ascii = 0;
	if (ascii)
		return buf_puts(b, v);
	if (buf_puts(b, "=?UTF-8?B?") != 0)
		return -1;
	for (i = 0; i < n; i += 3) {
		unsigned v3 = (unsigned)s[i] << 16 |
		    (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		    (i + 2 < n ? s[i + 2] : 0);
		char q[4] = { b64[v3 >> 18 & 63], b64[v3 >> 12 & 63],
		    i + 1 < n ? b64[v3 >> 6 & 63] : '=',
		    i + 2 < n ? b64[v3 & 63] : '=' };

		if (buf_append(b, q, 4) != 0)
			return -1;
	}
	return buf_puts(b, "?=");
}

/* The e-mail: headers, then the template's body with CRLF line ends. */
static int
render_email(const char *dir, json_object *vars, json_object *cfg,
    json_object *ev, struct buf *m, char *err, size_t errsz)
{
	struct buf t, o;
	const char *p, *body, *nl, *subject = "Vigil notification";
	char date[64], mid[VIGIL_ID_LEN], subj[1024];
	json_object *to;
	time_t now = time(NULL);
	struct tm tm;
	size_t i, n;
	int rc = -1;

	buf_init(&t, NOTIFY_TEMPLATE_MAX + 1);
	buf_init(&o, NOTIFY_OUT_MAX);
	if (template_read(dir, str_at(ev, "event_type") != NULL &&
	    strcmp(str_at(ev, "event_type"), "channel.digest") == 0 ?
	    "email-digest.txt" : "email.txt", &t, err, errsz) != 0 ||
	    notify_expand(t.data ? t.data : "", t.len, vars, 0, &o, err,
	    errsz) != 0 || buf_append(&o, "", 1) != 0)
		goto out;
	body = o.data;
	if (strncmp(body, "Subject:", 8) == 0) {
		nl = strchr(body, '\n');
		n = nl ? (size_t)(nl - body) : strlen(body);
		p = body + 8;
		while (*p == ' ')
			p++;
		snprintf(subj, sizeof(subj), "%.*s", (int)(n - (size_t)(p -
		    body)), p);
		if ((n = strlen(subj)) > 0 && subj[n - 1] == '\r')
			subj[n - 1] = '\0';
		subject = subj;
		body = nl ? nl + 1 : body + n;
		if (*body == '\r')
			body++;
		if (*body == '\n')
			body++;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (id_new("msg", mid, sizeof(mid)) != 0)
		goto out;
	if (buf_printf(m, "Date: %s\r\nFrom: %s\r\nTo: ", date,
	    str_at(cfg, "from")) != 0)
		goto out;
	json_object_object_get_ex(cfg, "to", &to);
	for (i = 0; i < json_object_array_length(to); i++)
		if (buf_printf(m, "%s%s", i ? ", " : "",
		    json_object_get_string(json_object_array_get_idx(to,
		    i))) != 0)
			goto out;
	if (buf_printf(m, "\r\nMessage-ID: <%s@vigil>\r\nSubject: ", mid) != 0 ||
	    header_value(m, subject) != 0 ||
	    buf_puts(m, "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n") != 0)
		goto out;
	for (p = body; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' ? buf_append(m, "\r\n", 2) :
		    buf_append(m, p, 1))
			goto out;
	}
	if (m->len < 2 || memcmp(m->data + m->len - 2, "\r\n", 2) != 0)
		if (buf_append(m, "\r\n", 2) != 0)
			goto out;
	rc = 0;
out:
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errsz, "out of memory");
	buf_free(&t);
	buf_free(&o);
	return rc;
}

int
notify_render(const char *kind, const char *config, const char *secret,
    const char *event, const char *dir, const char *public_url,
    struct notify_msg *out, char *err, size_t errsz)
{
	json_object *ev = NULL, *cfg = NULL, *sec = NULL, *vars = NULL;
	json_object *j = NULL, *pd = NULL, *links, *l;
	struct buf m;
	const char *s, *body;
	char dedup[200];
	size_t n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	buf_init(&m, NOTIFY_OUT_MAX);
	ev = json_tokener_parse(event ? event : "");
	cfg = json_tokener_parse(config ? config : "{}");
	sec = json_tokener_parse(secret ? secret : "{}");
	if (ev == NULL || cfg == NULL || sec == NULL) {
		snprintf(err, errsz, "the event or the channel's settings "
		    "cannot be read");
		goto out;
	}
	vars = notify_vars(ev, public_url);
	if (strcmp(kind, "slack") == 0 || strcmp(kind, "teams") == 0) {
		if ((j = render_json(dir, strcmp(kind, "slack") == 0 ?
		    "slack.json" : "teams.json", vars, kind[0] == 's' ? 2 : 1,
		    err, errsz)) == NULL)
			goto out;
		out->url = dupstr(sec, "url");
	} else if (strcmp(kind, "pagerduty") == 0) {
		s = str_at(ev, "event_type");
		snprintf(dedup, sizeof(dedup), "vigil:%s:%s",
		    str_at(ev, "tenant_id") ? str_at(ev, "tenant_id") : "",
		    json_object_get_string(json_object_object_get(vars, "id")));
		j = json_object_new_object();
		json_object_object_add(j, "routing_key",
		    json_object_new_string(str_at(sec, "routing_key") ?
		    str_at(sec, "routing_key") : ""));
		/* A test has no object: its own key, a trigger. */
		if (strcmp(json_object_get_string(json_object_object_get(vars,
		    "id")), "") == 0)
			snprintf(dedup, sizeof(dedup), "vigil:test:%s",
			    str_at(ev, "event_id") ? str_at(ev, "event_id") :
			    "");
		json_object_object_add(j, "dedup_key",
		    json_object_new_string(dedup));
		if (notify_resolves(s)) {
			json_object_object_add(j, "event_action",
			    json_object_new_string("resolve"));
		} else {
			if ((pd = render_json(dir, "pagerduty.json", vars, 1,
			    err, errsz)) == NULL)
				goto out;
			json_object_object_add(j, "event_action",
			    json_object_new_string("trigger"));
			summary_cap(pd);
			json_object_object_add(j, "payload", pd);
			json_object_object_add(j, "client",
			    json_object_new_string("Vigil"));
			s = json_object_get_string(json_object_object_get(vars,
			    "link"));
			if (*s != '\0') {
				links = json_object_new_array();
				l = json_object_new_object();
				json_object_object_add(l, "href",
				    json_object_new_string(s));
				json_object_object_add(l, "text",
				    json_object_new_string("Open in Vigil"));
				json_object_array_add(links, l);
				json_object_object_add(j, "links", links);
				json_object_object_add(j, "client_url",
				    json_object_new_string(s));
			}
		}
		out->url = dupstr(cfg, "url");
	} else if (strcmp(kind, "email") == 0) {
		if (render_email(dir, vars, cfg, ev, &m, err, errsz) != 0)
			goto out;
		out->email = 1;
		out->starttls = (s = str_at(cfg, "security")) != NULL &&
		    strcmp(s, "starttls") == 0;
		{
			char url[400];

			snprintf(url, sizeof(url), "%s://%s:%s",
			    s != NULL && strcmp(s, "tls") == 0 ? "smtps" :
			    "smtp", str_at(cfg, "host") ? str_at(cfg, "host") :
			    "", str_at(cfg, "port") ? str_at(cfg, "port") :
			    "25");
			out->url = strdup(url);
		}
		out->from = dupstr(cfg, "from");
		json_object_object_get_ex(cfg, "to", &out->rcpt);
		json_object_get(out->rcpt);
		out->username = dupstr(cfg, "username");
		out->password = dupstr(sec, "password");
		out->body = buf_detach(&m, &out->len);
		if (out->url == NULL || out->from == NULL ||
		    out->body == NULL || out->rcpt == NULL) {
			snprintf(err, errsz, "the channel's e-mail settings "
			    "are incomplete");
			goto out;
		}
		rc = 0;
		goto out;
	} else {
		snprintf(err, errsz, "unknown channel type %s", kind);
		goto out;
	}
	body = vjson_str(j, &n);
	if (out->url == NULL || (out->body = strdup(body)) == NULL) {
		snprintf(err, errsz, "the channel has no target");
		goto out;
	}
	out->len = n;
	rc = 0;
out:
	if (rc != 0)
		notify_msg_free(out);
	buf_free(&m);
	json_object_put(j);
	json_object_put(vars);
	json_object_put(ev);
	json_object_put(cfg);
	if (sec != NULL) {
		json_object_put(sec);
	}
	return rc;
}
