/* log.h: one line per event, to stderr, syslog or a file. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Open the log destination: "stderr", "syslog" or a file path (appended,
 * reopened by log_reopen for logrotate). ident names the program. */
int	 log_open(const char *ident, const char *dest);
void	 log_reopen(void);
void	 log_msg(enum log_level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* The access line: "req=ID addr=A key=K tenant=T method=M path=P status=S
 * bytes=B us=U": addr the client's address, key the prefix of the API key
 * (its first 12 characters, as key lists show it; "-" when no key was
 * recognised). Control characters and spaces in every field are
 * escaped. */
void	 log_request(const char *request_id, const char *addr,
	    const char *key_prefix, const char *tenant, const char *method,
	    const char *path, int status, size_t bytes, long long usec);
/* Pure formatter behind log_request, for the tests; returns out. */
char	*log_format_request(char *out, size_t outsz, const char *request_id,
	    const char *addr, const char *key_prefix, const char *tenant,
	    const char *method, const char *path, int status, size_t bytes,
	    long long usec);

#endif
