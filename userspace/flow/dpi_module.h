/* dpi_module.h - nDPI detection modules for the shards, built once and shared read-only.
 *
 * Building an nDPI 4.2 module costs about 30 ms of CPU and a few MiB (its IP lists go into
 * Patricia trees, its host names into Aho-Corasick automata), and each pipeline shard needs
 * one. Every shard gets its own module struct here, but the tables in it point to those of one
 * module built at the first request (dpi_module.c says why that is safe, and when it falls
 * back to building a whole module per shard).
 */
#ifndef MCP_DPI_MODULE_H
#define MCP_DPI_MODULE_H

#include <stdbool.h>

struct ndpi_detection_module_struct;

/* A module for one thread's detection, NULL if out of memory. Thread-safe. */
struct ndpi_detection_module_struct *mcp_dpi_module_get(void);
/* Releases a module from mcp_dpi_module_get; the shared tables go with the last one. */
void mcp_dpi_module_put(struct ndpi_detection_module_struct *m);

/* Whether modules share one set of tables: false if MCP_DPI_PRIVATE is set in the environment
 * (a diagnostic, and the tests' reference) or the library is not the nDPI this was checked
 * against. Decided at the first mcp_dpi_module_get. */
bool mcp_dpi_module_shared(void);

/* Whether two modules from mcp_dpi_module_get use the same tables (for the tests). */
bool mcp_dpi_module_same_tables(const struct ndpi_detection_module_struct *a,
				const struct ndpi_detection_module_struct *b);

#endif /* MCP_DPI_MODULE_H */
