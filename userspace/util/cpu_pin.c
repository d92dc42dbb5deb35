/* cpu_pin.c - helper threads on their own CPUs (cpu_pin.h). */
#include "util/cpu_pin.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static cpu_set_t helper_cpus;
static int helper_cpus_on;

static int parse_cpu(const char **p, long ncpu, long *out)
{
	char *end;
	long v;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || v < 0 || v >= ncpu || v >= CPU_SETSIZE)
		return -EINVAL;
	*p = end;
	*out = v;
	return 0;
}

int mcp_helper_cpus_set(const char *list)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF), a, b;
	const char *p = list;
	cpu_set_t set;

	CPU_ZERO(&set);
	for (;;) {
		if (parse_cpu(&p, ncpu, &a))
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_cpu(&p, ncpu, &b) || b < a)
				goto bad;
		}
		for (; a <= b; a++)
			CPU_SET(a, &set);
		if (!*p)
			break;
		if (*p++ != ',')
			goto bad;
	}
	helper_cpus = set;
	helper_cpus_on = 1;
	return 0;
bad:
	mcp_err("invalid --helper-cpus '%s' (expected a list like 0 or 0,2-3 of CPUs below %ld)\n",
		list, ncpu);
	return -EINVAL;
}

void mcp_helper_thread_start(const char *name)
{
	int err;

	pthread_setname_np(pthread_self(), name); /* at most 15 characters: ours are short */
	if (!helper_cpus_on)
		return;
	err = pthread_setaffinity_np(pthread_self(), sizeof(helper_cpus), &helper_cpus);
	if (err)
		mcp_warn("%s: cannot pin to --helper-cpus (%s), running unpinned\n", name,
			 strerror(err));
}

void mcp_helper_thread_lend_cpus(pthread_t t)
{
	cpu_set_t set;

	if (!helper_cpus_on || pthread_getaffinity_np(pthread_self(), sizeof(set), &set))
		return;
	CPU_OR(&set, &set, &helper_cpus);
	pthread_setaffinity_np(t, sizeof(set), &set); /* best effort: the flush works anyway */
}
