-- The SQL surface of the extension: any change to it shows up here.
CREATE EXTENSION mtrs;
\set SHOW_CONTEXT never
\dx+ mtrs
-- every function and aggregate of the extension has a comment
SELECT p.oid::regprocedure AS missing_comment
  FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mtrs')
   AND obj_description(p.oid, 'pg_proc') IS NULL;
-- the registry is dumped by pg_dump, sequence included
SELECT unnest(extconfig)::regclass AS dumped FROM pg_extension WHERE extname = 'mtrs' ORDER BY 1;
-- OpenBLAS threads: default 1, settable, bounded
SHOW mtrs.blas_threads;
SET mtrs.blas_threads = 2;
SHOW mtrs.blas_threads;
SET mtrs.blas_threads = 0;
RESET mtrs.blas_threads;
SET mtrs.no_such_setting = 1;
DROP EXTENSION mtrs;
