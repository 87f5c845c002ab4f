# Writing into a stopped kube-apiserver's SQLite store directly, for tests of
# what clients do with objects the server would refuse today but may hold:
# written by an older version, or restored from a backup.
#
#   load lib/store
#   store_edit DATA_DIR KEY JQ_FILTER
#       Rewrites the object stored at KEY ("/registry/services/specs/default/web")
#       through the jq filter, as one new revision (log row, current row and
#       revision counter, as the server itself writes them), so that a watch
#       resuming from an older resourceVersion sees it as a MODIFIED event.
#       The server must be stopped.

store_edit() {
	local db=$1/mink8s.db key=$2 filter=$3 value
	value=$(sqlite3 "$db" "SELECT value FROM cur WHERE key = '$key'")
	if [ -z "$value" ]; then
		echo "store_edit: nothing stored at $key" >&2
		return 1
	fi
	value=$(jq -c "$filter" <<<"$value")
	# SQL string literal: quotes doubled
	value=${value//\'/\'\'}
	sqlite3 "$db" <<SQL
BEGIN IMMEDIATE;
UPDATE meta SET current_rev = current_rev + 1 WHERE id = 1;
INSERT INTO log (rev, key, value, create_rev, prev_rev, deleted)
	SELECT m.current_rev, c.key, '$value', c.create_rev, c.rev, 0
	FROM meta AS m, cur AS c WHERE m.id = 1 AND c.key = '$key';
UPDATE cur SET value = '$value', rev = (SELECT current_rev FROM meta WHERE id = 1)
	WHERE key = '$key';
COMMIT;
SQL
}
