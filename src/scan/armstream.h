/* armstream.h: an ARM list page ({"value":[…],"nextLink":"…"}) or a bare
 * array read as a stream. Bytes are fed as they arrive (a libcurl write
 * callback, a file read in blocks); each element of the list is handed to
 * a callback, parsed by json-c, as soon as its last byte is in, so memory
 * is bounded by the largest element (capped), never by the page. */
#ifndef VIGIL_ARMSTREAM_H
#define VIGIL_ARMSTREAM_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "vjson.h"

/* Flags of armstream_init. */
#define ARMSTREAM_ARRAY_ROOT	0x1	/* a bare array's elements are items
					 * too (inventory files) */
#define ARMSTREAM_FRAME_ONLY	0x2	/* find the structure only: parse no
					 * element, call no callback */
#define ARMSTREAM_DATA_LIST	0x4	/* a root "data" array is the list as
					 * "value" is (Azure Resource Graph's
					 * {"count":…,"data":[…]}) */
#define ARMSTREAM_DEFER		0x8	/* the items want accepts are kept,
					 * not parsed, until armstream_replay
					 * (at most ARMSTREAM_DEFER_MAX bytes
					 * of them: more fails the stream) */

#define ARMSTREAM_TOP_KEYS	0x10	/* note each item's own "type" and
					 * "id" (armstream_top) as it is
					 * framed, for want */

/* What the framer noted of an item's own members (ARMSTREAM_TOP_KEYS),
 * valid while want runs: where the string values of its last "type" and
 * last "id" are in the item's text (json-c keeps the last of two), and
 * whether one of its keys has an escape (then it may name anything). */
struct armstream_top {
	size_t		 type_off, type_len;
	size_t		 id_off, id_len;
	int		 has_type, has_id;
	int		 esc_key;
};

/* What ARMSTREAM_DEFER keeps of the items, text and bookkeeping. */
#define ARMSTREAM_DEFER_MAX	((size_t)64 * 1024 * 1024)

/* An item kept by ARMSTREAM_DEFER. */
struct armstream_kept {
	struct armstream_kept	*next;
	size_t			 idx;		/* its rank in the list */
	size_t			 nest;		/* its nesting, as framed */
	size_t			 len;
	char			 text[];
};

/* The length of the run of p[0..n) before its first '"' or '\\' (n if
 * none): the bytes inside a JSON string that need no look, skipped with
 * two memchr()s rather than a test per byte. */
size_t	armstream_str_run(const char *p, size_t n);

/* The members of an ARM resource that its reader needs, for
 * armstream_prune: top-level members named in top are kept whole, and so
 * is "properties" when props_whole is set; otherwise only the members of
 * "properties" named in props are kept. Names are compared exactly, as
 * json-c looks them up. */
struct armprune {
	char		**top;
	size_t		 ntop;
	char		**props;
	size_t		 nprops;
	int		 props_whole;
};

/* Write into out the resource text p[0..n) (an element the framer
 * delimited) without the members prune does not keep: 1 when out holds
 * the smaller text; 0 when p is to be parsed as it is (not an object,
 * nothing dropped); -1 when a member to drop is not strict JSON (RFC
 * 8259; a \u escape of a surrogate counts as not), or on out of memory:
 * then too p is parsed as it is, so that json-c says what is wrong, and
 * nothing json-c would refuse is ever accepted by leaving it out. The
 * members kept are copied as they are, not checked: json-c checks them
 * in out, and a reader whose parse of out fails parses p instead (as
 * armstream's own reading does), for json-c's word on the whole. */
int	armstream_prune(const struct armprune *prune, const char *p,
	    size_t n, struct buf *out);

/* Called once per item of the list, idx counting from 0; item is
 * borrowed for the call. 0 goes on; non-zero stops the stream, and
 * armstream_feed then fails with that value in ->stopped. */
typedef int (*armstream_item_fn)(void *arg, json_object *item, size_t idx);
/* Called with an item's text before it is parsed: 0 skips the item (not
 * parsed, no callback; still counted in ->items), non-zero parses it. */
typedef int (*armstream_want_fn)(void *arg, const char *text, size_t len);

