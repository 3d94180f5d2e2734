/*-------------------------------------------------------------------------
 *
 * mtrs_cache.c
 *	  Find a model's active version in the registry table and keep its
 *	  decoded form in a per-backend cache.
 *
 * Every call probes the registry's partial unique index on (name) WHERE
 * active under the active snapshot and compares the row's (id, xmin, ctid)
 * with the cached entry.  The probe reads only the small columns, so a hit
 * never detoasts the weights; any new version, activation change, UPDATE
 * or rollback changes (id, xmin, ctid), so the next call sees it (xmin
 * alone would not: the versions of a row that one transaction updates
 * twice share it, but an UPDATE always writes a new tuple).  A name that
 * has no active version any more leaves the cache, and so does every model
 * of a registry that is gone (DROP EXTENSION).  Relcache
 * callbacks would not help: they do not fire on DML.  One does keep the
 * registry's location (its OID, index and column numbers) current across
 * DDL on the table.
 *
 * The probe is a direct index scan rather than SPI because it runs once per
 * row in joins such as ORDER BY mtrs_predict(...): it checks SELECT
 * privilege itself and refuses row-level security on the registry.
 *
 * A decoded model is built in a transient context and moved under
 * CacheMemoryContext only once complete (plancache.c's pattern), so an
 * error while loading leaves the cache as it was.
 *
 * Within one snapshot the registry cannot change, so each call site also
 * remembers (in fn_extra) the model it got and the snapshot it got it
 * under: the next call of that site under the same snapshot (the next row
 * of the same query) skips the registry probe.  "The same" compares the
 * snapshot's whole content, its running transactions too: a PL/pgSQL
 * simple expression keeps its call site from statement to statement, and
 * two snapshots with equal xmin, xmax and command id can still disagree
 * on a transaction that committed in between.  (A savepoint rolled back
 * after writing does change the snapshot: ending its xid moves xmax.)  Any
 * change in the backend cache bumps a generation counter that invalidates
 * those.
 *
 * A serving call keeps using its model after the cache has moved on: while
 * it folds a user in it runs the source table's SQL, and a view there may
 * call mtrs itself, see a newer version and replace the cache entry.  So a
 * model replaced while such SQL runs (MtrsCacheUserSqlBegin/End) is only
 * retired, and freed by the next lookup made outside user SQL, when no
 * call can still hold it.
 *
 * IDENTIFICATION
 *	  src/mtrs_cache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/detoast.h"
#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "mtrs.h"

#define REGISTRY_ACTIVE_INDEX "mtrs_model_active_name"

/* Cache key: the registry table (so a recreated extension never matches) and the name */
typedef struct CacheKey
{
	Oid			registry;
	char		name[NAMEDATALEN];
} CacheKey;

typedef struct CacheEntry
{
	CacheKey	key;
	int64		id;				/* mtrs_model.id of the cached row */
	TransactionId xmin;			/* its xmin */
	ItemPointerData tid;		/* its ctid: changes with every UPDATE */
	MtrsModel  *model;			/* NULL while empty */
} CacheEntry;

/* What one call site remembers between calls (fn_extra) */
typedef struct CallMemo
{
	bool		valid;
	char		name[NAMEDATALEN];	/* as given, "" = the default model */
	char		default_name[NAMEDATALEN];	/* mtrs.default_model at the time */
	/* the snapshot: xmin, xmax, command id, running (sub)transactions */
	TransactionId snap_xmin;
	TransactionId snap_xmax;
	CommandId	snap_curcid;
	uint32		snap_xcnt;
	int32		snap_subxcnt;
	bool		snap_suboverflowed;
	TransactionId *snap_xids;	/* xip then subxip, in fn_mcxt */
	int			snap_xids_size;	/* allocated */
	uint64		generation;
	Oid			user;
	MtrsModel  *model;
} CallMemo;

static uint64 cache_generation = 1;

/* Nesting of user SQL run by serving calls, and the models replaced meanwhile */
static int	user_sql_depth = 0;
static List *retired_models = NIL;	/* in TopMemoryContext */

