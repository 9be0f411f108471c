/* ctl_status.c — loyaltyctl status: loyaltyd's /status, asked over FastCGI. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "shm.h"

/* The socket of the packaged loyalty.socket unit. */
#define DEFAULT_SOCKET	"/run/loyalty/loyaltyd.sock"
#define TIMEOUT_S	5		/* connect to last byte, all told */
#define STR(x)		STR_(x)
#define STR_(x)		#x
#define MAX_STDOUT	(1024 * 1024)	/* a scoreboard is a few kB */
#define MAX_STDERR	1024
#define MAX_HEADERS	8192

/* FastCGI 1.0: the records a responder's client sends and receives. */
#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_RESPONDER		1
#define FCGI_REQUEST_COMPLETE	0
#define FCGI_HEADER_LEN		8
#define REQUEST_ID		1

/* What a request to /status needs; loopback, as the route demands. */
static const char *const params[][2] = {
	{ "GATEWAY_INTERFACE", "CGI/1.1" },
	{ "REQUEST_METHOD", "GET" },
	{ "REQUEST_URI", "/status" },
	{ "DOCUMENT_URI", "/status" },
	{ "SCRIPT_NAME", "/status" },
	{ "QUERY_STRING", "" },
	{ "SERVER_PROTOCOL", "HTTP/1.1" },
	{ "REMOTE_ADDR", "127.0.0.1" },
	{ "SERVER_SOFTWARE", "loyaltyctl" },
};

struct exchange {
	const char	*addr;		/* as given, for messages */
	char		 host[256];	/* of HOST:PORT; empty for a path */
	const char	*port;		/* of HOST:PORT */
	int		 fd;
	int64_t		 deadline;	/* mono_ns() */
	int		 timed_out;
	char		*out;		/* FCGI_STDOUT, NUL-terminated */
	size_t		 outlen;
	char		 err[MAX_STDERR + 1];
	size_t		 errlen;
};

static void
complain(const struct exchange *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Every failure ends here: it names the socket and, when loyaltyd could
 * not be reached or did not answer, what to look at.
 */
static void
complain(const struct exchange *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loyaltyctl: loyaltyd at %s: ", x->addr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (x->fd == -1 || x->timed_out)
		fprintf(stderr, "loyaltyctl: is it running? try: systemctl "
		    "status loyalty.socket loyalty.service\n");
}

static int
remaining_ms(const struct exchange *x)
{
	int64_t left = (x->deadline - mono_ns()) / 1000000;

	return left > 0 ? (int)left : 0;
}

/* Waits for fd to be ready for events; 0, or -1 with errno (ETIMEDOUT). */
static int
wait_fd(struct exchange *x, short events)
{
	struct pollfd	pfd = { .fd = x->fd, .events = events };
	int		n;

	do {
		n = poll(&pfd, 1, remaining_ms(x));
	} while (n == -1 && errno == EINTR);
	if (n == 0) {
		x->timed_out = 1;
		errno = ETIMEDOUT;
	}
	return n > 0 ? 0 : -1;
}

/* A non-blocking connect, bounded by the deadline; fd or -1 with errno. */
static int
connect_addr(struct exchange *x, const struct sockaddr *sa, socklen_t len)
{
	socklen_t	elen = sizeof(int);
	int		err = 0;

	x->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (x->fd == -1)
		return -1;
	if (connect(x->fd, sa, len) == 0)
		return 0;
	if (errno == EINPROGRESS && wait_fd(x, POLLOUT) == 0 &&
	    getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0) {
		if (err == 0)
			return 0;
		errno = err;
	}
	err = errno;
	close(x->fd);
	x->fd = -1;
	errno = err;
	return -1;
}

static int
connect_unix(struct exchange *x)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(x->addr) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, x->addr, strlen(x->addr));
	/* EAGAIN: the backlog is full (loyaltyd busy); try until the deadline. */
	while (connect_addr(x, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno != EAGAIN || mono_ns() + 20000000 > x->deadline)
			return -1;
		nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
	}
	return 0;
}

