/* master.c — supervises the worker pool: spawn, reap, time out, reload. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "metrics.h"
#include "router.h"
#include "shm.h"
#include "worker.h"

#define TICK_MS		100
#define RESIGNAL_NS	(300 * 1000000LL)
#define CRASH_BACKOFF_MAX_MS	5000

/*
 * Signal handlers only set a flag and wake the loop through a pipe; the
 * loop does the work. Like nginx: one table from signal to action.
 */
static volatile sig_atomic_t	flag_stop, flag_reload, flag_reopen;
static int			wake_pipe[2] = { -1, -1 };

static void
wake(void)
{
	int	saved = errno;
	char	c = 0;

	if (write(wake_pipe[1], &c, 1) == -1) {
		/* the pipe is full: the loop is awake anyway */
	}
	errno = saved;
}

static void on_stop(int s)	{ (void)s; flag_stop = 1; wake(); }
static void on_reload(int s)	{ (void)s; flag_reload = 1; wake(); }
static void on_reopen(int s)	{ (void)s; flag_reopen = 1; wake(); }
static void on_child(int s)	{ (void)s; wake(); }

static const struct {
	int	  sig;
	void	(*fn)(int);
	const char *action;
} signal_table[] = {
	{ SIGTERM, on_stop,	"graceful stop" },
	{ SIGINT,  on_stop,	"graceful stop" },
	{ SIGHUP,  on_reload,	"reload configuration, replace workers" },
	{ SIGUSR1, on_reopen,	"reopen log files" },
	{ SIGCHLD, on_child,	"reap workers" },
};

/* What the master alone knows about each slot. */
struct slot_note {
	int	killed_for;	/* enum restart_reason the master caused */
	int	retiring;	/* of an old generation: do not replace */
	int	term_sent;
	int64_t	term_at;
};

struct master {
	struct config		 cfg;
	const char		*config_path;
	int			 listen_fd;
	struct shm		*shm;
	uint32_t		 generation;
	struct slot_note	 note[SB_SLOTS];
	int64_t			 crash_at[64];	/* recent crash times; crash_limit <= 64 */
	int			 ncrash;
	int64_t			 respawn_after;	/* back-off after a crash */
	int64_t			 reload_started;
	int			 reload_pending;	/* old workers await TERM */
	int			 stopping;
	int64_t			 stop_deadline;
	int64_t			 last_resignal;
};

