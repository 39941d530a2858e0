/* attack.c: the bundled MITRE ATT&CK Enterprise technique list (attack.h).
 * Parsing and lookup are pure; attack_list reads the file once per
 * process, as the OpenAPI document is. */
#include "vigil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "text.h"
#include "vjson.h"

int
attack_id_form(const char *s)
{
	size_t i;

	if (s == NULL || s[0] != 'T')
		return 0;
	for (i = 1; i <= 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	if (s[5] == '\0')
		return 1;
	if (s[5] != '.')
		return 0;
	for (i = 6; i <= 8; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return s[9] == '\0';
}

void
attack_list_free(struct attack_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->t[i].id);
		free(l->t[i].name);
	}
	free(l->t);
	memset(l, 0, sizeof(*l));
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct attack_technique *)a)->id,
	    ((const struct attack_technique *)b)->id);
}

static int
key_id(const void *key, const void *t)
{
	return strcmp(key, ((const struct attack_technique *)t)->id);
}

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Give each sub-technique its parent's name in front of its own. */
static int
name_subtechniques(struct attack_list *l)
{
	const char *parent;
	char pid[6], *full;
	size_t i, n;

	for (i = 0; i < l->n; i++) {
		if (strchr(l->t[i].id, '.') == NULL)
			continue;
		memcpy(pid, l->t[i].id, 5);
		pid[5] = '\0';
		if ((parent = attack_lookup(l, pid)) == NULL ||
		    strchr(parent, ':') != NULL)
			return -1;
		n = strlen(parent) + 2 + strlen(l->t[i].name) + 1;
		if ((full = malloc(n)) == NULL)
			return -1;
		snprintf(full, n, "%s: %s", parent, l->t[i].name);
		free(l->t[i].name);
		l->t[i].name = full;
	}
	return 0;
}

int
attack_parse(const char *text, size_t len, struct attack_list *out,
    size_t *line)
{
	const char *p = text, *end = text + len, *nl, *tab;
	struct attack_technique *t;
	size_t cap = 0, ln = 0, i, n;
	char id[16];

	memset(out, 0, sizeof(*out));
	*line = 0;
	for (; p < end; p = nl + 1) {
		ln++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl == p || *p == '#')
			continue;
		tab = memchr(p, '\t', (size_t)(nl - p));
		if (tab == NULL || (size_t)(tab - p) >= sizeof(id) ||
		    tab + 1 == nl)
			goto bad;
		memcpy(id, p, (size_t)(tab - p));
		id[tab - p] = '\0';
		/* A name is shown in JSON and reports: valid UTF-8 without
		 * control characters (a NUL included). */
		n = (size_t)(nl - tab - 1);
		if (!attack_id_form(id) || !vjson_utf8_valid(tab + 1, n) ||
		    text_control(tab + 1, n, 0) != n)
			goto bad;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((t = realloc(out->t, cap * sizeof(*t))) == NULL)
				goto bad;
			out->t = t;
		}
		t = &out->t[out->n];
		t->id = strdup(id);
		t->name = dupn(tab + 1, (size_t)(nl - tab - 1));
		out->n++;
		if (t->id == NULL || t->name == NULL)
			goto bad;
	}
	if (out->n == 0) {
		/* a list that names nothing would refuse every technique */
		ln = 0;
		goto bad;
	}
	qsort(out->t, out->n, sizeof(*out->t), by_id);
	for (i = 1; i < out->n; i++)
		if (strcmp(out->t[i - 1].id, out->t[i].id) == 0) {
			ln = 0;
			goto bad;
		}
	if (name_subtechniques(out) != 0) {
		ln = 0;
		goto bad;
	}
	return 0;
bad:
	*line = ln;
	attack_list_free(out);
	return -1;
}

const char *
attack_lookup(const struct attack_list *l, const char *id)
{
	struct attack_technique *t;

	if (l == NULL || l->n == 0 || !attack_id_form(id))
		return NULL;
	t = bsearch(id, l->t, l->n, sizeof(*l->t), key_id);
	return t != NULL ? t->name : NULL;
}

const struct attack_list *
attack_list(void)
{
	static struct attack_list list;
	static int loaded;
	struct buf b;
	char chunk[8192], *text;
	size_t n, len, line;
	FILE *f;

	if (loaded)
		return &list;
	if ((f = fopen(g_conf.attack_file, "r")) == NULL) {
		log_err("attack: cannot open %s", g_conf.attack_file);
		return NULL;
	}
	buf_init(&b, ATTACK_FILE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) != 0) {
			log_err("attack: %s too large", g_conf.attack_file);
			buf_free(&b);
			fclose(f);
			return NULL;
		}
	fclose(f);
	if ((text = buf_detach(&b, &len)) == NULL)
		return NULL;
	if (attack_parse(text, len, &list, &line) != 0) {
		log_err("attack: %s: malformed (line %zu)", g_conf.attack_file,
		    line);
		free(text);
		return NULL;
	}
	free(text);
	loaded = 1;
	return &list;
}