static MtrsModel *cache_lookup(FunctionCallInfo fcinfo, const char *name, bool missing_ok);

/* Where the registry lives and the attribute numbers we read */
typedef struct Registry
{
	bool		valid;			/* false once DDL on the table may have changed it */
	Oid			relid;
	Oid			index;
	AttrNumber	att_id;
	AttrNumber	att_name;
	AttrNumber	att_version;
	AttrNumber	att_active;
	AttrNumber	att_weights;
	AttrNumber	att_source;
	AttrNumber	att_n_users;	/* these two only for row estimates: may be missing */
	AttrNumber	att_n_items;
} Registry;

static HTAB *model_cache = NULL;
static Registry registry;
static int64 stat_loads = 0;
static int64 stat_hits = 0;
static int64 stat_shared_loads = 0;	/* loads that mapped an existing shared file */

/*
 * Mark the start and the end of user SQL run while a serving call holds a
 * model (fold-in queries on the source table); End must run on error too
 */
void
MtrsCacheUserSqlBegin(void)
{
	user_sql_depth++;
}

void
MtrsCacheUserSqlEnd(void)
{
	Assert(user_sql_depth > 0);
	user_sql_depth--;
}

/* Free a model that has left the cache */
static void
free_model(MtrsModel *m)
{
	MtrsSourceRelease(m);
	MemoryContextDelete(m->context);
}

/* A model leaves the cache: free it, or retire it if a serving call may still use it */
static void
retire_model(MtrsModel *m)
{
	if (user_sql_depth > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		retired_models = lappend(retired_models, m);
		MemoryContextSwitchTo(old);
	}
	else
		free_model(m);
}

/* Free the retired models once no serving call can hold them */
static void
free_retired_models(void)
{
	List	   *models = retired_models;
	ListCell   *lc;

	if (user_sql_depth > 0 || models == NIL)
		return;
	retired_models = NIL;
	foreach(lc, models)
		free_model((MtrsModel *) lfirst(lc));
	list_free(models);
}

/* Drop a cache entry, and its model (retired if a serving call may still use it) */
static void
drop_entry(CacheEntry *entry)
{
	if (entry->model != NULL)
		retire_model(entry->model);
	cache_generation++;
	hash_search(model_cache, &entry->key, HASH_REMOVE, NULL);
}

/* Drop the cached model of a name that has no active version in the registry relid */
static void
forget_model(Oid relid, const char *name)
{
	CacheKey	key;
	CacheEntry *entry;

	if (model_cache == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.registry = relid;
	strlcpy(key.name, name, NAMEDATALEN);
	entry = hash_search(model_cache, &key, HASH_FIND, NULL);
	if (entry != NULL)
		drop_entry(entry);
}

/* Drop the cached models of every registry but relid (an extension dropped and created again) */
static void
forget_other_registries(Oid relid)
{
	HASH_SEQ_STATUS seq;
	CacheEntry *entry;

	if (model_cache == NULL)
		return;
	/* dynahash allows removing the entry just returned during a sequential scan */
	hash_seq_init(&seq, model_cache);
	while ((entry = hash_seq_search(&seq)) != NULL)
		if (entry->key.registry != relid)
			drop_entry(entry);
}

/* Return the schema of the extension: the one the calling function lives in */
Oid
MtrsExtensionSchema(FunctionCallInfo fcinfo)
{
	Oid			nsp = InvalidOid;

	if (fcinfo->flinfo != NULL && OidIsValid(fcinfo->flinfo->fn_oid))
		nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	if (!OidIsValid(nsp))
		elog(ERROR, "could not determine the schema of extension mtrs");
	return nsp;
}

/*
 * Mark where the registry is as to be looked up again when its table
 * changes: DDL on it (a column dropped or renamed, an index dropped or
 * created) sends a relcache invalidation for the table, and a reset
 * (InvalidOid) covers everything.  Only marked: the callback runs whenever
 * invalidations are processed, in the middle of a call too (when it opens
 * a relation, say), which must go on with the values it located.
 */
static void
registry_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == registry.relid)
		registry.valid = false;
}

