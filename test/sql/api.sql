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
-- mtrs_options: the options a run would use, every one resolved (NULL and {} are the
-- defaults); an invalid option is the run's error, before any row is read
SELECT count(*) AS options, mtrs_options() = mtrs_options('{}') AS null_is_defaults
  FROM jsonb_object_keys(mtrs_options());
SELECT mtrs_options()->'dim' AS dim, mtrs_options('{"dim": 8}')->'dim' AS given_dim,
       mtrs_options()->'iterations' AS iterations, mtrs_options()->'warm_start' AS warm_start,
       mtrs_options('{"warm_start": "shop", "reg": 3}') - ARRAY['warm_start', 'reg'] =
         mtrs_options() - ARRAY['warm_start', 'reg'] AS only_given_change;
SELECT mtrs_options('{"dimm": 8}');
SELECT mtrs_options('{"dim": 0}');
SELECT mtrs_options('[8]');
DROP EXTENSION mtrs;
