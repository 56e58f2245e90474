/* brflowd's control socket (control.h). */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "commands.h"
#include "ctlproto.h"
#include "log.h"

/* A request's header must arrive within IO_TIMEOUT_S and the whole request
 * within REQUEST_TIMEOUT_MS: a silent or trickling client costs the daemon
 * no more. */
#define REQUEST_TIMEOUT_MS 10000
#define IO_TIMEOUT_S 5

static int fill_addr(struct sockaddr_un *sa, const char *path, char *err,
		     size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* Removes a socket file nobody answers on; refuses if a daemon answers
 * or if the path is something other than a socket. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat stb;
	int fd, rc;

	if (lstat(sa->sun_path, &stb)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", sa->sun_path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(stb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (!rc) {
		snprintf(err, errlen, "another brflowd is listening on %s",
			 sa->sun_path);
		return -1;
	}
	if (unlink(sa->sun_path) && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale %s: %s", sa->sun_path,
			 strerror(errno));
		return -1;
	}
	log_info("removed stale socket %s", sa->sun_path);
	return 0;
}

int control_listen(const char *path, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	mode_t old_umask;
	int fd, rc;

	if (fill_addr(&sa, path, err, errlen) || clear_stale(&sa, err, errlen))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Born 0600: no window in which others could connect. */
	old_umask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (gid != (gid_t)-1 && (chown(path, (uid_t)-1, gid) || chmod(path, 0660))) {
		snprintf(err, errlen, "chgrp/chmod %s: %s", sa.sun_path,
			 strerror(errno));
		unlink(path);
		goto fail;
	}
	if (listen(fd, 16)) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

void control_close(int lfd, const char *path)
{
	if (lfd >= 0)
		close(lfd);
	unlink(path);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly n bytes before 'deadline' (monotonic ms).  0 or -1:
 * errno ETIMEDOUT, EIO (peer closed) or the read error. */
static int read_until(int fd, void *buf, size_t n, int64_t deadline)
{
	char *p = buf;

	while (n > 0) {
		int64_t left = deadline - mono_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!r)
				errno = ETIMEDOUT;
			return -1;
		}
		r = read(fd, p, n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			if (!r)
				errno = EIO;
			return -1;
		}
		p += r;
		n -= r;
	}
	return 0;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			  (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp;

		if (!len || i + len > n || (len == 2 && c < 0xc2))
			return false;
		cp = len == 1 ? c : c & (0x7f >> len);
		for (int k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void reply(int fd, char status, const char *text)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 1);

	if (!buf) {
		static const char oom[] = "1out of memory";

		ctlproto_send_frame(fd, oom, sizeof(oom) - 1);
		return;
	}
	buf[0] = status;
	memcpy(buf + 1, text, len);
	if (ctlproto_send_frame(fd, buf, len + 1))
		log_debug("control: sending reply: %s", strerror(errno));
	free(buf);
}

/* Reads one frame; on failure returns -1 with *why set to what the client
 * is told (NULL: the client is gone or silent, tell nothing). */
static int read_request(int fd, char **buf, size_t *n, const char **why)
{
	int64_t start = mono_ms();
	int64_t deadline = start + REQUEST_TIMEOUT_MS;
	uint32_t len;

	*buf = NULL;
	*why = NULL;
	if (read_until(fd, &len, sizeof(len), start + IO_TIMEOUT_S * 1000))
		return -1;
	len = ntohl(len);
	if (len > CTLPROTO_MAX_REQUEST) {
		*why = "request too large";
		return -1;
	}
	if (!len) {
		*why = "empty request";
		return -1;
	}
	*buf = malloc((size_t)len + 1);
	if (!*buf) {
		*why = "out of memory";
		return -1;
	}
	if (read_until(fd, *buf, len, deadline)) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	(*buf)[len] = '\0';
	*n = len;
	return 0;
}

/* The command among the request's words, for the log. */
static const char *command_name(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--", 2))
			return argv[i];
	return "request";
}

static void handle(int fd, struct st_state *st)
{
	char *argv[CTLPROTO_MAX_ARGS + 1];
	const char *why;
	char *buf, *out = NULL;
	size_t n;
	int argc, rc;

	if (read_request(fd, &buf, &n, &why)) {
		/* a client that connects and leaves (a liveness probe) is fine */
		log_msg(why || errno != EIO ? BLOG_WARN : BLOG_DEBUG,
			"control: dropping request: %s",
			why ? why : strerror(errno));
		if (why)
			reply(fd, '1', why);
		return;
	}
	if (buf[n - 1] != '\0' || !valid_utf8((unsigned char *)buf, n)) {
		log_warn("control: malformed request (%zu bytes)", n);
		reply(fd, '1', "malformed request");
		goto out;
	}
	argc = ctlproto_split(buf, n, argv, CTLPROTO_MAX_ARGS);
	if (argc < 0) {
		log_warn("control: too many arguments");
		reply(fd, '1', "too many arguments");
		goto out;
	}
	rc = commands_run(st, argc, argv, &out);
	if (rc)
		log_info("%s: %s", command_name(argc, argv), out);
	reply(fd, rc ? '1' : '0', out);
out:
	free(out);
	free(buf);
}

void control_serve_one(int lfd, struct st_state *st)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("control: accept: %s", strerror(errno));
		return;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		log_warn("control: socket timeouts: %s", strerror(errno));
	handle(fd, st);
	close(fd);
}