/*
 * Locate the registry table and its active-name index in the given schema;
 * with missing_ok, return false instead of failing when they are not there
 */
static bool
locate_registry(Oid schema, bool missing_ok)
{
	static bool callback_registered = false;
	static const char *const columns[] = {"id", "name", "version", "active", "weights", "source"};
	Oid			relid = get_relname_relid(MTRS_REGISTRY_TABLE, schema);
	AttrNumber	att[lengthof(columns)];

	if (!OidIsValid(relid))
	{
		if (missing_ok)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist",
						get_namespace_name(schema), MTRS_REGISTRY_TABLE)));
	}
	if (registry.valid && relid == registry.relid)
		return true;
	forget_other_registries(relid);
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(registry_invalidate, (Datum) 0);
		callback_registered = true;
	}
	/* valid from here: an invalidation while we look makes it false again */
	registry.relid = relid;
	registry.valid = true;
	registry.index = get_relname_relid(REGISTRY_ACTIVE_INDEX, schema);
	for (int i = 0; i < (int) lengthof(columns); i++)
		att[i] = get_attnum(relid, columns[i]);
	registry.att_n_users = get_attnum(relid, "n_users");	/* may be missing */
	registry.att_n_items = get_attnum(relid, "n_items");
	if (!OidIsValid(registry.index))
	{
		registry.valid = false;
		if (missing_ok)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index \"%s\" does not exist", REGISTRY_ACTIVE_INDEX),
				 errhint("Reinstall the mtrs extension.")));
	}
	for (int i = 0; i < (int) lengthof(columns); i++)
		if (att[i] == InvalidAttrNumber)
		{
			registry.valid = false;
			if (missing_ok)
				return false;
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of table \"%s\" does not exist", columns[i], MTRS_REGISTRY_TABLE),
					 errhint("Reinstall the mtrs extension.")));
		}
	registry.att_id = att[0];
	registry.att_name = att[1];
	registry.att_version = att[2];
	registry.att_active = att[3];
	registry.att_weights = att[4];
	registry.att_source = att[5];
	return true;
}

/* Create the hash table of cached models on first use */
static void
init_cache(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(CacheKey);
	ctl.entrysize = sizeof(CacheEntry);
	ctl.hcxt = CacheMemoryContext;
	model_cache = hash_create("mtrs model cache", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Report that a model name has no active version (or does not exist at all) */
static void
report_missing_model(Relation rel, const char *name)
{
	SysScanDesc scan;
	ScanKeyData key;
	bool		exists;

	/* a sequential scan is fine: this is the error path */
	ScanKeyEntryInitialize(&key, 0, registry.att_name, BTEqualStrategyNumber, InvalidOid,
						   DEFAULT_COLLATION_OID, F_TEXTEQ, CStringGetTextDatum(name));
	scan = systable_beginscan(rel, InvalidOid, false, GetActiveSnapshot(), 1, &key);
	exists = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (exists)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mtrs model \"%s\" has no active version", name),
				 errhint("Activate a version with mtrs_activate().")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("mtrs model \"%s\" does not exist", name),
			 errhint("Train a model with mtrs_train() or register one with mtrs_register().")));
}

static MtrsModel *finish_load(MtrsModel *m, Relation rel, HeapTuple tuple, const char *name,
							  int64 id);

/*
 * Decode the weights of a registry row into a cache-owned model.  Weights
 * stored out of line and uncompressed (the registry's storage) are read
 * from TOAST directly into the model's buffer: one copy, not two.
 */
