/* h_audit.c — the audit trail of the caller's tenant (admin and up). */
#include <stdio.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

/* GET /v1/audit?limit=&after=: the caller's tenant, newest first. */
enum lerr
h_audit_list(struct request *req, struct response *res)
{
	const char	*after, *params[3];
	char		 lim[24];
	long		 limit;
	PGresult	*r;
	enum lerr	 e;

	if ((e = api_page(req, &limit, &after)) != LERR_OK)
		return e;
	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	params[0] = req->who.tenant_id;
	params[1] = request_query(req, "after") != NULL ? after : NULL;
	params[2] = lim;
	if ((e = db_query(req->worker->db, "SELECT api_audit(a)::text, a.id "
	    "FROM audit_log a WHERE a.tenant_id = $1 AND ($2::bigint IS NULL "
	    "OR a.id < $2::bigint) ORDER BY a.id DESC LIMIT $3", 3, params,
	    &r)) != LERR_OK)
		return e;
	api_list(res, r, limit);
	PQclear(r);
	return db_commit(req->worker->db);
}
