"""The points ledger (append-only entries, balances, holds and outstanding deductions) and its
cycles (base score, year-end clearing or carry-over). Below every domain that earns or spends points.

Modules: ``entry_rules`` (what each kind of entry changes, pure), ``posting`` (appending entries,
one or a batch, in the caller's transaction), ``corrections`` (the admin's reversal and adjustment),
``balances`` (reading what a household holds and may spend), ``cycles`` (base score, year end) and
``closes`` (month close and annual carry-over).
"""