static MtrsModel *
load_model(Relation rel, HeapTuple tuple, const char *name, int64 id)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, registry.att_weights, RelationGetDescr(rel), &isnull);
	bytea	   *raw;
	MtrsModel  *m;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("mtrs model \"%s\" has no weights", name)));
	if (VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(d)))
	{
		struct varatt_external ptr;

		VARATT_EXTERNAL_GET_POINTER(ptr, DatumGetPointer(d));
		if (!VARATT_EXTERNAL_IS_COMPRESSED(ptr))
		{
			int32		len = VARATT_EXTERNAL_GET_EXTSIZE(ptr);
			Relation	toast = table_open(ptr.va_toastrelid, AccessShareLock);
			struct varlena *in_place;
			uint64		checksum = 0;
			MtrsModel  *mapped = NULL;

			/* a model's last 8 bytes are its checksum, which names its shared file */
			if (mtrs_model_files_size > 0 && len >= (int32) sizeof(MtrsHeader))
			{
				struct varlena *tail = palloc(VARHDRSZ + sizeof(uint64));

				SET_VARSIZE(tail, VARHDRSZ + sizeof(uint64));
				table_relation_fetch_toast_slice(toast, ptr.va_valueid, len,
												 len - (int32) sizeof(uint64), sizeof(uint64), tail);
				memcpy(&checksum, VARDATA(tail), sizeof(uint64));
				pfree(tail);
				mapped = MtrsModelFileOpen(CurrentMemoryContext, id, checksum, len);
			}
			if (mapped != NULL)
			{
				table_close(toast, AccessShareLock);
				stat_shared_loads++;
				return finish_load(mapped, rel, tuple, name, id);
			}

			/* read the TOAST chunks straight into the model's aligned buffer */
			m = MtrsModelNew(CurrentMemoryContext, len);
			in_place = (struct varlena *) (m->bytes - VARHDRSZ);
			SET_VARSIZE(in_place, len + VARHDRSZ);
			table_relation_fetch_toast_slice(toast, ptr.va_valueid, len, 0, len, in_place);
			table_close(toast, AccessShareLock);
			MtrsModelFinish(m);
			if (mtrs_model_files_size > 0 && *m->v.checksum == checksum)
			{
				/* share it: write its file, and serve from the file too */
				MtrsModelFileWrite(m, id);
				mapped = MtrsModelFileOpen(CurrentMemoryContext, id, checksum, len);
				if (mapped != NULL)
				{
					MemoryContextDelete(m->context);
					m = mapped;
				}
			}
			return finish_load(m, rel, tuple, name, id);
		}
	}
	raw = (bytea *) PG_DETOAST_DATUM(d);
	m = MtrsModelDecode(raw, CurrentMemoryContext);
	if ((Pointer) raw != DatumGetPointer(d))
		pfree(raw);
	return finish_load(m, rel, tuple, name, id);
}

/* Fill in a loaded model's registry data */
static MtrsModel *
finish_load(MtrsModel *m, Relation rel, HeapTuple tuple, const char *name, int64 id)
{
	bool		isnull;
	Datum		d;

	m->registry_id = id;
	m->version = DatumGetInt32(heap_getattr(tuple, registry.att_version,
											RelationGetDescr(rel), &isnull));
	strlcpy(m->name, name, NAMEDATALEN);
	d = heap_getattr(tuple, registry.att_source, RelationGetDescr(rel), &isnull);
	if (!isnull)
		MtrsSourceSet(m, d);
	stat_loads++;
	return m;
}

/*
 * Begin a scan of the registry's active-name index for name (*scan, to be
 * ended by the caller) and return the model's active row, or NULL
 */
static HeapTuple
active_row(Relation rel, const char *name, SysScanDesc *scan)
{
	ScanKeyData skey;
	HeapTuple	tuple;
	bool		isnull;

	ScanKeyEntryInitialize(&skey, 0, registry.att_name, BTEqualStrategyNumber, InvalidOid,
						   DEFAULT_COLLATION_OID, F_TEXTEQ, CStringGetTextDatum(name));
	*scan = systable_beginscan(rel, registry.index, true, GetActiveSnapshot(), 1, &skey);
	while (HeapTupleIsValid(tuple = systable_getnext(*scan)))
		if (DatumGetBool(heap_getattr(tuple, registry.att_active, RelationGetDescr(rel), &isnull)))
			return tuple;
	return NULL;
}

