/* cpu_pin.h - keeps the probe's helper threads (microcloud writer, live control thread) on
 * CPUs the operator chose (--helper-cpus), away from the packet threads, and names them so
 * that top -H and ps -L show which thread is which. */
#ifndef MCP_CPU_PIN_H
#define MCP_CPU_PIN_H

#include <pthread.h>

/* Parses a CPU list ("0", "0-3", "0,2,4-5") and makes it the helper threads' CPUs.
 * 0, or -EINVAL (message logged) for a malformed list or a CPU this machine does not have. */
int mcp_helper_cpus_set(const char *list);

/* Called first in every helper thread: names it, and pins it when --helper-cpus was given. */
void mcp_helper_thread_start(const char *name);

/* At the end of a run the packet thread is idle: lets helper thread t also run on the calling
 * thread's CPUs, so that its last flush runs beside the server it feeds instead of taking
 * turns with it on the helper CPUs. No-op unless --helper-cpus pinned it. */
void mcp_helper_thread_lend_cpus(pthread_t t);

#endif /* MCP_CPU_PIN_H */
