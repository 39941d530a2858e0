/* catalog.h: the compliance control catalogues, one JSON file per
 * framework under vigil.conf's frameworks_dir (data/frameworks in the
 * source tree): a framework's id, name, version, source and its controls'
 * ids and short titles, in the file's order. Rules refer to controls by
 * (framework id, control id); see README, "Compliance frameworks". */
#ifndef VIGIL_CATALOG_H
#define VIGIL_CATALOG_H

#include <stddef.h>

#define CATALOG_FILE_MAX	(1024 * 1024)	/* NIST's file is ~30 KB */
#define CATALOG_MAX_CONTROLS	5000
#define CATALOG_MAX_FRAMEWORKS	64
#define CATALOG_ID_MAX		32	/* framework and control ids */

struct catalog_control {
	char	*id;	/* "SC-7", "6.1", "CC6.1" */
	char	*title;
};

struct catalog_framework {
	char			*id;	/* "nist-800-53-r5" */
	char			*name;
	char			*version;
	char			*source;
	char			*source_commit;
	char			*license;
	char			*generated_by;
	struct catalog_control	*c;	/* in the file's order */
	size_t			 n;
	size_t			*byid;	/* indexes of c sorted by id */
};

/* Frameworks sorted by id. */
struct catalog {
	struct catalog_framework	*f;
	size_t				 n;
};

/* 1 if s has the form of a framework id (lowercase letters, digits, '.'
 * and inner '-', 1..32 bytes), else 0. Pure. */
int	 catalog_framework_id_form(const char *s);
/* 1 if s has the form of a control id (letters, digits, '.', '-', '(',
 * ')', 1..32 bytes), else 0. Pure. */
int	 catalog_control_id_form(const char *s);

/* Parse one framework file's text[0..len) and add it to cat: 0, or -1
 * with "FILE: PATH: what" in err (a missing or malformed field, a
 * repeated control or framework id); cat is left as it was. Pure. */
int	 catalog_parse(struct catalog *cat, const char *text, size_t len,
	    const char *file, char *err, size_t errsz);
/* Every *.json directly in dir, in name order; none at all is an error.
 * 0 or -1 with err set. */
int	 catalog_load_dir(struct catalog *cat, const char *dir, char *err,
	    size_t errsz);
void	 catalog_free(struct catalog *);

/* The framework of that id, or NULL. Pure. */
const struct catalog_framework *catalog_framework(const struct catalog *,
	    const char *id);
/* The index in f->c of the control of that id, or -1. Pure. */
long	 catalog_control(const struct catalog_framework *f, const char *id);

#endif
