/* Connection table (dpi_conn.h). */
#include "dpi_conn.h"

#include <stdlib.h>

static size_t bucket(const struct dpi_conn_table *t, uint64_t key)
{
	/* ct ids are hashes already; mix anyway in case they are not. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & (t->nbuckets - 1);
}

int dpi_conn_init(struct dpi_conn_table *t, size_t max,
		  void (*free_flow)(void *flow))
{
	size_t nb = 64;

	while (nb < max && nb < ((size_t)1 << 24))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets)
		return -1;
	t->nbuckets = nb;
	t->n = 0;
	t->max = max ? max : 1;
	t->lru.prev = t->lru.next = &t->lru;
	t->free_flow = free_flow;
	return 0;
}

void dpi_conn_destroy(struct dpi_conn_table *t)
{
	while (t->lru.next != &t->lru)
		dpi_conn_del(t, t->lru.next);
	free(t->buckets);
	t->buckets = NULL;
}

struct dpi_conn *dpi_conn_find(struct dpi_conn_table *t, uint64_t key)
{
	struct dpi_conn *c = t->buckets[bucket(t, key)];

	while (c && c->key != key)
		c = c->hnext;
	return c;
}

static void lru_unlink(struct dpi_conn *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
}

static void lru_push(struct dpi_conn_table *t, struct dpi_conn *c)
{
	c->next = t->lru.next;
	c->prev = &t->lru;
	t->lru.next->prev = c;
	t->lru.next = c;
}

void dpi_conn_touch(struct dpi_conn_table *t, struct dpi_conn *c,
		    uint64_t now_ms)
{
	c->last_ms = now_ms;
	lru_unlink(c);
	lru_push(t, c);
}

void dpi_conn_free_flow(struct dpi_conn_table *t, struct dpi_conn *c)
{
	if (c->flow && t->free_flow)
		t->free_flow(c->flow);
	c->flow = NULL;
}

void dpi_conn_del(struct dpi_conn_table *t, struct dpi_conn *c)
{
	struct dpi_conn **pp = &t->buckets[bucket(t, c->key)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	lru_unlink(c);
	dpi_conn_free_flow(t, c);
	free(c);
	t->n--;
}

struct dpi_conn *dpi_conn_add(struct dpi_conn_table *t, uint64_t key,
			      uint64_t now_ms, uint64_t *evicted)
{
	struct dpi_conn *c;
	size_t b;

	while (t->n >= t->max && t->lru.prev != &t->lru) {
		dpi_conn_del(t, t->lru.prev);
		(*evicted)++;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->key = key;
	c->last_ms = now_ms;
	b = bucket(t, key);
	c->hnext = t->buckets[b];
	t->buckets[b] = c;
	lru_push(t, c);
	t->n++;
	return c;
}

size_t dpi_conn_expire(struct dpi_conn_table *t, uint64_t now_ms,
		       uint64_t idle_ms)
{
	size_t n = 0;

	while (t->lru.prev != &t->lru && now_ms - t->lru.prev->last_ms >= idle_ms) {
		dpi_conn_del(t, t->lru.prev);
		n++;
	}
	return n;
}
