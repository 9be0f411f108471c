/* worker.c — a prefork worker: accept, dispatch, respond, repeat. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <unistd.h>

#include <fcgiapp.h>

#include <json-c/json.h>

#include "auth.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "version.h"
#include "worker.h"

static volatile sig_atomic_t	stop_flag;
static volatile sig_atomic_t	reopen_flag;

#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
on_reopen(int sig)
{
	(void)sig;
	reopen_flag = 1;
}

/*
 * Installed before FCGX_Init, so libfcgi keeps its hands off SIGPIPE and
 * SIGUSR1. The reload signal belongs to the master: a worker is replaced
 * instead. Handlers only set flags; they run only inside wait_for_client().
 */
static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_reopen;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
}

/*
 * The worker's signals stay blocked except while it waits in ppoll() for
 * a connection, so a stop or a log reopen never lands inside libfcgi: it
 * would cut a request in flight, and libfcgi's own accept, interrupted
 * after accepting, drops the connection and can spin on it.
 */
static void
block_signals(sigset_t *unblocked)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, unblocked);
	sigdelset(unblocked, SIGTERM);
	sigdelset(unblocked, SIGINT);
	sigdelset(unblocked, SIGUSR1);
}

/*
 * Waits for a connection with signals unblocked and accepts it. The
 * listening socket is non-blocking, shared by all workers: one that loses
 * the race for a connection goes back to waiting. Returns the connection,
 * or -1 when a signal or a lost race woke us (the caller checks its flags).
 */
static int
wait_for_client(int listen_fd, const sigset_t *unblocked)
{
	struct pollfd	pfd = { .fd = listen_fd, .events = POLLIN };
	int		fd;

	if (ppoll(&pfd, 1, NULL, unblocked) == -1) {
		if (errno != EINTR) {
			log_msg(LOG_ERROR, "accept", "poll: %s", strerror(errno));
			usleep(100000);
		}
		return -1;
	}
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR && errno != ECONNABORTED) {
		log_msg(LOG_ERROR, "accept", "accept: %s", strerror(errno));
		usleep(100000);
	}
	return fd;
}

static const char *
new_request_id(struct arena *a)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		raw[16];
	char			*id = arena_alloc(a, 33);
	size_t			i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[32] = '\0';
	return id;
}

/* nginx's $request_id is 32 hex digits; anything odd is replaced. */
static int
valid_request_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 &&
	    strspn(s, "0123456789abcdefABCDEF-") == n;
}

static int
loopback(const char *addr)
{
	if (addr == NULL || addr[0] == '\0')
		return 0;	/* nginx always sends it; without it, no trust */
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	    strncmp(addr, "::ffff:127.", 11) == 0;
}

/* application/json, optionally with parameters such as charset=utf-8. */
static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static enum lerr
read_body(struct request *req, FCGX_Request *fr, long max)
{
	const char	*cl = request_param(req, "CONTENT_LENGTH");
	char		*body;
	long		 len = 0;
	int		 got = 0, n;

	if (cl != NULL && cl[0] != '\0') {
		if (strspn(cl, "0123456789") != strlen(cl) || strlen(cl) > 12)
			return problem_set(&req->problem, req->arena,
			    LERR_BAD_REQUEST, "Content-Length must be digits");
		len = strtol(cl, NULL, 10);
	}
	if (len > max)
		return problem_set(&req->problem, req->arena, LERR_TOO_LARGE,
		    "the body is %ld bytes; at most %ld are accepted", len, max);
	body = arena_alloc(req->arena, (size_t)len + 1);
	while (got < len) {
		n = FCGX_GetStr(body + got, (int)(len - got), fr->in);
		if (n <= 0)
			break;
		got += n;
	}
	body[got] = '\0';
	req->body = body;
	req->body_len = (size_t)got;
	if (got < len)
		return problem_set(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "the body ended after %d of %ld bytes", got, len);
	return LERR_OK;
}

