/* shmconf.h: a POSIX shared memory object per vigil.conf and user, for
 * the processes mod_fcgid spawns, which have no master to inherit an
 * anonymous shared mapping from. */
#ifndef VIGIL_SHMCONF_H
#define VIGIL_SHMCONF_H

#include <stddef.h>

/*
 * Map the object "what" of conf_path (its absolute path) and this user,
 * size bytes, read and write. *created is 1 when this process made it
 * (it is then zeroed, and this process alone prepares it), 0 when it
 * existed; a process that finds it still being sized waits up to about a
 * second. NULL with errno set: no such object could be had (EINVAL: one
 * of another size exists). Unmap with munmap(p, size).
 */
/* The object's name ("/vigil-WHAT-UID-HASH") into buf: 0, or -1. */
int	 shmconf_name(const char *what, const char *conf_path, char *buf,
	    size_t bufsz);
void	*shmconf_map(const char *what, const char *conf_path, size_t size,
	    int *created);

#endif
