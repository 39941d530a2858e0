/* ratetable.h: the per-host rate-limit counters, shared by the workers of
 * one pool through an anonymous shared mapping the master makes before it
 * forks them, or by the processes mod_fcgid spawns for one vigil.conf
 * through a shared memory object of their own. All workers of a host
 * count into one slot per (key, class) and window under a process-shared
 * lock, so one host is exact; the database hears from each host about
 * once a second (see ratetable.c). */
#ifndef VIGIL_RATETABLE_H
#define VIGIL_RATETABLE_H

#include <stdint.h>

#define RATETABLE_SLOTS   4096   /* (key, class) pairs one host tracks */
#define RATETABLE_SYNC_MS 1000   /* longest time between database syncs */
#define RATETABLE_KEY_LEN 64     /* a key's SHA-256 in hex */
#define RATETABLE_ID_LEN  64     /* VIGIL_ID_LEN */
/* The name of mod_fcgid's shared table (shmconf.h): another layout,
 * another number. */
#define RATETABLE_SHM_NAME "ratetable-1"
#define RATETABLE_WAITERS 512    /* worker slots: twice the pool's maximum,
                                    so that a reload's new workers and the
                                    old ones finishing have their own */

struct ratetable;

/* What ratetable_count decided. */
enum ratetable_verdict {
	RATETABLE_COUNTED,  /* counted here: count and override are set */
	RATETABLE_SYNC,     /* counted; run the sync statement first */
	RATETABLE_NONE      /* no slot free (or the lock is broken): count
			     * in the database as if there were no table */
};

/* A counted request, carried from ratetable_count to ratetable_synced. */
struct ratetable_ticket {
	long		 count;     /* this request's number in its window */
	long		 override;  /* the tenant's limit, 0: the default */
	long		 window;    /* start of the window it was counted in */
	long		 delta;     /* RATETABLE_SYNC: add this to the database */
	int		 first;     /* the first request of the window here */
	long		 local;     /* its number among this host's requests */
	unsigned	 slot;
	uint32_t	 gen;
};

/* A zeroed table in a MAP_SHARED anonymous mapping, inherited by children
 * forked afterwards; NULL on failure (errno set). ratetable_free unmaps
 * it in the calling process. */
struct ratetable *ratetable_new(void);
/* The table every process of conf_path (and this user) shares without a
 * master to inherit it from, as mod_fcgid spawns them: a POSIX shared
 * memory object that outlives them (shmconf.h), made on first use. NULL
 * on failure (errno set; EINVAL: one of another layout is in the way;
 * EPERM: one this user does not own alone). */
struct ratetable *ratetable_attach(const char *conf_path);
void	 ratetable_free(struct ratetable *);

/*
 * Count one request of key (its hash) in class ('r' read, 'w' write) for
 * the window starting at window, at monotonic time now_ms. key_id and
 * tenant_id are remembered for ratetable_forget_*. deflimit is the
 * configured limit for the class, used when the tenant has none; it only
 * decides how often to sync. Pure apart from the table: the caller gives
 * the clocks.
 */
enum ratetable_verdict ratetable_count(struct ratetable *, const char *key,
	    int class, const char *key_id, const char *tenant_id,
	    long deflimit, long window, int64_t now_ms,
	    struct ratetable_ticket *);
/* After RATETABLE_SYNC: the sync statement said the key is usable (or
 * not), that the database's total for the window is now total and the
 * tenant's limit override (0: none). Sets tk->count and tk->override. */
void	 ratetable_synced(struct ratetable *, struct ratetable_ticket *,
	    int usable, long total, long override, int64_t now_ms);
/* After RATETABLE_SYNC: the statement failed; its delta is sent again by
 * the next sync. */
void	 ratetable_sync_failed(struct ratetable *,
	    const struct ratetable_ticket *);
/* Make the next request of a key (of every key of a tenant) sync before
 * it is served: after a revocation or a change of limits on this host. */
void	 ratetable_forget_key(struct ratetable *, const char *key_id);
void	 ratetable_forget_tenant(struct ratetable *, const char *tenant_id);

/*
 * Workers waiting on request bodies, per tenant: worker slot (0 to
 * RATETABLE_WAITERS - 1, each worker its own) is about to wait for the
 * body of a request of tenant_id. 1 if fewer than cap slots wait for that
 * tenant (slot is then counted as waiting until ratetable_wait_end), 0 if
 * not. The pool clears a worker's slot when it reaps it, so a worker
 * that died waiting is not counted for ever, and gives a reload's new
 * workers slots apart from the old ones still finishing (cgi/pool.c).
 */
int	 ratetable_wait_begin(struct ratetable *, unsigned slot,
	    const char *tenant_id, int cap);
void	 ratetable_wait_end(struct ratetable *, unsigned slot);

#endif
