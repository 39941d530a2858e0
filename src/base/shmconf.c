/*
 * shmconf.c: a POSIX shared memory object (/dev/shm) per vigil.conf and
 * user.
 *
 * Named "/vigil-WHAT-UID-HASH", HASH the FNV-1a of vigil.conf's absolute
 * path: one per configuration (an editor that replaces the file must not
 * split a class of processes between two objects; a path that cannot be
 * made absolute is refused rather than hashed as given) and per user. The
 * object outlives the processes, as mod_fcgid's classes come and go; what
 * it holds must therefore make sense to the next process of the same
 * layout, and a layout that changes takes another WHAT.
 *
 * /dev/shm is writable by every user and the name can be guessed: an
 * object is used only when this user owns it and nobody else may open it
 * (made 0600 here; one made by anybody else is refused, and the caller
 * does without). Whoever opens it first sizes it; the preparation of its
 * contents (the caller's init) runs under flock, which the kernel drops
 * when its holder dies, so a process killed half way leaves nothing the
 * next one cannot finish.
 */
#include "vigil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmconf.h"

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
	if ((real = realpath(conf_path, NULL)) == NULL)
		return -1;
	n = snprintf(buf, bufsz, "/vigil-%s-%lu-%016llx", what,
	    (unsigned long)geteuid(), (unsigned long long)fnv64(real));
	free(real);
	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void *
shmconf_map(const char *what, const char *conf_path, size_t size,
    int (*init)(void *, void *), void *arg)
{
	struct stat st;
	char name[128];
	void *p = MAP_FAILED;
	int fd, e;

	if (shmconf_name(what, conf_path, name, sizeof(name)) != 0)
		return NULL;
	if ((fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return NULL;
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		goto fail;
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		errno = EPERM;
		goto fail;
	}
	/* New: giving it its size zeroes it. */
	if (st.st_size == 0 && ftruncate(fd, (off_t)size) != 0)
		goto fail;
	if (st.st_size != 0 && st.st_size != (off_t)size) {
		errno = EINVAL;
		goto fail;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	if (init != NULL && (e = init(p, arg)) != 0) {
		errno = e;
		goto fail;
	}
	/* Unlocked explicitly: the mapping keeps the open file, and with
	 * it the lock, past close. */
	flock(fd, LOCK_UN);
	close(fd);
	return p;
fail:
	e = errno;
	if (p != MAP_FAILED)
		munmap(p, size);
	flock(fd, LOCK_UN);
	close(fd);
	errno = e;
	return NULL;
}
