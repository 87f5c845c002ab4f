/* The resource verbs of the kube-apiserver (get, list, watch, create, update,
 * patch, delete, deletecollection and the status, scale, binding and finalize
 * subresources). Entry point: handlers_resource(), declared with the request
 * type in apiserver-internal.h. */
#ifndef MK_APISERVER_HANDLERS_H
#define MK_APISERVER_HANDLERS_H

#include "apiserver/apiserver-internal.h"

#endif
