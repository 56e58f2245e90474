/* brflowctl <-> brflowd wire format over the unix stream socket.
 *
 * Request:  u32 length (big-endian), then 'length' bytes: NUL-terminated
 *           strings — the command, then its arguments, exactly as the client
 *           got them, except that a FILE argument of add-flows,
 *           replace-flows, diff-flows and add-groups is replaced by the
 *           file's contents
 *           (the client reads the file or stdin), and global options (--bundle, --strict, --no-stats) come
 *           first, before the command; so do --sort[=FIELD] and
 *           --rsort[=FIELD], in the order given.
 * Response: u32 length (big-endian), then a status byte ('0' ok, '1' error)
 *           and text: the command's output, or for an error one line
 *           without the "brflowctl: CMD: " prefix the client adds.
 * One request per connection. */
#ifndef BRFLOW_CTLPROTO_H
#define BRFLOW_CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CTLPROTO_MAX_REQUEST (64u << 20)
#define CTLPROTO_MAX_ARGS 64
#define BRFLOW_DEFAULT_SOCKET "/run/brflow/brflowd.sock"
#define BRFLOW_DEFAULT_STATE_DIR "/var/lib/brflow"

/* Full write/read of n bytes; 0 or -1 (errno set; EPIPE/ECONNRESET/EOF->EIO). */
int ctlproto_write_all(int fd, const void *buf, size_t n);
int ctlproto_read_all(int fd, void *buf, size_t n);

/* Sends one frame (length + payload). */
int ctlproto_send_frame(int fd, const void *buf, size_t n);
/* Receives one frame into a malloc'd buffer (*buf, NUL-terminated past
 * *n).  Frames over 'max' bytes fail with errno EMSGSIZE.  0 or -1. */
int ctlproto_recv_frame(int fd, char **buf, size_t *n, size_t max);

/* Splits a request payload into argv (pointers into buf).  Returns argc, or
 * -1 if the payload is not a list of NUL-terminated strings or has more
 * than max args. */
int ctlproto_split(char *buf, size_t n, char **argv, int max);

/* The socket path: explicit, else $BRFLOW_SOCKET, else the default. */
const char *ctlproto_socket_path(const char *explicit_path);

#endif
