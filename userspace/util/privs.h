/* privs.h - least privilege: capabilities instead of uid 0, and dropping them once set up.
 *
 * Live capture needs CAP_NET_ADMIN (attach XDP), CAP_NET_RAW (AF_XDP sockets) and CAP_BPF
 * (programs and maps; CAP_SYS_ADMIN on kernels before 5.8), whatever the uid. Once set up,
 * the probe keeps only what the rest of the run uses and sets no_new_privs, so that a flaw
 * in a parser cannot be turned into more privileges. Capabilities are per thread: a thread
 * inherits its creator's set, so the drop is done before the packet threads are created, and
 * helper threads created earlier drop theirs when they start. docs/deploy.md has the list.
 */
#ifndef MCP_UTIL_PRIVS_H
#define MCP_UTIL_PRIVS_H

/* 1 when the calling thread holds what live capture setup needs (see above). */
int mcp_privs_live_capable(void);
/* The calling thread keeps only the capabilities in keep[0..nkeep) (CAP_* numbers) that it
 * holds, empties its inheritable and ambient sets (and the bounding set when allowed), and
 * sets no_new_privs. 0 or -errno (logged once). */
int mcp_privs_drop(const int *keep, int nkeep);
/* Live capture after setup: CAP_BPF for map updates, plus CAP_NET_ADMIN, CAP_SYS_ADMIN
 * (libxdp looks the program up by id) and CAP_DAC_OVERRIDE when the probe must detach its
 * own program and remove its pins at exit; with mcp-load's program, CAP_BPF alone. */
int mcp_privs_drop_live(int detach_at_exit);
/* A helper thread that never needs a capability (microcloud writer): drops them all. */
void mcp_privs_drop_thread(void);

#endif /* MCP_UTIL_PRIVS_H */
