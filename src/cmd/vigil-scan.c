/* vigil-scan.c: the scanner, run by cron every minute (--due) or by hand
 * (--once --integration ID, optionally --dry-run). The work is scan.c's;
 * this file parses the command line, shows progress and maps outcomes to
 * exit codes (vigil-scan(8)). */
#include "vigil.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "exits.h"
#include "imports.h"
#include "render.h"
#include "reports.h"
#include "id.h"
#include "integrations.h"
#include "log.h"
#include "migrate.h"
#include "compliance.h"
#include "mutes.h"
#include "rules.h"
#include "scan.h"
#include "sla.h"
#include "vtime.h"


#define PROGRESS_US	100000LL	/* TTY refresh */

/* The TTY progress line. */
struct show {
	int		 tty;
	long long	 last_us;
	int		 drawn;
};

/* The synopsis, on stderr after a usage error; with the options too
 * for --help, on stdout. */
static void
usage(FILE *f, int full)
{
	fprintf(f,
	    "usage: vigil-scan [-c file] --due\n"
	    "       vigil-scan [-c file] --once --integration ID "
	    "[--dry-run]\n"
	    "       vigil-scan --help | --version\n");
	if (!full)
		return;
	fprintf(f, "\n"
	    "  -c, --config FILE     vigil.conf (default $VIGIL_CONF, then "
	    "%s/vigil/vigil.conf)\n"
	    "      --due             run the scans that are due, then the "
	    "imports,\n"
	    "                        mute passes, SLA and reports queued "
	    "(cron)\n"
	    "      --once            scan one integration now\n"
	    "      --integration ID  the integration --once scans\n"
	    "      --dry-run         with --once: report what would change, "
	    "write nothing\n"
	    "  -h, --help            this help\n"
	    "  -V, --version         the version\n"
	    "\nExit status: 0 done, 1 a scan failed, 64 usage, 69 database "
	    "unreachable,\n70 internal error, 75 another scanner holds the "
	    "integration, 76 the database's\nschema is behind this binary "
	    "(run vigilctl migrate), 77 permission denied,\n78 configuration "
	    "(vigil-scan(8)).\n", SYSCONFDIR);
}

static void
on_progress(void *arg, const struct scan_stats *st)
{
	struct show *s = arg;
	long long t = vtime_mono_us();

	if (!s->tty || t - s->last_us < PROGRESS_US)
		return;
	s->last_us = t;
	s->drawn = 1;
	fprintf(stderr, "\r\033[K%ld resources fetched, %ld rules evaluated, "
	    "%ld findings", st->resources, st->rules_evaluated,
	    st->detected + st->present + st->reopened);
	fflush(stderr);
}

static void
progress_end(struct show *s)
{
	if (s->tty && s->drawn)
		fprintf(stderr, "\r\033[K");
	s->drawn = 0;
}

static void
on_change(void *arg, const char *what, const char *finding_id,
    const char *rule_id, const char *resource_id)
{
	struct show *s = arg;

	progress_end(s);
	printf("%s\t%s\t%s\t%s\n", what, finding_id, rule_id, resource_id);
}

/* --once [--dry-run]: queue a scan with trigger cli (or take the one
 * already queued) and run it now. */
static int
run_once(struct db *db, const char *integration_id, int dry,
    struct scan_opts *opts, struct show *show)
{
	struct integration *integ;
	struct scan_stats st;
	enum scan_outcome o;
	char id[VIGIL_ID_LEN], err[512], tenant[VIGIL_ID_LEN];
	int q, rc;

