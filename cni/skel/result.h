/* CNI results between spec versions. Internally every result has the 1.x
 * shape: {cniVersion, interfaces[], ips[], routes[], dns{}}. */
#ifndef CNI_RESULT_H
#define CNI_RESULT_H

#include <jansson.h>

#include "err.h"

/* Reads a result of any version (0.1/0.2 ip4/ip6, 0.3/0.4 with ips[].version,
 * 1.x) into the 1.x shape. New reference, or NULL with MK_EINVAL. */
json_t *cni_result_normalize(const json_t *res, struct mk_err **err);

/* Writes a 1.x-shaped result in version's shape with the reference's key
 * order (empty lists omitted, "dns" always present). New reference, or NULL
 * with MK_EINVAL ("CNI version 0.2.0 does not support more than 1 address per
 * family"). */
json_t *cni_result_convert(const json_t *res, const char *version, struct mk_err **err);

#endif
