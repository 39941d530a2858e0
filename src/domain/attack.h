/* attack.h: the MITRE ATT&CK Enterprise techniques a case may name,
 * from the bundled list (vigil.conf's attack_file, data/attack-enterprise.tsv
 * in the source tree): "id<TAB>name" lines, '#' comments. */
#ifndef VIGIL_ATTACK_H
#define VIGIL_ATTACK_H

#include <stddef.h>

#define ATTACK_FILE_MAX (1024 * 1024)   /* the list is about 40 KB */

/* One technique: its id ("T1059" or "T1059.001") and the name Vigil
 * shows, a sub-technique's after its parent's ("Command and Scripting
 * Interpreter: PowerShell"). */
struct attack_technique {
	char	*id;
	char	*name;
};

/* A parsed list, sorted by id. */
struct attack_list {
	struct attack_technique	*t;
	size_t			 n;
};

/* 1 if s has the form of a technique id (T + 4 digits, optionally "." +
 * 3 digits), else 0. Pure. */
int	 attack_id_form(const char *s);
/* Parse text[0..len) into *out (free with attack_list_free, also after
 * an error): 0, or -1 on a malformed line (its number into *line), a
 * repeated id, a sub-technique without its parent, no technique at all,
 * or out of memory (*line 0 for those).
 * Pure. */
int	 attack_parse(const char *text, size_t len, struct attack_list *out,
	    size_t *line);
void	 attack_list_free(struct attack_list *);
/* The name of id in l, or NULL if l does not list it. Pure. */
const char *attack_lookup(const struct attack_list *, const char *id);

/* The process's list, read from g_conf.attack_file at the first call
 * and kept (like the OpenAPI document): NULL if it cannot be read or
 * parsed (logged). */
const struct attack_list *attack_list(void);

#endif