/* 503 with Retry-After while the database cannot be reached. */
static enum lerr
need_db(struct worker *w, struct request *req)
{
	if (db_ensure(w->db) == LERR_OK)
		return LERR_OK;
	req->problem.retry_after = db_retry_after(w->db);
	return problem_set(&req->problem, req->arena, LERR_DB_UNAVAILABLE,
	    "the database cannot be reached; try again shortly");
}

/* Everything a request must pass before its handler runs. */
static enum lerr
prepare(struct worker *w, struct request *req, FCGX_Request *fr)
{
	const char	*uri = request_param(req, "REQUEST_URI");
	const char	*q;
	char		*decoded;
	size_t		 plen, dlen;
	enum lerr	 e;

	if (uri == NULL || uri[0] != '/')
		uri = request_param(req, "DOCUMENT_URI");
	if (uri == NULL || uri[0] != '/')
		return problem_set(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "no request path");
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	req->path = arena_strndup(req->arena, uri, plen);
	req->query = q ? arena_strdup(req->arena, q + 1) : "";
	decoded = arena_alloc(req->arena, plen + 1);
	if (url_decode(req->path, plen, decoded, plen + 1, &dlen) == -1)
		return problem_set(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "the path has a malformed percent escape");
	if (memchr(decoded, '\0', dlen) != NULL ||
	    strpbrk(decoded, "\r\n") != NULL || strpbrk(req->query, "\r\n"))
		return problem_set(&req->problem, req->arena, LERR_BAD_REQUEST,
		    "the path contains CR, LF or NUL");
	if ((e = router_match(routes, nroutes, req->method, req->path,
	    &req->match)) != LERR_OK) {
		if (e == LERR_METHOD) {
			req->problem.allow = arena_strdup(req->arena,
			    req->match.allow);
			return problem_set(&req->problem, req->arena, e,
			    "%s is not allowed here; allowed: %s", req->method,
			    req->match.allow);
		}
		return problem_set(&req->problem, req->arena, e,
		    "no resource at this path");
	}
	req->route = &routes[req->match.index];
	STORE(&w->slot->route, req->match.index + 1);
	if ((req->route->flags & ROUTE_LOOPBACK) && !loopback(req->remote_addr))
		return problem_set(&req->problem, req->arena, LERR_FORBIDDEN,
		    "only reachable from this machine");
	if ((e = read_body(req, fr, w->cfg->max_body_bytes)) != LERR_OK)
		return e;
	/* Who is calling comes before what they sent: 401 before 415. */
	if (req->route->access != ACCESS_ANYONE &&
	    ((e = need_db(w, req)) != LERR_OK || (e = auth_request(req)) !=
	    LERR_OK))
		return e;
	if ((req->route->flags & ROUTE_JSON) && !is_json_type(req->content_type))
		return problem_set(&req->problem, req->arena, LERR_MEDIA_TYPE,
		    "send the body as Content-Type: application/json");
	if (req->route->flags & ROUTE_DB)
		return need_db(w, req);
	return LERR_OK;
}

static void
write_response(FCGX_Request *fr, const struct request *req,
    struct response *res)
{
	struct buf	h;
	int		i;

	buf_init(&h, req->arena);
	buf_puts(&h, "Status: ");
	buf_put_ulong(&h, (unsigned long)res->status);
	buf_puts(&h, "\r\nContent-Type: ");
	buf_puts(&h, res->content_type ? res->content_type : "application/json");
	buf_puts(&h, "\r\nContent-Length: ");
	buf_put_ulong(&h, res->body.len);
	buf_puts(&h, "\r\nX-Request-Id: ");
	buf_puts(&h, req->request_id);
	buf_puts(&h, "\r\nCache-Control: no-store\r\n");
	for (i = 0; i < res->nheaders; i++) {
		buf_puts(&h, res->headers[i].name);
		buf_puts(&h, ": ");
		buf_puts(&h, res->headers[i].value);
		buf_puts(&h, "\r\n");
	}
	buf_puts(&h, "\r\n");
	FCGX_PutStr(h.data, (int)h.len, fr->out);
	if (res->body.len > 0 && strcmp(req->method, "HEAD") != 0)
		FCGX_PutStr(res->body.data, (int)res->body.len, fr->out);
}

