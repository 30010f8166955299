"""RMS extracts: the CSV format a force's records management system writes,
its validation, and how an extract is applied to Vigil's tables.

- :mod:`app.rms.formats`: the column lists, the vocabulary, and one parser per
  file that turns a CSV row into typed values or names what is wrong.
- :mod:`app.rms.extract_files`: which files of a folder are an extract, and its
  manifest.
- :mod:`app.rms.validate`: the first pass over a folder, collecting every
  problem as ``file:line: field: what is wrong`` before anything is written;
  the checks against other rows and Vigil in :mod:`app.rms.cross_checks`, the
  checked records spooled for the second pass in :mod:`app.rms.spool`.
- :mod:`app.rms.apply`: the second pass, upserting by reference in chunks with
  SQLAlchemy Core and recording the delta (:mod:`app.rms.delta`); each file's
  writes in :mod:`app.rms.apply_crimes`, :mod:`app.rms.apply_risk`,
  :mod:`app.rms.apply_orders`, :mod:`app.rms.apply_breaches` and
  :mod:`app.rms.apply_records`, over :mod:`app.rms.apply_pass`.
- :mod:`app.rms.tables`: the Core tables the import writes and the export reads.

The use cases (permissions, transaction, audit) are in
:mod:`app.services.rms_import` and :mod:`app.services.rms_export`.
"""