/*
 * A path (anything with no colon) or HOST:PORT, [V6ADDR]:PORT as
 * server.listen takes them. -1 when it is neither.
 */
static int
parse_addr(struct exchange *x)
{
	const char	*colon = strrchr(x->addr, ':');
	size_t		 hlen;

	if (x->addr[0] == '/' || colon == NULL)
		return x->addr[0] != '\0' ? 0 : -1;
	hlen = (size_t)(colon - x->addr);
	if (hlen == 0 || hlen >= sizeof(x->host) || colon[1] == '\0')
		return -1;
	if (x->addr[0] == '[' && hlen > 2 && x->addr[hlen - 1] == ']')
		memcpy(x->host, x->addr + 1, hlen - 2);
	else
		memcpy(x->host, x->addr, hlen);
	x->port = colon + 1;
	return 0;
}

static int
connect_tcp(struct exchange *x)
{
	struct addrinfo	 hints, *res, *ai;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(x->host, x->port, &hints, &res)) != 0) {
		complain(x, "%s", gai_strerror(rc));
		return -2;
	}
	rc = -1;
	for (ai = res; ai != NULL && rc == -1; ai = ai->ai_next)
		rc = connect_addr(x, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return rc;
}

static int
send_all(struct exchange *x, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if (wait_fd(x, POLLOUT) == -1)
			return -1;
		n = send(x->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads exactly len bytes: 0; 1 when the peer closed before the first
 * byte; -1 (errno; 0 for a close mid-way) otherwise.
 */
static int
recv_all(struct exchange *x, unsigned char *p, size_t len)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < len) {
		if (wait_fd(x, POLLIN) == -1)
			return -1;
		n = recv(x->fd, p + got, len - got, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0 && got == 0)
			return 1;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

static size_t
put_header(unsigned char *p, int type, size_t len)
{
	p[0] = FCGI_VERSION_1;
	p[1] = (unsigned char)type;
	p[2] = 0;
	p[3] = REQUEST_ID;
	p[4] = (unsigned char)(len >> 8);
	p[5] = (unsigned char)len;
	p[6] = 0;	/* no padding */
	p[7] = 0;
	return FCGI_HEADER_LEN;
}

/* Our names and values are constants shorter than 128: one-byte lengths. */
static size_t
put_pair(unsigned char *p, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	p[0] = (unsigned char)nl;
	p[1] = (unsigned char)vl;
	memcpy(p + 2, name, nl);
	memcpy(p + 2 + nl, value, vl);
	return 2 + nl + vl;
}

/* BEGIN_REQUEST, the parameters, their end, and an empty stdin. */
static int
send_request(struct exchange *x)
{
	unsigned char	buf[1024], *p = buf, *body;
	size_t		i;

	p += put_header(p, FCGI_BEGIN_REQUEST, 8);
	memset(p, 0, 8);
	p[1] = FCGI_RESPONDER;	/* flags 0: close the connection after */
	p += 8;
	body = p + FCGI_HEADER_LEN;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		body += put_pair(body, params[i][0], params[i][1]);
	p += put_header(p, FCGI_PARAMS, (size_t)(body - p - FCGI_HEADER_LEN));
	p = body;
	p += put_header(p, FCGI_PARAMS, 0);
	p += put_header(p, FCGI_STDIN, 0);
	return send_all(x, buf, (size_t)(p - buf));
}

/* Why a read or write stopped, from errno as recv_all and wait_fd leave it. */
static const char *
io_error(void)
{
	if (errno == ETIMEDOUT)
		return "no answer within " STR(TIMEOUT_S) " seconds";
	return errno ? strerror(errno) : "the connection was closed";
}

static int
bad_record(struct exchange *x, const char *what, unsigned v)
{
	complain(x, "malformed FastCGI answer: %s %u (is that loyaltyd's "
	    "socket?)", what, v);
	return -1;
}

/*
 * Reads records up to FCGI_END_REQUEST, collecting stdout (bounded) and
 * stderr (truncated). 0, or -1 reported.
 */
static int
read_response(struct exchange *x)
{
	unsigned char	h[FCGI_HEADER_LEN], body[65535 + 255];
	size_t		clen, plen;
	int		rc;

	for (;;) {
		if ((rc = recv_all(x, h, sizeof(h))) != 0) {
			if (rc == 1)
				complain(x, "closed the connection before the "
				    "end of the response");
			else
				complain(x, "reading a FastCGI record: %s",
				    io_error());
			return -1;
		}
		clen = (size_t)h[4] << 8 | h[5];
		plen = h[6];
		if (h[0] != FCGI_VERSION_1)
			return bad_record(x, "version", h[0]);
		if (((unsigned)h[2] << 8 | h[3]) != REQUEST_ID)
			return bad_record(x, "request id",
			    (unsigned)h[2] << 8 | h[3]);
		if (recv_all(x, body, clen + plen) != 0) {
			complain(x, "truncated FastCGI record (type %u, %zu "
			    "bytes announced): %s", h[1], clen + plen,
			    io_error());
			return -1;
		}
		switch (h[1]) {
		case FCGI_STDOUT:
			if (x->outlen + clen > MAX_STDOUT) {
				complain(x, "answer larger than %d bytes",
				    MAX_STDOUT);
				return -1;
			}
			memcpy(x->out + x->outlen, body, clen);
			x->outlen += clen;
			x->out[x->outlen] = '\0';
			break;
		case FCGI_STDERR:
			if (clen > MAX_STDERR - x->errlen)
				clen = MAX_STDERR - x->errlen;
			memcpy(x->err + x->errlen, body, clen);
			x->errlen += clen;
			break;
		case FCGI_END_REQUEST:
			if (clen != 8)
				return bad_record(x, "END_REQUEST length",
				    (unsigned)clen);
			if (body[4] != FCGI_REQUEST_COMPLETE)
				return bad_record(x, "protocol status",
				    body[4]);
			return 0;
		default:
			return bad_record(x, "record type", h[1]);
		}
	}
}

/* Copies s for a terminal: printable ASCII, the rest as '?', bounded. */
static const char *
clean(char *dst, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
	return i ? dst : "-";
}

/* "Status: NNN[ reason]" from p to eol: NNN, or -1. */
static int
status_code(const char *p, const char *eol)
{
	p += 7;
	while (p < eol && *p == ' ')
		p++;
	if (eol - p < 3 || strspn(p, "0123456789") < 3 || (eol - p > 3 &&
	    p[3] != ' ' && p[3] != '\r') || p[0] < '1' || p[0] > '5')
		return -1;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/*
 * Splits the CGI answer at the first blank line: the status (200 when no
 * Status header says otherwise), the body. -1 reported when malformed.
 */
static int
parse_cgi(struct exchange *x, int *status, const char **body, size_t *blen)
{
	const char	*p = x->out, *end, *eol, *crlf, *lf;
	size_t		 n = x->outlen < MAX_HEADERS ? x->outlen : MAX_HEADERS;

	*status = 200;
	crlf = memmem(p, n, "\r\n\r\n", 4);
	lf = memmem(p, n, "\n\n", 2);
	if (crlf == NULL && lf == NULL) {
		complain(x, "no end of the CGI headers in the first %zu bytes",
		    n);
		return -1;
	}
	if (lf == NULL || (crlf != NULL && crlf < lf))
		end = crlf + 4;
	else
		end = lf + 2;
	for (; p < end - 2; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol - p > 7 && strncasecmp(p, "Status:", 7) == 0 &&
		    (*status = status_code(p, eol)) == -1) {
			complain(x, "malformed Status header");
			return -1;
		}
	}
	*body = end;
	*blen = x->outlen - (size_t)(end - x->out);
	return 0;
}

static json_object *
parse_json(struct exchange *x, const char *body, size_t len)
{
	json_tokener	*tok = json_tokener_new();
	json_object	*doc;

	doc = json_tokener_parse_ex(tok, body, (int)len);
	if (doc == NULL || json_tokener_get_error(tok) != json_tokener_success
	    || !json_object_is_type(doc, json_type_object) ||
	    strspn(body + json_tokener_get_parse_end(tok), " \t\r\n") !=
	    len - json_tokener_get_parse_end(tok)) {
		complain(x, "/status did not answer a JSON object");
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	return doc;
}

static int
get_int(json_object *o, const char *key, long long *v)
{
	json_object *m;

	if (!json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_int))
		return 0;
	*v = (long long)json_object_get_int64(m);
	return 1;
}

static const char *
get_str(json_object *o, const char *key)
{
	json_object *m;

	if (!json_object_object_get_ex(o, key, &m) ||
	    !json_object_is_type(m, json_type_string))
		return NULL;
	return json_object_get_string(m);
}

/* "45s", "12m03s", "3h02m", "4d03h": the two largest units. */
static const char *
fmt_secs(char *out, size_t len, long long s)
{
	if (s < 0)
		snprintf(out, len, "-");
	else if (s < 60)
		snprintf(out, len, "%llds", s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	return out;
}

static const char *
fmt_int(char *out, size_t len, json_object *o, const char *key)
{
	long long v;

	if (!get_int(o, key, &v))
		return "-";
	snprintf(out, len, "%lld", v);
	return out;
}

static void
print_worker(json_object *w)
{
	char		 slot[24], pid[24], reqs[24], last[24], up[24], ago[24];
	char		 state[16], method[8], route[48], what[64];
	json_object	*db;
	long long	 v, ms;

	fmt_secs(up, sizeof(up), get_int(w, "uptime_seconds", &v) ? v : -1);
	if (!get_int(w, "last_status", &v) || v == 0)
		snprintf(last, sizeof(last), "-");	/* none served yet */
	else
		snprintf(last, sizeof(last), "%lld", v);
	snprintf(ago, sizeof(ago), "-");
	snprintf(what, sizeof(what), "-");
	if (get_str(w, "route") != NULL) {
		snprintf(what, sizeof(what), "%s %s", clean(method,
		    sizeof(method), get_str(w, "method")), clean(route,
		    sizeof(route), get_str(w, "route")));
		if (get_int(w, "elapsed_ms", &ms) && ms >= 0)
			snprintf(ago, sizeof(ago), "%lld.%03llds", ms / 1000,
			    ms % 1000);
	}
	printf("%-4s %-8s %-8s %8s %4s %-4s %-7s %-28s %s\n",
	    fmt_int(slot, sizeof(slot), w, "slot"),
	    fmt_int(pid, sizeof(pid), w, "pid"),
	    clean(state, sizeof(state), get_str(w, "state")),
	    fmt_int(reqs, sizeof(reqs), w, "requests"),
	    last,
	    !json_object_object_get_ex(w, "db", &db) ||
	    !json_object_is_type(db, json_type_boolean) ? "-" :
	    json_object_get_boolean(db) ? "ok" : "down", up, what, ago);
}

/* "2 workers: 1 idle, 1 busy", counted from the slots. */
static void
print_summary(json_object *doc, json_object *workers)
{
	static const char *const states[] = { "starting", "idle", "busy",
	    "exiting" };
	int		n[5] = { 0 };
	size_t		i, k, count = json_object_array_length(workers);
	char		pid[24], up[24];
	const char	*sep;
	long long	v;

	for (i = 0; i < count; i++) {
		const char *s = get_str(json_object_array_get_idx(workers, i),
		    "state");

		for (k = 0; k < 4; k++)
			if (s != NULL && strcmp(s, states[k]) == 0)
				break;
		n[k]++;
	}
	printf("loyaltyd master pid %s, up %s; %zu worker%s", fmt_int(pid,
	    sizeof(pid), doc, "master_pid"), fmt_secs(up, sizeof(up),
	    get_int(doc, "uptime_seconds", &v) ? v : -1), count,
	    count == 1 ? "" : "s");
	for (k = 0, sep = ":"; k < 5; k++)
		if (n[k] > 0) {
			printf("%s %d %s", sep, n[k], k < 4 ? states[k] :
			    "in another state");
			sep = ",";
		}
	printf("\n");
}

static int
print_table(struct exchange *x, json_object *doc)
{
	json_object	*workers;
	size_t		 i;

	if (!json_object_object_get_ex(doc, "workers", &workers) ||
	    !json_object_is_type(workers, json_type_array)) {
		complain(x, "/status has no \"workers\" array");
		return -1;
	}
	print_summary(doc, workers);
	printf("%-4s %-8s %-8s %8s %4s %-4s %-7s %-28s %s\n", "SLOT", "PID",
	    "STATE", "REQUESTS", "LAST", "DB", "UP", "ROUTE", "FOR");
	for (i = 0; i < json_object_array_length(workers); i++) {
		json_object *w = json_object_array_get_idx(workers, i);

		if (json_object_is_type(w, json_type_object))
			print_worker(w);
	}
	return 0;
}

/* GET /status; on success x->out holds the CGI answer. 0 or -1 reported. */
static int
ask(struct exchange *x)
{
	int rc;

	rc = x->host[0] == '\0' ? connect_unix(x) : connect_tcp(x);
	if (rc == -2)
		return -1;
	if (rc == -1) {
		complain(x, "cannot connect: %s", io_error());
		return -1;
	}
	if (send_request(x) == -1) {
		complain(x, "sending the request: %s", io_error());
		return -1;
	}
	if ((x->out = calloc(1, MAX_STDOUT + 1)) == NULL) {
		complain(x, "out of memory");
		return -1;
	}
	return read_response(x);
}

static int
show(struct exchange *x, int json)
{
	json_object	*doc;
	const char	*body;
	size_t		 blen;
	char		 text[200];
	int		 status, rc;

	if (parse_cgi(x, &status, &body, &blen) == -1)
		return -1;
	if (status != 200) {
		snprintf(text, sizeof(text), "%.*s", (int)(blen < 199 ? blen :
		    199), body);
		complain(x, "GET /status answered %d: %s", status,
		    clean(text, sizeof(text), text));
		return -1;
	}
	if ((doc = parse_json(x, body, blen)) == NULL)
		return -1;
	if (json) {
		/* Re-written from the parse: one line of checked JSON. */
		puts(json_object_to_json_string_ext(doc,
		    JSON_C_TO_STRING_PLAIN));
		rc = 0;
	} else
		rc = print_table(x, doc);
	json_object_put(doc);
	return rc;
}

int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
	struct exchange	x;
	int		i, json = 0, rc;

	memset(&x, 0, sizeof(x));
	x.fd = -1;
	x.addr = ctl->cfg.listen[0] != '\0' ? ctl->cfg.listen : DEFAULT_SOCKET;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			x.addr = argv[++i];
		else if (strncmp(argv[i], "--socket=", 9) == 0)
			x.addr = argv[i] + 9;
		else {
			fprintf(stderr, "usage: loyaltyctl status [--socket "
			    "PATH|HOST:PORT] [--json]\n");
			return CTL_USAGE;
		}
	}
	if (parse_addr(&x) == -1) {
		fprintf(stderr, "loyaltyctl: \"%s\" is neither a socket path "
		    "nor HOST:PORT\n", x.addr);
		return CTL_USAGE;
	}
	x.deadline = mono_ns() + (int64_t)TIMEOUT_S * 1000000000;
	rc = ask(&x) == 0 && show(&x, json) == 0 ? CTL_OK : CTL_FAIL;
	if (x.errlen > 0) {
		char text[MAX_STDERR + 1];

		fprintf(stderr, "loyaltyctl: loyaltyd wrote on stderr: %s\n",
		    clean(text, sizeof(text), x.err));
	}
	if (x.fd != -1)
		close(x.fd);
	free(x.out);
	return rc;
}