static void
render_problem(struct request *req, struct response *res, enum lerr e)
{
	const struct lerr_info *info;

	if (req->problem.code == LERR_OK)
		req->problem.code = e;
	if (req->problem.code == LERR_DB_UNAVAILABLE) {
		if (req->problem.detail == NULL)
			req->problem.detail = "the database cannot be reached; "
			    "try again shortly";
		if (req->problem.retry_after == 0)
			req->problem.retry_after = db_retry_after(req->worker->db);
	}
	info = lerr_info(req->problem.code);
	res->status = info->status;
	res->content_type = "application/problem+json";
	buf_init(&res->body, req->arena);
	problem_render(&req->problem, req->request_id, &res->body);
	if (req->problem.allow != NULL)
		response_header(res, "Allow", req->problem.allow);
	/* RFC 9110: every 401 says which scheme is wanted. */
	if (res->status == 401)
		response_header(res, "WWW-Authenticate", "Bearer");
	if (req->problem.retry_after > 0)
		response_header(res, "Retry-After", arena_printf(req->arena,
		    "%d", req->problem.retry_after));
}

static void
log_request(const struct worker *w, const struct request *req,
    const struct response *res, double ms)
{
	struct logline	l;
	int		slow = w->cfg->slow_request_ms > 0 &&
			    ms > (double)w->cfg->slow_request_ms;

	log_begin(&l, slow ? LOG_WARN : LOG_INFO, "request");
	log_str(&l, "request_id", req->request_id);
	log_str(&l, "method", req->method);
	log_str(&l, "route", req->route ? req->route->pattern : "unmatched");
	log_str(&l, "path", req->path ? req->path : "");
	log_int(&l, "status", res->status);
	log_num(&l, "duration_ms", ms);
	log_int(&l, "bytes", (long long)res->body.len);
	if (slow)
		log_int(&l, "slow", 1);
	log_end(&l);
}

static const char *
param_copy(struct request *req, const char *name, const char *def)
{
	const char *v = request_param(req, name);

	return arena_strdup(req->arena, v && v[0] != '\0' ? v : def);
}

static void
handle(struct worker *w, FCGX_Request *fr, struct arena *a)
{
	struct request	req;
	struct response	res;
	int64_t		t0 = mono_ns();
	enum lerr	e;
	const char	*rid;
	double		secs;

	memset(&req, 0, sizeof(req));
	memset(&res, 0, sizeof(res));
	req.arena = a;
	req.worker = w;
	req.envp = fr->envp;
	/* Copies: libfcgi frees its parameters in FCGX_Finish_r, before
	 * the request is counted and logged. */
	req.method = param_copy(&req, "REQUEST_METHOD", "GET");
	req.remote_addr = param_copy(&req, "REMOTE_ADDR", "");
	req.content_type = param_copy(&req, "CONTENT_TYPE", "");
	rid = request_param(&req, "REQUEST_ID");
	req.request_id = rid && valid_request_id(rid) ?
	    arena_strdup(a, rid) : new_request_id(a);
	buf_init(&res.body, a);
	res.status = 200;

	STORE(&w->slot->route, 0);
	STORE(&w->slot->method, metrics_method_index(req.method));
	STORE(&w->slot->req_start_ns, t0);
	STORE(&w->slot->state, SLOT_BUSY);

	if ((e = prepare(w, &req, fr)) == LERR_OK)
		e = req.route->handler(&req, &res);
	if (e != LERR_OK)
		render_problem(&req, &res, e);
	if (req.json != NULL)
		json_object_put(req.json);
	write_response(fr, &req, &res);
	FCGX_Finish_r(fr);
	req.envp = NULL;
	db_after_request(w->db, e != LERR_OK);

	secs = (double)(mono_ns() - t0) / 1e9;
	metrics_request(w->shm, req.route ? req.match.index + 1 : 0,
	    metrics_method_index(req.method), res.status, secs);
	log_request(w, &req, &res, secs * 1000);
	STORE(&w->slot->last_status, res.status);
	STORE(&w->slot->requests, w->slot->requests + 1);
	STORE(&w->slot->req_start_ns, 0);
	STORE(&w->slot->state, SLOT_IDLE);
}

