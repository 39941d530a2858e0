/* rules_check.h: the typed condition tree that rules_check.c builds from a
 * rule's JSON while it validates it, and that rules_eval.c walks. The
 * grammar (which keys and operators exist, their arity and operand types)
 * is written once, in the builder; the evaluator never reads rule JSON.
 * Internal to the rule engine (rules.c, rules_check.c, rules_eval.c). */
#ifndef VIGIL_RULES_CHECK_H
#define VIGIL_RULES_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "cidr.h"

struct rule;

enum rules_kind {
	RULES_ALL,		/* every kid holds */
	RULES_ANY,		/* some kid holds */
	RULES_NONE,		/* no kid holds */
	RULES_NOT,		/* kids[0] does not hold */
	RULES_EACH,		/* an element each yields satisfies kids[0] */
	RULES_LEAF,
};

enum rules_op {
	RULES_EQ, RULES_NE, RULES_IN, RULES_NOT_IN, RULES_LT, RULES_LE,
	RULES_GT, RULES_GE, RULES_EXISTS, RULES_ABSENT, RULES_PORTS,
	RULES_INTERNET, RULES_OP__N
};

/* One step of a path: .key, [*] or [N]. */
struct rules_step {
	enum { RULES_STEP_KEY, RULES_STEP_EVERY, RULES_STEP_INDEX } kind;
	char		*key;		/* RULES_STEP_KEY */
	size_t		 idx;		/* RULES_STEP_INDEX */
};

/* A path split into steps; "@" (the current node) has none. text is the
 * path as written, which evidence shows. */
struct rules_path {
	char			*text;
	struct rules_step	*steps;
	size_t			 nsteps;
};

/* A rule's eq/ne/in/not_in operand: a string (bytes s[0..len), which may
 * hold NUL), a boolean b, an integer i (d is i as a double) or a finite
 * double d. */
struct rules_scalar {
	enum json_type	 type;
	char		*s;
	size_t		 len;
	int		 b;
	int64_t		 i;
	double		 d;
};

/* A port range lo..hi, both included. */
struct rules_ports {
	unsigned	 lo, hi;
};

struct rules_leaf {
	enum rules_op		 op;
	struct rules_path	*paths;
	size_t			 npaths;
	json_object		*def;		/* owned; "default" or NULL */
	int			 cs;		/* case_sensitive */
	int			 flag;		/* exists/absent's operand;
						 * internet: 0 for false */
	struct rules_scalar	*vals;		/* eq, ne: 1; in, not_in: n */
	size_t			 nvals;
	double			 num;		/* lt, le, gt, ge */
	struct rules_ports	*specs;		/* ports: any one covered */
	size_t			 nspecs;
	struct cidr		*cidrs;		/* internet: the default list
						 * for true/false */
	size_t			 ncidrs;
};

struct rules_node {
	enum rules_kind		 kind;
	struct rules_node	**kids;		/* all/any/none: n; not, each:
						 * 1 (each's where) */
	size_t			 nkids;
	struct rules_path	 each;		/* RULES_EACH */
	struct rules_leaf	 leaf;		/* RULES_LEAF */
};

/* Validate rule object o (number idx in file) into *r, building its
 * condition tree. 0, or -1 with "FILE: rule ID: PATH: what" in err (when
 * err is not NULL); on either result the caller frees *r with
 * rules_check_clear. */
int	 rules_check_rule(const char *file, json_object *o, size_t idx,
	    struct rule *r, char *err, size_t errsz);
/* Free what rules_check_rule put into r and zero it. */
void	 rules_check_clear(struct rule *r);
/* Parse one port spec, "22", "20-25" or "*" (len bytes of s; spaces and
 * tabs around it allowed), as rules and resources write it; 1 with *p
 * set, or 0. */
int	 rules_check_port(const char *s, size_t len, struct rules_ports *p);

#endif
