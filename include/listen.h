/* listen.h — where the listening socket comes from. */
#ifndef LOYALTY_LISTEN_H
#define LOYALTY_LISTEN_H

/*
 * In order: systemd socket activation (LISTEN_PID/LISTEN_FDS); binding
 * cli_addr (--listen) when given; fd 0 when it is a listening socket
 * (spawn-fcgi); binding cfg_addr (server.listen). An address is a path or
 * HOST:PORT. Returns the descriptor, or -1 with the reason logged.
 */
int	listen_acquire(const char *cli_addr, const char *cfg_addr);

#endif
