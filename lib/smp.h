/* Strategic merge patch: how a list merges, chosen from its path. The patch
 * itself is applied by json_smp_apply() (json.h).
 *
 * The server keeps no Go struct tags, so the upstream patchMergeKey /
 * patchStrategy of a list is looked up by the list's path in the object:
 * object keys joined by '/', each list element written "[]", e.g.
 * "/spec/template/spec/containers/[]/ports". */
#ifndef MK_SMP_H
#define MK_SMP_H

enum smp_list_kind {
	SMP_LIST_REPLACE,   /* atomic: the patch's list replaces the old one */
	SMP_LIST_KEYED,	    /* objects merged element-wise by a merge key */
	SMP_LIST_PRIMITIVE, /* scalars merged as a set (finalizers, podCIDRs) */
};

/* Kind of the list at path; for SMP_LIST_KEYED *merge_key (if merge_key is
 * non-NULL) is set to the key's name, a static string. */
enum smp_list_kind smp_list_kind_for_path(const char *path, const char **merge_key);

#endif
