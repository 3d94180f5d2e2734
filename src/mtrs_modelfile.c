/*-------------------------------------------------------------------------
 *
 * mtrs_modelfile.c
 *	  Share model bytes between backends through files in the data
 *	  directory, so that N backends serving a model hold one copy of it in
 *	  the page cache instead of N private ones.
 *
 * The first backend that loads a model version from the registry writes
 * its validated bytes to pg_mtrs/<database>-<id>-<checksum>-<size>.model
 * (id: the registry row), a new file renamed into place, so no reader ever
 * sees a partial one; every backend that loads the same version later maps
 * that file copy-on-write and validates it like any model bytes (magic,
 * shapes, exact size, checksum, content) before use, so a damaged or
 * foreign file is removed and the model is read from the registry again.
 * The checksum and size in the name are read from the last bytes of the
 * registry value, so a file can only stand for the bytes it holds.  (A
 * registry value damaged in place without a change to its last bytes is
 * served from the file of the value it was: bytes that were validated.)
 *
 * Files are a cache: removing one is always safe (a backend that maps it
 * keeps its pages; the next load writes it again), so the directory is
 * pruned to mtrs.model_files_size, least recently mapped first.  Files are
 * never rewritten in place: a file truncated under a backend that maps it
 * would fault that backend.
 *
 * IDENTIFICATION
 *	  src/mtrs_modelfile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "mtrs.h"

#define MODEL_FILE_DIR		"pg_mtrs"
#define TEMP_FILE_MAX_AGE	600	/* seconds: a temporary file older than this is left over */

/*
 * Write the file name of registry row id of this database, with the given
 * checksum and size, into path.  The database and the row are part of the
 * name so that a file only ever stands for bytes that whoever loads it
 * could read from the registry anyway (the checksum detects damage, it is
 * no proof against a crafted collision).
 */
static void
model_file_path(char *path, int64 id, uint64 checksum, Size len)
{
	snprintf(path, MAXPGPATH, "%s/%u-" INT64_FORMAT "-%016llx-%zu.model", MODEL_FILE_DIR,
			 MyDatabaseId, id, (unsigned long long) checksum, len);
}

/* Return the budget of the directory in bytes (0: shared files are off) */
static double
budget_bytes(void)
{
	return (double) mtrs_model_files_size * 1024.0 * 1024.0;
}

/* Unmap a model's bytes when its context goes away */
static void
unmap_model(void *arg)
{
	MtrsModel  *m = arg;

	if (m->bytes != NULL)
		munmap(m->bytes, m->size);
}

/*
 * Return registry row id's model of len bytes with the given checksum from
 * its shared file, mapped and validated, in a new memory context under
 * parent; NULL when shared files are off, there is no such file, or the
 * file does not hold that model (it is then removed).
 */
MtrsModel *
MtrsModelFileOpen(MemoryContext parent, int64 id, uint64 checksum, Size len)
{
	char		path[MAXPGPATH];
	struct stat st;
	void	   *addr;
	int			fd;
	MemoryContext ctx;
	MtrsModel  *m;
	MemoryContextCallback *cb;

	if (budget_bytes() <= 0)
		return NULL;
	model_file_path(path, id, checksum, len);
	/* the model and its unmapping first, so that no error can leave a mapping behind */
	ctx = AllocSetContextCreate(parent, "mtrs model", ALLOCSET_DEFAULT_SIZES);
	m = MemoryContextAllocZero(ctx, sizeof(MtrsModel));
	m->context = ctx;
	m->size = len;
	m->shared = true;
	cb = MemoryContextAlloc(ctx, sizeof(MemoryContextCallback));
	cb->func = unmap_model;
	cb->arg = m;
	MemoryContextRegisterResetCallback(ctx, cb);

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		MemoryContextDelete(ctx);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || st.st_size != (off_t) len)
	{
		CloseTransientFile(fd);
		MemoryContextDelete(ctx);
		(void) unlink(path);
		return NULL;
	}
	/* copy-on-write: serving never writes model bytes, and if it did the file would not change */
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	(void) futimens(fd, NULL);	/* recently used: pruned last */
	CloseTransientFile(fd);
	if (addr == MAP_FAILED)
	{
		MemoryContextDelete(ctx);
		return NULL;
	}
	m->bytes = addr;
	if (!MtrsModelFinishQuietly(m) || *m->v.checksum != checksum)
	{
		MemoryContextDelete(ctx);
		(void) unlink(path);
		ereport(DEBUG1,
				(errmsg("removed mtrs model file \"%s\": it does not hold the model it names", path)));
		return NULL;
	}
	return m;
}