	if (!id_valid("int", integration_id)) {
		fprintf(stderr, "vigil-scan: %s is not an integration id\n",
		    integration_id);
		return VX_USAGE;
	}
	if (dry) {
		o = scan_dry_run(db, integration_id, opts, &st, err,
		    sizeof(err));
		progress_end(show);
		if (o != SCAN_OK) {
			fprintf(stderr, "vigil-scan: %s\n", err);
			return o == SCAN_FAILED ? VX_FAILED : db_exit(db);
		}
		printf("dry run: %ld resources, %ld rules evaluated: would "
		    "detect %ld, reopen %ld, resolve %ld; %ld unchanged\n",
		    st.resources, st.rules_evaluated, st.detected,
		    st.reopened, st.resolved, st.present);
		return VX_OK;
	}
	if ((rc = integrations_find(db, integration_id, &integ)) < 0) {
		fprintf(stderr, "vigil-scan: %s\n", db_error(db));
		return db_exit(db);
	}
	if (rc == 0) {
		fprintf(stderr, "vigil-scan: no integration %s\n",
		    integration_id);
		return VX_FAILED;
	}
	snprintf(tenant, sizeof(tenant), "%s", integ->tenant_id);
	integrations_free(integ);
	/* A scan left running by a dead scanner must not block this one. */
	if (scan_fail_stale(db, time(NULL)) < 0) {
		fprintf(stderr, "vigil-scan: %s\n", db_error(db));
		return db_exit(db);
	}
	q = scan_queue(db, tenant, integration_id, "cli", time(NULL), id,
	    sizeof(id));
	if (q < 0) {
		fprintf(stderr, "vigil-scan: %s\n", db_error(db));
		return db_exit(db);
	}
	if (q == SCAN_Q_NO_INTEGRATION) {
		fprintf(stderr, "vigil-scan: no integration %s\n",
		    integration_id);
		return VX_FAILED;
	}
	/* SCAN_Q_ACTIVE: one is queued (run it) or running (busy). */
	o = scan_run(db, id, opts, &st, err, sizeof(err));
	progress_end(show);
	switch (o) {
	case SCAN_OK:
		printf("%s completed: %ld resources, %ld rules evaluated, "
		    "%ld detected, %ld resolved, %ld reopened, %ld "
		    "remediated, %ld remediation failed\n", id, st.resources,
		    st.rules_evaluated, st.detected, st.resolved, st.reopened,
		    st.remediated, st.remediation_failed);
		return VX_OK;
	case SCAN_FAILED:
		fprintf(stderr, "vigil-scan: %s failed: %s\n", id, err);
		return VX_FAILED;
	case SCAN_BUSY:
	case SCAN_SKIPPED:
		fprintf(stderr, "vigil-scan: another scanner is scanning "
		    "%s (%s)\n", integration_id, id);
		return VX_BUSY;
	case SCAN_ERROR:
		break;
	}
	fprintf(stderr, "vigil-scan: %s\n", err);
	return db_exit(db);
}

/* The renderers for reports_run_due: a report document in csv, html,
 * pdf or xlsx (the JSON one is the document itself). */
