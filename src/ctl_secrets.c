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

/* What each secret is for, written above it. */
static const struct {
	const char	*section, *name, *comment;
} about[] = {
	{ "database", "password", "The password of database.user; "
	    "`loyaltyctl setup` sets it on\n# the role." },
	{ "auth", "jwt_key", "Signs staff access tokens (HS256). A new one "
	    "logs every user out." },
	{ "auth", "master_key", "Seals the secrets of machine keys (AES-256-GCM). "
	    "A new one makes\n# every machine key useless: create new keys "
	    "after changing it." },
};

static const char *
comment_for(const struct config_key *k)
{
	size_t i;

	for (i = 0; i < sizeof(about) / sizeof(about[0]); i++)
		if (strcmp(about[i].section, k->section) == 0 &&
		    strcmp(about[i].name, k->name) == 0)
			return about[i].comment;
	return "";
}

/*
 * Appends to text every secret of the configuration table that have
 * lacks (all of them when have is NULL), each a fresh random value,
 * under its section. Returns how many, or -1.
 */
static int
render_missing(const struct config *have, char *text, size_t len)
{
	const char	*section = "";
	char		 value[2 * SECRET_BYTES + 1];
	size_t		 i, used = strlen(text);
	int		 n, added = 0;

	for (i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (!(k->flags & CFG_SECRET) || (have != NULL &&
		    ((const char *)have + k->offset)[0] != '\0'))
			continue;
		if (random_hex(value) == -1) {
			fprintf(stderr, "loyaltyctl: no random bytes from "
			    "OpenSSL\n");
			return -1;
		}
		n = strcmp(section, k->section) == 0 ?
		    snprintf(text + used, len - used, "# %s\n%s = %s\n",
		    comment_for(k), k->name, value) :
		    snprintf(text + used, len - used, "\n[%s]\n# %s\n%s = %s\n",
		    k->section, comment_for(k), k->name, value);
		explicit_bzero(value, sizeof(value));
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
		section = k->section;
		added++;
	}
	return added;
}

static int
render(char *text, size_t len)
{
	char		when[32];
	time_t		now = time(NULL);
	struct tm	tm;
	int		n;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(text, len,
	    "# Secrets of loyalty, written by loyaltyctl gen-secrets at %s.\n"
	    "# Keep it mode 0640, owned by root and loyaltyd's group; see\n"
	    "# loyalty.conf(5). A backup of it is as secret as the file.\n",
	    when);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return render_missing(NULL, text, len) > 0 ? 0 : -1;
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

/*
 * --add-missing: the secrets file at path keeps every value it has and
 * gains a fresh one for each secret it lacks, such as the keys a newer
 * version introduced. Its group is kept; a file that does not parse is
 * left alone.
 */
static int
add_missing(const char *path)
{
	struct config		 have;
	struct config_errors	 errs;
	struct stat		 st;
	struct group		*gr;
	char			 text[16384], when[32];
	time_t			 now = time(NULL);
	struct tm		 tm;
	FILE			*f;
	size_t			 len;
	int			 added, rc, i;

	if ((f = fopen(path, "re")) == NULL || fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "loyaltyctl: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return CTL_FAIL;
	}
	len = fread(text, 1, sizeof(text) / 2, f);
	rc = ferror(f) || !feof(f);
	fclose(f);
	if (rc) {
		fprintf(stderr, "loyaltyctl: %s: unreadable or larger than "
		    "%zu bytes\n", path, sizeof(text) / 2);
		return CTL_FAIL;
	}
	text[len] = '\0';
	config_defaults(&have);
	errs.n = 0;
	if (config_parse(path, text, &have, &errs, CONFIG_SECRETS) == -1) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		fprintf(stderr, "loyaltyctl: %s left as it is\n", path);
		explicit_bzero(text, sizeof(text));
		return CTL_USAGE;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(text + len, sizeof(text) - len, "%s\n# Added by loyaltyctl "
	    "gen-secrets --add-missing at %s.\n", len > 0 && text[len - 1] !=
	    '\n' ? "\n" : "", when);
	added = render_missing(&have, text, sizeof(text));
	explicit_bzero(&have, sizeof(have));
	if (added <= 0) {
		explicit_bzero(text, sizeof(text));
		if (added == 0)
			printf("%s has every secret; nothing added\n", path);
		return added == 0 ? CTL_OK : CTL_FAIL;
	}
	gr = getgrgid(st.st_gid);
	rc = write_file(path, text, gr != NULL ? gr->gr_name : NULL, 1);
	explicit_bzero(text, sizeof(text));
	if (rc == CTL_OK)
		printf("added %d secret(s) to %s\n", added, path);
	return rc;
}

int
ctl_gen_secrets(struct ctl *ctl, int argc, char **argv)
{
	const char	*out = NULL, *group = NULL;
	char		 text[4096];
	int		 i, force = 0, missing = 0, rc;

	(void)ctl;	/* runs before there is a configuration to read */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
			group = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (strcmp(argv[i], "--add-missing") == 0)
			missing = 1;
		else
			break;
	}
	if (i < argc || (missing && (out == NULL || force || group))) {
		fprintf(stderr, "usage: loyaltyctl gen-secrets "
		    "[--output FILE [--group GROUP] [--force]]\n"
		    "       loyaltyctl gen-secrets --add-missing --output "
		    "FILE\n");
		return CTL_USAGE;
	}
	if (missing)
		return add_missing(out);
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
