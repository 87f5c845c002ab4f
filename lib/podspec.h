/* Pod spec defaults and derived facts shared by the API server (defaulting
 * on create) and the kubelet (static pods get the same defaults). */
#ifndef MK_PODSPEC_H
#define MK_PODSPEC_H

#include <jansson.h>

/* Upstream's defaulting of a PodSpec (restartPolicy, dnsPolicy, grace
 * period, containers' pull policy, termination message, probes, ports,
 * volume defaultMode, requests from limits), in place; a non-object is
 * left alone. */
void podspec_defaults(json_t *spec);

/* Upstream's pull policy for an image reference: Always for ":latest" or
 * no tag, IfNotPresent otherwise (a digest counts as a tag). Static string. */
const char *podspec_default_pull_policy(const char *image);

/* Upstream's QoS class of a PodSpec: "BestEffort" without any request or
 * limit, "Guaranteed" when every container limits cpu and memory and
 * requests equal limits, else "Burstable". Static string. */
const char *podspec_qos_class(const json_t *spec);

/* The container name of a PodSpec (containers, initContainers,
 * ephemeralContainers), or NULL. Borrowed. */
const json_t *podspec_container(const json_t *spec, const char *name);

#endif
