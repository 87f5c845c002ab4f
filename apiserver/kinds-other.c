/* Kinds of the small named groups: coordination.k8s.io Leases and
 * discovery.k8s.io EndpointSlices (printers only: upstream has no defaults
 * users see). */
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "json.h"
#include "apiserver/kinds-internal.h"
#include "apiserver/printer.h"


const struct table_column kinds_lease_columns[] = {
	NAME_COLUMN,
	COLUMN("Holder", "string", "The holder of the lease", 0),
	AGE_COLUMN,
	{.name = NULL},
};

void kinds_lease_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(obj, "spec.holderIdentity")));
	printer_cell_age(obj, now, cells);
}

const struct table_column kinds_endpointslice_columns[] = {
	NAME_COLUMN,
	COLUMN("AddressType", "string", "The IP protocol for this slice", 0),
	COLUMN("Ports", "string", "The ports for this slice", 0),
	COLUMN("Endpoints", "string", "The endpoints for this slice", 0),
	AGE_COLUMN,
	{.name = NULL},
};

/* Upstream's listWithMoreString: at most three, then " + N more...";
 * "<unset>" for none. */
static void finish_list(struct buf *b, size_t count, json_t *cells)
{
	if (count > 3)
		buf_printf(b, " + %zu more...", count - 3);
	json_array_append_new(cells, json_string(b->len ? buf_str(b) : "<unset>"));
}

void kinds_endpointslice_print(const json_t *obj, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(printer_str(obj, "metadata.name")));
	json_array_append_new(cells, json_string(printer_str(obj, "addressType")));

	cleanup_buf struct buf ports = BUF_INIT;
	size_t count = 0, i;
	json_t *p;
	json_array_foreach(json_object_get(obj, "ports"), i, p)
	{
		if (count < 3) {
			if (count)
				buf_append_char(&ports, ',');
			json_t *port = json_object_get(p, "port");
			const char *name = json_string_value(json_object_get(p, "name"));
			if (json_is_integer(port))
				buf_printf(&ports, "%lld", (long long)json_integer_value(port));
			else
				buf_append_str(&ports, name ? name : "*");
		}
		count++;
	}
	finish_list(&ports, count, cells);

	cleanup_buf struct buf eps = BUF_INIT;
	count = 0;
	json_t *e;
	json_array_foreach(json_object_get(obj, "endpoints"), i, e)
	{
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(e, "addresses"), j, a)
		{
			if (count < 3) {
				if (count)
					buf_append_char(&eps, ',');
				buf_append_str(&eps,
					       json_string_value(a) ? json_string_value(a) : "");
			}
			count++;
		}
	}
	finish_list(&eps, count, cells);
	printer_cell_age(obj, now, cells);
}
