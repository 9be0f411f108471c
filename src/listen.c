/* listen.c — the listening socket: inherited, or bound here. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"

#define SD_LISTEN_FDS_START	3

static int
is_listening_socket(int fd)
{
	int		val = 0;
	socklen_t	len = sizeof(val);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == -1)
		return 0;
	return val != 0;
}

/* systemd socket activation: LISTEN_PID is us, LISTEN_FDS >= 1. */
static int
from_systemd(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int		 fd = SD_LISTEN_FDS_START;

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (atoi(fds) < 1 || !is_listening_socket(fd)) {
		log_msg(LOG_ERROR, "listen", "LISTEN_FDS set but fd %d is not "
		    "a listening socket", fd);
		return -2;
	}
	return fd;
}

static int
bind_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg(LOG_ERROR, "listen", "socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_msg(LOG_ERROR, "listen", "socket: %s", strerror(errno));
		return -1;
	}
	/* A stale socket file from a previous run would make bind fail. */
	{
		struct stat st;

		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 1024) == -1) {
		log_msg(LOG_ERROR, "listen", "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
bind_tcp(const char *addr)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256];
	const char	*colon = strrchr(addr, ':');
	int		 fd = -1, on = 1, rc;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host)) {
		log_msg(LOG_ERROR, "listen", "expected HOST:PORT: %s", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		log_msg(LOG_ERROR, "listen", "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		log_msg(LOG_ERROR, "listen", "cannot bind %s: %s", addr,
		    strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static int
bind_addr(const char *addr)
{
	return addr[0] == '/' ? bind_unix(addr) : bind_tcp(addr);
}

int
listen_acquire(const char *cli_addr, const char *cfg_addr)
{
	int fd;

	if ((fd = from_systemd()) >= 0)
		return fd;
	if (fd == -2)
		return -1;
	if (cli_addr != NULL && cli_addr[0] != '\0')
		return bind_addr(cli_addr);
	if (is_listening_socket(STDIN_FILENO))
		return STDIN_FILENO;
	if (cfg_addr != NULL && cfg_addr[0] != '\0')
		return bind_addr(cfg_addr);
	log_msg(LOG_ERROR, "listen", "no listening socket: start under "
	    "spawn-fcgi or systemd, or give --listen or server.listen");
	return -1;
}
