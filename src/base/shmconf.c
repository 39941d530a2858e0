/*
 * shmconf.c: a POSIX shared memory object (/dev/shm) per vigil.conf and
 * user.
 *
 * Named "/vigil-WHAT-UID-HASH", HASH the FNV-1a of vigil.conf's absolute
 * path: one per configuration (an editor that replaces the file must not
 * split a class of processes between two objects) and per user (a
 * process of another user, vigil-api run by hand as root, could neither
 * open the others' 0600 object nor should keep them from theirs). The
 * object outlives the processes, as mod_fcgid's classes come and go;
 * what it holds must therefore make sense to the next process of the
 * same layout, and a layout that changes takes another WHAT.
 */
#include "vigil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmconf.h"

#define SIZE_WAIT_TRIES 100     /* × 10 ms for its maker to size it */

/* FNV-1a, 64 bits. */
static uint64_t
fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
shmconf_name(const char *what, const char *conf_path, char *buf,
    size_t bufsz)
{
	char *real;
	int n;

	if (conf_path == NULL) {
		errno = EINVAL;
		return -1;
	}
	real = realpath(conf_path, NULL);
	n = snprintf(buf, bufsz, "/vigil-%s-%lu-%016llx", what,
	    (unsigned long)geteuid(), (unsigned long long)fnv64(
	    real != NULL ? real : conf_path));
	free(real);
	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void *
shmconf_map(const char *what, const char *conf_path, size_t size,
    int *created)
{
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct stat st;
	char name[128];
	void *p;
	int fd, e, i;

	*created = 0;
	if (shmconf_name(what, conf_path, name, sizeof(name)) != 0)
		return NULL;
	if ((fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) >= 0) {
		/* Ours: giving it its size zeroes it. */
		*created = 1;
		if (ftruncate(fd, (off_t)size) != 0)
			goto fail;
	} else {
		if (errno != EEXIST ||
		    (fd = shm_open(name, O_RDWR | O_CLOEXEC, 0600)) < 0)
			return NULL;
		/* Its maker may not have sized it yet. */
		for (i = 0; ; i++) {
			if (fstat(fd, &st) != 0)
				goto fail;
			if (st.st_size != 0 || i == SIZE_WAIT_TRIES)
				break;
			nanosleep(&tick, NULL);
		}
		if (st.st_size != (off_t)size) {
			errno = EINVAL;
			goto fail;
		}
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	return p;
fail:
	e = errno;
	close(fd);
	errno = e;
	return NULL;
}
