/* vjson.h: json-c with caps, and typed getters that name the bad field. */
#ifndef VIGIL_VJSON_H
#define VIGIL_VJSON_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Why a parse or a getter failed; field is the JSON field name (or "body"). */
struct vjson_err {
	char	 field[128];
	char	 message[256];
};

/* Parse exactly one JSON value from text[0..len): at most maxdepth levels,
 * no trailing garbage, valid UTF-8 only, len <= maxlen. Returns a new
 * object the caller puts, or NULL with err filled (field "body"). */
json_object *vjson_parse(const char *text, size_t len, int maxdepth,
	    size_t maxlen, struct vjson_err *err);

/* A tokener kept between calls of vjson_parse_with (zeroed to begin,
 * vjson_tok_free at the end): one allocation, and no malloc_consolidate of
 * its stack, per parser rather than per value (the scanner parses each
 * resource of an estate on its own). Not shared between threads. */
struct vjson_tok {
	struct json_tokener	*tok;
	int			 depth;
	/* Set by the caller before each call: how deep brackets nest in
	 * the text (outside strings), when it framed the text and counted
	 * them; INT_MAX when it did not. Within maxdepth, the walk of the
	 * parsed value that checks its nesting is not needed. */
	int			 nested;
};

/* vjson_parse through t's tokener (made, or made again for another
 * depth, as needed). */
json_object *vjson_parse_with(struct vjson_tok *t, const char *text,
	    size_t len, int maxdepth, size_t maxlen, struct vjson_err *err);
void	 vjson_tok_free(struct vjson_tok *t);

/* vjson_parse, and also refuse a key that appears twice in one object
 * (json-c would keep the last): err->field is then the key's path, dotted,
 * with [N] for array elements ("asset.hostname", "items[2].id"). For
 * input a person or client writes: request bodies, imports. */
json_object *vjson_parse_unique(const char *text, size_t len, int maxdepth,
	    size_t maxlen, struct vjson_err *err);

/* Getters on an object. Return 1 if present and valid (value stored),
 * 0 if absent (or JSON null) and not required, -1 if invalid or required
 * but absent (err filled with the field name and a message). Strings must
 * be valid UTF-8 without NUL bytes and have minlen..maxlen bytes; the
 * returned pointer belongs to obj. vjson_get_string is for single-line
 * values (names, labels, ids, URLs, secrets) and refuses every control
 * character (text_control: C0, DEL, C1); vjson_get_text is for multi-line
 * free text and allows newline and tab among them. */
int	 vjson_get_string(json_object *obj, const char *field, int required,
	    size_t minlen, size_t maxlen, const char **out,
	    struct vjson_err *err);
int	 vjson_get_text(json_object *obj, const char *field, int required,
	    size_t minlen, size_t maxlen, const char **out,
	    struct vjson_err *err);
int	 vjson_get_int(json_object *obj, const char *field, int required,
	    int64_t min, int64_t max, int64_t *out, struct vjson_err *err);
int	 vjson_get_bool(json_object *obj, const char *field, int required,
	    int *out, struct vjson_err *err);
/* An array of single-line strings, each 1..maxlen bytes, at most maxitems
 * items. */
int	 vjson_get_string_array(json_object *obj, const char *field,
	    int required, size_t maxitems, size_t maxlen, json_object **out,
	    struct vjson_err *err);
/* Fail (-1, err naming the field) if obj has a key not in allowed[]
 * (NULL-terminated). 0 otherwise. */
int	 vjson_only_keys(json_object *obj, const char *const *allowed,
	    struct vjson_err *err);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int	 vjson_utf8_valid(const char *s, size_t len);

/* Serialise compactly without escaping "/"; the string belongs to obj. */
const char *vjson_str(json_object *obj, size_t *lenp);

/* Convenience constructors that return NULL-safe new objects. */
json_object *vjson_new_string_or_null(const char *s);

#endif