/* Whether entry holds the model of this registry row (the same id, xmin and ctid) */
static bool
entry_holds_row(CacheEntry *entry, Relation rel, HeapTuple tuple)
{
	bool		isnull;

	return entry->model != NULL &&
		DatumGetInt64(heap_getattr(tuple, registry.att_id, RelationGetDescr(rel), &isnull)) == entry->id &&
		TransactionIdEquals(HeapTupleHeaderGetXmin(tuple->t_data), entry->xmin) &&
		ItemPointerEquals(&tuple->t_self, &entry->tid);
}

/*
 * Drop the cached models of registry rows that are no longer active (a
 * model dropped or deactivated, a version replaced, the scratch models of
 * a finished mtrs_retrain), except keep.  Run when a model is loaded,
 * which is rare and costs far more than one index probe per entry: without
 * it, the models of names this backend never looks up again would stay.
 */
static void
sweep_stale_entries(Relation rel, const CacheEntry *keep)
{
	HASH_SEQ_STATUS seq;
	CacheEntry *entry;

	hash_seq_init(&seq, model_cache);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		SysScanDesc scan;
		HeapTuple	tuple;
		bool		current;

		if (entry == keep || entry->key.registry != RelationGetRelid(rel))
			continue;
		tuple = active_row(rel, entry->key.name, &scan);
		current = tuple != NULL && entry_holds_row(entry, rel, tuple);
		systable_endscan(scan);
		/* dynahash allows removing the entry just returned during a sequential scan */
		if (!current)
			drop_entry(entry);
	}
}

/*
 * Choose the model to use when none is named: mtrs.default_model if set,
 * else the only model with an active version (missing_ok: NULL when there
 * is none or more than one, instead of an error)
 */
static const char *
default_model_name(bool missing_ok)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	char	   *found = NULL;
	int			n = 0;
	bool		isnull;

	if (mtrs_default_model != NULL && mtrs_default_model[0] != '\0')
		return mtrs_default_model;
	rel = table_open(registry.relid, AccessShareLock);
	scan = systable_beginscan(rel, registry.index, true, GetActiveSnapshot(), 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)) && n < 2)
	{
		if (!DatumGetBool(heap_getattr(tuple, registry.att_active, RelationGetDescr(rel), &isnull)))
			continue;
		if (n++ == 0)
			found = TextDatumGetCString(heap_getattr(tuple, registry.att_name,
													 RelationGetDescr(rel), &isnull));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (n != 1 && missing_ok)
		return NULL;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no mtrs model is active"),
				 errhint("Train a model with mtrs_train() or register one with mtrs_register().")));
	if (n > 1)
		ereport(ERROR,
				(errcode(ERRCODE_AMBIGUOUS_PARAMETER),
				 errmsg("more than one mtrs model is active"),
				 errhint("Name the model with model => '...', or set mtrs.default_model.")));
	return found;
}

/* Remember the content of an MVCC snapshot in a call site's memo */
static void
memo_snapshot_save(CallMemo *memo, Snapshot snap, MemoryContext cxt)
{
	int			n = (int) snap->xcnt + Max(snap->subxcnt, 0);

	if (n > memo->snap_xids_size)
	{
		if (memo->snap_xids != NULL)
			pfree(memo->snap_xids);
		memo->snap_xids = MemoryContextAlloc(cxt, sizeof(TransactionId) * n);
		memo->snap_xids_size = n;
	}
	memo->snap_xmin = snap->xmin;
	memo->snap_xmax = snap->xmax;
	memo->snap_curcid = snap->curcid;
	memo->snap_xcnt = snap->xcnt;
	memo->snap_subxcnt = Max(snap->subxcnt, 0);
	memo->snap_suboverflowed = snap->suboverflowed;
	if (snap->xcnt > 0)
		memcpy(memo->snap_xids, snap->xip, sizeof(TransactionId) * snap->xcnt);
	if (snap->subxcnt > 0)
		memcpy(memo->snap_xids + snap->xcnt, snap->subxip, sizeof(TransactionId) * snap->subxcnt);
}

