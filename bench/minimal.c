/*
 * minimal.c — the yardstick of bench/run: the smallest honest libfcgi
 * prefork program. A master takes the listening socket on fd 0 (from
 * spawn-fcgi, like loyaltyd), forks N workers that share it, and waits;
 * SIGTERM or SIGINT stops the workers and then the master. A worker answers
 * every request with a fixed JSON body of the same shape and size as
 * loyaltyd's GET /health/live, and the response headers loyaltyd sends:
 * Status, Content-Type, Content-Length, X-Request-Id (REQUEST_ID echoed) and
 * Cache-Control: no-store. No routing, no logging, no database, no metrics.
 *
 *   cc -O2 -o minimal minimal.c $(pkg-config --cflags --libs fcgi)
 *   spawn-fcgi -n -s SOCKET -- ./minimal [WORKERS]      (default 4)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define MAX_WORKERS	64

static volatile sig_atomic_t	stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
worker(void)
{
	FCGX_Request	 r;
	char		 body[64];
	int		 blen;
	const char	*rid;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	blen = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"pid\":%d}\n",
	    (int)getpid());
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		_exit(70);
	while (FCGX_Accept_r(&r) >= 0) {
		rid = FCGX_GetParam("REQUEST_ID", r.envp);
		FCGX_FPrintF(r.out, "Status: 200\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %d\r\n"
		    "X-Request-Id: %s\r\n"
		    "Cache-Control: no-store\r\n\r\n",
		    blen, rid != NULL ? rid : "-");
		FCGX_PutStr(body, blen, r.out);
		FCGX_Finish_r(&r);
	}
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct sigaction	sa;
	pid_t			kids[MAX_WORKERS];
	int			n = argc > 1 ? atoi(argv[1]) : 4, i, live;

	if (n < 1 || n > MAX_WORKERS) {
		fprintf(stderr, "usage: %s [WORKERS 1..%d]\n", argv[0],
		    MAX_WORKERS);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == -1) {
			perror("fork");
			n = i;
			stop_flag = 1;
			break;
		}
		if (kids[i] == 0)
			worker();
	}
	/* A worker that dies is not replaced: the benchmark would see it. */
	for (live = n; live > 0 && !stop_flag;) {
		if (wait(NULL) > 0)
			live--;
		else if (errno == ECHILD)
			break;
	}
	for (i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
