/* ctl_secrets.c — loyaltyctl gen-secrets: a fresh secrets file. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ctl.h"

#define SECRET_BYTES	32
#define DEFAULT_GROUP	"loyalty"

/* hex of SECRET_BYTES random bytes from OpenSSL's CSPRNG; -1 on failure. */
static int
random_hex(char out[2 * SECRET_BYTES + 1])
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 raw[SECRET_BYTES];
	int			 i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < SECRET_BYTES; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[2 * SECRET_BYTES] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

static int
render(char *text, size_t len)
{
	char		pw[2 * SECRET_BYTES + 1];
	char		when[32];
	time_t		now = time(NULL);
	struct tm	tm;
	int		n;

	if (random_hex(pw) == -1) {
		fprintf(stderr, "loyaltyctl: no random bytes from OpenSSL\n");
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(text, len,
	    "# Secrets of loyalty, written by loyaltyctl gen-secrets at %s.\n"
	    "# Keep it mode 0640, owned by root and loyaltyd's group; see\n"
	    "# loyalty.conf(5). A backup of it is as secret as the file.\n"
	    "\n"
	    "[database]\n"
	    "# The password of database.user; `loyaltyctl setup` sets it on\n"
	    "# the role.\n"
	    "password = %s\n", when, pw);
	explicit_bzero(pw, sizeof(pw));
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/*
 * Writes text to a new file beside path, then links it into place: the
 * secrets never exist under their name half-written or with a wider mode.
 */
static int
write_file(const char *path, const char *text, const char *group, int force)
{
	char		 tmp[4096];
	struct group	*gr = NULL;
	size_t		 len = strlen(text);
	int		 fd, rc;

	/* loyaltyd's group reads it; without --group, that group if any. */
	if (group == NULL)
		gr = getgrnam(DEFAULT_GROUP);
	else if ((gr = getgrnam(group)) == NULL) {
		fprintf(stderr, "loyaltyctl: no group \"%s\"\n", group);
		return CTL_FAIL;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return CTL_USAGE;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", tmp, strerror(errno));
		return CTL_FAIL;
	}
	if (write(fd, text, len) != (ssize_t)len ||
	    (gr != NULL && fchown(fd, (uid_t)-1, gr->gr_gid) == -1) ||
	    fchmod(fd, 0640) == -1 || fsync(fd) == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return CTL_FAIL;
	}
	close(fd);
	rc = force ? rename(tmp, path) : link(tmp, path);
	if (rc == -1) {
		int saved = errno;

		unlink(tmp);
		if (saved == EEXIST) {
			fprintf(stderr, "loyaltyctl: %s exists; its secrets are "
			    "in use. Refusing to replace it (--force does, and "
			    "then the database password must be set again with "
			    "`loyaltyctl setup`)\n", path);
			return CTL_REFUSED;
		}
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(saved));
		return CTL_FAIL;
	}
	if (!force)
		unlink(tmp);
	return CTL_OK;
}

int
ctl_gen_secrets(struct ctl *ctl, int argc, char **argv)
{
	const char	*out = NULL, *group = NULL;
	char		 text[1024];
	int		 i, force = 0, rc;

	(void)ctl;	/* runs before there is a configuration to read */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
			group = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else {
			fprintf(stderr, "usage: loyaltyctl gen-secrets "
			    "[--output FILE [--group GROUP] [--force]]\n");
			return CTL_USAGE;
		}
	}
	if (render(text, sizeof(text)) == -1)
		return CTL_FAIL;
	if (out == NULL) {
		fputs(text, stdout);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_FAIL;
	} else
		rc = write_file(out, text, group, force);
	explicit_bzero(text, sizeof(text));
	return rc;
}
