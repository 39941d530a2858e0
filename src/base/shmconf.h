/* shmconf.h: a POSIX shared memory object per vigil.conf and user, for
 * the processes mod_fcgid spawns, which have no master to inherit an
 * anonymous shared mapping from. */
#ifndef VIGIL_SHMCONF_H
#define VIGIL_SHMCONF_H

#include <stddef.h>

/* The object's name ("/vigil-WHAT-UID-HASH") into buf: 0, or -1 (errno
 * set; the configuration's absolute path could not be had). */
int	 shmconf_name(const char *what, const char *conf_path, char *buf,
	    size_t bufsz);

/*
 * Map the object "what" of conf_path (its absolute path) and this user,
 * size bytes, read and write, made if need be. init(p, arg) runs on the
 * mapping under an exclusive lock of the object that dies with its
 * holder, so one process at a time prepares it: it must find whether an
 * earlier process (perhaps killed half way) has, and finish the work if
 * not; non-zero from it is an errno value and fails the call. NULL with
 * errno set: no such object could be had (EINVAL: one of another size;
 * EPERM: one another user owns, or that others may open). Unmap with
 * munmap(p, size).
 */
void	*shmconf_map(const char *what, const char *conf_path, size_t size,
	    int (*init)(void *p, void *arg), void *arg);

#endif
