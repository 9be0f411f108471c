/* handlers.h — the request handlers, grouped by resource. */
#ifndef LOYALTY_HANDLERS_H
#define LOYALTY_HANDLERS_H

#include "autoconfig.h"
#include "request.h"

/* h_health.c */
enum lerr	h_health_live(struct request *, struct response *);
enum lerr	h_health_ready(struct request *, struct response *);
enum lerr	h_health_startup(struct request *, struct response *);
enum lerr	h_health_version(struct request *, struct response *);
enum lerr	h_metrics(struct request *, struct response *);
enum lerr	h_status(struct request *, struct response *);

#ifdef LOYALTY_TEST_ENDPOINTS
/* h_test.c: only in builds for the black-box tests. */
enum lerr	h_test_sleep(struct request *, struct response *);
enum lerr	h_test_echo(struct request *, struct response *);
enum lerr	h_test_db(struct request *, struct response *);
#endif

#endif
