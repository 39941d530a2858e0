/*
 * ratetable.c: per-host rate-limit counters in shared memory.
 *
 * One slot per (key, class) holds the current window and three numbers:
 * local, the requests this host counted in the window; sent, how many of
 * them the database has been told about (or is being told about right
 * now); remote, what the database's total exceeded sent by at the last
 * sync, i.e. the other hosts' requests. A request's number is local +
 * remote, taken under the table's lock, so every worker of one host sees
 * every other's requests at once: on one host the count is exact (remote
 * stays 0, since the database only ever holds what this host sent).
 *
 * A request syncs (the caller runs one statement that adds local - sent
 * to the database row, checks the key is still usable, and reads back the
 * total and the tenant's limit) when its slot is new or was forgotten,
 * when the last sync is RATETABLE_SYNC_MS old, or when a tenth of the
 * limit is unsent. With several hosts, a host therefore misses at most
 * what the others counted since their last sync: about one second of
 * their traffic, and at most a tenth of the limit per host.
 *
 * The same mapping holds, per worker slot, the tenant whose request body
 * the worker is waiting for (if any), so that one tenant's slow clients
 * cannot hold every worker of the pool (ratetable_wait_begin).
 *
 * The lock is one process-shared robust mutex around a few compares and
 * additions, never held across I/O; a worker that dies holding it leaves
 * the table usable (EOWNERDEAD).
 */
#include "vigil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "ratetable.h"
#include "shmconf.h"

#define PROBE           32      /* slots looked at from a key's home */
#define SYNC_STALE_MS   3000    /* a claimed sync this old was abandoned
				 * (its process killed): another syncs */
#define RATETABLE_MAGIC 0x7669677261746531ULL  /* "vigrate1" */
#define RATETABLE_VERSION 1     /* with RATETABLE_SHM_NAME's number */

/* The magic is read and written by processes that map the table apart. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
    "a shared table needs lock-free 64-bit atomics");

struct slot {
	char		 key[RATETABLE_KEY_LEN];
	char		 key_id[RATETABLE_ID_LEN];
	char		 tenant_id[RATETABLE_ID_LEN];
	int64_t		 valid_ms;  /* last successful sync; 0: sync first */
	int64_t		 sync_ms;   /* a periodic sync under way since; 0 */
	long		 window;
	long		 local, sent, remote;
	long		 override;
	uint32_t	 gen;       /* changes whenever the slot's meaning does */
	char		 class;
	char		 used;
};

struct ratetable {
	_Atomic uint64_t magic;   /* RATETABLE_MAGIC once the lock is made */
	uint32_t	 version;   /* RATETABLE_VERSION */
	uint32_t	 size;      /* sizeof(struct ratetable) */
	pthread_mutex_t	 lock;
	struct slot	 slots[RATETABLE_SLOTS];
	/* per worker slot: the tenant it waits on a body for; "" none */
	char		 waiting[RATETABLE_WAITERS][RATETABLE_ID_LEN];
};

/* The process-shared robust lock of a zeroed table, then the magic that
 * tells the table's other users it is ready. */
