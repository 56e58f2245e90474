/* brflowd's control socket: a unix stream socket that serves one request
 * per connection, one connection at a time (src/ctlproto.h has the wire
 * format).  A client can delay the daemon by a few seconds at most, and
 * nothing it sends makes the daemon exit. */
#ifndef BRFLOW_CONTROL_H
#define BRFLOW_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "state.h"

/* Creates and binds the socket at 'path', mode 0600 (0660 with group gid
 * when gid != (gid_t)-1), and listens.  A stale socket file is removed;
 * if a daemon answers on it, fails with "another brflowd is listening on
 * PATH".  Returns the listening fd or -1 with err. */
int control_listen(const char *path, gid_t gid, char *err, size_t errlen);

/* Accepts one connection on 'lfd', reads its request, runs it through
 * commands_run() and sends the reply.  Never fails: problems with the
 * client are logged and the connection closed. */
void control_serve_one(int lfd, struct st_state *st);

/* Closes the listening socket and removes its file. */
void control_close(int lfd, const char *path);

#endif
