/* importfmt.h: the report formats POST /imports and "vigilctl findings
 * import" read (OCSF, SARIF, ASFF, Vigil's own JSON), as pure functions:
 * a stream framer that hands over one item at a time, parsed by json-c,
 * from bytes fed in pieces (memory bounded by the largest item, never by
 * the report), and a mapper from one item to one finding. No database,
 * no clock: the Check suite and the fuzz target call them directly. */
#ifndef VIGIL_IMPORTFMT_H
#define VIGIL_IMPORTFMT_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "finding.h"

enum importfmt {
	IMPORTFMT_VIGIL = 0,
	IMPORTFMT_OCSF,
	IMPORTFMT_SARIF,
	IMPORTFMT_ASFF,
};

/* "vigil", "ocsf", "sarif", "asff" <-> enum; -1 for an unknown name. */
int	 importfmt_from_str(const char *, enum importfmt *);
const char *importfmt_str(enum importfmt);

#define IMPORTFMT_ITEM_MAX	(1024 * 1024)	/* one item's JSON text */
#define IMPORTFMT_CTX_MAX	(8 * 1024 * 1024) /* a SARIF run's tool */
#define IMPORTFMT_DEPTH		32		/* inside one item */
/* Objects and arrays, which json-c builds at some 100 to 700 bytes each
 * (an object's hash table), so that a few MiB of "{}," cannot take
 * gigabytes: in one item, and in a SARIF log's kept tools together (a
 * tool past the second loses its rule details, as a broken one does). */
#define IMPORTFMT_ITEM_NODES	20000
#define IMPORTFMT_CTX_NODES	100000
#define IMPORTFMT_EVIDENCE_MAX	(16 * 1024)	/* raw item kept */

/* Where an item starts in the report. */
struct importfmt_pos {
	size_t		 index;		/* item number, from 0 */
	size_t		 line;		/* from 1 */
	unsigned long long offset;	/* byte offset, from 0 */
};

/* Called once per item: item parsed (borrowed), or NULL with why set
 * when its text is not one valid JSON value (bad UTF-8, too deep, too
 * long); ctx is the SARIF run's "tool" object (or NULL). Non-zero stops
 * the stream. */
typedef int (*importfmt_item_fn)(void *arg, json_object *item,
	    json_object *ctx, const struct importfmt_pos *pos,
	    const char *why);

struct importfmt_frame {
	char		 kind;		/* '{' or '[' */
	char		 key[32];	/* current key (truncated: no match) */
	int		 keylong;
	size_t		 idx;
};

#define IMPORTFMT_FRAMES	8
#define IMPORTFMT_RUNS		16	/* SARIF runs with their rules */

struct importfmt_stream {
	enum importfmt		 fmt;
	importfmt_item_fn	 item;
	void			*arg;
	int			 state;
	int			 jsonl;		/* OCSF JSON Lines */
	struct importfmt_frame	 fr[IMPORTFMT_FRAMES];
	int			 nfr;
	/* the value being captured or skipped */
	int			 role;
	int			 depth, in_str, esc, scalar;
	int			 toolong;
	struct buf		 val;
	struct buf		 key;
	int			 ctx_only;
	int			 frame_only;	/* see importfmt_init */
	json_object		*ctx[IMPORTFMT_RUNS];	/* SARIF tools */
	struct importfmt_pos	 cur;		/* the value's start */
	unsigned long long	 offset;
	unsigned		 bom;	/* bytes of a leading BOM read */
	size_t			 line;
	size_t			 items;
	int			 roots;
	/* the report's array of items was met (SARIF: its "runs"); a
	 * report without it is the wrong shape, not an empty one */
	int			 found;
	size_t			 ctx_nodes;	/* the kept tools' */
	int			 stopped;
	char			 item_why[400];	/* a vigil item's repeated key */
	char			 err[256];
};

/* Prepare s for fmt. A SARIF run may list its results before its tool
 * (Semgrep sorts keys), so SARIF is read twice: first with ctx_only set,
 * which keeps each run's "tool" (the first IMPORTFMT_RUNS runs) and hands
 * over no item, then, after importfmt_take_ctx moved those tools over,
 * without it. */
void	 importfmt_init(struct importfmt_stream *s, enum importfmt fmt,
	    int ctx_only, importfmt_item_fn item, void *arg);
/* Set frame_only after importfmt_init to check a report's framing alone:
 * each item is delimited and counted (s->items) but neither parsed nor
 * handed over, so the report fails exactly where a full read fails (an
 * item's own text is never the report's fault: a bad item is skipped and
 * reported when it is read), at a fraction of the cost. */
void	 importfmt_take_ctx(struct importfmt_stream *to,
	    struct importfmt_stream *from);
void	 importfmt_free(struct importfmt_stream *s);
/* Feed the next n bytes: 0, or -1 with s->err saying what is wrong with
 * the report (or s->stopped set by the callback). */
int	 importfmt_feed(struct importfmt_stream *s, const char *p, size_t n);
/* The end of the report: 0, or -1 with s->err (truncated, empty). */
int	 importfmt_finish(struct importfmt_stream *s);

/* One finding mapped from an item: the strings Vigil stores, bounded as
 * its columns are, owned by the struct. */
struct importfmt_finding {
	char	 provider[33];
	char	 rule_id[101];
	char	 resource_id[1025];
	char	 title[256];
	char	 category[33];
	char	 framework[256];
	char	 subscription_id[65];
	char	 external_id[256];	/* the tool's own id, or "" */
	char	 environment[33];	/* vigil only, else "" */
	char	 layer[33];		/* vigil only, else "" */
	/* resource metadata (README "Imports"), "" when unknown */
	char	 resource_name[FINDING_META_MAX + 1];
	char	 resource_type[FINDING_META_MAX + 1];
	char	 resource_group[FINDING_META_MAX + 1];
	char	 region[FINDING_REGION_MAX + 1];
	char	 account[FINDING_META_MAX + 1];
	char	*tags;			/* canonical JSON, malloc'd, or NULL */
	enum finding_severity severity;
	char	*description;		/* malloc'd, never NULL once mapped */
	char	*recommendation;	/* malloc'd, never NULL once mapped */
	char	*evidence;		/* JSON text, malloc'd, capped */
	char	 fingerprint[65];
	char	 id[FINDING_ID_MAX];	/* the finding id */
};

enum importfmt_map_result {
	IMPORTFMT_FINDING = 1,		/* *out filled */
	IMPORTFMT_PASS = 0,		/* a passed check: not a finding */
	IMPORTFMT_BAD = -1,		/* err says which field and why */
};

/* Map item (with ctx from the stream) of format fmt to *out (free its
 * strings with importfmt_finding_clear, whatever the result). */
enum importfmt_map_result importfmt_map(enum importfmt fmt,
	    json_object *item, json_object *ctx,
	    struct importfmt_finding *out, char *err, size_t errsz);
void	 importfmt_finding_clear(struct importfmt_finding *);

/* The normalised rule id: lowercase a-z, 0-9, '-', '_', '.', other runs
 * as one '-', at most outsz - 1 bytes; "" if nothing is left. Pure. */
void	 importfmt_slug(const char *in, char *out, size_t outsz);

#endif