static int
make_lock(struct ratetable *t)
{
	pthread_mutexattr_t a;
	int e;

	if ((e = pthread_mutexattr_init(&a)) != 0)
		return e;
	if ((e = pthread_mutexattr_setpshared(&a,
	    PTHREAD_PROCESS_SHARED)) == 0 &&
	    (e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0)
		e = pthread_mutex_init(&t->lock, &a);
	pthread_mutexattr_destroy(&a);
	if (e == 0) {
		t->version = RATETABLE_VERSION;
		t->size = (uint32_t)sizeof(*t);
		atomic_store_explicit(&t->magic, RATETABLE_MAGIC,
		    memory_order_release);
	}
	return e;
}

struct ratetable *
ratetable_new(void)
{
	struct ratetable *t;
	int e;

	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	if ((e = make_lock(t)) != 0) {
		munmap(t, sizeof(*t));
		errno = e;
		return NULL;
	}
	return t;
}

/* shmconf_map's init, under the object's lock: a table made before is
 * used if its layout is this one; one left half made by a process killed
 * meanwhile (no magic yet) is made again from nothing. */
static int
attach_init(void *p, void *arg)
{
	struct ratetable *t = p;

	(void)arg;
	if (atomic_load_explicit(&t->magic, memory_order_acquire) ==
	    RATETABLE_MAGIC)
		return t->version == RATETABLE_VERSION &&
		    t->size == sizeof(*t) ? 0 : EINVAL;
	memset(t, 0, sizeof(*t));
	return make_lock(t);
}

struct ratetable *
ratetable_attach(const char *conf_path)
{
	return shmconf_map(RATETABLE_SHM_NAME, conf_path,
	    sizeof(struct ratetable), attach_init, NULL);
}

void
ratetable_free(struct ratetable *t)
{
	if (t != NULL)
		munmap(t, sizeof(*t));
}

static int
lock(struct ratetable *t)
{
	int e = pthread_mutex_lock(&t->lock);

	if (e == EOWNERDEAD) {
		/* Its holder died between two additions: a count may be
		 * one off, nothing worse. */
		pthread_mutex_consistent(&t->lock);
		return 0;
	}
	return e == 0 ? 0 : -1;
}

static void
unlock(struct ratetable *t)
{
	pthread_mutex_unlock(&t->lock);
}

/* FNV-1a of the key and class: the slot to start probing at. */
static unsigned
home(const char *key, int class)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < RATETABLE_KEY_LEN && key[i] != '\0'; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	h = (h ^ (unsigned char)class) * 16777619u;
	return h % RATETABLE_SLOTS;
}

static int
same_key(const struct slot *s, const char *key, int class)
{
	return s->used && s->class == class &&
	    strncmp(s->key, key, RATETABLE_KEY_LEN) == 0;
}

