/* posture.h: the risk score and the plain-language posture summary, as
 * pure functions of counts (cgi/posture.c reads the counts). */
#ifndef VIGIL_POSTURE_H
#define VIGIL_POSTURE_H

#include <stddef.h>

/* Severities in the order of enum finding_severity, most severe first. */
enum posture_sev {
	POSTURE_CRITICAL = 0,
	POSTURE_HIGH,
	POSTURE_MEDIUM,
	POSTURE_LOW,
	POSTURE_INFO,
	POSTURE_NSEV
};

/* Per-mille weight of one open finding of each severity (see posture.c). */
extern const int posture_weight[POSTURE_NSEV];
extern const char *const posture_sev_name[POSTURE_NSEV];

/* What the summary is built from; strings are borrowed, NULL if none. */
struct posture_counts {
	long long	 open[POSTURE_NSEV];  /* open findings by severity */
	long long	 accepted, snoozed, resolved, dismissed;
	long long	 subscriptions;      /* distinct, among open findings */
	long long	 resources;          /* distinct, among open findings */
	const char	*top_category;       /* most open findings */
	long long	 top_category_n;
	const char	*top_title;          /* the first of top_risks */
	const char	*top_severity;
	const char	*top_category_of_top;
};

/* 0..100 from open counts by severity. Pure, integer arithmetic only. */
int	 posture_score(const long long open[POSTURE_NSEV]);
/* "Low", "Medium", "High" or "Critical". */
const char *posture_label(int score);
/* Index of a severity name, or -1. */
int	 posture_sev_index(const char *);
/* The deterministic summary into out (truncated to outsz). Pure. */
void	 posture_summary(const struct posture_counts *, char *out,
	    size_t outsz);

#endif
