/* dpi_module.c - nDPI detection modules that share one set of tables (see dpi_module.h).
 *
 * nDPI 4.2 has no API for this (later versions have a "global context" for the same purpose),
 * so it is done on the module struct, which 4.2 declares for its own compilation only:
 *  - during detection the tables are only read. Patricia searches (ndpi_network_ptree_match)
 *    and automaton searches (ac_automata_search) keep their state on the stack or in the
 *    caller's match structures; checked in 4.2's code;
 *  - what detection writes is inside the struct itself (the current packet, the clock), or in
 *    LRU caches nDPI allocates on first use (a fresh module has none).
 * So a shard's module is a copy of the struct of one built module: its own packet, clock and
 * caches, the tables by pointer. A copy is freed by freeing its caches and itself; the tables
 * go with the built module when the last copy is put back.
 *
 * The struct's layout is checked against the library before any copy is made: the API
 * version, the 4.2 release, and two fields read both directly and through nDPI's accessors.
 * Anything else (or MCP_DPI_PRIVATE in the environment) and every module is built whole.
 */
#include "flow/dpi_module.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NDPI_LIB_COMPILATION /* for struct ndpi_detection_module_struct; see above */
#include <ndpi_api.h>

#include "util/log.h"

/* libcache's destructor: exported by libndpi, declared in a header it does not install. */
void cache_free(struct cache *c);

enum share_mode { SHARE_UNDECIDED, SHARE_TABLES, SHARE_NOTHING };

static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static enum share_mode mode;                              /* set once, under module_lock */
static struct ndpi_detection_module_struct *tables_owner; /* the built module, never used */
static unsigned int copies;                               /* copies of it still out */

static struct ndpi_detection_module_struct *module_build(void)
{
	struct ndpi_detection_module_struct *m = ndpi_init_detection_module(ndpi_no_prefs);
	NDPI_PROTOCOL_BITMASK all;

	if (!m) {
		mcp_err("nDPI initialisation failed\n");
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(m, &all);
	ndpi_finalize_initialization(m);
	return m;
}

/* Caches detection allocates on first use: each copy's own. */
static bool module_has_caches(const struct ndpi_detection_module_struct *m)
{
	return m->ookla_cache || m->tinc_cache || m->bittorrent_cache || m->zoom_cache ||
	       m->stun_cache || m->tls_cert_cache || m->mining_cache || m->msteams_cache;
}

static bool layout_checked(struct ndpi_detection_module_struct *m)
{
	return ndpi_get_api_version() == NDPI_API_VERSION &&
	       strncmp(ndpi_revision(), "4.2.", 4) == 0 &&
	       (void *)ndpi_get_proto_defaults(m) == (void *)m->proto_defaults &&
	       ndpi_get_ndpi_num_supported_protocols(m) == m->ndpi_num_supported_protocols &&
	       !module_has_caches(m);
}

static void copy_free(struct ndpi_detection_module_struct *m)
{
	struct ndpi_lru_cache *lru[] = { m->ookla_cache, m->bittorrent_cache, m->zoom_cache,
					 m->stun_cache, m->tls_cert_cache, m->mining_cache,
					 m->msteams_cache };

	for (size_t i = 0; i < sizeof(lru) / sizeof(lru[0]); i++)
		if (lru[i])
			ndpi_lru_free_cache(lru[i]);
	if (m->tinc_cache)
		cache_free(m->tinc_cache);
	free(m);
}

struct ndpi_detection_module_struct *mcp_dpi_module_get(void)
{
	struct ndpi_detection_module_struct *m = NULL;
	const char *env;

	pthread_mutex_lock(&module_lock);
	if (mode == SHARE_UNDECIDED) {
		env = getenv("MCP_DPI_PRIVATE");
		if (env && *env && strcmp(env, "0") != 0) {
			mode = SHARE_NOTHING;
		} else {
			tables_owner = module_build();
			if (!tables_owner)
				goto out;
			mode = layout_checked(tables_owner) ? SHARE_TABLES : SHARE_NOTHING;
			if (mode == SHARE_NOTHING) { /* the module built for the check is this one */
				mcp_warn("nDPI %s: each shard builds its own detection module\n",
					 ndpi_revision());
				m = tables_owner;
				tables_owner = NULL;
				goto out;
			}
		}
	}
	if (mode == SHARE_NOTHING) {
		pthread_mutex_unlock(&module_lock);
		return module_build();
	}
	if (!tables_owner) /* all copies were put back: build again */
		tables_owner = module_build();
	if (!tables_owner)
		goto out;
	m = malloc(sizeof(*m));
	if (!m)
		goto out;
	memcpy(m, tables_owner, sizeof(*m));
	copies++;
out:
	pthread_mutex_unlock(&module_lock);
	return m;
}

void mcp_dpi_module_put(struct ndpi_detection_module_struct *m)
{
	struct ndpi_detection_module_struct *last = NULL;

	if (!m)
		return;
	pthread_mutex_lock(&module_lock);
	if (mode != SHARE_TABLES) {
		pthread_mutex_unlock(&module_lock);
		ndpi_exit_detection_module(m);
		return;
	}
	if (--copies == 0) {
		last = tables_owner;
		tables_owner = NULL;
	}
	pthread_mutex_unlock(&module_lock);
	copy_free(m);
	if (last)
		ndpi_exit_detection_module(last);
}

bool mcp_dpi_module_shared(void)
{
	bool shared;

	pthread_mutex_lock(&module_lock);
	shared = mode == SHARE_TABLES;
	pthread_mutex_unlock(&module_lock);
	return shared;
}

bool mcp_dpi_module_same_tables(const struct ndpi_detection_module_struct *a,
				const struct ndpi_detection_module_struct *b)
{
	return a != b && a->protocols_ptree == b->protocols_ptree &&
	       a->host_automa.ac_automa == b->host_automa.ac_automa;
}
