/* exits.h: the exit status of every Vigil program (vigil-api, vigil-scan,
 * vigil-spool, vigilctl) for each cause, from sysexits.h: a cause exits
 * the same way whichever program meets it, so that cron mail, systemd and
 * scripts can tell an outage from a mistake. The man pages' EXIT STATUS
 * sections list this table; change them together. */
#ifndef VIGIL_EXITS_H
#define VIGIL_EXITS_H

#include <sysexits.h>

#define VX_OK		EX_OK		/* 0: done */
/* 1: the command ran and its answer is "no": a scan failed, an audit
 * chain does not verify, no such tenant or key, a limit reached. Not a
 * sysexits.h code, as diff(1) and grep(1) use 1. */
#define VX_FAILED	1
#define VX_USAGE	EX_USAGE	/* 64: bad command line */
#define VX_DATAERR	EX_DATAERR	/* 65: an input file is malformed
					 * (a rule file, an import) */
#define VX_NOINPUT	EX_NOINPUT	/* 66: an input file or directory
					 * cannot be opened */
/* 69: the database cannot be reached, or cannot take statements now (a
 * Galera node out of the primary component, a read-only server). Chosen
 * over EX_TEMPFAIL, which says "another instance holds this, try again"
 * (VX_BUSY): an outage needs someone to look, a busy lock does not. */
#define VX_DBDOWN	EX_UNAVAILABLE
#define VX_SOFTWARE	EX_SOFTWARE	/* 70: internal error: an unexpected
					 * database error, out of memory */
#define VX_OSERR	EX_OSERR	/* 71: the system refused: cannot
					 * listen, fork, write the pid file */
#define VX_CANTCREAT	EX_CANTCREAT	/* 73: an output file cannot be
					 * written */
#define VX_IOERR	EX_IOERR	/* 74: writing the output failed */
#define VX_BUSY		EX_TEMPFAIL	/* 75: another process holds it
					 * (another scanner on the same
					 * integration, another session the
					 * table vigilctl migrate changes);
					 * try again later */
/* 76: the database's schema is older than this binary needs (the newest
 * migration it needs, MIGRATE_NEED, is not recorded): run vigilctl
 * migrate. sysexits.h's "remote error in protocol": the database does not
 * speak the schema the binary does; neither an outage (69) nor a wrong
 * vigil.conf (78), and a unit may restart on it until the migration has
 * run. */
#define VX_SCHEMA	EX_PROTOCOL
#define VX_NOPERM	EX_NOPERM	/* 77: a file the program needs is
					 * not readable or writable by it */
#define VX_CONFIG	EX_CONFIG	/* 78: vigil.conf is missing or
					 * invalid, or a file or directory
					 * it names is */

#endif
