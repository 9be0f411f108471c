/* h_audit.c — the audit trail of the caller's tenant (admin and up). */
#include "api.h"
#include "db.h"
#include "handlers.h"
#include "worker.h"

/* GET /v1/audit?limit=&after=: the caller's tenant, newest first. */
enum lerr
h_audit_list(struct request *req, struct response *res)
{
	/* The cursor is an id; no cursor (0) starts at the newest. */
	return api_list_page(req, res, "SELECT api_audit(a)::text, a.id FROM "
	    "audit_log a WHERE a.tenant_id = $1 AND ($2::bigint = 0 OR a.id < "
	    "$2::bigint) ORDER BY a.id DESC LIMIT $3", 1);
}
