/* API discovery documents generated from the resource table: the aggregated
 * APIGroupDiscoveryList (apidiscovery.k8s.io v2 and v2beta1) that kubectl asks
 * for first, and the unaggregated APIVersions / APIGroupList / APIResourceList
 * fallback. Every function returns a new reference (json_decref) or NULL. */
#ifndef MK_APISERVER_DISCOVERY_H
#define MK_APISERVER_DISCOVERY_H

#include <stdbool.h>
#include <jansson.h>

/* Aggregated discovery: core true → the /api list (one item, the core group),
 * false → the /apis list (every named group). version is "v2" or "v2beta1"
 * (the apiVersion apidiscovery.k8s.io/<version>); NULL for any other version. */
json_t *discovery_aggregated(bool core, const char *version);

/* The plain /api answer (APIVersions) advertising server_address
 * ("127.0.0.1:8080") for every client CIDR. */
json_t *discovery_api_versions(const char *server_address);

/* The plain /apis answer (APIGroupList) with every named group served. */
json_t *discovery_group_list(void);

/* The APIResourceList of /api/v1 (group "") or /apis/<group>/<version>, with
 * subresources as "pods/status" entries; NULL if that group version is not served. */
json_t *discovery_resource_list(const char *group, const char *version);

#endif
