/* posture.h: the risk score and the plain-language posture summary, as
 * pure functions of counts; posture_load reads those counts from the
 * findings, and the _to_json functions are the API's two answers. */
#ifndef VIGIL_POSTURE_H
#define VIGIL_POSTURE_H

#include <stddef.h>
#include <json-c/json.h>

#include "vtime.h"

struct db;

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
	long long	 accepted, snoozed, resolved, dismissed, muted;
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
/* The deterministic summary into out (truncated to outsz). Pure. */
void	 posture_summary(const struct posture_counts *, char *out,
	    size_t outsz);

/* One of top_risks: an open finding (strings owned, NULL only where the
 * column was NULL). */
struct posture_risk {
	char		*id;
	char		*title;
	char		*severity;
	char		*category;
	char		*resource_id;
	char		 detected_at[VTIME_RFC3339_LEN];  /* "" if unknown */
};

/* A category and its number of open findings. */
struct posture_category {
	char		*name;
	long long	 open;
};

/* What both endpoints show. c's strings point into top and categories. */
struct posture {
	struct posture_counts	 c;
	long long		 total_open;
	int			 score;
	struct posture_risk	*top;       /* the five open findings first */
	size_t			 ntop;      /* by severity, detected_at, seq */
	struct posture_category	*categories;  /* most open first, <= 100 */
	size_t			 ncategories;
};

/* Read the posture of tenant_id from its findings: open counts by
 * severity, the score and top_risks; with_summary also the other states'
 * counts, the spread over subscriptions and resources, and the
 * categories. 0 with *out set (free with posture_free), or a DB_* code
 * (< 0) with *out NULL. */
int	 posture_load(struct db *, const char *tenant_id, int with_summary,
	    struct posture **out);
void	 posture_free(struct posture *);

/* GET /risk-score's answer: {score, label, severity_counts,
 * total_findings, top_risks}. A new object the caller puts. Pure. */
json_object *posture_risk_to_json(const struct posture *);
/* GET /posture-summary's answer (p loaded with_summary): {summary,
 * metrics}. A new object the caller puts. Pure. */
json_object *posture_summary_to_json(const struct posture *);

#endif