static void
install_signals(void)
{
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(signal_table) / sizeof(signal_table[0]); i++) {
		sa.sa_handler = signal_table[i].fn;
		sigaction(signal_table[i].sig, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void
restore_signals(void)
{
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(signal_table) / sizeof(signal_table[0]); i++)
		sigaction(signal_table[i].sig, &sa, NULL);
}

static const char *
slot_route(const struct sb_slot *sl)
{
	int r = sl->route;

	if (sl->state != SLOT_BUSY || r <= 0 || (size_t)r > nroutes)
		return NULL;
	return routes[r - 1].pattern;
}

static int
spawn(struct master *m)
{
	struct sb_slot	*sl;
	pid_t		 pid;
	int		 i;

	for (i = 0; i < SB_SLOTS; i++)
		if (m->shm->slots[i].state == SLOT_FREE &&
		    m->shm->slots[i].pid == 0)
			break;
	if (i == SB_SLOTS) {
		static int64_t last;

		if (mono_ns() - last > 5000000000LL) {
			log_msg(LOG_WARN, "no_slot", "all %d scoreboard slots are "
			    "taken (reloads faster than workers retire)", SB_SLOTS);
			last = mono_ns();
		}
		return -1;
	}
	sl = &m->shm->slots[i];
	memset(sl, 0, sizeof(*sl));
	memset(&m->note[i], 0, sizeof(m->note[i]));
	sl->generation = m->generation;
	sl->started_ns = mono_ns();
	sl->state = SLOT_STARTING;
	if ((pid = fork()) == -1) {
		log_msg(LOG_ERROR, "fork", "fork failed: %s", strerror(errno));
		sl->state = SLOT_FREE;
		return -1;
	}
	if (pid == 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
		restore_signals();
		sl->pid = getpid();
		worker_main(&m->cfg, m->shm, i, m->listen_fd);
	}
	sl->pid = pid;
	{
		struct logline l;

		log_begin(&l, LOG_INFO, "worker_spawn");
		log_int(&l, "worker_pid", pid);
		log_int(&l, "slot", i);
		log_int(&l, "generation", m->generation);
		log_end(&l);
	}
	return 0;
}

static void
signal_workers(struct master *m, int sig, int only_retiring)
{
	int i;

	for (i = 0; i < SB_SLOTS; i++) {
		pid_t pid = m->shm->slots[i].pid;

		if (pid <= 0 || (only_retiring && !m->note[i].retiring))
			continue;
		if (sig == SIGTERM && !m->note[i].term_sent) {
			m->note[i].term_sent = 1;
			m->note[i].term_at = mono_ns();
		}
		kill(pid, sig);
	}
}

static int
live_workers(const struct master *m, int current_only, int idle_only)
{
	int i, n = 0;

	for (i = 0; i < SB_SLOTS; i++) {
		const struct sb_slot *sl = &m->shm->slots[i];

		if (sl->pid <= 0)
			continue;
		if (current_only && (m->note[i].retiring ||
		    sl->generation != m->generation))
			continue;
		if (idle_only && sl->state != SLOT_IDLE && sl->state != SLOT_BUSY)
			continue;
		n++;
	}
	return n;
}

/* Returns -1 when the crash limit is reached and the master must exit. */
static int
note_crash(struct master *m)
{
	int64_t	now = mono_ns(), window = m->cfg.crash_window * 1000000000LL;
	int	i, recent = 0, n;
	int64_t	backoff = 100;

	m->crash_at[m->ncrash++ % 64] = now;
	n = m->ncrash < 64 ? m->ncrash : 64;
	for (i = 0; i < n; i++)
		if (now - m->crash_at[i] <= window)
			recent++;
	if (recent >= m->cfg.crash_limit) {
		log_msg(LOG_ERROR, "crash_limit", "%d workers crashed within "
		    "%ld s (crash_limit %ld): giving up", recent,
		    m->cfg.crash_window, m->cfg.crash_limit);
		return -1;
	}
	for (i = 1; i < recent && backoff < CRASH_BACKOFF_MAX_MS; i++)
		backoff *= 2;
	if (backoff > CRASH_BACKOFF_MAX_MS)
		backoff = CRASH_BACKOFF_MAX_MS;
	m->respawn_after = now + backoff * 1000000;
	return 0;
}

/* Reaps every exited worker; -1 when the crash limit is reached. */
static int
reap(struct master *m)
{
	pid_t	pid;
	int	status, rc = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sb_slot	*sl = NULL;
		struct logline	 l;
		int		 i, reason, abnormal;
		const char	*route;

		for (i = 0; i < SB_SLOTS; i++)
			if (m->shm->slots[i].pid == pid) {
				sl = &m->shm->slots[i];
				break;
			}
		if (sl == NULL)
			continue;
		abnormal = WIFSIGNALED(status) ||
		    (WIFEXITED(status) && WEXITSTATUS(status) != 0);
		if (m->note[i].killed_for != RESTART_NONE)
			reason = m->note[i].killed_for;
		else if (m->note[i].retiring)
			reason = RESTART_RELOAD;
		else if (!abnormal && sl->exit_reason == RESTART_MAX_REQUESTS)
			reason = RESTART_MAX_REQUESTS;
		else if (!abnormal)	/* asked to leave, by us or someone */
			reason = RESTART_NONE;
		else
			reason = RESTART_CRASH;
		route = slot_route(sl);

		log_begin(&l, reason == RESTART_CRASH ? LOG_ERROR : LOG_INFO,
		    "worker_exit");
		log_int(&l, "worker_pid", pid);
		log_int(&l, "slot", i);
		if (WIFSIGNALED(status)) {
			log_int(&l, "signal", WTERMSIG(status));
			log_str(&l, "signal_name", sigabbrev_np(WTERMSIG(status)));
		} else
			log_int(&l, "exit_status", WEXITSTATUS(status));
		log_str(&l, "reason", restart_reason_name(reason));
		log_str(&l, "route", route);
		log_int(&l, "requests", (long long)sl->requests);
		log_end(&l);

		if (reason != RESTART_NONE && !m->stopping)
			metrics_restart(m->shm, reason);
		memset(sl, 0, sizeof(*sl));
		memset(&m->note[i], 0, sizeof(m->note[i]));
		if (reason == RESTART_CRASH && !m->stopping && note_crash(m) == -1)
			rc = -1;
	}
	return rc;
}

/* Kills a worker whose request has run past request_timeout. */
static void
check_timeouts(struct master *m)
{
	int64_t	now = mono_ns();
	int64_t	limit = m->cfg.request_timeout * 1000000000LL;
	int	i;

	for (i = 0; i < SB_SLOTS; i++) {
		struct sb_slot	*sl = &m->shm->slots[i];
		int64_t		 start = __atomic_load_n(&sl->req_start_ns,
				    __ATOMIC_RELAXED);
		struct logline	 l;

		if (sl->pid <= 0 || sl->state != SLOT_BUSY || start == 0 ||
		    now - start <= limit || m->note[i].killed_for)
			continue;
		m->note[i].killed_for = RESTART_TIMEOUT;
		log_begin(&l, LOG_ERROR, "request_timeout");
		log_int(&l, "worker_pid", sl->pid);
		log_str(&l, "route", slot_route(sl));
		log_int(&l, "elapsed_ms", (now - start) / 1000000);
		log_int(&l, "request_timeout_s", m->cfg.request_timeout);
		log_end(&l);
		kill(sl->pid, SIGKILL);
	}
}

