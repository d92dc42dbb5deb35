/* resp_view.c - the RESP server's key snapshot (resp_view.h). */
#include "resp/resp_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

void mcp_resp_view_key(struct mcp_resp_view *v, const char *fmt, ...)
{
	va_list ap;
	char *name;

	if (v->failed)
		return;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		struct mcp_resp_key *k = realloc(v->keys, cap * sizeof(*k));

		if (!k) {
			v->failed = 1;
			return;
		}
		v->keys = k;
		v->cap = cap;
	}
	va_start(ap, fmt);
	name = vfmt(fmt, ap);
	va_end(ap);
	if (!name) {
		v->failed = 1;
		return;
	}
	v->keys[v->n++] = (struct mcp_resp_key){ .name = name };
}

void mcp_resp_view_field(struct mcp_resp_view *v, const char *name, const char *fmt, ...)
{
	struct mcp_resp_key *k;
	char **f, *val, *nm;
	va_list ap;

	if (v->failed || !v->n)
		return;
	k = &v->keys[v->n - 1];
	va_start(ap, fmt);
	val = vfmt(fmt, ap);
	va_end(ap);
	nm = strdup(name);
	f = realloc(k->fields, (size_t)(k->nfields + 1) * 2 * sizeof(*f));
	if (!val || !nm || !f) {
		free(val);
		free(nm);
		if (f)
			k->fields = f;
		v->failed = 1;
		return;
	}
	k->fields = f;
	f[k->nfields * 2] = nm;
	f[k->nfields * 2 + 1] = val;
	k->nfields++;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mcp_resp_key *)a)->name, ((const struct mcp_resp_key *)b)->name);
}

void mcp_resp_view_seal(struct mcp_resp_view *v)
{
	if (v->n)
		qsort(v->keys, v->n, sizeof(*v->keys), key_cmp);
}

const struct mcp_resp_key *mcp_resp_view_get(const struct mcp_resp_view *v, const char *name,
					     size_t len)
{
	size_t lo = 0, hi = v->n;

	if (memchr(name, 0, len))
		return NULL; /* no key holds a NUL */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *k = v->keys[mid].name;
		int c = strncmp(k, name, len);

		if (!c)
			c = k[len] ? 1 : 0;
		if (!c)
			return &v->keys[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void mcp_resp_view_free(struct mcp_resp_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		for (int j = 0; j < v->keys[i].nfields * 2; j++)
			free(v->keys[i].fields[j]);
		free(v->keys[i].fields);
		free(v->keys[i].name);
	}
	free(v->keys);
	free(v);
}
