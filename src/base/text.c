/* text.c: the one place that says which characters a label may hold
 * (the API's string fields, vigilctl's arguments) and how vigilctl shows
 * strings a tenant set, including rows stored before labels were checked.
 * A control character in a label can forge a row of a listing or send an
 * escape sequence to whoever reads it on a terminal. */
#include "vigil.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "vjson.h"

/* Length of the valid UTF-8 sequence at s[0..len), or 0. */
static size_t
text_seqlen(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (n > len || !vjson_utf8_valid(s, n))
		return 0;
	return n;
}

/* 1 if the sequence of n bytes at p is a control character. */
static int
text_is_control(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	return n == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

/*
 * 1 if the 3-byte sequence at p is an invisible format character that can
 * make a listing lie without a control character: zero-width ones
 * (U+200B-U+200F, U+2060-U+2064, U+FEFF), the line and paragraph
 * separators (U+2028, U+2029) and the bidirectional embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069), which can show
 * a name's characters in another order than they are.
 */
static int
text_is_format(const unsigned char *p, size_t n)
{
	if (n != 3)
		return 0;
	if (p[0] == 0xe2 && p[1] == 0x80)
		return (p[2] >= 0x8b && p[2] <= 0x8f) ||
		    (p[2] >= 0xa8 && p[2] <= 0xae);
	if (p[0] == 0xe2 && p[1] == 0x81)
		return (p[2] >= 0xa0 && p[2] <= 0xa4) ||
		    (p[2] >= 0xa6 && p[2] <= 0xa9);
	return p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf;
}

size_t
text_control(const char *s, size_t len, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = text_seqlen(s + i, len - i)) == 0) {
			i++;
			continue;
		}
		if (text_is_control(p + i, n) &&
		    !(multiline && (p[i] == '\n' || p[i] == '\t')))
			return i;
		i += n;
	}
	return len;
}

char *
text_escape(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, k, n;
	char *out, *o;

	/* Every byte grows to at most four ("\xNN"). */
	if (len > (SIZE_MAX - 1) / 4 || (out = malloc(len * 4 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < len) {
		n = text_seqlen(s + i, len - i);
		if (n == 1 && p[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (n == 0 || text_is_control(p + i, n) ||
		    text_is_format(p + i, n)) {
			if (n == 0)
				n = 1;
			for (k = 0; k < n; k++) {
				*o++ = '\\';
				*o++ = 'x';
				*o++ = hex[p[i + k] >> 4];
				*o++ = hex[p[i + k] & 0xf];
			}
		} else {
			memcpy(o, s + i, n);
			o += n;
		}
		i += n;
	}
	*o = '\0';
	return out;
}

int
text_index(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return (int)i;
	return -1;
}