/*
 * Whether snap sees what the snapshot remembered in memo saw: the same
 * bounds, command id and running transactions
 * (listed in the same order: another order only costs a registry probe)
 */
static bool
memo_snapshot_matches(const CallMemo *memo, Snapshot snap)
{
	return snap->snapshot_type == SNAPSHOT_MVCC &&
		memo->snap_xmin == snap->xmin && memo->snap_xmax == snap->xmax &&
		memo->snap_curcid == snap->curcid && memo->snap_xcnt == snap->xcnt &&
		memo->snap_subxcnt == Max(snap->subxcnt, 0) &&
		memo->snap_suboverflowed == snap->suboverflowed &&
		(snap->xcnt == 0 ||
		 memcmp(memo->snap_xids, snap->xip, sizeof(TransactionId) * snap->xcnt) == 0) &&
		(snap->subxcnt <= 0 ||
		 memcmp(memo->snap_xids + snap->xcnt, snap->subxip,
				sizeof(TransactionId) * snap->subxcnt) == 0);
}

/*
 * Return the active version of the named model (NULL: the default model),
 * decoded.  The result stays valid until the next call of this function
 * in this backend outside user SQL run by a serving call.
 */
MtrsModel *
MtrsCacheGetModel(FunctionCallInfo fcinfo, const char *name)
{
	Snapshot	snap = GetActiveSnapshot();
	CallMemo   *memo = (CallMemo *) fcinfo->flinfo->fn_extra;
	const char *given = name != NULL ? name : "";
	const char *dflt = mtrs_default_model != NULL ? mtrs_default_model : "";
	MtrsModel  *m;

	if (memo != NULL && memo->valid && memo->generation == cache_generation &&
		memo_snapshot_matches(memo, snap) && memo->user == GetUserId() &&
		strcmp(memo->name, given) == 0 && strcmp(memo->default_name, dflt) == 0)
		return memo->model;
	m = cache_lookup(fcinfo, name, false);
	if (memo == NULL)
		fcinfo->flinfo->fn_extra = memo =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallMemo));
	memo->valid = strlen(given) < NAMEDATALEN && strlen(dflt) < NAMEDATALEN &&
		snap->snapshot_type == SNAPSHOT_MVCC;
	strlcpy(memo->name, given, NAMEDATALEN);
	strlcpy(memo->default_name, dflt, NAMEDATALEN);
	if (memo->valid)
		memo_snapshot_save(memo, snap, fcinfo->flinfo->fn_mcxt);
	memo->generation = cache_generation;
	memo->user = GetUserId();
	memo->model = m;
	return m;
}

/*
 * Return the active version of the named model, decoded, or NULL if it has
 * none.  Valid as long as MtrsCacheGetModel's result.
 */
MtrsModel *
MtrsCacheFindModel(FunctionCallInfo fcinfo, const char *name)
{
	return cache_lookup(fcinfo, name, true);
}

/*
 * Look the model up in the registry and the backend cache (see
 * MtrsCacheGetModel); NULL if it has no active version and missing_ok
 */
