/* rules.h: declarative JSON rules (etc/rules/PROVIDER/NAME.json) and their
 * evaluation over one resource's ARM JSON. Pure: no I/O except
 * rules_load_dir, no clock, no database. */
#ifndef VIGIL_RULES_H
#define VIGIL_RULES_H

#include <stddef.h>
#include <json-c/json.h>

#include "finding.h"

struct rules_node;
struct catalog;

/* One control a rule checks: ids as in the catalogue (catalog.h). */
struct rule_ref {
	char			*framework;     /* "nist-800-53-r5" */
	char			*control;       /* "SC-7" */
};

#define RULES_MAX_REFS		64	/* framework references in one rule */
#define RULES_FRAMEWORK_TEXT	255	/* findings.framework's width */

struct rule {
	char			*id;            /* "nsg-ssh-internet" */
	char			*provider;      /* "azure" */
	char			*resource_type; /* "Microsoft.Network/networkSecurityGroups" */
	char			*title;
	enum finding_severity	 severity;
	char			*category;      /* network|identity|storage|keyvault|compliance */
	char			*layer;
	char			*framework;     /* text: the old free-text form, or
						 * the references written out,
						 * "cis-azure-2.0 6.1; nist-800-53-r5
						 * SC-7, AC-4" */
	struct rule_ref		*refs;          /* none for the free-text form */
	size_t			 nrefs;
	char			*description;
	char			*recommendation;
	struct rules_node	*cond;          /* owned: the condition tree */
	json_object		*remediation;   /* owned; NULL if none: {"api_version","patch":{…}} */
	char			*file;          /* where it was loaded from */
};

/* One problem with a rule file that rules_load_dir skipped: a file with
 * two bad rules gives two. */
struct rules_invalid {
	char		*file;		/* as loaded: DIR/azure/x.json */
	char		*error;		/* "rule ID: PATH: what", no file */
};

struct ruleset {
	struct rule	*rules;
	size_t		 n;
	struct rules_invalid *invalid;	/* rules_load_dir's skipped files */
	size_t		 ninvalid;
};

/* The catalogue that rules' framework references are checked against
 * from now on (kept, not copied); NULL, the default, checks only the
 * form of the ids. Programs call it once at start with catalog_get(). */
void	 rules_use_catalog(const struct catalog *);

/* Parse and validate one rule file's text (a rule object or an array of
 * them) and append its rules to set. On error return -1 and write
 * "FILE: rule ID: PATH: what" into err; set is left as it was. Pure. */
int	 rules_parse(struct ruleset *set, const char *text, size_t len,
	    const char *file, char *err, size_t errsz);
/* Load every *.json under dir (recursively, sorted), validating every
 * rule of every file. A file that cannot be read, is not JSON, holds a bad
 * rule or repeats a rule id already loaded is skipped whole, each of its
 * problems added to set->invalid, and the others are loaded: one bad file
 * never stops the rest. 0, or -1 with err set (and set as it was) when
 * dir cannot be read, holds no *.json file, or on out of memory. */
int	 rules_load_dir(struct ruleset *set, const char *dir, char *err,
	    size_t errsz);
void	 rules_free(struct ruleset *set);

/* Evaluate rule over resource (one ARM resource object). Returns 1 if it
 * fires, with *evidence a new JSON array of the offending sub-objects
 * (caller puts), 0 if not (evidence NULL), -1 on an internal error.
 * Rules whose resource_type differs (case-insensitively) from the
 * resource's "type" return 0. */
int	 rules_eval(const struct rule *rule, json_object *resource,
	    json_object **evidence);

/* The members of a resource that rules_eval of any rule of rs reads
 * (with the id, type, name, location, tags and subscriptionId the scanner
 * reads itself), into *pr (rules_members_free): 0; 1 when a rule reads
 * the whole resource ("@"), *pr then empty; -1 out of memory. */
struct armprune;
int	 rules_members(const struct ruleset *rs, struct armprune *pr);
void	 rules_members_free(struct armprune *pr);

/* Rule listing for GET /rules: a new JSON object for one rule. */
json_object *rules_to_json(const struct rule *rule);

#endif