static void
copy_id(char *dst, size_t dstsz, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* The slot of (key, class), or a fresh one for it; NULL if the PROBE
 * slots from its home are all in use in the current window. */
static struct slot *
find(struct ratetable *t, const char *key, int class, long window)
{
	struct slot *s, *spare = NULL;
	unsigned h = home(key, class), i;
	uint32_t gen;

	for (i = 0; i < PROBE; i++) {
		s = &t->slots[(h + i) % RATETABLE_SLOTS];
		if (same_key(s, key, class))
			return s;
		/* A slot unused since an earlier window counts nothing
		 * that still matters. */
		if (spare == NULL && (!s->used || s->window < window))
			spare = s;
	}
	if ((s = spare) == NULL)
		return NULL;
	gen = s->gen + 1;
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	memcpy(s->key, key, strnlen(key, RATETABLE_KEY_LEN));
	s->class = (char)class;
	s->used = 1;
	s->window = window;
	return s;
}

enum ratetable_verdict
ratetable_count(struct ratetable *t, const char *key, int class,
    const char *key_id, const char *tenant_id, long deflimit, long window,
    int64_t now_ms, struct ratetable_ticket *tk)
{
	struct slot *s;
	long limit, batch;
	int sync;

	memset(tk, 0, sizeof(*tk));
	if (lock(t) != 0)
		return RATETABLE_NONE;
	if ((s = find(t, key, class, window)) == NULL) {
		unlock(t);
		return RATETABLE_NONE;
	}
	copy_id(s->key_id, sizeof(s->key_id), key_id);
	copy_id(s->tenant_id, sizeof(s->tenant_id), tenant_id);
	/* A later window starts from nothing; a request whose clock says
	 * an earlier one (another worker turned the minute a moment ago)
	 * counts in the slot's. */
	if (window > s->window) {
		s->window = window;
		s->local = s->sent = s->remote = 0;
		s->sync_ms = 0;
		s->gen++;
	}
	s->local++;
	limit = s->override > 0 ? s->override : deflimit;
	batch = limit / 10 > 1 ? limit / 10 : 1;
	if (s->valid_ms == 0)
		sync = 1;	/* never checked, or forgotten: every request
				 * asks the database until one has */
	else if (s->sync_ms != 0 && now_ms - s->sync_ms < SYNC_STALE_MS)
		sync = 0;	/* another worker is syncing */
	else
		sync = now_ms - s->valid_ms >= RATETABLE_SYNC_MS ||
		    s->local - s->sent >= batch;
	tk->local = s->local;
	tk->count = s->local + s->remote;
	tk->override = s->override;
	tk->window = s->window;
	tk->first = s->local == 1;
	tk->slot = (unsigned)(s - t->slots);
	tk->gen = s->gen;
	if (sync) {
		tk->delta = s->local - s->sent;
		s->sent = s->local;
		if (s->valid_ms != 0)
			s->sync_ms = now_ms;
	}
	unlock(t);
	return sync ? RATETABLE_SYNC : RATETABLE_COUNTED;
}

void
ratetable_synced(struct ratetable *t, struct ratetable_ticket *tk,
    int usable, long total, long override, int64_t now_ms)
{
	struct slot *s = &t->slots[tk->slot % RATETABLE_SLOTS];

	tk->override = override;
	if (lock(t) != 0)
		return;
	if (s->gen != tk->gen) {
		/* The window turned (or the slot went to another key) while
		 * the statement ran: keep the number taken. */
		unlock(t);
		return;
	}
	if (!usable) {
		/* Revoked or expired: nothing of it is worth keeping. */
		s->used = 0;
		s->gen++;
		unlock(t);
		return;
	}
	/* The database holds at most what this host sent plus the others'
	 * requests; less if another sync of ours has not reached it yet. */
	s->remote = total > s->sent ? total - s->sent : 0;
	s->override = override;
	s->valid_ms = now_ms > 0 ? now_ms : 1;
	s->sync_ms = 0;
	tk->count = tk->local + s->remote;
	unlock(t);
}

void
ratetable_sync_failed(struct ratetable *t, const struct ratetable_ticket *tk)
{
	struct slot *s = &t->slots[tk->slot % RATETABLE_SLOTS];

	if (lock(t) != 0)
		return;
	if (s->gen == tk->gen) {
		s->sent -= tk->delta;
		s->sync_ms = 0;
	}
	unlock(t);
}

/* The next request syncs first; a sync under way, which may have read the
 * key before the change, must not mark it checked (the new gen). */
static void
forget(struct slot *s)
{
	s->valid_ms = 0;
	s->sync_ms = 0;
	s->gen++;
}

void
ratetable_forget_key(struct ratetable *t, const char *key_id)
{
	size_t i;

	if (lock(t) != 0)
		return;
	for (i = 0; i < RATETABLE_SLOTS; i++)
		if (t->slots[i].used &&
		    strcmp(t->slots[i].key_id, key_id) == 0)
			forget(&t->slots[i]);
	unlock(t);
}

void
ratetable_forget_tenant(struct ratetable *t, const char *tenant_id)
{
	size_t i;

	if (lock(t) != 0)
		return;
	for (i = 0; i < RATETABLE_SLOTS; i++)
		if (t->slots[i].used &&
		    strcmp(t->slots[i].tenant_id, tenant_id) == 0)
			forget(&t->slots[i]);
	unlock(t);
}

int
ratetable_wait_begin(struct ratetable *t, unsigned slot,
    const char *tenant_id, int cap)
{
	int i, n = 0;

	if (slot >= RATETABLE_WAITERS || tenant_id[0] == '\0')
		return 1;
	if (lock(t) != 0)
		return 1;	/* uncounted rather than refused */
	for (i = 0; i < RATETABLE_WAITERS; i++)
		if ((unsigned)i != slot && strncmp(t->waiting[i], tenant_id,
		    RATETABLE_ID_LEN) == 0)
			n++;
	if (n >= cap) {
		unlock(t);
		return 0;
	}
	copy_id(t->waiting[slot], sizeof(t->waiting[slot]), tenant_id);
	unlock(t);
	return 1;
}

void
ratetable_wait_end(struct ratetable *t, unsigned slot)
{
	if (slot >= RATETABLE_WAITERS || lock(t) != 0)
		return;
	t->waiting[slot][0] = '\0';
	unlock(t);
}