static int
render_report(json_object *doc, const char *format, const char *paper,
    struct buf *out, char *err, size_t errsz)
{
	if (strcmp(format, "csv") == 0)
		return render_csv(doc, out, err, errsz);
	if (strcmp(format, "html") == 0)
		return render_html(doc, out, err, errsz);
	if (strcmp(format, "pdf") == 0)
		return render_pdf(doc, paper, out, err, errsz);
	if (strcmp(format, "xlsx") == 0)
		return render_xlsx(doc, out, err, errsz);
	snprintf(err, errsz, "No renderer for %s.", format);
	return -1;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config",      required_argument, NULL, 'c' },
		{ "due",         no_argument,       NULL, 'd' },
		{ "once",        no_argument,       NULL, 'o' },
		{ "integration", required_argument, NULL, 'i' },
		{ "dry-run",     no_argument,       NULL, 'n' },
		{ "version",     no_argument,       NULL, 'V' },
		{ "help",        no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ruleset rules = { NULL, 0, NULL, 0 };
	struct scan_due_stats d;
	struct scan_opts so;
	struct show show;
	struct db *db = NULL;
	const char *cfile = NULL, *integ = NULL;
	char err[1024];
	int ch, due = 0, once = 0, dry = 0, rc;
	size_t i;
	long nimp, nsla, nwarn, nbreach, nrep;

	/* The scanner's and the importer's writer threads allocate and free
	 * some 400 KB a batch; glibc gave it back to the kernel after each
	 * batch (madvise) and faulted it in again for the next (16,700 page
	 * faults and 0.15 s of system time in an import of 30,000 findings).
	 * Keep 4 MiB at the top of each heap instead, as vigilctl does. */
#ifdef M_TOP_PAD
	(void)mallopt(M_TOP_PAD, 4 * 1024 * 1024);
#endif

	while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'd': due = 1; break;
		case 'o': once = 1; break;
		case 'i': integ = optarg; break;
		case 'n': dry = 1; break;
		case 'h':
			usage(stdout, 1);
			return VX_OK;
		case 'V':
			printf("vigil-scan %s\n", VIGIL_VERSION);
			return VX_OK;
		default:
			usage(stderr, 0);
			return VX_USAGE;
		}
	}
	if (optind != argc || due + once != 1 || (once && integ == NULL) ||
	    (due && (integ != NULL || dry))) {
		usage(stderr, 0);
		return VX_USAGE;
	}
	if ((rc = conf_start("vigil-scan", cfile, NULL)) != 0)
		return rc;
	/* Rules' references to controls are checked against the
	 * catalogue; a wrong frameworks_dir stops the scanner as a wrong
	 * rules_dir does. */
	if (compliance_catalog() == NULL) {
		fprintf(stderr, "vigil-scan: frameworks: cannot read %s (see "
		    "the log)\n", g_conf.frameworks_dir);
		return VX_CONFIG;
	}
	if (rules_load_dir(&rules, g_conf.rules_dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigil-scan: rules: %s\n", err);
		log_err("rules: %s", err);
		return VX_CONFIG;
	}
	/* A bad file is skipped, never the scan: the others' rules run. */
	for (i = 0; i < rules.ninvalid; i++)
		log_err("rules: %s: %s (file skipped)", rules.invalid[i].file,
		    rules.invalid[i].error);
	if ((db = db_new(&g_conf)) == NULL || db_connect(db) != 0) {
		fprintf(stderr, "vigil-scan: %s\n", db ? db_error(db) :
		    "out of memory");
		rc = db_exit(db);
		goto out;
	}
	/* A schema behind this binary: say so and stop (VX_SCHEMA); the
	 * next run from cron goes on once vigilctl migrate has run. */
	if ((rc = migrate_require(db, "vigil-scan")) == VX_SCHEMA)
		goto out;
	rc = VX_OK;
	memset(&show, 0, sizeof(show));
	show.tty = isatty(STDERR_FILENO);
	memset(&so, 0, sizeof(so));
	so.rules = &rules;
	so.progress = on_progress;
	so.change = on_change;
	so.arg = &show;
	if (once) {
		rc = run_once(db, integ, dry, &so, &show);
		goto out;
	}
	if (scan_due(db, &so, &d) != 0) {
		progress_end(&show);
		fprintf(stderr, "vigil-scan: %s\n", db_error(db));
		rc = db_exit(db);
		goto out;
	}
	progress_end(&show);
	if (d.stale + d.completed + d.failed + d.busy + d.errors > 0)
		log_info("due: %ld completed, %ld failed, %ld skipped (another "
		    "scanner), %ld stale marked failed, %ld could not run",
		    d.completed, d.failed, d.busy, d.stale, d.errors);
	rc = d.errors > 0 ? db_exit(db) : d.failed > 0 ? VX_FAILED : VX_OK;
	/* Reports posted to POST /imports that were too large to read in
	 * their request. */
	if ((nimp = imports_run_due(db, time(NULL))) < 0) {
		fprintf(stderr, "vigil-scan: imports: %s\n", db_error(db));
		rc = db_exit(db);
	} else if (nimp > 0)
		log_info("due: %ld imports read", nimp);
	/* Mute rules' passes over existing findings that did not fit in the
	 * request creating or deleting the rule. */
	if ((nimp = mutes_passes_due(db, time(NULL))) < 0) {
		fprintf(stderr, "vigil-scan: mute passes: %s\n", db_error(db));
		rc = db_exit(db);
	} else if (nimp > 0)
		log_info("due: %ld mute rule passes finished", nimp);
	/* SLA warnings and breaches of findings whose time has come. */
	if ((nsla = sla_run_due(db, time(NULL), &nwarn, &nbreach)) < 0) {
		fprintf(stderr, "vigil-scan: sla: %s\n", db_error(db));
		rc = db_exit(db);
	} else if (nsla > 0)
		log_info("due: %ld SLA warnings, %ld SLA breaches", nwarn,
		    nbreach);
	/* Today's open findings per severity for the executive report's
	 * trends (from the kept counts: cheap every minute), then the
	 * reports POST /reports queued, and those whose worker died. */
	if (reports_snapshot(db, time(NULL)) != 0 ||
	    (nrep = reports_run_due(db, time(NULL), render_report)) < 0) {
		fprintf(stderr, "vigil-scan: reports: %s\n", db_error(db));
		rc = db_exit(db);
	} else if (nrep > 0)
		log_info("due: %ld reports generated", nrep);
out:
	db_free(db);
	rules_free(&rules);
	return rc;
}
