/* OpenFlow 1.3 meters (ovs-ofctl add-meter syntax), as the daemon stores
 * them and the compiler consumes them.  Only one band, of type drop: a
 * meter becomes an nftables limit object, and packets over its rate are
 * dropped where a flow's meter:N action runs (brflow-flows(7)). */
#ifndef BRFLOW_METER_H
#define BRFLOW_METER_H

#include <stdbool.h>
#include <stdint.h>

#define METER_ID_MAX 0xffff0000u  /* OFPM13_MAX */

struct ofmeter {
	uint32_t meter_id;
	bool kbps;          /* rate in kilobits/s; else packets/s (pktps) */
	bool burst;         /* the "burst" flag */
	bool stats;         /* the "stats" flag (brflow counts either way) */
	uint32_t rate;      /* the drop band's rate, in kbps or pktps */
	uint32_t burst_size; /* kilobits or packets; 0 when not given */
};

/* Parses "meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5"
 * (OVS's syntax, commas or spaces; "band=" too).  NULL on success, else a
 * malloc'd one-line error naming the token and its column.  With 'id_only'
 * (del-meters/dump-meters/meter-stats patterns) only "meter=N" or
 * "meter=all" is read; *out's meter_id is 0 for all. */
char *meter_parse(const char *text, struct ofmeter *out, bool id_only);
/* "meter=1,pktps,bands=type=drop,rate=10": what meter_parse reads back
 * (the state file).  malloc'd. */
char *meter_format(const struct ofmeter *m);
/* ovs-ofctl dump-meters' text of one meter, two lines without the final
 * newline: "meter=1 pktps bands=\ntype=drop rate=10".  malloc'd. */
char *meter_format_config(const struct ofmeter *m);

/* The limit the kernel applies: per second, in packets (!*bytes) or
 * bytes (1 kbps = 125 bytes/s), and the burst in the same unit. */
void meter_limit(const struct ofmeter *m, uint64_t *rate, uint32_t *burst,
		 bool *bytes);
/* The nftables limit object's name: "meter_<id>". */
void meter_object_name(uint32_t id, char *buf, unsigned len);

#endif
