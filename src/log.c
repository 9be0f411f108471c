/* log.c — JSON-lines logging to a file or standard error. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int		log_fd = STDERR_FILENO;
static long		log_level = LOG_INFO;
static char		log_path[CONFIG_STR_MAX];
static const char	*log_role = "loyaltyd";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static int
is_stderr(const char *path)
{
	return path == NULL || path[0] == '\0' || strcmp(path, "stderr") == 0;
}

int
log_open(const char *path, long level)
{
	int fd;

	log_level = level;
	if (is_stderr(path)) {
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = STDERR_FILENO;
		log_path[0] = '\0';
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_msg(LOG_ERROR, "log_open", "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path);
	return 0;
}

int
log_reopen(void)
{
	char path[CONFIG_STR_MAX];

	if (log_path[0] == '\0')
		return 0;
	memcpy(path, log_path, sizeof(path));
	return log_open(path, log_level);
}

void
log_set_level(long level)
{
	log_level = level;
}

void
log_set_role(const char *role)
{
	log_role = role;
}

static void
raw(struct logline *l, const char *s, size_t n)
{
	/* Keep room for the closing "}\n". */
	if (l->full || l->len + n > sizeof(l->buf) - 3) {
		l->full = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
raw_str(struct logline *l, const char *s)
{
	raw(l, s, strlen(s));
}

/* Bytes that quoted() copies as they are. */
static int
plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* A JSON string; cut short rather than overflow, always closed. */
static void
quoted(struct logline *l, const char *s)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			limit = sizeof(l->buf) - 3 - 1;

	if (l->full || l->len + 2 > limit) {
		l->full = 1;
		return;
	}
	l->buf[l->len++] = '"';
	while (*s != '\0') {
		unsigned char	c = (unsigned char)*s;
		char		esc[6];
		size_t		n = 1, run;

		if (plain(c)) {
			for (run = 1; plain((unsigned char)s[run]); run++)
				;
			if (l->len + run + 1 > limit)
				run = limit - 1 - l->len;
			memcpy(l->buf + l->len, s, run);
			l->len += run;
			s += run;
			if (l->len + 1 >= limit)
				break;
			continue;
		}
		esc[0] = (char)c;
		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c, n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
			esc[4] = hex[c >> 4], esc[5] = hex[c & 15], n = 6;
		} else if (c >= 0x80) {
			esc[0] = '?';	/* log lines stay ASCII */
		}
		if (l->len + n + 1 > limit)
			break;
		memcpy(l->buf + l->len, esc, n);
		l->len += n;
		s++;
	}
	l->buf[l->len++] = '"';
}

/* Decimal digits of v into the end of buf; returns where they start. */
static char *
fmt_ull(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return end;
}

static void
two(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void
log_begin(struct logline *l, enum log_level level, const char *event)
{
	/* "{"time":"YYYY-MM-DDTHH:MM:SS." for the current second. */
	static time_t	cached_sec = -1;
	static char	prefix[96];
	struct timespec	ts;
	struct tm	tm;
	char		ms[3];
	long		msec;

	l->len = 0;
	l->full = 0;
	l->skip = level < log_level;
	if (l->skip)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(prefix, sizeof(prefix),
		    "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		cached_sec = ts.tv_sec;
	}
	raw_str(l, prefix);
	msec = ts.tv_nsec / 1000000;
	ms[0] = (char)('0' + msec / 100);
	two(ms + 1, (int)(msec % 100));
	raw(l, ms, 3);
	raw_str(l, "Z\",\"level\":\"");
	raw_str(l, level_names[level]);
	raw(l, "\"", 1);
	log_str(l, "event", event);
	log_str(l, "process", log_role);
	log_int(l, "pid", (long long)getpid());
}

/* A field goes in whole or not at all, so the line stays valid JSON. */
static void
field_done(struct logline *l, size_t start)
{
	if (l->full) {
		l->len = start;
		l->full = 0;
	}
}

void
log_str(struct logline *l, const char *key, const char *val)
{
	size_t start = l->len;

	if (l->skip)
		return;
	raw(l, ",", 1);
	quoted(l, key);
	raw(l, ":", 1);
	if (val == NULL)
		raw_str(l, "null");
	else
		quoted(l, val);
	field_done(l, start);
}

void
log_int(struct logline *l, const char *key, long long val)
{
	char	num[32], *p;
	size_t	start = l->len;
	unsigned long long u;

	if (l->skip)
		return;
	raw(l, ",", 1);
	quoted(l, key);
	u = val < 0 ? 0ULL - (unsigned long long)val : (unsigned long long)val;
	p = fmt_ull(num + sizeof(num), u);
	if (val < 0)
		*--p = '-';
	*--p = ':';
	raw(l, p, (size_t)(num + sizeof(num) - p));
	field_done(l, start);
}

void
log_num(struct logline *l, const char *key, double val)
{
	char	num[48], *p;
	size_t	start = l->len;
	unsigned long long	thousandths;
	int	neg;

	if (l->skip)
		return;
	raw(l, ",", 1);
	quoted(l, key);
	if (!isfinite(val))
		val = 0;
	neg = val < 0;
	if (neg)
		val = -val;
	if (val >= 1e15) {	/* beyond exact thousandths: printf */
		snprintf(num, sizeof(num), ":%s%.3f", neg ? "-" : "", val);
		raw_str(l, num);
		field_done(l, start);
		return;
	}
	thousandths = (unsigned long long)llround(val * 1000);
	p = num + sizeof(num);
	*--p = (char)('0' + thousandths % 10);
	*--p = (char)('0' + thousandths / 10 % 10);
	*--p = (char)('0' + thousandths / 100 % 10);
	*--p = '.';
	p = fmt_ull(p, thousandths / 1000);
	if (neg && thousandths != 0)
		*--p = '-';
	*--p = ':';
	raw(l, p, (size_t)(num + sizeof(num) - p));
	field_done(l, start);
}

void
log_end(struct logline *l)
{
	ssize_t n;

	if (l->skip)
		return;
	memcpy(l->buf + l->len, "}\n", 2);
	l->len += 2;
	/* One write: O_APPEND makes it atomic against the other workers. */
	do {
		n = write(log_fd, l->buf, l->len);
	} while (n == -1 && errno == EINTR);
}

void
log_msg(enum log_level level, const char *event, const char *fmt, ...)
{
	struct logline	l;
	char		msg[1024];
	va_list		ap;

	log_begin(&l, level, event);
	if (l.skip)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_str(&l, "msg", msg);
	log_end(&l);
}

const char *
log_level_name(long level)
{
	if (level < LOG_DEBUG || level > LOG_ERROR)
		return "info";
	return level_names[level];
}
