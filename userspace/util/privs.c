/* privs.c - capabilities instead of uid 0, dropped once set up (privs.h). libcap does the
 * capability sets; prctl(2) the ambient and bounding sets and no_new_privs. */
#include "util/privs.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "util/log.h"

#ifndef CAP_BPF
#define CAP_BPF 39 /* Linux 5.8; older headers lack it */
#endif

static int has_effective(cap_t c, cap_value_t v)
{
	cap_flag_value_t f = CAP_CLEAR;

	return CAP_IS_SUPPORTED(v) && !cap_get_flag(c, v, CAP_EFFECTIVE, &f) && f == CAP_SET;
}

int mcp_privs_live_capable(void)
{
	cap_t c = cap_get_proc();
	int ok;

	if (!c)
		return 0;
	ok = has_effective(c, CAP_NET_ADMIN) && has_effective(c, CAP_NET_RAW) &&
	     (has_effective(c, CAP_BPF) || has_effective(c, CAP_SYS_ADMIN));
	cap_free(c);
	return ok;
}

static int kept(const int *keep, int nkeep, cap_value_t v)
{
	for (int i = 0; i < nkeep; i++)
		if (keep[i] == v)
			return 1;
	return 0;
}

int mcp_privs_drop(const int *keep, int nkeep)
{
	cap_t cur = cap_get_proc(), next = cap_init();
	int err = 0;

	if (!cur || !next) {
		err = -ENOMEM;
		goto out;
	}
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which goes next */
	if (has_effective(cur, CAP_SETPCAP))
		for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
			if (!kept(keep, nkeep, v) && prctl(PR_CAPBSET_READ, v, 0, 0, 0) == 1)
				prctl(PR_CAPBSET_DROP, v, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < nkeep; i++) {
		cap_value_t v = keep[i];
		cap_flag_value_t f = CAP_CLEAR;

		if (!CAP_IS_SUPPORTED(v) || cap_get_flag(cur, v, CAP_PERMITTED, &f) || f != CAP_SET)
			continue;
		cap_set_flag(next, CAP_PERMITTED, 1, &v, CAP_SET);
		cap_set_flag(next, CAP_EFFECTIVE, 1, &v, CAP_SET);
	}
	if (cap_set_proc(next))
		err = -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) && !err)
		err = -errno;
out:
	if (err)
		mcp_warn("could not drop privileges: %s\n", strerror(-err));
	cap_free(cur);
	cap_free(next);
	return err;
}

int mcp_privs_drop_live(int detach_at_exit)
{
	int keep[4], n = 0;

	/* before Linux 5.8 CAP_SYS_ADMIN is what the bpf() map commands ask for */
	keep[n++] = CAP_IS_SUPPORTED(CAP_BPF) ? CAP_BPF : CAP_SYS_ADMIN;
	if (detach_at_exit) {
		/* libxdp finds the program to detach by id (BPF_PROG_GET_FD_BY_ID: CAP_SYS_ADMIN);
		 * the pins live in root's /sys/fs/bpf */
		keep[n++] = CAP_NET_ADMIN;
		keep[n++] = CAP_SYS_ADMIN;
		keep[n++] = CAP_DAC_OVERRIDE;
	}
	return mcp_privs_drop(keep, n);
}

void mcp_privs_drop_thread(void)
{
	mcp_privs_drop(NULL, 0);
}
