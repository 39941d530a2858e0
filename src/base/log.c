/* log.c: one line per event to stderr, syslog or an append-only file. */
#include "vigil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vtime.h"

#define LOG_LINE_MAX	2048

enum log_dest { LOG_DEST_STDERR, LOG_DEST_SYSLOG, LOG_DEST_FILE };

static enum log_dest	 log_dest = LOG_DEST_STDERR;
static int		 log_fd = STDERR_FILENO;
static char		 log_ident[64] = "vigil";
static char		 log_path[512];
static int		 log_debug_on;

static const char *const log_names[] = { "ERR", "WARN", "INFO", "DEBUG" };
static const int log_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* The pid every line names, looked up once per process (getpid is a
 * system call, and an API worker logs every request): a forked child
 * forgets its parent's (pthread_atfork); should that handler not
 * register, every line asks. */
static pid_t		 log_pid;
static pthread_once_t	 log_pid_once = PTHREAD_ONCE_INIT;
static int		 log_pid_safe;

/* Set once under pthread_once and again in a forked child (which has one
 * thread), so that threads logging at once only read it. */
static void
log_pid_forked(void)
{
	log_pid = getpid();
}

static void
log_pid_init(void)
{
	log_pid = getpid();
	log_pid_safe = pthread_atfork(NULL, NULL, log_pid_forked) == 0;
}

static long
log_getpid(void)
{
	if (pthread_once(&log_pid_once, log_pid_init) != 0 || !log_pid_safe)
		return (long)getpid();
	return (long)log_pid;
}

/* Debug lines are only written when $VIGIL_DEBUG is set, so a busy
 * production log stays readable. */
int
log_open(const char *ident, const char *dest)
{
	const char	*env;
	int		 fd;

	snprintf(log_ident, sizeof(log_ident), "%s",
	    ident != NULL ? ident : "vigil");
	env = getenv("VIGIL_DEBUG");
	log_debug_on = env != NULL && *env != '\0' && strcmp(env, "0") != 0;

	if (dest == NULL || *dest == '\0' || strcmp(dest, "stderr") == 0) {
		if (log_dest == LOG_DEST_FILE && log_fd != STDERR_FILENO)
			close(log_fd);
		log_dest = LOG_DEST_STDERR;
		log_fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(dest, "syslog") == 0) {
		if (log_dest == LOG_DEST_FILE && log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = STDERR_FILENO;
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_dest = LOG_DEST_SYSLOG;
		return 0;
	}
	if (strlen(dest) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (log_dest == LOG_DEST_FILE && log_fd != STDERR_FILENO)
		close(log_fd);
	memcpy(log_path, dest, strlen(dest) + 1);
	log_dest = LOG_DEST_FILE;
	log_fd = fd;
	return 0;
}

/* Point the existing descriptor at a fresh file after logrotate moved
 * the old one; dup2 keeps the number, so nothing else needs to know. */
void
log_reopen(void)
{
	int	 fd;

	if (log_dest != LOG_DEST_FILE)
		return;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_err("reopen %s: %s", log_path, strerror(errno));
		return;
	}
	if (dup3(fd, log_fd, O_CLOEXEC) == -1)
		log_err("reopen %s: %s", log_path, strerror(errno));
	close(fd);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char		 line[LOG_LINE_MAX], ts[VTIME_RFC3339_LEN];
	va_list		 ap;
	size_t		 i, len, hdr;
	ssize_t		 n;
	int		 rc, saved = errno;

	if ((unsigned)level >= NELEM(log_names))
		level = LOG_LVL_ERR;
	if (level == LOG_LVL_DEBUG && !log_debug_on)
		goto out;

	if (log_dest == LOG_DEST_SYSLOG) {
		hdr = 0;
	} else {
		vtime_rfc3339(time(NULL), ts, sizeof(ts));
		rc = snprintf(line, sizeof(line), "%s %s[%ld]: %s ", ts,
		    log_ident, log_getpid(), log_names[level]);
		if (rc < 0)
			goto out;
		hdr = (size_t)rc < sizeof(line) ? (size_t)rc : sizeof(line) - 1;
	}
	va_start(ap, fmt);
	rc = vsnprintf(line + hdr, sizeof(line) - hdr, fmt, ap);
	va_end(ap);
	if (rc < 0)
		goto out;
	len = hdr + (size_t)rc;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;	/* truncated; keep room for '\n' */

	/* One event, one line: no forged lines from user input. */
	for (i = hdr; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';

	if (log_dest == LOG_DEST_SYSLOG) {
		line[len] = '\0';
		syslog(log_prio[level], "%s", line);
		goto out;
	}
	line[len++] = '\n';
	/* One write on an O_APPEND descriptor keeps workers' lines whole. */
	do
		n = write(log_fd, line, len);
	while (n == -1 && errno == EINTR);
out:
	errno = saved;
}

/* Append s to out at *pos, escaping what would break the line apart. */
static void
log_put(char *out, size_t outsz, size_t *pos, const char *s, int escape)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;

	if (s == NULL || *s == '\0')
		s = "-";
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (escape && (c <= 0x20 || c >= 0x7f || c == '"' ||
		    c == '\\')) {
			if (*pos + 3 >= outsz)
				break;
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[c >> 4];
			out[(*pos)++] = hex[c & 0x0f];
		} else {
			if (*pos + 1 >= outsz)
				break;
			out[(*pos)++] = (char)c;
		}
	}
	out[*pos] = '\0';
}

char *
log_format_request(char *out, size_t outsz, const char *request_id,
    const char *addr, const char *key_prefix, const char *tenant,
    const char *method, const char *path, int status, size_t bytes,
    long long usec)
{
	char	 tail[96];
	size_t	 pos = 0;

	if (outsz == 0)
		return out;
	out[0] = '\0';
	log_put(out, outsz, &pos, "req=", 0);
	log_put(out, outsz, &pos, request_id, 1);
	log_put(out, outsz, &pos, " addr=", 0);
	log_put(out, outsz, &pos, addr, 1);
	log_put(out, outsz, &pos, " key=", 0);
	log_put(out, outsz, &pos, key_prefix, 1);
	log_put(out, outsz, &pos, " tenant=", 0);
	log_put(out, outsz, &pos, tenant, 1);
	log_put(out, outsz, &pos, " method=", 0);
	log_put(out, outsz, &pos, method, 1);
	log_put(out, outsz, &pos, " path=", 0);
	log_put(out, outsz, &pos, path, 1);
	snprintf(tail, sizeof(tail), " status=%d bytes=%zu us=%lld", status,
	    bytes, usec);
	log_put(out, outsz, &pos, tail, 0);
	return out;
}

void
log_request(const char *request_id, const char *addr, const char *key_prefix,
    const char *tenant, const char *method, const char *path, int status,
    size_t bytes, long long usec)
{
	char	 line[LOG_LINE_MAX - 128];

	log_format_request(line, sizeof(line), request_id, addr, key_prefix,
	    tenant, method, path, status, bytes, usec);
	log_info("%s", line);
}
