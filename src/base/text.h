/* text.h: what a tenant-set string may hold, and how to show one safely. */
#ifndef VIGIL_TEXT_H
#define VIGIL_TEXT_H

#include <stddef.h>

/* The first control character in the UTF-8 string s[0..len): a C0 code
 * point (U+0000-U+001F), DEL (U+007F) or a C1 (U+0080-U+009F). With
 * multiline set, newline and tab are allowed (not CR, which rewrites a
 * terminal line). Returns its offset, or len if there is none. Pure. */
size_t	 text_control(const char *s, size_t len, int multiline);

/* s made printable for a terminal or a tab-separated listing: a control
 * character (as above, tab and newline included), a backslash and a byte
 * that is not valid UTF-8 become \xNN (\\ for the backslash; a C1 is its
 * two bytes, \xc2\x9b), and so do the invisible format characters that
 * can reorder or hide what a listing shows (bidirectional overrides and
 * isolates, zero-width characters, U+2028/U+2029, U+FEFF: their three
 * bytes); everything else is copied. A new string the caller
 * frees, or NULL when out of memory. Pure. */
char	*text_escape(const char *s);

/* Where s stands in list[0..n) (by strcmp): its index, or -1 if it is
 * not there or s is NULL. For the closed sets of names a field takes. */
int	 text_index(const char *s, const char *const *list, size_t n);

#endif