static MtrsModel *
cache_lookup(FunctionCallInfo fcinfo, const char *name, bool missing_ok)
{
	CacheKey	key;
	CacheEntry *entry;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found;

	free_retired_models();
	(void) locate_registry(MtrsExtensionSchema(fcinfo), false);
	if (pg_class_aclcheck(registry.relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, MTRS_REGISTRY_TABLE);
	if (check_enable_rls(registry.relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("row-level security on table \"%s\" is not supported", MTRS_REGISTRY_TABLE)));
	if (name == NULL)
		name = default_model_name(false);
	/* no model has such a name (mtrs_check_name): 1 to 63 bytes */
	if (strlen(name) >= NAMEDATALEN || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("mtrs model \"%s\" does not exist", name),
				 errdetail("A model name has 1 to %d bytes.", NAMEDATALEN - 1)));

	rel = table_open(registry.relid, AccessShareLock);
	tuple = active_row(rel, name, &scan);
	if (tuple == NULL)
	{
		systable_endscan(scan);
		forget_model(registry.relid, name);
		if (missing_ok)
		{
			table_close(rel, AccessShareLock);
			return NULL;
		}
		report_missing_model(rel, name);
	}
	if (model_cache == NULL)
		init_cache();
	memset(&key, 0, sizeof(key));
	key.registry = registry.relid;
	strlcpy(key.name, name, NAMEDATALEN);
	entry = hash_search(model_cache, &key, HASH_ENTER, &found);
	if (!found)
		entry->model = NULL;
	if (entry_holds_row(entry, rel, tuple))
		stat_hits++;
	else
	{
		bool		isnull;
		int64		id = DatumGetInt64(heap_getattr(tuple, registry.att_id, RelationGetDescr(rel), &isnull));
		MtrsModel  *m = load_model(rel, tuple, name, id);

		MemoryContextSetParent(m->context, CacheMemoryContext);
		if (entry->model != NULL)
			retire_model(entry->model);
		cache_generation++;
		entry->model = m;
		entry->id = id;
		entry->xmin = HeapTupleHeaderGetXmin(tuple->t_data);
		entry->tid = tuple->t_self;
		sweep_stale_entries(rel, entry);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return entry->model;
}

/*
 * The users and items of the active version of the named model (NULL: the
 * default model) as the registry records them, for the planner's row
 * estimates.  Never an error: false when they cannot be read (no such
 * model, no single active one, no SELECT privilege on the registry, row-level
 * security on it, no active snapshot, a registry not as the extension made it).
 */
bool
MtrsRegistrySizes(Oid schema, const char *name, double *n_users, double *n_items)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		isnull,
				found = false;

	if (!ActiveSnapshotSet() || !locate_registry(schema, true) ||
		registry.att_n_users == InvalidAttrNumber || registry.att_n_items == InvalidAttrNumber ||
		pg_class_aclcheck(registry.relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(registry.relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	if (name == NULL && (name = default_model_name(true)) == NULL)
		return false;
	if (strlen(name) >= NAMEDATALEN || name[0] == '\0')
		return false;
	rel = table_open(registry.relid, AccessShareLock);
	tuple = active_row(rel, name, &scan);
	if (tuple != NULL)
	{
		bool		users_null;
		Datum		users = heap_getattr(tuple, registry.att_n_users, RelationGetDescr(rel), &users_null);
		Datum		items = heap_getattr(tuple, registry.att_n_items, RelationGetDescr(rel), &isnull);

		if (!users_null && !isnull)
		{
			*n_users = DatumGetInt32(users);
			*n_items = DatumGetInt32(items);
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Report the cache's counters: models loaded, hits, entries held, loads
 * that mapped a shared model file another backend wrote, the bytes of the
 * held models that are mapped from shared files, and the bytes the cache
 * holds in this backend's own memory (each model's memory context: its
 * bytes unless mapped, and what serving derived from them; models retired
 * while a call still used them count too)
 */
void
MtrsCacheStats(int64 *loads, int64 *hits, int64 *entries, int64 *shared_loads,
			   int64 *shared_bytes, int64 *private_bytes)
{
	HASH_SEQ_STATUS seq;
	CacheEntry *entry;
	ListCell   *lc;

	*loads = stat_loads;
	*hits = stat_hits;
	*entries = model_cache ? hash_get_num_entries(model_cache) : 0;
	*shared_loads = stat_shared_loads;
	*shared_bytes = 0;
	*private_bytes = 0;
	foreach(lc, retired_models)
		*private_bytes += (int64) MemoryContextMemAllocated(((MtrsModel *) lfirst(lc))->context, true);
	if (model_cache == NULL)
		return;
	hash_seq_init(&seq, model_cache);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (entry->model == NULL)
			continue;
		if (entry->model->shared)
			*shared_bytes += (int64) entry->model->size;
		*private_bytes += (int64) MemoryContextMemAllocated(entry->model->context, true);
	}
}