/* What the framer expects next, outside an element. */
enum armstream_state {
	ARMSTREAM_START,	/* the root value */
	ARMSTREAM_KEY_OR_END,	/* after '{': a key or '}' */
	ARMSTREAM_KEY,		/* after ',': a key */
	ARMSTREAM_IN_KEY,	/* inside a key's string */
	ARMSTREAM_COLON,
	ARMSTREAM_MEMBER,	/* a member's value */
	ARMSTREAM_AFTER_MEMBER,	/* ',' or '}' */
	ARMSTREAM_ITEM_OR_END,	/* after '[': an item or ']' */
	ARMSTREAM_ITEM,		/* after ',' in the list: an item */
	ARMSTREAM_AFTER_ITEM,	/* ',' or ']' */
	ARMSTREAM_IN_ELEM,	/* inside an item or a member's value */
	ARMSTREAM_DONE,		/* the root is complete: whitespace only */
	ARMSTREAM_FAILED
};

struct armstream {
	/* Set by armstream_init. */
	size_t			 max_elem;	/* bytes of one item or member */
	int			 max_depth;	/* of the whole document */
	int			 flags;
	armstream_item_fn	 item;
	void			*arg;
	armstream_want_fn	 want;		/* optional, set after init */
	/* Optional, set after init: list items are parsed without the
	 * members this does not keep (armstream_prune). */
	const struct armprune	*prune;

	/* What was found; valid once armstream_finish returned 0 (and, for
	 * root and has_*, as soon as they are seen). */
	int			 root;		/* '{', '[' or 0 (not yet) */
	int			 has_id;	/* the root object has "id" */
	int			 has_value;	/* … has "value" (or, with
						 * ARMSTREAM_DATA_LIST,
						 * "data") … */
	int			 value_array;	/* … and it is an array */
	const char		*list_key;	/* "value" or "data": which */
	int			 has_next_link;	/* … has "nextLink" */
	size_t			 items;		/* items handed (or framed) */
	char			*next_link;	/* "nextLink", when a non-empty
						 * string; owned */
	int			 stopped;	/* the callback's non-zero value */
	char			 err[256];	/* why feed or finish failed */

	/* The framer. */
	enum armstream_state	 state;
	enum armstream_state	 after_elem;	/* where an element returns */
	int			 member;	/* which member is being read */
	int			 in_list;	/* the element is a list item */
	int			 in_string, escape, scalar;
	size_t			 depth;		/* inside the element */
	size_t			 elem_nest;	/* its deepest so far */
	size_t			 elem_len;
	struct vjson_tok	 tok;		/* parses every element */
	size_t			 offset;	/* bytes fed so far */
	struct buf		 elem;		/* the element's text */
	struct buf		 key;		/* a root key's literal */
	struct buf		 pruned;	/* an item without what prune
						 * drops */
	struct armstream_kept	*kept, *kept_tail;	/* ARMSTREAM_DEFER */
	size_t			 kept_bytes;
	struct armstream_top	 top;		/* ARMSTREAM_TOP_KEYS */
	int			 top_want_key;	/* the next string at depth 1
						 * is a key */
	int			 top_key;	/* the value's key: 0 none, 1
						 * another, 2 "type", 3 "id" */
	size_t			 top_str;	/* where that string began */
	int			 top_esc;	/* it holds a backslash */
};

/* Ready s to read one document; max_elem caps each list item and each
 * other member's value of the root object, max_depth the nesting of the
 * whole document (as vjson_parse counts it). Release with armstream_free. */
void	 armstream_init(struct armstream *s, size_t max_elem, int max_depth,
	    int flags, armstream_item_fn item, void *arg);
/* Feed the next len bytes. 0, or -1 with s->err set (and s->stopped when
 * the callback stopped it); after -1 every further call fails too. */
int	 armstream_feed(struct armstream *s, const char *data, size_t len);
/* The input has ended: 0 when it held exactly one complete document, -1
 * with s->err set otherwise (truncated, or an earlier failure). */
int	 armstream_finish(struct armstream *s);
/* After armstream_finish returned 0 on a stream read with
 * ARMSTREAM_DEFER: parse the items it kept and hand them to the callback,
 * in order, as armstream_feed does without the flag (the same checks, the
 * same failures, which name the item by its rank). 0, or -1 as
 * armstream_feed. A reader that defers sees every failure of the page
 * itself before any item reaches it. */
int	 armstream_replay(struct armstream *s);
void	 armstream_free(struct armstream *s);

#endif