/* Connects and compares the schema with this build; sets startup_ok. */
int
worker_verify_startup(struct worker *w)
{
	long	version;
	double	ms;

	if (w->slot->startup_ok)
		return 1;
	if (db_schema_version(w->db, &version, &ms) != LERR_OK)
		return 0;
	if (version != w->schema_expected) {
		log_msg(LOG_ERROR, "schema_mismatch", "database schema is at "
		    "version %ld; this build expects %ld: run loyaltyctl "
		    "migrate", version, w->schema_expected);
		return 0;
	}
	STORE(&w->slot->startup_ok, 1);
	return 1;
}

static long
recycle_after(const struct config *cfg)
{
	unsigned int r = 0;

	if (cfg->max_requests == 0)
		return 0;
	if (cfg->max_requests_jitter > 0 &&
	    getrandom(&r, sizeof(r), 0) == (ssize_t)sizeof(r))
		return cfg->max_requests +
		    (long)(r % (unsigned)(cfg->max_requests_jitter + 1));
	return cfg->max_requests;
}

void
worker_main(const struct config *cfg, struct shm *shm, int slot,
    int listen_fd)
{
	struct worker	w;
	FCGX_Request	fr;
	struct arena	*a;
	sigset_t	 unblocked;
	long		 limit, served = 0;
	int		 reason = RESTART_NONE, flags;

	log_set_role("worker");
	install_signals();
	block_signals(&unblocked);
	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.shm = shm;
	w.slot = &shm->slots[slot];
	w.slot_index = slot;
	w.schema_expected = LOYALTY_SCHEMA_VERSION;
	if (FCGX_Init() != 0 || (w.db = db_new(cfg, slot, shm)) == NULL ||
	    auth_init(&w) == -1) {
		log_msg(LOG_ERROR, "worker_init", "cannot initialise");
		_exit(70);
	}
	a = arena_new(16 * 1024);
	/* libfcgi never accepts: it is handed each connection (listen -1). */
	FCGX_InitRequest(&fr, -1, 0);
	flags = fcntl(listen_fd, F_GETFL);
	if (flags == -1 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) == -1)
		log_msg(LOG_ERROR, "worker_init", "O_NONBLOCK on the listening "
		    "socket: %s", strerror(errno));
	(void)worker_verify_startup(&w);
	limit = recycle_after(cfg);

	while (!stop_flag) {
		int conn;

		if (reopen_flag) {
			reopen_flag = 0;
			log_reopen();
		}
		STORE(&w.slot->state, SLOT_IDLE);
		if ((conn = wait_for_client(listen_fd, &unblocked)) == -1)
			continue;
		/* From here the request is timed: a client that connects and
		 * stalls is cut off by request_timeout like any other. */
		STORE(&w.slot->route, 0);
		STORE(&w.slot->req_start_ns, mono_ns());
		STORE(&w.slot->state, SLOT_BUSY);
		fr.ipcFd = conn;
		fr.keepConnection = 1;	/* so FCGX_Accept_r keeps conn */
		if (FCGX_Accept_r(&fr) < 0) {
			/* not a FastCGI request: libfcgi closed conn */
			STORE(&w.slot->req_start_ns, 0);
			continue;
		}
		handle(&w, &fr, a);
		/* One request per connection (no fastcgi_keep_conn). */
		if (fr.ipcFd >= 0)
			FCGX_Free(&fr, 1);
		arena_reset(a);
		if (limit > 0 && ++served >= limit) {
			reason = RESTART_MAX_REQUESTS;
			break;
		}
	}
	STORE(&w.slot->exit_reason, reason);
	STORE(&w.slot->state, SLOT_EXITING);
	arena_free(a);
	db_free(w.db);
	_exit(0);
}
