/* brflowctl <-> brflowd wire format: length-prefixed frames on a unix
 * stream socket.  Shared by the daemon and the client, so it depends on
 * nothing but libc.  See ctlproto.h for the frame layout. */
#include "ctlproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "The peer went away" has several spellings; callers see one. */
static int peer_gone(void)
{
	errno = EIO;
	return -1;
}

/* send() with MSG_NOSIGNAL so a vanished peer is an error, not SIGPIPE;
 * plain write() for anything that is not a socket (pipes in tests). */
static ssize_t write_some(int fd, const void *buf, size_t n)
{
	ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);

	if (r < 0 && errno == ENOTSOCK)
		r = write(fd, buf, n);
	return r;
}

int ctlproto_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t r = write_some(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return peer_gone();
			return -1;
		}
		p += r;
		n -= r;
	}
	return 0;
}

int ctlproto_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET)
				return peer_gone();
			return -1;
		}
		if (r == 0)
			return peer_gone();
		p += r;
		n -= r;
	}
	return 0;
}

int ctlproto_send_frame(int fd, const void *buf, size_t n)
{
	uint32_t len;

	if (n > UINT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	len = htonl((uint32_t)n);
	if (ctlproto_write_all(fd, &len, sizeof(len)) < 0)
		return -1;
	return ctlproto_write_all(fd, buf, n);
}

int ctlproto_recv_frame(int fd, char **buf, size_t *n, size_t max)
{
	uint32_t len;
	char *p;

	*buf = NULL;
	*n = 0;
	if (ctlproto_read_all(fd, &len, sizeof(len)) < 0)
		return -1;
	len = ntohl(len);
	if (len > max) {
		errno = EMSGSIZE;
		return -1;
	}
	p = malloc((size_t)len + 1);
	if (!p)
		return -1;
	if (ctlproto_read_all(fd, p, len) < 0) {
		int err = errno;

		free(p);
		errno = err;
		return -1;
	}
	p[len] = '\0';
	*buf = p;
	*n = len;
	return 0;
}

/* An empty payload is an empty list (argc 0); the caller decides whether
 * that is an error.  argv[argc] is set to NULL when there is room. */
int ctlproto_split(char *buf, size_t n, char **argv, int max)
{
	size_t off = 0;
	int argc = 0;

	if (n > 0 && buf[n - 1] != '\0')
		return -1;
	while (off < n) {
		if (argc >= max)
			return -1;
		argv[argc++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (argc < max)
		argv[argc] = NULL;
	return argc;
}

const char *ctlproto_socket_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path && *explicit_path)
		return explicit_path;
	env = getenv("BRFLOW_SOCKET");
	if (env && *env)
		return env;
	return BRFLOW_DEFAULT_SOCKET;
}
