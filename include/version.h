/* version.h — what this build is and which schema it expects. */
#ifndef LOYALTY_VERSION_H
#define LOYALTY_VERSION_H

#include "autoconfig.h"
#include "schema_version.h"	/* generated from sql/ by the build */

#define LOYALTY_VERSION	PACKAGE_VERSION

#endif