/* A file of the directory, for pruning */
typedef struct ModelFile
{
	char		name[MAXPGPATH];
	time_t		mtime;
	off_t		size;
} ModelFile;

/* Order files by descending modification time */
static int
cmp_newest_first(const void *a, const void *b)
{
	const ModelFile *x = a;
	const ModelFile *y = b;

	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Remove the least recently mapped model files beyond the budget (but not
 * keep, the file just written) and the temporary files of backends that
 * stopped while writing
 */
static void
prune(const char *keep)
{
	DIR		   *dir = AllocateDir(MODEL_FILE_DIR);
	struct dirent *de;
	ModelFile  *files = NULL;
	int			n = 0,
				cap = 0;
	double		total = 0.0;
	time_t		now = time(NULL);

	while ((de = ReadDirExtended(dir, MODEL_FILE_DIR, DEBUG1)) != NULL)
	{
		char		path[MAXPGPATH];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", MODEL_FILE_DIR, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (strncmp(de->d_name, "tmp-", 4) == 0)
		{
			if (now - st.st_mtime > TEMP_FILE_MAX_AGE)
				(void) unlink(path);
			continue;
		}
		if (n == cap)
		{
			cap = Max(16, 2 * cap);
			files = files == NULL ? palloc(sizeof(ModelFile) * cap) :
				repalloc(files, sizeof(ModelFile) * cap);
		}
		strlcpy(files[n].name, path, MAXPGPATH);
		files[n].mtime = st.st_mtime;
		files[n++].size = st.st_size;
	}
	FreeDir(dir);
	if (n > 1)
		qsort(files, n, sizeof(ModelFile), cmp_newest_first);
	/* the file just written stays and counts first (others may have its mtime) */
	for (int i = 0; i < n; i++)
		if (strcmp(files[i].name, keep) == 0)
			total += (double) files[i].size;
	for (int i = 0; i < n; i++)
	{
		if (strcmp(files[i].name, keep) == 0)
			continue;
		if (total + (double) files[i].size > budget_bytes())
			(void) unlink(files[i].name);
		else
			total += (double) files[i].size;
	}
	if (files != NULL)
		pfree(files);
}

/*
 * Write the validated model m, registry row id, to its shared file, then
 * prune the directory.  Best effort: any failure (no space, no permission)
 * leaves the directory as it was, and the model is served from the
 * backend's copy.
 */
void
MtrsModelFileWrite(const MtrsModel *m, int64 id)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	int			fd;
	Size		off = 0;

	if (budget_bytes() < (double) m->size)
		return;
	model_file_path(path, id, *m->v.checksum, m->size);
	snprintf(tmp, sizeof(tmp), "%s/tmp-%d.model", MODEL_FILE_DIR, MyProcPid);
	if (MakePGDirectory(MODEL_FILE_DIR) != 0 && errno != EEXIST)
		return;
	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		return;
	while (off < m->size)
	{
		ssize_t		w = write(fd, m->bytes + off, Min(m->size - off, (Size) 1 << 30));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (Size) w;
	}
	if (CloseTransientFile(fd) != 0 || off < m->size || rename(tmp, path) != 0)
	{
		ereport(DEBUG1,
				(errcode_for_file_access(),
				 errmsg("could not write mtrs model file \"%s\": %m", path)));
		(void) unlink(tmp);
		return;
	}
	prune(path);
}