static void
reload(struct master *m)
{
	struct config		next;
	struct config_errors	errs;
	char			kept[512];
	int			i;

	config_defaults(&next);
	if (config_load(m->config_path, &next, &errs) == -1 ||
	    config_check_daemon(&next, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			log_msg(LOG_ERROR, "config_error", "%s", errs.msg[i]);
		log_msg(LOG_ERROR, "reload_failed", "configuration has %d "
		    "error(s); keeping the running one", errs.n);
		explicit_bzero(&next, sizeof(next));
		return;
	}
	if (config_apply_reload(&m->cfg, &next, kept, sizeof(kept)) > 0)
		log_msg(LOG_WARN, "reload_kept", "a restart is needed to "
		    "change: %s", kept);
	explicit_bzero(&next, sizeof(next));
	log_open(m->cfg.log_file, m->cfg.log_level);
	/* New workers first; the old ones go once the new ones accept. */
	for (i = 0; i < SB_SLOTS; i++)
		if (m->shm->slots[i].pid > 0)
			m->note[i].retiring = 1;
	m->generation++;
	m->reload_pending = 1;
	m->reload_started = mono_ns();
	log_msg(LOG_INFO, "reload", "configuration reloaded; starting "
	    "generation %u with %ld workers", m->generation, m->cfg.workers);
}

static void
finish_reload(struct master *m)
{
	int64_t waited = mono_ns() - m->reload_started;

	/* Old workers retire when all new ones accept, or after a while
	 * if the new ones are slow to start (the old ones still serve). */
	if (live_workers(m, 1, 1) < m->cfg.workers &&
	    waited < (m->cfg.db_connect_timeout + 2) * 1000000000LL)
		return;
	signal_workers(m, SIGTERM, 1);
	m->reload_pending = 0;
}

/* Old workers that outstay shutdown_timeout after TERM are killed. */
static void
check_retiring(struct master *m)
{
	int64_t	now = mono_ns();
	int64_t	grace = m->cfg.shutdown_timeout * 1000000000LL;
	int	i;

	for (i = 0; i < SB_SLOTS; i++) {
		pid_t pid = m->shm->slots[i].pid;

		if (pid <= 0 || !m->note[i].term_sent)
			continue;
		if (now - m->note[i].term_at > grace) {
			log_msg(LOG_WARN, "worker_kill", "worker %d still busy "
			    "%ld s after SIGTERM: killed", (int)pid,
			    m->cfg.shutdown_timeout);
			kill(pid, SIGKILL);
			m->note[i].term_at = now;	/* once per grace */
		} else if (now - m->last_resignal > RESIGNAL_NS)
			kill(pid, SIGTERM);	/* closes the accept race */
	}
	if (now - m->last_resignal > RESIGNAL_NS)
		m->last_resignal = now;
}

int
master_run(struct config *cfg, const char *config_path, int listen_fd)
{
	struct master	*m;
	struct pollfd	 pfd;
	int		 rc = 0;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return 1;
	m->cfg = *cfg;
	m->config_path = config_path;
	m->listen_fd = listen_fd;
	if ((m->shm = shm_create()) == NULL) {
		free(m);
		return 1;
	}
	m->shm->master_pid = getpid();
	m->shm->master_started_ns = mono_ns();
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_msg(LOG_ERROR, "pipe", "pipe2: %s", strerror(errno));
		free(m);
		return 1;
	}
	install_signals();
	log_set_role("master");
	log_msg(LOG_INFO, "start", "loyaltyd master started with %ld workers",
	    m->cfg.workers);

	pfd.fd = wake_pipe[0];
	pfd.events = POLLIN;
	for (;;) {
		char drain[64];

		if (poll(&pfd, 1, TICK_MS) > 0)
			while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
				;
		if (flag_reopen) {
			flag_reopen = 0;
			log_reopen();
			signal_workers(m, SIGUSR1, 0);
			log_msg(LOG_INFO, "reopen", "log files reopened");
		}
		if (flag_stop && !m->stopping) {
			m->stopping = 1;
			m->stop_deadline = mono_ns() +
			    m->cfg.shutdown_timeout * 1000000000LL;
			log_msg(LOG_INFO, "stop", "stopping: waiting up to %ld s "
			    "for requests in flight", m->cfg.shutdown_timeout);
			signal_workers(m, SIGTERM, 0);
		}
		if (flag_reload && !m->stopping) {
			flag_reload = 0;
			reload(m);
		}
		if (reap(m) == -1) {
			m->stopping = 1;
			m->stop_deadline = mono_ns() + 2000000000LL;
			signal_workers(m, SIGTERM, 0);
			rc = 1;
		}
		check_timeouts(m);
		check_retiring(m);
		if (m->stopping) {
			if (live_workers(m, 0, 0) == 0)
				break;
			if (mono_ns() > m->stop_deadline) {
				log_msg(LOG_WARN, "stop_timeout", "shutdown_timeout"
				    " passed: killing %d workers",
				    live_workers(m, 0, 0));
				signal_workers(m, SIGKILL, 0);
				m->stop_deadline = mono_ns() + 1000000000LL;
			}
			continue;
		}
		if (m->reload_pending)
			finish_reload(m);
		while (live_workers(m, 1, 0) < m->cfg.workers &&
		    mono_ns() >= m->respawn_after)
			if (spawn(m) == -1)
				break;
	}
	log_msg(LOG_INFO, "exit", "loyaltyd master exiting with status %d", rc);
	free(m);
	return rc;
}
