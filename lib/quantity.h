/* Kubernetes resource quantities ("100m", "1", "128Mi", "1e3", "2Gi") as
 * signed milli-units. */
#ifndef MK_QUANTITY_H
#define MK_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Parses s: [+-] digits [. digits] then one suffix: decimal SI n u m k M G T P E,
 * binary Ki Mi Gi Ti Pi Ei, or an exponent e/E[+-]digits; no suffix = units.
 * Stores value*1000 in *milli, rounding a fractional milli up (away from zero)
 * as upstream's MilliValue does. Returns 0, or -1 with MK_EINVAL and upstream's
 * message ("quantities must match the regular expression
 * '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'", "unable to parse quantity's
 * suffix") or "quantity is too large" when it does not fit in int64 milli. */
int quantity_parse_milli(const char *s, int64_t *milli, struct mk_err **err);

/* Canonical text of milli/1000 units like upstream's Quantity.String():
 * binary=false (DecimalSI): "1500m", "1", "2k", "128M"; binary=true
 * (BinarySI): "128Mi", "1Gi", falling back to decimal below 1024 or for
 * fractions. New string, free(). */
char *quantity_format_milli(int64_t milli, bool binary);

#endif
