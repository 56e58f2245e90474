/* The forwarding database of a Linux bridge (the MAC addresses it learned
 * on its ports), read and flushed through rtnetlink, and printed the way
 * `ovs-appctl fdb/show` prints Open vSwitch's MAC learning table. */
#ifndef BRFLOW_FDB_H
#define BRFLOW_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fdb_entry {
	int ifindex;          /* the port it was learned on */
	uint16_t vlan;        /* 0 without VLAN filtering */
	uint8_t mac[6];
	unsigned int age;     /* seconds since the address was last seen */
	bool local;           /* the bridge's own address: frames to it go up to the host */
};

/* The bridge's learned entries, and with with_local its own permanent
 * addresses too (those of the bridge device and of its ports, marked
 * local), in a malloc'd array the caller frees.  0, or -1 with err. */
int fdb_read(const char *bridge, bool with_local, struct fdb_entry **entries,
	     int *n, char *err, size_t errlen);

/* Forgets every learned entry (IFLA_BR_FDB_FLUSH).  0, or -1 with err. */
int fdb_flush(const char *bridge, char *err, size_t errlen);

/* Prints the entries sorted by port, VLAN and address under OVS's heading
 * " port  VLAN  MAC                Age"; port_of names each entry's port
 * (an OpenFlow port number, or the interface's name).  0, or -1 when out
 * of memory (nothing printed). */
int fdb_print(FILE *out, struct fdb_entry *entries, int n,
	      void (*port_of)(int ifindex, char *buf, size_t len, void *arg),
	      void *arg);

#endif
