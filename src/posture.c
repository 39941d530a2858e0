/* posture.c: the risk score and the posture summary, pure functions of
 * the tenant's finding counts.
 *
 * Risk score (0..100). Each open finding is read as an independent chance
 * that it is the way in: critical 40 %, high 15 %, medium 4 %, low 1 %,
 * info 0. The score is the chance that at least one of them is, in
 * percent, rounded half up:
 *
 *     score = round(100 * (1 - prod over open findings (1 - w(severity))))
 *
 * computed in integer fixed point (10^12 = 1, each factor applied with
 * the remainder dropped), so every platform gives the same number. Only
 * open findings count: accepted, snoozed, resolved and dismissed ones do
 * not. One open critical gives 40, three give 78; two highs give 28; ten
 * mediums give 34; a thousand lows give 100.
 *
 * Label: 0-19 Low, 20-39 Medium, 40-69 High, 70-100 Critical, so that a
 * single open critical finding is at least High.
 */
#include "vigil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "posture.h"

#define ONE 1000000000000LL	/* fixed-point 1.0 */

const int posture_weight[POSTURE_NSEV] = { 400, 150, 40, 10, 0 };
const char *const posture_sev_name[POSTURE_NSEV] = {
	"critical", "high", "medium", "low", "info"
};

int
posture_score(const long long open[POSTURE_NSEV])
{
	long long safe = ONE, k;
	int s;

	for (s = 0; s < POSTURE_NSEV; s++) {
		if (posture_weight[s] == 0)
			continue;
		/* Past 0.5 % left the score is 100 whatever follows. */
		for (k = 0; k < open[s] && safe > ONE / 200; k++)
			safe = safe / 1000 * (1000 - posture_weight[s]);
	}
	if (safe <= ONE / 200)
		return 100;
	return (int)((100 * (ONE - safe) + ONE / 2) / ONE);
}

const char *
posture_label(int score)
{
	if (score >= 70)
		return "Critical";
	if (score >= 40)
		return "High";
	if (score >= 20)
		return "Medium";
	return "Low";
}

int
posture_sev_index(const char *name)
{
	int i;

	for (i = 0; name != NULL && i < POSTURE_NSEV; i++)
		if (strcmp(name, posture_sev_name[i]) == 0)
			return i;
	return -1;
}

/* Append to out[0..outsz) at *len; stops quietly when full. */
static void
cat(char *out, size_t outsz, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= outsz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, outsz - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n < outsz - *len ? (size_t)n : outsz - *len - 1;
}

/* "a", "a and b", "a, b and c" for the nonzero items of a list. */
static void
list(char *out, size_t outsz, size_t *len, const long long *n,
    const char *const *names, size_t count)
{
	size_t i, total = 0, done = 0;

	for (i = 0; i < count; i++)
		if (n[i] > 0)
			total++;
	for (i = 0; i < count; i++) {
		if (n[i] <= 0)
			continue;
		done++;
		cat(out, outsz, len, "%s%lld %s",
		    done == 1 ? "" : done == total ? " and " : ", ",
		    n[i], names[i]);
	}
}

void
posture_summary(const struct posture_counts *c, char *out, size_t outsz)
{
	static const char *const others[] = { "accepted", "snoozed",
	    "resolved", "dismissed" };
	long long rest[4] = { c->accepted, c->snoozed, c->resolved,
	    c->dismissed };
	long long open = 0;
	size_t len = 0;
	int i, score = posture_score(c->open);

	if (outsz == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < POSTURE_NSEV; i++)
		open += c->open[i];
	if (open == 0)
		cat(out, outsz, &len, "No findings are open.");
	else {
		cat(out, outsz, &len, "%lld finding%s %s open: ", open,
		    open == 1 ? "" : "s", open == 1 ? "is" : "are");
		list(out, outsz, &len, c->open, posture_sev_name,
		    POSTURE_NSEV);
		if (c->subscriptions > 1)
			cat(out, outsz, &len, ", across %lld subscriptions",
			    c->subscriptions);
		else if (c->subscriptions == 1)
			cat(out, outsz, &len, ", in 1 subscription");
		if (c->resources > 0)
			cat(out, outsz, &len, "%s %lld resource%s",
			    c->subscriptions > 0 ? " and" : ", on",
			    c->resources, c->resources == 1 ? "" : "s");
		cat(out, outsz, &len, ".");
	}
	cat(out, outsz, &len, " Risk score %d of 100 (%s).", score,
	    posture_label(score));
	if (open > 0 && c->top_category != NULL)
		cat(out, outsz, &len, " The most exposed category is %s "
		    "(%lld open finding%s).", c->top_category,
		    c->top_category_n, c->top_category_n == 1 ? "" : "s");
	if (open > 0 && c->top_title != NULL)
		cat(out, outsz, &len, " The top risk is \"%s\" (%s, %s).",
		    c->top_title, c->top_severity ? c->top_severity : "",
		    c->top_category_of_top ? c->top_category_of_top : "");
	if (rest[0] + rest[1] + rest[2] + rest[3] > 0) {
		cat(out, outsz, &len, " Not counted: ");
		list(out, outsz, &len, rest, others, NELEM(others));
		cat(out, outsz, &len, ".");
	}
}
