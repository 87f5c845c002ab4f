/* Per-kind strategy hooks, printers and field selectors shared between the
 * resource table (resources.c) and the kinds-*.c files that implement them. */
#ifndef MK_APISERVER_KINDS_INTERNAL_H
#define MK_APISERVER_KINDS_INTERNAL_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#include "err.h"
#include "apiserver/resource.h"

/* componentstatuses: new array of ComponentStatus objects. */
json_t *kinds_componentstatus_list(void);

#endif
