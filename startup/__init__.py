"""Starting the app: preparing a data dir and its database, and the demo villages (small, hand-written,
and bulk-generated at township or county scale). Above core (it uses core's services to build data
the way users would) and below the pages.

The bulk-generated villages: ``bulk_plan`` (a run's shape: tables, columns, id blocks), ``bulk_village``
(one village's rows, in pure Python) and ``bulkseed`` (the run: writing the rows in batches).
"""
